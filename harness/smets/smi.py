"""The Smart Metering Inventory (SMI): the DCC's per-device record and its SMI Status life cycle.

What an SMI record holds is [V] (domain.md §3, [SECG] "Smart Metering Inventory"): Device Type, Device ID, Device
Model; for non-Type-2 devices the SMI Status with its effective date and history; the MPxN and associated CHF of
installed meters. Type 2 devices (IHD/CAD) have no SMI Status [V].

No normative transition table was found: `DEFAULT_TRANSITIONS` is domain.md §3's PROPOSED MODEL [U], held as data
so a lab can replace it (`SmartMeteringInventory(transitions=...)`). docs/domain-model.md lists it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from harness.errors import DomainError, InputError
from harness.smets.clock import Clock
from harness.smets.identities import DeviceType, Eui64, Mpan, Mprn

__all__ = [
    "SmiStatus",
    "SmiEvent",
    "SmiStatusChange",
    "SmiRecord",
    "DEFAULT_TRANSITIONS",
    "PROPOSED_TRANSITIONS",
    "HARNESS_TRANSITIONS",
    "CH_TRANSITIONS",
    "SmartMeteringInventory",
    "UnknownDevice",
    "IllegalTransition",
    "DuplicateDevice",
]


class SmiStatus(StrEnum):
    """SMI Status values as DUIS `DeviceStatus` spells them (domain.md §3: [DP] shows Pending and
    InstalledNotCommissioned [V]; the rest from two third-party enums [S]; Recovered from one source only)."""

    PENDING = "Pending"
    WHITELISTED = "Whitelisted"
    INSTALLED_NOT_COMMISSIONED = "InstalledNotCommissioned"
    COMMISSIONED = "Commissioned"
    DECOMMISSIONED = "Decommissioned"
    WITHDRAWN = "Withdrawn"
    SUSPENDED = "Suspended"
    RECOVERY = "Recovery"
    RECOVERED = "Recovered"


class SmiEvent(StrEnum):
    """What moves a device's SMI Status (domain.md §3 proposed model [U])."""

    WHITELISTED = "Whitelisted"  # 8.11 Add -> CCS01 success (CS14 with an empty hash)
    JOINED = "Joined"  # CS14 shows a non-empty hashed TC link key (joined + CBKE)
    REMOVED = "Removed"  # 8.11 Remove -> CCS02 success
    COMMISSIONED = "Commissioned"  # 8.1.1 Commission Device success; for a CHF, its first SM WAN connection
    CH_INSTALLED = "CHInstalled"  # 8.14.1 / 8.14.2 CH Status Update - Install: the CHF and GPF are installed
    DECOMMISSIONED = "Decommissioned"  # 8.3 Decommission Device
    WITHDRAWN = "Withdrawn"  # 8.4 Update Inventory / withdrawal by the manufacturer
    SUSPENDED = "Suspended"  # security events: out of scope in domain.md, modelled minimally
    RECOVERY = "Recovery"
    RECOVERED = "Recovered"


_S = SmiStatus
_E = SmiEvent

# domain.md §3 "Transitions" table, row by row: a PROPOSED MODEL [U] (no normative table was found).
PROPOSED_TRANSITIONS: Mapping[tuple[SmiStatus, SmiEvent], SmiStatus] = MappingProxyType(
    {
        (_S.PENDING, _E.WHITELISTED): _S.WHITELISTED,
        (_S.WHITELISTED, _E.JOINED): _S.INSTALLED_NOT_COMMISSIONED,
        (_S.WHITELISTED, _E.REMOVED): _S.PENDING,  # marked (U) in the table itself
        (_S.INSTALLED_NOT_COMMISSIONED, _E.COMMISSIONED): _S.COMMISSIONED,
        (_S.COMMISSIONED, _E.DECOMMISSIONED): _S.DECOMMISSIONED,
        (_S.INSTALLED_NOT_COMMISSIONED, _E.DECOMMISSIONED): _S.DECOMMISSIONED,
        (_S.PENDING, _E.WITHDRAWN): _S.WITHDRAWN,  # marked (U) in the table itself
        # "any -> Suspended / Recovery / Recovered (security events, out of scope)": read here as any live
        # (installed) status may be suspended or put into recovery, and recovery ends in Recovered.
        **{(s, _E.SUSPENDED): _S.SUSPENDED for s in (_S.INSTALLED_NOT_COMMISSIONED, _S.COMMISSIONED)},
        **{
            (s, _E.RECOVERY): _S.RECOVERY
            for s in (_S.INSTALLED_NOT_COMMISSIONED, _S.COMMISSIONED, _S.SUSPENDED)
        },
        (_S.RECOVERY, _E.RECOVERED): _S.RECOVERED,
    }
)

