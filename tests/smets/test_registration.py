"""Supplier registration over time and device -> MPxN association (domain.md §1.2 E4, §2.3, §10 scenario 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harness.errors import DomainError, InputError
from harness.smets.clock import VirtualClock
from harness.smets.identities import Eui64, Mpan, Mprn, Party, Role
from harness.smets.registration import NotRegistered, Registration, ServiceFlag

MPAN = Mpan("1200023305967")
MPRN = Mprn("7123456")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
GSME = Eui64.parse("00-DB-12-34-56-78-90-A1")
CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
SUPPLIER_A = Party("Supplier A", Eui64.parse("90-B3-D5-1F-30-01-00-00"), Role.IS)
SUPPLIER_B = Party("Supplier B", Eui64.parse("90-B3-D5-1F-30-01-00-01"), Role.IS)
GAS_A = Party("Supplier A gas", Eui64.parse("90-B3-D5-1F-30-01-00-02"), Role.GS)
INSTALL = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
COS = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(INSTALL)


@pytest.fixture
def reg(clock: VirtualClock) -> Registration:
    r = Registration(clock)
    r.register(MPAN, SUPPLIER_A, INSTALL)
    r.associate(ESME, MPAN)
    return r


def test_the_registered_supplier_is_authorised_now(reg: Registration) -> None:
    assert reg.supplier_at(MPAN) == SUPPLIER_A
    assert reg.is_authorised(SUPPLIER_A, MPAN)
    assert not reg.is_authorised(SUPPLIER_B, MPAN)
    assert reg.is_authorised_for_device(SUPPLIER_A, ESME)


def test_nobody_is_registered_before_the_first_registration(reg: Registration) -> None:
    assert reg.supplier_at(MPAN, INSTALL - timedelta(seconds=1)) is None
    assert not reg.is_authorised(SUPPLIER_A, MPAN, INSTALL - timedelta(seconds=1))
    assert reg.supplier_at("1200023305967") == SUPPLIER_A  # text MPxNs work too


def test_scenario_11_cos_date_boundary(reg: Registration, clock: VirtualClock) -> None:
    reg.change_of_supplier(MPAN, SUPPLIER_B, COS)
    just_before, just_after = COS - timedelta(microseconds=1), COS + timedelta(seconds=1)
    # Supplier A just after the CoS date -> not authorised (the DCC answers E4).
    assert reg.is_authorised_for_device(SUPPLIER_A, ESME, just_before)
    assert not reg.is_authorised_for_device(SUPPLIER_A, ESME, just_after)
    assert not reg.is_authorised_for_device(SUPPLIER_A, ESME, COS)
    # Supplier B before its registration starts -> not authorised; from the CoS instant on -> authorised.
    assert not reg.is_authorised_for_device(SUPPLIER_B, ESME, just_before)
    assert reg.is_authorised_for_device(SUPPLIER_B, ESME, COS)
    # With the clock: nothing changes until the clock passes the CoS date.
    assert reg.supplier_at(MPAN) == SUPPLIER_A
    clock.advance_to(COS)
    assert reg.supplier_at(MPAN) == SUPPLIER_B
    assert [(r.supplier.name, r.effective_from) for r in reg.history(MPAN)] == [
        ("Supplier A", INSTALL),
        ("Supplier B", COS),
    ]


def test_a_cos_back_and_forth(reg: Registration) -> None:
    reg.change_of_supplier(MPAN, SUPPLIER_B, COS)
    reg.change_of_supplier(MPAN, SUPPLIER_A, COS + timedelta(days=30))
    assert reg.supplier_at(MPAN, COS + timedelta(days=10)) == SUPPLIER_B
    assert reg.supplier_at(MPAN, COS + timedelta(days=31)) == SUPPLIER_A


def test_change_of_supplier_needs_a_registration_and_a_different_supplier(clock: VirtualClock) -> None:
    reg = Registration(clock)
    with pytest.raises(NotRegistered, match="1200023305967: no supplier is registered"):
        reg.change_of_supplier(MPAN, SUPPLIER_B, COS)
    reg.register(MPAN, SUPPLIER_A, INSTALL)
    with pytest.raises(DomainError, match="already the registered supplier"):
        reg.change_of_supplier(MPAN, SUPPLIER_A, COS)


def test_a_supplier_role_must_fit_the_fuel(clock: VirtualClock) -> None:
    reg = Registration(clock)
    with pytest.raises(InputError, match="7123456: Supplier A has role IS, but a gas meter point is registered to GS"):
        reg.register(MPRN, SUPPLIER_A, INSTALL)
    with pytest.raises(InputError, match="electricity meter point"):
        reg.register(MPAN, GAS_A, INSTALL)
    with pytest.raises(InputError, match="time zone"):
        reg.register(MPAN, SUPPLIER_A, datetime(2026, 1, 5))


def test_a_device_with_no_mpxn_authorises_nobody(reg: Registration) -> None:
    assert reg.mpxn_of(GSME) is None
    assert not reg.is_authorised_for_device(SUPPLIER_A, GSME)


def test_a_dual_fuel_chf_serves_both_meter_points(reg: Registration) -> None:
    reg.register(MPRN, GAS_A, INSTALL)
    reg.associate(CHF, MPAN)
    reg.associate(CHF, MPRN)
    assert reg.mpxns_of(CHF) == [MPAN, MPRN]
    assert reg.is_authorised_for_device(SUPPLIER_A, CHF) and reg.is_authorised_for_device(GAS_A, CHF)
    reg.associate(GSME, MPRN)
    assert reg.mpxn_of(GSME) == MPRN
    assert not reg.is_authorised_for_device(SUPPLIER_A, GSME)
    reg.dissociate(CHF, MPRN)
    assert reg.mpxns_of(CHF) == [MPAN]


def test_service_flag(reg: Registration) -> None:
    assert reg.service_flag(MPAN) is None
    reg.set_service_flag(MPAN, ServiceFlag.INSTALLED_NOT_COMMISSIONED)
    assert reg.service_flag(MPAN) == "I"


def test_parties_match_by_user_id_and_role_not_name(reg: Registration) -> None:
    # A DUIS request carries the originator's User ID and role, not a display name.
    from_request = Party("", SUPPLIER_A.user_id, Role.IS)
    assert reg.is_authorised(from_request, MPAN)
    assert not reg.is_authorised(Party("Supplier A", SUPPLIER_A.user_id, Role.ES), MPAN)
