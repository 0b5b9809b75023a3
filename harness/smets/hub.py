"""The Communications Hub Function (CHF) as the DCC sees it: device logs, the GBCS use cases it runs, its alerts.

Rules, with their sources (domain.md; the code is ours):
* CCS01 Add (8.11 Add): register the device with its install code and join window; a duplicate add succeeds and
  keeps the existing key; then CS14 alert 0x8F12 "CHF Device Log Changed" with the new device's hash empty
  (§1.2 item 3, §1.4 [V], [DT]/[WS]). The log rules themselves live in device_log.ChfDeviceLog.
* CCS02 Remove (8.11 Remove): remove, joined devices go to the Historic log; a device not in the log fails with
  action result 1 (§1.3 ERROR vector, §1.4 [V], [GP]).
* 0x8F12 is raised whenever an entry is added or removed or a hashed TC link key changes (§1.2 item 3 [V]); it
  carries the whole log {EUI, hash} with the log envelope {backup date-time, extended PAN ID} (§4.2 [V]), which is
  what the DCC keeps as the backup for 8.12.1 (§1.5, inference there).
* CCS03 Restore (8.12.1): load {EUI, hashed key} entries from the old CHF's backup, no install codes (§1.5 [V]).
* CCS06/CCS07 (8.9): read the log, and for CCS07 the Historic log too (§1.6 [V]).
* The GPF is part of the CH; its log is filled by join commands (8.7.x), never by 8.11 (§1.2 [V], §4.3).
* Devices behind the CHF (meters, PPMID, HCALCS) answer device SRVs (8.1.1, 6.21, 6.23) only once on the HAN, i.e.
  joined with a TC link key [U: model]; a bench can plug a real device's behaviour in through `device_responders`.

Hooks: `alert_observers` get every ChfAlert (typed, with the virtual time); `log_observers` get a DeviceLogChange for
each added/removed/joined/restored entry, carrying the install code (a secret, redacted in repr) so that the bench
can install or revoke the matching link key on a real coordinator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from harness.errors import DomainError, InputError
from harness.smets.clock import Clock
from harness.smets import hub_gpf as _gpf
from harness.smets.device_log import ChfDeviceLog, DeviceLogEntry, DeviceLogFull, GpfDeviceLog, NotInDeviceLog
from harness.smets.duis.request_id import RequestId
from harness.smets.gbcs_frame import CCS01_LOG_FULL, CCS01_SUCCESS, ccs01_response
from harness.smets.duis.responses import DeviceLogRead, DeviceResult
from harness.smets.identities import DeviceType, Eui64

__all__ = [
    "ALERT_CHF_DEVICE_LOG_CHANGED",
    "ChfAlert",
    "LogChangeKind",
    "DeviceLogChange",
    "HubCommand",
    "CommsHub",
    "DeviceResponder",
]

ALERT_CHF_DEVICE_LOG_CHANGED = 0x8F12  # CS14 "CHF Device Log Changed", message code 0x0018 (§1.2 [V])
CS14_MESSAGE_CODE = 0x0018


class LogChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    JOINED = "joined"  # hashed TC link key now present
    RESTORED = "restored"


@dataclass(frozen=True)
class ChfAlert:
    """A CS14 alert from the CHF: code 0x8F12 plus the log snapshot {EUI: hash or b''} it carries (§1.2, §4.2)."""

    code: int
    at: datetime
    chf: Eui64
    cause: LogChangeKind
    device: Eui64 | None
    entries: tuple[tuple[Eui64, bytes], ...]
    extended_pan_id: Eui64

    @property
    def name(self) -> str:
        return "CHF Device Log Changed" if self.code == ALERT_CHF_DEVICE_LOG_CHANGED else f"alert 0x{self.code:04X}"

    def hash_of(self, eui: Eui64) -> bytes | None:
        """The device's hashed TC link key in this snapshot: b'' if logged but not joined, None if not logged."""
        for entry_eui, hashed in self.entries:
            if entry_eui == eui:
                return hashed
        return None

    def __repr__(self) -> str:
        return (f"ChfAlert(0x{self.code:04X} {self.name}, at={self.at.isoformat()}, chf={self.chf.dcc}, "
                f"cause={self.cause.value}, device={self.device.dcc if self.device else None}, "
                f"entries={[(e.dcc, 'hash' if h else 'empty') for e, h in self.entries]})")


@dataclass(frozen=True)
class DeviceLogChange:
    """For the bench: one entry changed. `install_code` (ADDED) and `hashed_tc_link_key` are secrets."""

    kind: LogChangeKind
    at: datetime
    chf: Eui64
    device: Eui64
    device_type: DeviceType
    install_code: bytes | None = field(default=None, repr=False)
    hashed_tc_link_key: bytes = field(default=b"", repr=False)
    join_window_closes: datetime | None = None


