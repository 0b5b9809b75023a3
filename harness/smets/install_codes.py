"""Who holds Install Codes, and how a gaining supplier gets one: the MP121 hand-over and the MP281 SMI service.

Sources (facts only; the code is ours):
* GB install codes in DUIS 8.11 are 16 octets with no CRC (domain.md §1.2, §4.4 [V], [DT] 8.11 template).
* The installing supplier holds the codes; manufacturers create them at production; how they reach the supplier
  (delivery files) is [U] (domain.md §4.4). The delivery file is modelled as rows of (EUI-64, code).
* MP121: the installing supplier must give the code to the gaining supplier within 5 Working Days; the email
  route is what was implemented (domain.md §2.3 [MP121], [MP281]).
* MP281 proposes holding install codes in the SMI; its status is [U] and "do not assume DCC stores install codes
  today" (domain.md §2.3 [MP281]). Mp281CodeService is therefore an optional mode.
* Only the supplier registered for the device's MPxN may have it: access control is the DCC's E4 (domain.md §1.2).
Install codes are secrets: nothing here prints one (reprs say "<redacted>").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from harness.errors import DomainError, InputError
from harness.smets.clock import TimerHandle, VirtualClock
from harness.smets.identities import Eui64, Party
from harness.smets.registration import Registration
from harness.smets.workdays import add_working_days

__all__ = [
    "GB_INSTALL_CODE_LENGTH",
    "InstallCodeStore",
    "StoredCode",
    "InstallerBehaviour",
    "HandoverStatus",
    "HandoverRequest",
    "Mp121Handover",
    "Mp281CodeService",
    "NotAuthorisedForDevice",
    "InstallCodeUnavailable",
]

GB_INSTALL_CODE_LENGTH = 16  # DUIS 8.11 InstallCode: 16 octets, no CRC (domain.md §1.2 [V])
MP121_RESPONSE_WORKING_DAYS = 5  # domain.md §2.3 [MP121] [V]


def _as_code(code: bytes | str, eui: Eui64, where: str) -> bytes:
    """16 raw octets, or 32 hex digits (separators ' ', ':', '-' allowed)."""
    if isinstance(code, str):
        digits = "".join(ch for ch in code if ch not in " :-\t")
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise InputError(
                f"{eui.dcc}: install code is not hex (expected {GB_INSTALL_CODE_LENGTH * 2} hex digits)", where=where
            ) from None
    elif isinstance(code, (bytes, bytearray)):
        raw = bytes(code)
    else:
        raise InputError(f"{eui.dcc}: install code must be bytes or hex text, got {type(code).__name__}", where=where)
    if len(raw) != GB_INSTALL_CODE_LENGTH:
        # The value is a secret: name its length, not its content.
        raise InputError(
            f"{eui.dcc}: install code is {len(raw)} octets, expected {GB_INSTALL_CODE_LENGTH} (GB codes carry no CRC)",
            where=where,
        )
    return raw


@dataclass(frozen=True, repr=False)
class StoredCode:
    eui: Eui64
    code: bytes
    source: str  # e.g. "delivery file", "MP121 from Supplier A", "MP281 SMI"

    def __repr__(self) -> str:
        return f"StoredCode(eui={self.eui.dcc}, code=<redacted>, source={self.source!r})"


class InstallCodeStore:
    """One party's install codes (each supplier keeps its own: domain.md §9.1 InstallCodeVault)."""

    def __init__(self, owner: Party) -> None:
        self.owner = owner
        self._codes: dict[Eui64, StoredCode] = {}

    def put(self, eui: Eui64 | str, code16: bytes | str, source: str) -> None:
        eui = Eui64.parse(eui, where="device ID")
        self._codes[eui] = StoredCode(eui, _as_code(code16, eui, "install code"), source)

    def get(self, eui: Eui64 | str) -> bytes | None:
        found = self._codes.get(Eui64.parse(eui, where="device ID"))
        return found.code if found is not None else None

    def source_of(self, eui: Eui64 | str) -> str | None:
        found = self._codes.get(Eui64.parse(eui, where="device ID"))
        return found.source if found is not None else None

    def load_delivery_file(self, rows: Iterable[tuple[Eui64 | str, bytes | str]], *, name: str = "delivery file") -> int:
        """Load the manufacturer's delivery file: rows of (EUI-64, 16-octet code or 32 hex digits).

        The real file format is [U] (domain.md §4.4). A bad row raises InputError naming the row number (1-based)
        and the field. Returns the number of codes loaded; nothing is stored if any row is bad.
        """
        staged: dict[Eui64, StoredCode] = {}
        for number, row in enumerate(rows, start=1):
            try:
                raw_eui, raw_code = row
            except (TypeError, ValueError):
                raise InputError(
                    "row is not a pair (EUI-64, install code)", where=f"{name}: row {number}"
                ) from None
            eui = Eui64.parse(raw_eui, where=f"{name}: row {number}: EUI-64")
            staged[eui] = StoredCode(eui, _as_code(raw_code, eui, f"{name}: row {number}: install code"), name)
        self._codes.update(staged)
        return len(staged)

    def remove(self, eui: Eui64 | str) -> None:
        self._codes.pop(Eui64.parse(eui, where="device ID"), None)

    def devices(self) -> list[Eui64]:
        return list(self._codes)

    def __contains__(self, eui: object) -> bool:
        try:
            return Eui64.parse(eui) in self._codes  # type: ignore[arg-type]
        except InputError:
            return False

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return f"InstallCodeStore(owner={self.owner}, codes=<{len(self._codes)} redacted>)"


