"""The CHF Device Log as the join authority of an emulated Comms Hub's HAN (topology 2: the hub under test).

The emulated hub node (harness/emulation/comms_hub.py) asks a `JoinAuthority` who may join; this is the domain's
answer, from the same `CommsHub` model the DCC talks to over the WAN (rules in device_log.py, sources there):

* not in the CHF Device Log (no SRV 8.11 Add yet, or removed): refused;
* in the log with its join window open: admitted with the key the CHF accepts now: the install code's link key
  (CRC mode of the log), or, for a device in the Historic log, its historic TC link key during the first half of
  the window (CCS01 text, domain.md §1.4 [V]);
* join window closed: refused;
* a join the node completes fills the entry's hashed TC link key, so the hub raises 0x8F12 towards the DCC (held
  by the WAN while it is down, hub.py / wan.py);
* an entry removed (8.11 Remove -> CCS02) makes the hub ask the device to leave (`leave_requesters`).

The hashed TC link key is AES-MMO of the key `joined()` is given: the key CBKE established when the hub runs CBKE
(harness/emulation/hub_cbke.py), else the admitting link key (the same rule as harness/bench/han_link.py).
Pure: no I/O, time from the hub's injected clock. The node is reached only through callables, never imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from harness.errors import DomainError
from harness.smets.clock import Clock
from harness.smets.hub import CommsHub, DeviceLogChange, LogChangeKind
from harness.smets.identities import Eui64

__all__ = ["ChfVerdict", "ChfJoinRecord", "ChfJoinAuthority"]

LeaveRequester = Callable[[Eui64], None]


@dataclass(frozen=True)
class ChfVerdict:
    """What the CHF says about one joiner (the shape comms_hub.JoinVerdict has)."""

    link_key: bytes | None = field(repr=False)  # a secret
    reason: str
    key_source: str = ""


@dataclass(frozen=True)
class ChfJoinRecord:
    """The CHF's side of the decision log, on the virtual clock."""

    at: datetime
    device: Eui64
    event: str  # admitted, refused, joined, join-refused, left, leave-requested
    reason: str


def _hash(link_key: bytes) -> bytes:
    from harness.zigbee.security import aes_mmo_hash  # lazy, as device_log does: smets imports on its own

    return aes_mmo_hash(bytes(link_key))


class ChfJoinAuthority:
    """Implements harness.emulation.comms_hub.JoinAuthority over a CommsHub's CHF Device Log."""

    def __init__(self, hub: CommsHub, clock: Clock) -> None:
        self.hub = hub
        self._clock = clock
        self.records: list[ChfJoinRecord] = []
        self.leave_requesters: list[LeaveRequester] = []
        self.join_errors: list[str] = []  # joins the node completed but the CHF refused to record (a bug if any)
        hub.log_observers.append(self._on_log_change)

    def _record(self, device: Eui64, event: str, reason: str) -> None:
        self.records.append(ChfJoinRecord(self._clock.now(), device, event, reason))

    # -- JoinAuthority -------------------------------------------------------------------------------------

    def permits_joining(self) -> bool:
        log = self.hub.device_log
        return any(not e.joined and log.join_window_open(e.eui64) for e in log.entries())

    def admit(self, eui64: object) -> ChfVerdict:
        eui = Eui64.parse(eui64)  # type: ignore[arg-type]
        log = self.hub.device_log
        entry = log.get(eui)
        if entry is None:
            verdict = ChfVerdict(None, f"{eui.dcc} is not in the CHF Device Log (no SRV 8.11 Add for it)")
        else:
            keys = log.accepted_link_keys(eui)
            now = self._clock.now()
            if not keys:
                if entry.joined:
                    reason = f"{eui.dcc} is joined but the CHF holds no TC link key for it (restored entry)"
                else:
                    reason = (f"{eui.dcc}: join window closed at {entry.join_window_closes.isoformat()} "
                              f"(opened {entry.join_window_opens.isoformat()})")
                verdict = ChfVerdict(None, reason)
            elif entry.joined:
                verdict = ChfVerdict(keys[0], f"{eui.dcc} rejoins with its TC link key", "tc-link-key")
            elif entry.historic_key is not None and now < entry.historic_half_ends:
                verdict = ChfVerdict(keys[0], f"{eui.dcc} in the CHF Device Log; first half of the join window: "
                                              "its historic TC link key", "historic-key")
            else:
                verdict = ChfVerdict(keys[0], f"{eui.dcc} in the CHF Device Log, join window open until "
                                              f"{entry.join_window_closes.isoformat()}: its install-code link key",
                                     "install-code")
        self._record(eui, "admitted" if verdict.link_key is not None else "refused", verdict.reason)
        return verdict

    def joined(self, eui64: object, link_key: bytes) -> None:
        eui = Eui64.parse(eui64)  # type: ignore[arg-type]
        try:
            self.hub.device_joined(eui, _hash(link_key), link_key=bytes(link_key))
        except DomainError as exc:  # e.g. the window closed between the key and the announcement
            self.join_errors.append(str(exc))
            self._record(eui, "join-refused", str(exc))
            for requester in list(self.leave_requesters):
                requester(eui)
            return
        self._record(eui, "joined", "hashed TC link key recorded; 0x8F12 raised")

    def left(self, eui64: object) -> None:
        self._record(Eui64.parse(eui64), "left", "no longer on the HAN")  # type: ignore[arg-type]

    # -- CHF Device Log -> HAN -----------------------------------------------------------------------------

    def _on_log_change(self, change: DeviceLogChange) -> None:
        if change.kind is LogChangeKind.REMOVED:
            self._record(change.device, "leave-requested", "removed from the CHF Device Log (CCS02)")
            for requester in list(self.leave_requesters):
                requester(change.device)

    def records_for(self, device: Eui64 | str) -> list[ChfJoinRecord]:
        eui = Eui64.parse(device)
        return [r for r in self.records if r.device == eui]
