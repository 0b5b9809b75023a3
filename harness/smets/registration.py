"""Registration data: which supplier is registered for an MPxN from when, and which devices serve which MPxN.

Drives the DCC's access control across a Change of Supplier date: "E4 User Role not authorised for Device and
required date & time" (domain.md §1.2 [RC] [S]); that the losing supplier is refused after the CoS date is
inferred [U] (domain.md §2.3, §10 scenario 11). RegistrationRecord {registered supplier, effective_from, DCC
Service Flag} follows domain.md §9.1; the service flags A/I/N are from [MP077] (domain.md §3).

Boundary convention (ours, [U]): a registration effective from T covers every instant t >= T; the previous
supplier's registration covers t < T. So at exactly the CoS date-time the gaining supplier is authorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from harness.errors import DomainError, InputError
from harness.smets.clock import Clock
from harness.smets.identities import Eui64, Mpan, Mprn, Party, Role, parse_mpxn

__all__ = ["Registration", "RegistrationRecord", "ServiceFlag", "NotRegistered"]


class ServiceFlag(StrEnum):
    """DCC Service Flag in registration data ([MP077], domain.md §3)."""

    ACTIVE = "A"
    INSTALLED_NOT_COMMISSIONED = "I"
    NON_ACTIVE = "N"


class NotRegistered(DomainError):
    """An MPxN with no registration (or a device with no MPxN) asked about where one is needed."""


@dataclass(frozen=True)
class RegistrationRecord:
    mpxn: Mpan | Mprn
    supplier: Party
    effective_from: datetime


# Which supplier roles may be registered for which kind of meter point (domain.md §1.1 role list: the Import
# Supplier for electricity, the Gas Supplier for gas; an Export Supplier also registers against an MPAN).
_SUPPLIER_ROLES: dict[type, frozenset[Role]] = {
    Mpan: frozenset({Role.IS, Role.ES}),
    Mprn: frozenset({Role.GS}),
}


def _same_party(a: Party, b: Party) -> bool:
    return a.user_id == b.user_id and a.role == b.role


class Registration:
    """Supplier registrations per MPxN over time, plus device -> MPxN association, on an injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._history: dict[Mpan | Mprn, list[RegistrationRecord]] = {}
        self._device_mpxn: dict[Eui64, list[Mpan | Mprn]] = {}
        self._service_flag: dict[Mpan | Mprn, ServiceFlag] = {}

    @property
    def clock(self) -> Clock:
        return self._clock

    # -- registrations ----------------------------------------------------------------------------------------
    def register(self, mpxn: Mpan | Mprn | str, supplier: Party, effective_from: datetime) -> RegistrationRecord:
        """Register `supplier` for `mpxn` from `effective_from` on (first registration or a later one)."""
        mpxn = parse_mpxn(mpxn, where="MPxN")
        if effective_from.tzinfo is None:
            raise InputError(
                f"{mpxn}: effective_from {effective_from.isoformat()} has no time zone; the clock is UTC",
                where="effective_from",
            )
        allowed = _SUPPLIER_ROLES[type(mpxn)]
        if supplier.role not in allowed:
            raise InputError(
                f"{mpxn}: {supplier.name} has role {supplier.role.code}, but a {mpxn.fuel} meter point is "
                f"registered to {' or '.join(sorted(r.code for r in allowed))}",
                where="supplier role",
            )
        records = self._history.setdefault(mpxn, [])
        if any(r.effective_from == effective_from for r in records):
            raise DomainError(
                f"{mpxn}: a registration already starts at {effective_from.isoformat()}"
            )
        record = RegistrationRecord(mpxn, supplier, effective_from)
        records.append(record)
        records.sort(key=lambda r: r.effective_from)
        return record

    def change_of_supplier(
        self, mpxn: Mpan | Mprn | str, gaining: Party, effective_from: datetime
    ) -> RegistrationRecord:
        """CoS: `gaining` becomes the registered supplier from `effective_from` (domain.md §2.3)."""
        mpxn = parse_mpxn(mpxn, where="MPxN")
        current = self.supplier_at(mpxn, effective_from)
        if current is None:
            raise NotRegistered(
                f"{mpxn}: no supplier is registered at {effective_from.isoformat()}, so there is no supplier "
                "to change from; use register()"
            )
        if _same_party(current, gaining):
            raise DomainError(f"{mpxn}: {gaining} is already the registered supplier at {effective_from.isoformat()}")
        return self.register(mpxn, gaining, effective_from)

    def supplier_at(self, mpxn: Mpan | Mprn | str, at: datetime | None = None) -> Party | None:
        """The supplier registered at `at` (default now), or None."""
        mpxn = parse_mpxn(mpxn, where="MPxN")
        t = self._clock.now() if at is None else at
        current = None
        for record in self._history.get(mpxn, []):
            if record.effective_from <= t:
                current = record.supplier
            else:
                break
        return current

    def is_authorised(self, party: Party, mpxn: Mpan | Mprn | str, at: datetime | None = None) -> bool:
        """True if `party` is the supplier registered for `mpxn` at `at` (default now).

        Parties match by User ID and role (what a DUIS request carries), not by display name.
        """
        registered = self.supplier_at(mpxn, at)
        return registered is not None and _same_party(registered, party)

    def history(self, mpxn: Mpan | Mprn | str) -> list[RegistrationRecord]:
        """Registrations for `mpxn`, earliest first."""
        return list(self._history.get(parse_mpxn(mpxn, where="MPxN"), []))

    def mpxns(self) -> list[Mpan | Mprn]:
        return list(self._history)

    # -- DCC Service Flag -------------------------------------------------------------------------------------
    def set_service_flag(self, mpxn: Mpan | Mprn | str, flag: ServiceFlag) -> None:
        self._service_flag[parse_mpxn(mpxn, where="MPxN")] = ServiceFlag(flag)

    def service_flag(self, mpxn: Mpan | Mprn | str) -> ServiceFlag | None:
        return self._service_flag.get(parse_mpxn(mpxn, where="MPxN"))

    # -- devices ----------------------------------------------------------------------------------------------
    def associate(self, device_eui: Eui64 | str, mpxn: Mpan | Mprn | str) -> None:
        """Say that `device_eui` serves `mpxn`. A device may serve several (a dual-fuel CHF serves the MPAN and the
        MPRN); a meter normally serves one."""
        eui = Eui64.parse(device_eui, where="device ID")
        point = parse_mpxn(mpxn, where="MPxN")
        points = self._device_mpxn.setdefault(eui, [])
        if point not in points:
            points.append(point)

    def dissociate(self, device_eui: Eui64 | str, mpxn: Mpan | Mprn | str | None = None) -> None:
        """Forget one association of the device, or all of them if `mpxn` is None."""
        eui = Eui64.parse(device_eui, where="device ID")
        if mpxn is None:
            self._device_mpxn.pop(eui, None)
        else:
            point = parse_mpxn(mpxn, where="MPxN")
            points = self._device_mpxn.get(eui, [])
            if point in points:
                points.remove(point)

    def mpxns_of(self, device_eui: Eui64 | str) -> list[Mpan | Mprn]:
        return list(self._device_mpxn.get(Eui64.parse(device_eui, where="device ID"), []))

    def mpxn_of(self, device_eui: Eui64 | str) -> Mpan | Mprn | None:
        """The device's (first) MPxN, or None."""
        points = self.mpxns_of(device_eui)
        return points[0] if points else None

    def suppliers_for_device(self, device_eui: Eui64 | str, at: datetime | None = None) -> list[Party]:
        found = [self.supplier_at(m, at) for m in self.mpxns_of(device_eui)]
        return [p for p in found if p is not None]

    def is_authorised_for_device(
        self, party: Party, device_eui: Eui64 | str, at: datetime | None = None
    ) -> bool:
        """True if `party` is the supplier registered, at `at`, for an MPxN the device serves (E4 otherwise).

        A device with no associated MPxN authorises nobody.
        """
        return any(self.is_authorised(party, m, at) for m in self.mpxns_of(device_eui))
