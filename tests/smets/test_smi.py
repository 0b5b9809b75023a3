"""Smart Metering Inventory: records and the (proposed, domain.md §3) status model."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.errors import DomainError
from harness.smets.clock import VirtualClock
from harness.smets.identities import DeviceType, Eui64, Mpan
from harness.smets.smi import (
    DEFAULT_TRANSITIONS,
    DuplicateDevice,
    IllegalTransition,
    SmartMeteringInventory,
    SmiEvent,
    SmiStatus,
    UnknownDevice,
)

ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
IHD = Eui64.parse("00-DB-12-34-56-78-90-A4")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def smi(clock: VirtualClock) -> SmartMeteringInventory:
    inv = SmartMeteringInventory(clock)
    inv.add_device(ESME, DeviceType.ESME, model="ES-12B", mpxn=Mpan("1200023305967"), chf=CHF)
    return inv


def test_a_new_device_is_pending_with_its_record(smi: SmartMeteringInventory, clock: VirtualClock) -> None:
    rec = smi.record(ESME)
    assert rec.status is SmiStatus.PENDING
    assert (rec.device_type, rec.model, rec.mpxn, rec.chf) == (DeviceType.ESME, "ES-12B", Mpan("1200023305967"), CHF)
    assert rec.effective_date == clock.now()
    assert ESME in smi and "00DB1234567890A0" in smi and IHD not in smi


def test_the_normal_life_cycle_follows_the_proposed_model(smi: SmartMeteringInventory, clock: VirtualClock) -> None:
    # domain.md §3: Pending -8.11 Add-> Whitelisted -hash in CS14-> INC -8.1.1-> Commissioned -8.3-> Decommissioned
    steps = [
        (SmiEvent.WHITELISTED, SmiStatus.WHITELISTED),
        (SmiEvent.JOINED, SmiStatus.INSTALLED_NOT_COMMISSIONED),
        (SmiEvent.COMMISSIONED, SmiStatus.COMMISSIONED),
        (SmiEvent.DECOMMISSIONED, SmiStatus.DECOMMISSIONED),
    ]
    for event, expected in steps:
        clock.advance(hours=1)
        assert smi.apply(ESME, event) is expected
    rec = smi.record(ESME)
    assert rec.status is SmiStatus.DECOMMISSIONED
    assert rec.effective_date == clock.now()
    assert [(h.from_status, h.event, h.to_status) for h in rec.history] == [
        (None, None, SmiStatus.PENDING),
        (SmiStatus.PENDING, SmiEvent.WHITELISTED, SmiStatus.WHITELISTED),
        (SmiStatus.WHITELISTED, SmiEvent.JOINED, SmiStatus.INSTALLED_NOT_COMMISSIONED),
        (SmiStatus.INSTALLED_NOT_COMMISSIONED, SmiEvent.COMMISSIONED, SmiStatus.COMMISSIONED),
        (SmiStatus.COMMISSIONED, SmiEvent.DECOMMISSIONED, SmiStatus.DECOMMISSIONED),
    ]
    assert [h.at for h in rec.history][1:] == [clock.now() - timedelta(hours=n) for n in (3, 2, 1, 0)]


def test_remove_before_joining_returns_to_pending(smi: SmartMeteringInventory) -> None:
    smi.apply(ESME, SmiEvent.WHITELISTED)
    assert smi.apply(ESME, SmiEvent.REMOVED) is SmiStatus.PENDING


def test_a_pending_device_can_be_withdrawn(smi: SmartMeteringInventory) -> None:
    assert smi.apply(ESME, SmiEvent.WITHDRAWN) is SmiStatus.WITHDRAWN


def test_duplicate_add_leaves_a_joined_device_where_it_was(smi: SmartMeteringInventory) -> None:
    # A duplicate CCS01 succeeds and keeps the key (domain.md §1.4): the device stays InstalledNotCommissioned.
    smi.apply(ESME, SmiEvent.WHITELISTED)
    smi.apply(ESME, SmiEvent.JOINED)
    history_len = len(smi.record(ESME).history)
    assert smi.apply(ESME, SmiEvent.WHITELISTED) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert len(smi.record(ESME).history) == history_len  # not a status change


def test_commissioning_an_unjoined_device_is_illegal(smi: SmartMeteringInventory) -> None:
    # domain.md §10 scenario 12: 8.1.1 on a Whitelisted device -> E5 at the DCC
    smi.apply(ESME, SmiEvent.WHITELISTED)
    assert not smi.can_apply(ESME, SmiEvent.COMMISSIONED)
    with pytest.raises(IllegalTransition) as err:
        smi.apply(ESME, SmiEvent.COMMISSIONED)
    assert str(err.value).startswith("00-DB-12-34-56-78-90-A0: Whitelisted --Commissioned--> ?")
    assert "not a legal SMI transition" in str(err.value)
    assert smi.status(ESME) is SmiStatus.WHITELISTED  # unchanged


def test_whitelisting_a_commissioned_device_is_illegal(smi: SmartMeteringInventory) -> None:
    for event in (SmiEvent.WHITELISTED, SmiEvent.JOINED, SmiEvent.COMMISSIONED):
        smi.apply(ESME, event)
    with pytest.raises(IllegalTransition, match="00-DB-12-34-56-78-90-A0: Commissioned --Whitelisted--> ?"):
        smi.apply(ESME, SmiEvent.WHITELISTED)


@pytest.mark.parametrize("terminal", [SmiEvent.DECOMMISSIONED, SmiEvent.WITHDRAWN])
def test_add_to_a_decommissioned_or_withdrawn_device_is_illegal(smi: SmartMeteringInventory, terminal: SmiEvent) -> None:
    # domain.md §10 scenario 12: 8.11 Add for a Decommissioned/Withdrawn device -> E5
    if terminal is SmiEvent.DECOMMISSIONED:
        for event in (SmiEvent.WHITELISTED, SmiEvent.JOINED):
            smi.apply(ESME, event)
    smi.apply(ESME, terminal)
    assert smi.next_status(ESME, SmiEvent.WHITELISTED) is None
    with pytest.raises(IllegalTransition):
        smi.apply(ESME, SmiEvent.WHITELISTED)


def test_type2_devices_have_no_status(smi: SmartMeteringInventory) -> None:
    rec = smi.add_device(IHD, DeviceType.TYPE2, status=SmiStatus.PENDING)
    assert rec.status is None and smi.status(IHD) is None and rec.history == []
    with pytest.raises(DomainError, match="00-DB-12-34-56-78-90-A4: a Type 2 device has no SMI Status"):
        smi.apply(IHD, SmiEvent.WHITELISTED)


def test_unknown_and_duplicate_devices(smi: SmartMeteringInventory) -> None:
    with pytest.raises(UnknownDevice, match="00-DB-12-34-56-78-90-A4: not in the Smart Metering Inventory"):
        smi.apply(IHD, SmiEvent.WHITELISTED)
    with pytest.raises(DuplicateDevice, match="00-DB-12-34-56-78-90-A0"):
        smi.add_device(ESME, DeviceType.ESME)
    assert isinstance(UnknownDevice("x"), DomainError)


def test_transitions_are_replaceable(clock: VirtualClock) -> None:
    # The model is [U]: a lab may, e.g., let Remove of a Whitelisted device keep it Whitelisted.
    custom = dict(DEFAULT_TRANSITIONS)
    custom[(SmiStatus.WHITELISTED, SmiEvent.REMOVED)] = SmiStatus.WHITELISTED
    inv = SmartMeteringInventory(clock, transitions=custom)
    inv.add_device(ESME, DeviceType.ESME)
    inv.apply(ESME, SmiEvent.WHITELISTED)
    assert inv.apply(ESME, SmiEvent.REMOVED) is SmiStatus.WHITELISTED
    # and the default is untouched
    assert DEFAULT_TRANSITIONS[(SmiStatus.WHITELISTED, SmiEvent.REMOVED)] is SmiStatus.PENDING


def test_an_initial_status_can_be_given(clock: VirtualClock) -> None:
    inv = SmartMeteringInventory(clock)
    inv.add_device(ESME, DeviceType.ESME, status=SmiStatus.INSTALLED_NOT_COMMISSIONED)
    assert inv.apply(ESME, SmiEvent.COMMISSIONED) is SmiStatus.COMMISSIONED
    assert [r.eui for r in inv.devices()] == [ESME]


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [  # domain.md §3 "Transitions" table, row by row
        (SmiStatus.PENDING, SmiEvent.WHITELISTED, SmiStatus.WHITELISTED),
        (SmiStatus.WHITELISTED, SmiEvent.JOINED, SmiStatus.INSTALLED_NOT_COMMISSIONED),
        (SmiStatus.WHITELISTED, SmiEvent.REMOVED, SmiStatus.PENDING),
        (SmiStatus.INSTALLED_NOT_COMMISSIONED, SmiEvent.COMMISSIONED, SmiStatus.COMMISSIONED),
        (SmiStatus.COMMISSIONED, SmiEvent.DECOMMISSIONED, SmiStatus.DECOMMISSIONED),
        (SmiStatus.INSTALLED_NOT_COMMISSIONED, SmiEvent.DECOMMISSIONED, SmiStatus.DECOMMISSIONED),
        (SmiStatus.PENDING, SmiEvent.WITHDRAWN, SmiStatus.WITHDRAWN),
        (SmiStatus.COMMISSIONED, SmiEvent.SUSPENDED, SmiStatus.SUSPENDED),
        (SmiStatus.SUSPENDED, SmiEvent.RECOVERY, SmiStatus.RECOVERY),
        (SmiStatus.RECOVERY, SmiEvent.RECOVERED, SmiStatus.RECOVERED),
    ],
)
def test_every_row_of_the_proposed_table(clock: VirtualClock, start: SmiStatus, event: SmiEvent, end: SmiStatus) -> None:
    inv = SmartMeteringInventory(clock)
    inv.add_device(ESME, DeviceType.ESME, status=start)
    assert inv.apply(ESME, event) is end
