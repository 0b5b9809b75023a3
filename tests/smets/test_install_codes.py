"""Install-code holders, the MP121 hand-over and the MP281 SMI service (domain.md §2.3, §4.4, §9.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harness.errors import DomainError, InputError
from harness.smets.clock import VirtualClock
from harness.smets.identities import Eui64, Mpan, Party, Role
from harness.smets.install_codes import (
    HandoverStatus,
    InstallCodeStore,
    InstallCodeUnavailable,
    InstallerBehaviour,
    Mp121Handover,
    Mp281CodeService,
    NotAuthorisedForDevice,
)
from harness.smets.registration import Registration

ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
GSME = Eui64.parse("00-DB-12-34-56-78-90-A1")
RTDS_CODE = bytes.fromhex("30313233343536373839414243444546")  # DUIS 8.11 sample (domain.md §1.2)
OTHER_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505")
SUPPLIER_A = Party("Supplier A", Eui64.parse("90-B3-D5-1F-30-01-00-00"), Role.IS)
SUPPLIER_B = Party("Supplier B", Eui64.parse("90-B3-D5-1F-30-01-00-01"), Role.IS)
MPAN = Mpan("1200023305967")
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(MONDAY)


@pytest.fixture
def installing() -> InstallCodeStore:
    store = InstallCodeStore(SUPPLIER_A)
    store.load_delivery_file([(ESME, RTDS_CODE), ("00DB1234567890A1", OTHER_CODE.hex())])
    return store


@pytest.fixture
def gaining() -> InstallCodeStore:
    return InstallCodeStore(SUPPLIER_B)


# --- InstallCodeStore --------------------------------------------------------------------------------------------


def test_delivery_file_codes_are_held_by_the_installing_supplier(installing: InstallCodeStore) -> None:
    assert installing.get(ESME) == RTDS_CODE
    assert installing.get("00-DB-12-34-56-78-90-A1") == OTHER_CODE
    assert installing.source_of(ESME) == "delivery file"
    assert len(installing) == 2 and ESME in installing


def test_a_bad_delivery_row_names_the_row_and_loads_nothing() -> None:
    store = InstallCodeStore(SUPPLIER_A)
    with pytest.raises(InputError, match=r"delivery file: row 2: install code: 00-DB-12-34-56-78-90-A1: install code is 18 octets, expected 16"):
        store.load_delivery_file([(ESME, RTDS_CODE), (GSME, RTDS_CODE + b"\xf5\x96")])
    with pytest.raises(InputError, match=r"delivery file: row 1: EUI-64"):
        store.load_delivery_file([("not-an-eui", RTDS_CODE)])
    with pytest.raises(InputError, match="row 1.*not a pair"):
        store.load_delivery_file([(ESME,)])  # type: ignore[list-item]
    assert len(store) == 0


def test_store_repr_and_errors_do_not_reveal_codes(installing: InstallCodeStore) -> None:
    assert RTDS_CODE.hex() not in repr(installing).lower() and "redacted" in repr(installing)
    with pytest.raises(InputError) as err:
        installing.put(ESME, RTDS_CODE[:15], "manual")
    assert RTDS_CODE[:15].hex() not in str(err.value).lower()


# --- MP121 ------------------------------------------------------------------------------------------------------


def test_mp121_answer_after_two_working_days_by_default(
    clock: VirtualClock, installing: InstallCodeStore, gaining: InstallCodeStore
) -> None:
    handover = Mp121Handover(clock)
    req = handover.request(gaining, installing, ESME)
    assert req.requested_at == MONDAY
    assert req.due_by == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # 5 working days
    assert req.status is HandoverStatus.PENDING and gaining.get(ESME) is None
    clock.advance(days=1)
    assert gaining.get(ESME) is None
    clock.advance(days=1)  # Wednesday 09:00 = 2 working days
    assert gaining.get(ESME) == RTDS_CODE
    assert req.answered_at == datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
    assert req.status is HandoverStatus.ANSWERED and not req.is_late
    assert gaining.source_of(ESME) == "MP121 from Supplier A"


def test_mp121_installing_supplier_never_answers(
    clock: VirtualClock, installing: InstallCodeStore, gaining: InstallCodeStore
) -> None:
    handover = Mp121Handover(clock, behaviour=InstallerBehaviour.never())
    req = handover.request(gaining, installing, ESME)
    clock.advance(days=7)  # exactly the deadline (Monday 12th 09:00): still pending
    assert req.status is HandoverStatus.PENDING
    clock.advance(seconds=1)
    assert req.status is HandoverStatus.MISSING and req.is_late
    clock.advance(days=90)
    assert gaining.get(ESME) is None and req.answered_at is None


def test_mp121_late_answer_per_request(
    clock: VirtualClock, installing: InstallCodeStore, gaining: InstallCodeStore
) -> None:
    handover = Mp121Handover(clock)  # prompt by default ...
    late = handover.request(gaining, installing, ESME, behaviour=InstallerBehaviour.late(by_working_days=2))
    prompt = handover.request(gaining, installing, GSME)  # ... unless the request says otherwise
    clock.advance(days=8)  # Tuesday 13th: past the deadline, late answer not yet in
    assert late.status is HandoverStatus.MISSING and prompt.status is HandoverStatus.ANSWERED
    clock.advance(days=1)  # Wednesday 14th = 7 working days
    assert late.status is HandoverStatus.LATE and late.is_late
    assert late.answered_at == datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
    assert gaining.get(ESME) == RTDS_CODE


def test_mp121_answer_on_the_deadline_is_on_time(
    clock: VirtualClock, installing: InstallCodeStore, gaining: InstallCodeStore
) -> None:
    handover = Mp121Handover(clock, behaviour=InstallerBehaviour.prompt(5))
    req = handover.request(gaining, installing, ESME)
    clock.advance(days=30)
    assert req.answered_at == req.due_by and req.status is HandoverStatus.ANSWERED


def test_mp121_deadline_counts_working_days_over_easter(installing: InstallCodeStore, gaining: InstallCodeStore) -> None:
    clock = VirtualClock(datetime(2026, 4, 2, 15, 0, tzinfo=UTC))  # Thursday before Good Friday
    req = Mp121Handover(clock).request(gaining, installing, ESME)
    assert req.due_by == datetime(2026, 4, 13, 15, 0, tzinfo=UTC)


def test_mp121_installing_supplier_without_the_code(clock: VirtualClock, gaining: InstallCodeStore) -> None:
    empty = InstallCodeStore(SUPPLIER_A)
    answered: list[HandoverStatus] = []
    handover = Mp121Handover(clock, on_answer=lambda r: answered.append(r.status))
    req = handover.request(gaining, empty, ESME)
    clock.advance(days=3)
    assert req.status is HandoverStatus.NO_CODE and answered == [HandoverStatus.NO_CODE]
    assert gaining.get(ESME) is None


def test_mp121_configurable_response_window(
    clock: VirtualClock, installing: InstallCodeStore, gaining: InstallCodeStore
) -> None:
    handover = Mp121Handover(clock, response_working_days=1, behaviour=InstallerBehaviour.prompt(2))
    req = handover.request(gaining, installing, ESME)
    assert req.due_by == MONDAY + timedelta(days=1)
    clock.advance(days=3)
    assert req.status is HandoverStatus.LATE
    assert "redacted" not in repr(req) and RTDS_CODE.hex() not in repr(req).lower()


def test_mp121_to_oneself_is_refused(clock: VirtualClock, installing: InstallCodeStore) -> None:
    with pytest.raises(DomainError, match="00-DB-12-34-56-78-90-A0: MP121 hand-over from Supplier A to itself"):
        Mp121Handover(clock).request(installing, installing, ESME)


# --- MP281 ------------------------------------------------------------------------------------------------------


@pytest.fixture
def registration(clock: VirtualClock) -> Registration:
    reg = Registration(clock)
    reg.register(MPAN, SUPPLIER_A, MONDAY)
    reg.change_of_supplier(MPAN, SUPPLIER_B, MONDAY + timedelta(days=30))
    reg.associate(ESME, MPAN)
    return reg


def test_mp281_serves_the_code_only_to_the_registered_supplier(
    clock: VirtualClock, registration: Registration, gaining: InstallCodeStore
) -> None:
    service = Mp281CodeService({ESME: RTDS_CODE}, registration)
    assert service.serve(SUPPLIER_A, ESME) == RTDS_CODE  # before the CoS date: the installing supplier
    with pytest.raises(NotAuthorisedForDevice) as err:
        service.serve(SUPPLIER_B, ESME)
    assert err.value.response_code == "E4"
    assert "00-DB-12-34-56-78-90-A0" in str(err.value) and "Supplier B" in str(err.value)
    assert "1200023305967" in str(err.value) and "registered: Supplier A" in str(err.value)
    assert RTDS_CODE.hex() not in str(err.value).lower()

    clock.advance(days=30)  # the CoS date
    assert service.serve(SUPPLIER_B, ESME, into=gaining) == RTDS_CODE
    assert gaining.get(ESME) == RTDS_CODE and gaining.source_of(ESME) == "MP281 SMI"
    with pytest.raises(NotAuthorisedForDevice):
        service.serve(SUPPLIER_A, ESME)
    # an explicit time is honoured
    assert service.serve(SUPPLIER_A, ESME, at=MONDAY + timedelta(days=1)) == RTDS_CODE


def test_mp281_refuses_devices_without_mpxn_or_code(registration: Registration, installing: InstallCodeStore) -> None:
    service = Mp281CodeService(installing, registration)  # a store works as the SMI's code table too
    with pytest.raises(NotAuthorisedForDevice, match="no MPxN"):
        service.serve(SUPPLIER_A, GSME)
    registration.associate(GSME, MPAN)
    assert service.serve(SUPPLIER_A, GSME) == OTHER_CODE
    empty = Mp281CodeService({}, registration)
    with pytest.raises(InstallCodeUnavailable, match="00-DB-12-34-56-78-90-A0: the SMI holds no install code"):
        empty.serve(SUPPLIER_A, ESME)