# --- MP121 ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallerBehaviour:
    """How the installing supplier answers an MP121 request (a test knob, not a fact).

    `answer_after_working_days`: working days until it answers (None: never answers).
    `late_by_working_days`: if set, it answers this many working days after the deadline instead.
    """

    answer_after_working_days: int | None = 2
    late_by_working_days: int | None = None

    @classmethod
    def prompt(cls, working_days: int = 2) -> InstallerBehaviour:
        return cls(answer_after_working_days=working_days)

    @classmethod
    def never(cls) -> InstallerBehaviour:
        return cls(answer_after_working_days=None)

    @classmethod
    def late(cls, by_working_days: int = 1) -> InstallerBehaviour:
        if by_working_days < 1:
            raise InputError(f"late by {by_working_days} working days: must be at least 1")
        return cls(answer_after_working_days=None, late_by_working_days=by_working_days)

    def answer_delay(self, response_working_days: int) -> int | None:
        if self.late_by_working_days is not None:
            return response_working_days + self.late_by_working_days
        return self.answer_after_working_days


class HandoverStatus(StrEnum):
    PENDING = "pending"  # asked, not answered, deadline not passed
    ANSWERED = "answered"  # code delivered by the deadline
    LATE = "late"  # code delivered after the deadline
    MISSING = "missing"  # deadline passed with no answer
    NO_CODE = "no_code"  # the installing supplier answered but holds no code for the device


@dataclass(repr=False)
class HandoverRequest:
    """One gaining-supplier request for one device's install code under MP121."""

    eui: Eui64
    gaining: InstallCodeStore
    installing: InstallCodeStore
    requested_at: datetime
    due_by: datetime
    behaviour: InstallerBehaviour
    answer_planned_at: datetime | None
    answered_at: datetime | None = None
    no_code: bool = False
    _clock: VirtualClock | None = field(default=None, repr=False)
    _timer: TimerHandle | None = field(default=None, repr=False)

    @property
    def status(self) -> HandoverStatus:
        if self.answered_at is not None:
            if self.no_code:
                return HandoverStatus.NO_CODE
            return HandoverStatus.LATE if self.answered_at > self.due_by else HandoverStatus.ANSWERED
        now = self._clock.now() if self._clock is not None else self.requested_at
        return HandoverStatus.MISSING if now > self.due_by else HandoverStatus.PENDING

    @property
    def is_late(self) -> bool:
        """Answered after the deadline, or still unanswered once it has passed."""
        return self.status in (HandoverStatus.LATE, HandoverStatus.MISSING) or (
            self.no_code and self.answered_at is not None and self.answered_at > self.due_by
        )

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def __repr__(self) -> str:
        return (
            f"HandoverRequest(eui={self.eui.dcc}, gaining={self.gaining.owner.name!r}, "
            f"installing={self.installing.owner.name!r}, requested_at={self.requested_at.isoformat()}, "
            f"due_by={self.due_by.isoformat()}, answered_at="
            f"{self.answered_at.isoformat() if self.answered_at else None}, status={self.status.value})"
        )