# The Communications Hub's two devices (CHF, GPF) are never whitelisted or joined: the supplier reports the CH
# installed (8.14.1 / 8.14.2), which makes both InstalledNotCommissioned; the CHF is Commissioned once it has the
# SM WAN (a CH is Commissioned when its CHF is, [SECG] "Commissioned"; a CH installed and left without WAN is "in a
# non-commissioned state", DP121), and the GPF later by the gas supplier's 8.1.1. A later 8.14.x (e.g. 8.14.1 after
# 8.14.2) changes nothing. PROPOSED MODEL [U]: the SEC's SMI Enrolment procedures text was not found.
CH_TRANSITIONS: Mapping[tuple[SmiStatus, SmiEvent], SmiStatus] = MappingProxyType(
    {
        (_S.PENDING, _E.CH_INSTALLED): _S.INSTALLED_NOT_COMMISSIONED,
        (_S.INSTALLED_NOT_COMMISSIONED, _E.CH_INSTALLED): _S.INSTALLED_NOT_COMMISSIONED,
        (_S.COMMISSIONED, _E.CH_INSTALLED): _S.COMMISSIONED,
    }
)

# Harness additions [U], so that facts [V] elsewhere in domain.md don't trip the proposed table:
# * a duplicate 8.11 Add succeeds at the CHF and keeps the existing key (§1.4 [V], scenario 6), so it leaves a
#   Whitelisted or InstalledNotCommissioned device where it was;
# * a device re-added after a Remove may rejoin (§1.4 historic key [V]); a JOINED report for an already joined
#   (INC) device changes nothing;
# * an 8.11 Remove of a joined, uncommissioned device takes it off the HAN, like Whitelisted -> Pending.
HARNESS_TRANSITIONS: Mapping[tuple[SmiStatus, SmiEvent], SmiStatus] = MappingProxyType(
    {
        (_S.WHITELISTED, _E.WHITELISTED): _S.WHITELISTED,
        (_S.INSTALLED_NOT_COMMISSIONED, _E.WHITELISTED): _S.INSTALLED_NOT_COMMISSIONED,
        (_S.INSTALLED_NOT_COMMISSIONED, _E.JOINED): _S.INSTALLED_NOT_COMMISSIONED,
        (_S.INSTALLED_NOT_COMMISSIONED, _E.REMOVED): _S.PENDING,
    }
)

DEFAULT_TRANSITIONS: Mapping[tuple[SmiStatus, SmiEvent], SmiStatus] = MappingProxyType(
    {**PROPOSED_TRANSITIONS, **CH_TRANSITIONS, **HARNESS_TRANSITIONS}
)


class UnknownDevice(DomainError, KeyError):
    """A device ID that is not in the inventory (or log) asked about."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateDevice(DomainError):
    """A device added to the inventory twice."""


class IllegalTransition(DomainError):
    """An event that the SMI transition model does not allow from the device's current status."""

    def __init__(
        self, eui: Eui64, from_status: SmiStatus, event: SmiEvent, to_status: SmiStatus | None
    ) -> None:
        self.eui = eui
        self.from_status = from_status
        self.event = event
        self.to_status = to_status
        target = to_status.value if to_status is not None else "?"
        why = (
            "is not a legal SMI transition (no transition for this event from this status)"
            if to_status is None
            else "is not a legal SMI transition"
        )
        super().__init__(f"{eui.dcc}: {from_status.value} --{event.value}--> {target} {why}")


@dataclass(frozen=True)
class SmiStatusChange:
    at: datetime
    from_status: SmiStatus | None  # None for the first status, set when the device entered the SMI
    to_status: SmiStatus
    event: SmiEvent | None  # None for the first status


@dataclass
class SmiRecord:
    """One device's SMI entry (domain.md §3 / §9.1 SMIRecord)."""

    eui: Eui64
    device_type: DeviceType
    model: str
    mpxn: Mpan | Mprn | None
    chf: Eui64 | None
    status: SmiStatus | None  # None for Type 2 devices: they have no SMI Status [V]
    effective_date: datetime
    added_at: datetime
    history: list[SmiStatusChange] = field(default_factory=list)


