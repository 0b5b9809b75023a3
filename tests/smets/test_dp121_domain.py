"""The DP121 story at the domain level (seed 000_b30fdd44eee72421.txt; domain.md §2.2, §2.3, §10 scenarios 3, 4).

Install and leave (8.14.2) -> Change of Supplier -> SM WAN restored after N days -> the gaining supplier without the
Install Code is stuck; with the MP121 hand-over (5 Working Days) it sends 8.11, the device joins, 8.1.1 commissions
it. The losing supplier's 8.11 after the CoS date is refused (E4). MP281 mode: the DCC serves the code from the SMI.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from harness.smets.clock import VirtualClock
from harness.smets.dcc import Dcc
from harness.smets.duis import (
    ChfInstallSuccessNoSmWan,
    CommissionDevice,
    DuisSchemaError,
    Request,
    ResponseCode,
    UpdateHanDeviceLog,
)
from harness.smets.device_log import NotInDeviceLog
from harness.smets.hub import CommsHub, LogChangeKind
from harness.smets.identities import DeviceType, Eui64, Party, Role
from harness.smets.install_codes import (
    HandoverStatus,
    InstallCodeStore,
    Mp121Handover,
    Mp281CodeService,
    NotAuthorisedForDevice,
)
from harness.smets.registration import Registration
from harness.smets.smi import SmartMeteringInventory, SmiStatus
from harness.smets.wan import EmulatedWan
from harness.smets.workdays import add_working_days
from tests.smets.premises import CHF, DCC, ESME, MPAN, RTDS_CODE, RTDS_LINK_KEY, SUPPLIER_A, SUPPLIER_B

RC = ResponseCode
HASHED_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # stand-in for the CS14 hash

INSTALLING = Party("Installing supplier", SUPPLIER_A, Role.IS)
GAINING = Party("Gaining supplier", SUPPLIER_B, Role.IS)

WAN_DAYS = 45  # WAN restored N days after install (< the 90-day target)
COS_DAY = 20


class Premises:
    def __init__(self, **dcc_options: object) -> None:
        self.clock = VirtualClock()
        self.smi = SmartMeteringInventory(self.clock)
        self.smi.add_device(CHF, DeviceType.CHF)
        self.smi.add_device(ESME, DeviceType.ESME)
        self.reg = Registration(self.clock)
        self.reg.register(MPAN, INSTALLING, self.clock.now())
        self.reg.associate(ESME, MPAN)
        self.hub = CommsHub(self.clock, CHF)
        self.wan = EmulatedWan(self.clock)
        self.wan.attach(self.hub, up=False)  # no SM WAN at the premises
        self.dcc = Dcc(self.clock, self.smi, self.reg, self.hub, self.wan, **dcc_options)  # type: ignore[arg-type]
        self.installing_store = InstallCodeStore(INSTALLING)
        self.installing_store.put(ESME, RTDS_CODE, "manufacturer delivery file")
        self.gaining_store = InstallCodeStore(GAINING)
        self._counter = itertools.count(1000)

    def send(self, body: object, sender: Party, target: Eui64 = DCC, cv: int | None = None):  # noqa: ANN201
        if isinstance(body, CommissionDevice):
            body = body.at(self.dcc.clock.now())
        request = Request.build(body, originator=sender.user_id, target=target,  # type: ignore[arg-type]
                                counter=next(self._counter), command_variant=cv)
        return self.dcc.submit(request, sender)

    def outcome(self, ack):  # noqa: ANN001, ANN201
        """The device's response delivered for `ack` (an I99), or `ack` while none has arrived / if it is final."""
        if ack.code is not RC.I99:
            return ack
        delivered = self.dcc.outbox.collect(ack.request_id.originator, ack.request_id)
        return delivered[-1] if delivered else ack

    def update_han_device_log(self, sender: Party, store: InstallCodeStore):  # noqa: ANN201
        code = store.get(ESME)
        if code is None:
            raise LookupError(f"{sender.name} holds no install code for {ESME.dcc}")
        return self.outcome(self.send(UpdateHanDeviceLog.add(ESME, code, import_mpxn=MPAN), sender, CHF))

    def commission(self, sender: Party):  # noqa: ANN201
        """8.1.1: CV 4 (Pre-Command), CV 5 (signed, same RequestID), then the delivered response."""
        pre = self.send(CommissionDevice(), sender, ESME, cv=4)
        if pre.code is not RC.I0:
            return pre
        return self.outcome(self.dcc.submit(Request.signed(pre.request_id, "8.1.1", pre.payload.gbcs_payload), sender))

    def install_and_leave(self) -> None:
        assert self.send(ChfInstallSuccessNoSmWan(CHF, MPAN), INSTALLING).code is RC.I0
        # 8.11 cannot reach the CH at a no-WAN site (domain.md §2.2 item 2).
        assert self.update_han_device_log(INSTALLING, self.installing_store).code is RC.E20

    def change_of_supplier(self) -> None:
        self.reg.change_of_supplier(MPAN, GAINING, self.clock.now() + timedelta(days=COS_DAY))

    def restore_wan_after(self, days: int) -> None:
        self.clock.advance(days=days)
        self.wan.restore(CHF)

    def join(self) -> None:
        """What a real ESME does on the bench: join with the install-code link key; the CHF records the hash."""
        assert self.hub.device_log.try_join(ESME, RTDS_LINK_KEY)
        self.hub.device_joined(ESME, HASHED_KEY)