@dataclass(frozen=True)
class HubCommand:
    """What the DCC sends to the CH over the SM WAN for one device SRV (the GBCS use case, decoded).

    `use_case`: CCS01 / CCS02 (8.11), CCS03 (8.12.1), CCS06 / CCS07 / CS07 (8.9), and for SRVs whose GBCS use case
    is [U] or not modelled byte-for-byte, the SRV itself ("8.1.1", "6.21", "6.23").
    """

    request_id: RequestId
    srv: str
    use_case: str
    target: Eui64
    device: Eui64 | None = None
    device_type: DeviceType | None = None
    install_code: bytes | None = field(default=None, repr=False)
    join_time_period: int | None = None
    restore_entries: tuple[tuple[Eui64, DeviceType, bytes], ...] = field(default=(), repr=False)
    restore_extended_pan_id: Eui64 | None = None


DeviceResponder = Callable[[HubCommand], DeviceResult]


class CommsHub:
    """A Communications Hub: its CHF (with the CHF Device Log and Historic log) and its GPF (with the GPF log).

    `extended_pan_id` defaults to the CHF's EUI [U]: GBCS says the Extended PAN ID equals the CH HAN interface IEEE
    address (the GPF Entity Identifier printed on the CH, domain.md §2.1 step 3 [V]); pass it if the bench knows it.
    """

    def __init__(
        self,
        clock: Clock,
        chf: Eui64 | str,
        gpf: Eui64 | str | None = None,
        *,
        device_log: ChfDeviceLog | None = None,
        gpf_log: GpfDeviceLog | None = None,
        extended_pan_id: Eui64 | str | None = None,
    ) -> None:
        self._clock = clock
        self.chf = Eui64.parse(chf, where="CHF ID")
        self.gpf = Eui64.parse(gpf, where="GPF ID") if gpf is not None else None
        self.device_log = device_log if device_log is not None else ChfDeviceLog(clock)
        self.gpf_log = gpf_log if gpf_log is not None else GpfDeviceLog()
        self.extended_pan_id = Eui64.parse(extended_pan_id, where="extended PAN ID") if extended_pan_id else self.chf
        self.alerts: list[ChfAlert] = []
        self.alert_observers: list[Callable[[ChfAlert], None]] = []
        self.log_observers: list[Callable[[DeviceLogChange], None]] = []
        self.device_responders: dict[Eui64, DeviceResponder] = {}
        self.commands: list[HubCommand] = []  # every command received, in order (evidence)

    # -- what the hub owns ------------------------------------------------------------------------------------
    def owns(self, eui: Eui64) -> bool:
        """The CHF or GPF itself, or a device in its CHF Device Log."""
        return eui == self.chf or eui == self.gpf or eui in self.device_log

    # -- commands from the DCC --------------------------------------------------------------------------------
    def handle(self, command: HubCommand) -> DeviceResult | DeviceLogRead:
        self.commands.append(command)
        handler = {
            "CCS01": self._ccs01,
            "CCS02": self._ccs02,
            "CCS03": self._ccs03,
            "CCS06": self._read_log,
            "CCS07": self._read_log,
            "CS07": self._cs07,
        }.get(command.use_case, self._for_device)
        join_handler = _gpf.USE_CASES.get(command.use_case)  # CS03 / CS04 / GCS59: hub_gpf.py
        if join_handler is not None:
            return join_handler(self, command)
        return handler(command)

    def _ccs01(self, c: HubCommand) -> DeviceResult:
        if c.device is None or c.device_type is None or c.install_code is None or c.join_time_period is None:
            raise InputError(f"CCS01 for {c.request_id} lacks device, type, install code or join time period")
        try:
            outcome = self.device_log.add(c.device, c.device_type, c.install_code, c.join_time_period)
        except DeviceLogFull as exc:
            # The failure is in the CCS01 response's DLMS results (gbcs_frame.CCS01_LOG_FULL), as a DUIS User sees it.
            return DeviceResult(False, f"register_device failed: {exc}", gbcs=self._ccs01_gbcs(c, CCS01_LOG_FULL))
        if outcome.duplicate:
            # §1.4: success, key discarded, existing link key untouched. No entry changed, so no CS14.
            return DeviceResult(True, "duplicate add: already in the CHF device log; new install code discarded",
                                gbcs=self._ccs01_gbcs(c, CCS01_SUCCESS))
        self._changed(LogChangeKind.ADDED, outcome.entry)
        return DeviceResult(True, "added to the CHF device log", gbcs=self._ccs01_gbcs(c, CCS01_SUCCESS))

    def _ccs01_gbcs(self, c: HubCommand, results: tuple[int, int, int]) -> bytes:
        # The response counter is the ACB's command counter in GBCS; the harness has none and reuses the DUIS one.
        return ccs01_response(chf=self.chf, supplier=c.request_id.originator, supplier_counter=c.request_id.counter,
                              counter=c.request_id.counter, results=results)

    def _ccs02(self, c: HubCommand) -> DeviceResult:
        if c.device is None:
            raise InputError(f"CCS02 for {c.request_id} lacks the device to remove")
        try:
            entry = self.device_log.remove(c.device)
        except NotInDeviceLog as exc:
            return DeviceResult(False, f"unregister_device action result 1: {exc}")
        self._changed(LogChangeKind.REMOVED, entry)
        return DeviceResult(True, "removed from the CHF device log")

    def _ccs03(self, c: HubCommand) -> DeviceResult:
        try:
            self.device_log.restore(list(c.restore_entries))
        except DeviceLogFull as exc:
            return DeviceResult(False, f"restore_PAN failed: {exc}")
        if c.restore_extended_pan_id is not None:
            # GBCS: after CCS03 the CH forms its network with the restored Extended PAN ID (§1.5 [V]).
            self.extended_pan_id = c.restore_extended_pan_id
        for entry in self.device_log.entries():
            self._notify_log(LogChangeKind.RESTORED, entry)
        self._alert(LogChangeKind.RESTORED, None)
        return DeviceResult(True, f"restored {len(c.restore_entries)} entries")

    def _read_log(self, c: HubCommand) -> DeviceLogRead:
        historic = (
            tuple((h.eui64, h.hashed_tc_link_key) for h in self.device_log.historic.entries())
            if c.use_case == "CCS07"
            else ()
        )
        return DeviceLogRead(self.snapshot(), historic)

    def _cs07(self, c: HubCommand) -> DeviceLogRead | DeviceResult:
        if c.target == self.gpf:
            return DeviceLogRead(tuple((e.eui64, b"") for e in self.gpf_log.entries()))
        return self._for_device(c)

    def _for_device(self, c: HubCommand) -> DeviceResult:
        responder = self.device_responders.get(c.target)
        if responder is not None:
            return responder(c)
        if c.target in (self.chf, self.gpf):
            return DeviceResult(True, f"{c.srv} processed by the CH")
        entry = self.device_log.get(c.target)
        if entry is None or not entry.joined:
            # Not on the HAN: the CHF has no tunnel to it (model, §4.2 "not in the log ... cannot communicate").
            return DeviceResult(False, f"{c.target.dcc} is not joined to this CH's HAN; no response", reached=False)
        return DeviceResult(True, f"{c.srv} processed by {c.target.dcc}")

    # -- events from the HAN ----------------------------------------------------------------------------------
    def device_joined(self, eui: Eui64 | str, hashed_tc_link_key: bytes, *, link_key: bytes | None = None) -> None:
        """The device joined and a TC link key exists: fill its entry and raise 0x8F12 carrying the hash."""
        eui = Eui64.parse(eui, where="device ID")
        entry = self.device_log.get(eui)
        if entry is None:
            raise NotInDeviceLog(f"{eui.dcc}: not in the CHF device log of {self.chf.dcc}, so it cannot join")
        if not entry.joined and not self.device_log.join_window_open(eui):
            raise DomainError(
                f"{eui.dcc}: join window closed at {entry.join_window_closes.isoformat()}; the CHF refuses the join"
            )
        before = entry.hashed_tc_link_key
        entry = self.device_log.mark_joined(eui, hashed_tc_link_key, link_key=link_key)
        if entry.hashed_tc_link_key != before:
            self._changed(LogChangeKind.JOINED, entry)

    # -- state ------------------------------------------------------------------------------------------------
    def snapshot(self) -> tuple[tuple[Eui64, bytes], ...]:
        return tuple((e.eui64, e.hashed_tc_link_key) for e in self.device_log.entries())

    def _changed(self, kind: LogChangeKind, entry: DeviceLogEntry) -> None:
        self._notify_log(kind, entry)
        self._alert(kind, entry.eui64)

    def _notify_log(self, kind: LogChangeKind, entry: DeviceLogEntry) -> None:
        change = DeviceLogChange(
            kind, self._clock.now(), self.chf, entry.eui64, entry.device_type,
            install_code=entry.install_code if kind is LogChangeKind.ADDED else None,
            hashed_tc_link_key=entry.hashed_tc_link_key,
            join_window_closes=entry.join_window_closes if kind is LogChangeKind.ADDED else None,
        )
        for observer in list(self.log_observers):
            observer(change)

    def _alert(self, cause: LogChangeKind, device: Eui64 | None) -> None:
        alert = ChfAlert(ALERT_CHF_DEVICE_LOG_CHANGED, self._clock.now(), self.chf, cause, device, self.snapshot(),
                         self.extended_pan_id)
        self.alerts.append(alert)
        for observer in list(self.alert_observers):
            observer(alert)