class Mp121Handover:
    """The MP121 route (domain.md §2.3): the gaining supplier asks, the installing supplier must answer within
    `response_working_days` (5, [MP121]) Working Days; the answer arrives by a clock timer and puts the code in
    the gaining supplier's store. `behaviour` is the installing supplier's default; a request may override it.
    """

    def __init__(
        self,
        clock: VirtualClock,
        *,
        response_working_days: int = MP121_RESPONSE_WORKING_DAYS,
        behaviour: InstallerBehaviour | None = None,
        on_answer: Callable[[HandoverRequest], None] | None = None,
    ) -> None:
        if response_working_days < 0:
            raise InputError(f"response working days {response_working_days} is negative", where="response_working_days")
        self._clock = clock
        self.response_working_days = response_working_days
        self.behaviour = behaviour or InstallerBehaviour()
        self._on_answer = on_answer
        self.requests: list[HandoverRequest] = []

    def request(
        self,
        gaining: InstallCodeStore,
        installing: InstallCodeStore,
        eui: Eui64 | str,
        *,
        behaviour: InstallerBehaviour | None = None,
    ) -> HandoverRequest:
        eui = Eui64.parse(eui, where="device ID")
        if gaining is installing:
            raise DomainError(f"{eui.dcc}: MP121 hand-over from {gaining.owner.name} to itself")
        behaviour = behaviour or self.behaviour
        now = self._clock.now()
        due_by = add_working_days(now, self.response_working_days)
        delay = behaviour.answer_delay(self.response_working_days)
        planned = add_working_days(now, delay) if delay is not None else None
        req = HandoverRequest(
            eui=eui,
            gaining=gaining,
            installing=installing,
            requested_at=now,
            due_by=due_by,
            behaviour=behaviour,
            answer_planned_at=planned,
            _clock=self._clock,
        )
        if planned is not None:
            req._timer = self._clock.call_at(planned, lambda: self._answer(req))
        self.requests.append(req)
        return req

    def _answer(self, req: HandoverRequest) -> None:
        req.answered_at = self._clock.now()
        code = req.installing.get(req.eui)
        if code is None:
            req.no_code = True
        else:
            req.gaining.put(req.eui, code, f"MP121 from {req.installing.owner.name}")
        if self._on_answer is not None:
            self._on_answer(req)


# --- MP281 ------------------------------------------------------------------------------------------------------


class NotAuthorisedForDevice(DomainError):
    """The party is not the supplier registered for the device's MPxN at that time (the DCC answers E4)."""

    response_code = "E4"


class InstallCodeUnavailable(DomainError):
    """The SMI holds no install code for the device."""


class Mp281CodeService:
    """MP281 mode (proposed, [U]): the DCC serves install codes held in the SMI, only to the supplier registered
    for the device's MPxN at the time of asking (domain.md §2.3 [MP281]; access rule as for E4, §1.2)."""

    def __init__(
        self, smi_codes: Mapping[Eui64, bytes] | InstallCodeStore, registration: Registration
    ) -> None:
        self._codes = smi_codes
        self._registration = registration
        self.served: list[tuple[datetime, Party, Eui64]] = []  # who got which code when (no code values)

    def hold(self, eui: Eui64 | str, code: bytes, source: str) -> None:
        """Put a code in the SMI (MP281 deposit; who may deposit is the DCC's check, dcc_join.py)."""
        eui = Eui64.parse(eui, where="device ID")
        if isinstance(self._codes, InstallCodeStore):
            self._codes.put(eui, code, source)
        elif isinstance(self._codes, dict):
            self._codes[eui] = _as_code(code, eui, "install code")
        else:
            raise DomainError(f"{eui.dcc}: this SMI's install codes are read-only ({type(self._codes).__name__})")

    def _lookup(self, eui: Eui64) -> bytes | None:
        if isinstance(self._codes, InstallCodeStore):
            return self._codes.get(eui)
        found = self._codes.get(eui)
        return bytes(found) if found is not None else None

    def serve(
        self,
        party: Party,
        eui: Eui64 | str,
        at: datetime | None = None,
        *,
        into: InstallCodeStore | None = None,
    ) -> bytes:
        eui = Eui64.parse(eui, where="device ID")
        t = self._registration.clock.now() if at is None else at
        mpxns = self._registration.mpxns_of(eui)
        if not self._registration.is_authorised_for_device(party, eui, t):
            where = ", ".join(str(m) for m in mpxns) if mpxns else "no MPxN"
            registered = ", ".join(str(p) for p in self._registration.suppliers_for_device(eui, t)) or "nobody"
            raise NotAuthorisedForDevice(
                f"{eui.dcc}: {party} is not the supplier registered for {where} at {t.isoformat()} "
                f"(registered: {registered}); install code refused"
            )
        code = self._lookup(eui)
        if code is None:
            raise InstallCodeUnavailable(f"{eui.dcc}: the SMI holds no install code for this device")
        self.served.append((t, party, eui))
        if into is not None:
            into.put(eui, code, "MP281 SMI")
        return code