class SmartMeteringInventory:
    """The DCC's inventory of devices, on an injected clock.

    `transitions` maps (from status, event) to the new status. The default is domain.md §3's proposed model plus
    the harness additions above; both are [U], so pass your own mapping to test a different reading.
    """

    def __init__(
        self,
        clock: Clock,
        transitions: Mapping[tuple[SmiStatus, SmiEvent], SmiStatus] = DEFAULT_TRANSITIONS,
    ) -> None:
        self._clock = clock
        self._transitions = MappingProxyType(dict(transitions))
        self._records: dict[Eui64, SmiRecord] = {}

    @property
    def transitions(self) -> Mapping[tuple[SmiStatus, SmiEvent], SmiStatus]:
        return self._transitions

    def add_device(
        self,
        eui: Eui64 | str,
        device_type: DeviceType,
        *,
        model: str = "",
        mpxn: Mpan | Mprn | None = None,
        chf: Eui64 | str | None = None,
        status: SmiStatus | None = SmiStatus.PENDING,
    ) -> SmiRecord:
        """Enter a device in the SMI. Type 2 devices get no status whatever `status` says ([SECG])."""
        eui = Eui64.parse(eui, where="SMI device ID")
        if eui in self._records:
            raise DuplicateDevice(f"{eui.dcc}: already in the SMI as {self._records[eui].device_type.name}")
        device_type = DeviceType(device_type)
        now = self._clock.now()
        initial = None if device_type is DeviceType.TYPE2 else SmiStatus(status or SmiStatus.PENDING)
        record = SmiRecord(
            eui=eui,
            device_type=device_type,
            model=model,
            mpxn=mpxn,
            chf=Eui64.parse(chf, where="SMI associated CHF") if chf is not None else None,
            status=initial,
            effective_date=now,
            added_at=now,
        )
        if initial is not None:
            record.history.append(SmiStatusChange(now, None, initial, None))
        self._records[eui] = record
        return record

    def record(self, eui: Eui64 | str) -> SmiRecord:
        eui = Eui64.parse(eui, where="SMI device ID")
        try:
            return self._records[eui]
        except KeyError:
            raise UnknownDevice(f"{eui.dcc}: not in the Smart Metering Inventory") from None

    def status(self, eui: Eui64 | str) -> SmiStatus | None:
        return self.record(eui).status

    def next_status(self, eui: Eui64 | str, event: SmiEvent) -> SmiStatus | None:
        """The status `event` would lead to, or None if the model has no such transition (the DCC's E5)."""
        rec = self.record(eui)
        if rec.status is None:
            return None
        return self._transitions.get((rec.status, SmiEvent(event)))

    def can_apply(self, eui: Eui64 | str, event: SmiEvent) -> bool:
        return self.next_status(eui, event) is not None

    def apply(self, eui: Eui64 | str, event: SmiEvent) -> SmiStatus:
        """Move the device's status by `event`; raise IllegalTransition if the model forbids it."""
        rec = self.record(eui)
        event = SmiEvent(event)
        if rec.status is None:
            raise DomainError(
                f"{rec.eui.dcc}: a Type 2 device has no SMI Status, so event {event.value} cannot apply to it"
            )
        to_status = self._transitions.get((rec.status, event))
        if to_status is None:
            raise IllegalTransition(rec.eui, rec.status, event, None)
        if to_status != rec.status:  # a self-loop (e.g. a duplicate Add) is not a status change
            now = self._clock.now()
            rec.history.append(SmiStatusChange(now, rec.status, to_status, event))
            rec.status = to_status
            rec.effective_date = now
        return to_status

    def set_mpxn(self, eui: Eui64 | str, mpxn: Mpan | Mprn | None) -> None:
        self.record(eui).mpxn = mpxn

    def set_chf(self, eui: Eui64 | str, chf: Eui64 | str | None) -> None:
        self.record(eui).chf = Eui64.parse(chf, where="SMI associated CHF") if chf is not None else None

    def __contains__(self, eui: object) -> bool:
        try:
            return Eui64.parse(eui) in self._records  # type: ignore[arg-type]
        except InputError:
            return False

    def devices(self) -> list[SmiRecord]:
        return list(self._records.values())

    def __iter__(self) -> Iterator[SmiRecord]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)