def test_scenario_3_install_and_leave_then_the_installing_supplier_commissions() -> None:
    site = Premises()
    installed = site.clock.now()
    site.install_and_leave()
    site.restore_wan_after(WAN_DAYS)
    assert site.update_han_device_log(INSTALLING, site.installing_store).code is RC.I0
    site.join()
    assert site.commission(INSTALLING).code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.COMMISSIONED
    assert site.dcc.ch_first_installed(CHF) == installed  # the 8.14.2 date ([PM] p.26)
    measure = site.dcc.first_connectivity(CHF)
    assert measure is not None and measure.elapsed == timedelta(days=WAN_DAYS) and measure.met is True


def test_gaining_supplier_without_the_install_code_is_stuck() -> None:
    site = Premises()
    site.install_and_leave()
    site.change_of_supplier()
    site.restore_wan_after(WAN_DAYS)
    # No code in its store: it cannot build a valid 8.11 ...
    with pytest.raises(LookupError):
        site.update_han_device_log(GAINING, site.gaining_store)
    # ... and an 8.11 with no code is not a DUIS request at all (domain.md §1.2: InstallCode is 16 octets).
    blank = Request.build(UpdateHanDeviceLog(ESME, "Add", 90, b"", MPAN), originator=GAINING.user_id, target=CHF,
                          counter=1)
    with pytest.raises(DuisSchemaError, match="InstallCode: empty"):
        site.dcc.submit(blank, GAINING)
    # The device is not whitelisted, so it can never join; the SMI stays Pending (stranded, [MP121]).
    with pytest.raises(NotInDeviceLog):
        site.hub.device_joined(ESME, HASHED_KEY)
    site.clock.advance(days=365)
    assert ESME not in site.hub.device_log
    assert site.smi.status(ESME) is SmiStatus.PENDING


def test_losing_supplier_8_11_after_the_cos_date_is_refused() -> None:
    site = Premises()
    site.install_and_leave()
    site.change_of_supplier()
    site.restore_wan_after(WAN_DAYS)
    response = site.update_han_device_log(INSTALLING, site.installing_store)
    assert response.code is RC.E4
    assert ESME not in site.hub.device_log


def test_scenario_4_mp121_hand_over_then_the_gaining_supplier_commissions() -> None:
    site = Premises()
    site.install_and_leave()
    site.change_of_supplier()
    site.restore_wan_after(WAN_DAYS)

    handover = Mp121Handover(site.clock)
    asked = site.clock.now()
    request = handover.request(site.gaining_store, site.installing_store, ESME)
    deadline = add_working_days(asked, 5)  # [MP121]: within 5 Working Days
    site.clock.advance_to(deadline)
    assert request.status is HandoverStatus.ANSWERED
    assert request.answered_at is not None and request.answered_at <= deadline
    assert site.gaining_store.get(ESME) == RTDS_CODE

    alerts = []
    site.hub.alert_observers.append(alerts.append)
    add = site.update_han_device_log(GAINING, site.gaining_store)
    assert add.code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.WHITELISTED
    assert alerts[-1].code == 0x8F12 and alerts[-1].hash_of(ESME) == b""
    site.clock.advance(minutes=10)
    site.join()
    assert alerts[-1].cause is LogChangeKind.JOINED and alerts[-1].hash_of(ESME) == HASHED_KEY
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert [a.request_id for a in site.dcc.dcc_alerts] == [add.request_id]  # N24 for the gaining supplier's 8.11

    assert site.commission(GAINING).code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.COMMISSIONED
    assert site.dcc.ch_first_installed(CHF) is not None


def test_mp281_mode_the_dcc_serves_the_code_to_the_registered_supplier_only() -> None:
    smi_codes = {ESME: RTDS_CODE}
    site = Premises()
    site.dcc.install_code_service = Mp281CodeService(smi_codes, site.reg)
    site.install_and_leave()
    site.change_of_supplier()
    site.restore_wan_after(WAN_DAYS)
    with pytest.raises(NotAuthorisedForDevice):
        site.dcc.request_install_code(INSTALLING, ESME)  # no longer registered
    assert site.dcc.request_install_code(GAINING, ESME, into=site.gaining_store) == RTDS_CODE
    assert site.update_han_device_log(GAINING, site.gaining_store).code is RC.I0
    site.join()
    assert site.commission(GAINING).code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.COMMISSIONED


def test_mp281_mode_is_off_by_default() -> None:
    site = Premises()
    with pytest.raises(Exception, match="MP281 mode off"):
        site.dcc.request_install_code(INSTALLING, ESME)


def test_with_a_queueing_dcc_the_installing_suppliers_8_11_waits_for_the_wan() -> None:
    # wan_down_policy="queue" [U]: the 8.11 sent at install time passes access control then, and reaches the CH
    # when the WAN arrives, even after the CoS; the device can then join without the gaining supplier's code.
    site = Premises(wan_down_policy="queue")
    assert site.send(ChfInstallSuccessNoSmWan(CHF, MPAN), INSTALLING).code is RC.I0
    ack = site.update_han_device_log(INSTALLING, site.installing_store)
    assert ack.code is RC.I99
    site.change_of_supplier()
    site.restore_wan_after(WAN_DAYS)
    final = site.dcc.final_response(ack.request_id)
    assert final is not None and final.code is RC.I0 and final.answered_at - final.sent_at == timedelta(days=WAN_DAYS)
    site.join()
    assert site.commission(GAINING).code is RC.I0
