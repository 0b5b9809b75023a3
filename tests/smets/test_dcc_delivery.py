"""The DCC's rules for how it answers, each with its source in docs/duis-and-dcc.md ("The DCC's rules"):

* device SRVs are acknowledged I99 and answered later, through the sender's outbox (DCC Boxed behaviour);
* CV 4 returns a Pre-Command and never reaches the device; CV 5 sends it back signed under the same RequestID;
* future-dated requests wait on the virtual clock; 3000-12-31 cancels;
* an 8.11 is authorised only by the supplier of *that device's* meter point (E4);
* a duplicate 8.11 Add leaves the first Add's N24 timer running;
* 8.14.x moves the CHF and GPF out of Pending, so 6.21 to the GPF is accepted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.smets.dcc import PRE_COMMAND_GBCS_VERSION, PreCommandRefused
from harness.smets.duis import (
    CANCELLATION_DATE_TIME,
    CommissionDevice,
    PreCommand,
    ReadInventory,
    Request,
    RequestHandover,
    ResponseCode,
    UpdateHanDeviceLog,
    UpdateSecurityCredentialsCoS,
)
from harness.smets.smi import SmiEvent, SmiStatus
from tests.smets.premises import CHF, ESME, GPF, GSME, MPAN
from tests.smets.premises import RTDS_CODE as CODE
from tests.smets.test_dcc import HASH, MPRN, A, G, Site

RC = ResponseCode


def _joined_site(**options: object) -> Site:
    site = Site(**options)
    site.install()
    site.add()
    site.hub.device_joined(ESME, HASH)
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    return site


# -- I99 now, the device's response later ------------------------------------------------------------------------
def test_a_device_srv_is_acknowledged_i99_and_answered_through_the_outbox() -> None:
    site = Site()
    site.install()
    ack = site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    assert ack.code is RC.I99 and ack.payload is None
    assert ESME in site.hub.device_log  # the command went to the CH ...
    [answer] = site.dcc.outbox.collect(A.user_id)  # ... and its response was delivered, not returned
    assert (answer.request_id, answer.code) == (ack.request_id, RC.I0)
    assert answer.payload.success  # type: ignore[union-attr]
    assert site.dcc.outbox.collect(A.user_id) == []  # collected once


def test_a_non_device_srv_is_answered_synchronously_and_nothing_is_delivered_later() -> None:
    site = Site()
    assert site.send(ReadInventory(ESME), A).code is RC.I0
    assert site.dcc.outbox.waiting() == []


def test_the_response_arrives_after_the_response_delay_on_the_virtual_clock() -> None:
    site = Site(response_delay=timedelta(seconds=30))
    site.install()
    ack = site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    site.clock.advance(seconds=29)
    assert site.dcc.outbox.collect(A.user_id) == []
    site.clock.advance(seconds=1)
    [answer] = site.dcc.outbox.collect(A.user_id)
    assert answer.code is RC.I0 and answer.answered_at - answer.sent_at == timedelta(seconds=30)
    assert answer.sent_at == ack.answered_at


def test_wan_down_e20_is_the_delivered_response_not_the_acknowledgement() -> None:
    site = Site(wan_up=False)
    site.install(no_wan=True)
    ack = site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    assert ack.code is RC.I99
    assert site.outcome(ack).code is RC.E20


def test_the_outbox_is_per_user() -> None:
    site = Site()
    site.install()
    site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    assert site.dcc.outbox.collect(G.user_id) == []
    assert len(site.dcc.outbox.collect(A.user_id)) == 1


# -- CV 4 transform, CV 5 signed pre-command ---------------------------------------------------------------------
def test_cv4_returns_a_pre_command_and_never_reaches_the_device() -> None:
    site = _joined_site()
    commands_before = len(site.hub.commands)
    pre = site.send(CommissionDevice(), A, ESME, cv=4)
    assert pre.code is RC.I0 and isinstance(pre.payload, PreCommand)
    assert pre.payload.gbcs_version == PRE_COMMAND_GBCS_VERSION
    assert len(site.hub.commands) == commands_before
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert site.dcc.outbox.waiting() == [] and site.dcc.pre_commands() == [pre.request_id]
    assert "<sr:PreCommand>" in pre.to_xml() and "<sr:GBCSPayload>" in pre.to_xml()


def test_cv5_sends_the_signed_pre_command_under_the_same_request_id() -> None:
    site = _joined_site()
    pre = site.send(CommissionDevice(), A, ESME, cv=4)
    signed = Request.signed(pre.request_id, "8.1.1", pre.payload.gbcs_payload)  # type: ignore[union-attr]
    ack = site.dcc.submit(signed.to_xml(), A)
    assert (ack.request_id, ack.code) == (pre.request_id, RC.I99)
    assert site.hub.commands[-1].use_case == "8.1.1"
    assert site.outcome(ack).code is RC.I0 and site.smi.status(ESME) is SmiStatus.COMMISSIONED
    with pytest.raises(PreCommandRefused, match="already used"):  # one signed pre-command per Pre-Command
        site.dcc.submit(signed, A)


def test_a_signed_pre_command_must_answer_a_pre_command_the_dcc_issued() -> None:
    site = _joined_site()
    pre = site.send(CommissionDevice(), A, ESME, cv=4)
    with pytest.raises(PreCommandRefused, match="not the Pre-Command issued"):
        site.dcc.submit(Request.signed(pre.request_id, "8.1.1", b"forged"), A)
    later = Request.build(CommissionDevice(site.clock.now()), originator=A.user_id, target=ESME, counter=99,
                          command_variant=4).request_id
    with pytest.raises(PreCommandRefused, match="no Pre-Command was issued"):
        site.dcc.submit(Request.signed(later, "8.1.1", b"x"), A)
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED and len(site.dcc.refused) == 2


def test_cv5_is_checked_again_when_it_arrives() -> None:
    site = _joined_site()
    pre = site.send(CommissionDevice(), A, ESME, cv=4)
    site.smi.apply(ESME, SmiEvent.SUSPENDED)
    payload = pre.payload.gbcs_payload  # type: ignore[union-attr]
    ack = site.dcc.submit(Request.signed(pre.request_id, "8.1.1", payload), A)
    assert ack.code is RC.E5


# -- future-dated requests and the 3000-12-31 cancellation --------------------------------------------------------
def test_a_future_dated_request_waits_for_its_execution_date_time() -> None:
    site = _joined_site()
    when = site.clock.now() + timedelta(days=2)
    ack = site.send(UpdateSecurityCredentialsCoS(MPAN, execution_date_time=when), A, ESME)
    assert ack.code is RC.I99 and [r.request_id for _, r in site.dcc.scheduled()] == [ack.request_id]
    site.clock.advance(days=1)
    assert site.hub.commands[-1].srv != "6.23" and site.dcc.outbox.collect(A.user_id) == []
    site.clock.advance(days=1)
    assert site.hub.commands[-1].srv == "6.23" and site.dcc.scheduled() == []
    [answer] = site.dcc.outbox.collect(A.user_id, ack.request_id)
    assert answer.code is RC.I0 and answer.answered_at == when and answer.sent_at == ack.answered_at


def test_a_request_dated_3000_12_31_cancels_the_waiting_one() -> None:
    site = Site()
    site.install()
    when = site.clock.now() + timedelta(hours=6)
    future = site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN, execution_date_time=when), A, CHF)
    other = site.send(UpdateHanDeviceLog.add(GSME, CODE, import_mpxn=MPRN, execution_date_time=when), G, CHF)
    cancel = site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN,
                                              execution_date_time=CANCELLATION_DATE_TIME), A, CHF)
    assert (future.code, cancel.code) == (RC.I99, RC.I99)
    done = site.outcome(cancel)
    assert done.code is RC.I0 and str(future.request_id) in done.detail
    site.clock.advance(days=1)
    assert ESME not in site.hub.device_log
    assert [r.request_id for r in site.dcc.cancelled] == [future.request_id]
    assert GSME in site.hub.device_log  # G's request, for another device, ran at its time
    assert site.dcc.outbox.collect(A.user_id) == [] and site.outcome(other).code is RC.I0


def test_a_signed_pre_command_may_be_future_dated() -> None:
    site = _joined_site()
    pre = site.send(CommissionDevice(), A, ESME, cv=4)
    when = site.clock.now() + timedelta(hours=1)
    payload = pre.payload.gbcs_payload  # type: ignore[union-attr]
    signed = Request.signed(pre.request_id, "8.1.1", payload, execution_date_time=when)
    assert site.dcc.submit(signed, A).code is RC.I99
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    site.clock.advance(hours=1)
    assert site.smi.status(ESME) is SmiStatus.COMMISSIONED


# -- E4: only the supplier of that device's meter point -----------------------------------------------------------
def test_a_supplier_may_not_whitelist_another_suppliers_meter_by_naming_its_own_mpan() -> None:
    site = Site()
    site.install()
    site.reg.associate(GSME, MPRN)  # the gas meter serves G's MPRN
    refused = site.add(GSME, A, mpxn=MPAN)  # A is registered for the MPAN, not for the GSME's MPRN
    assert refused.code is RC.E4 and "MPxN 1000999888" in refused.detail
    assert GSME not in site.hub.device_log and [str(m) for m in site.reg.mpxns_of(GSME)] == [MPRN]
    assert site.commission(GSME, A).code is RC.E4
    assert site.add(GSME, G, mpxn=MPRN).code is RC.I0  # its own supplier may


def test_an_import_mpxn_authorises_only_its_own_supplier_for_a_new_meter() -> None:
    site = Site()
    site.install()
    assert site.add(GSME, A, mpxn=MPRN).code is RC.E4  # G's meter point, named by A
    assert site.add(GSME, G, mpxn=MPRN).code is RC.I0


# -- duplicate 8.11 Add and N24 -----------------------------------------------------------------------------------
def test_a_duplicate_add_does_not_rearm_the_n24_timer() -> None:
    site = Site()
    site.install()
    first = site.add(join=90)
    site.clock.advance(minutes=60)
    assert site.add(join=90).code is RC.I0  # succeeds at the CHF, which keeps the entry (§1.4)
    site.clock.advance(minutes=31)
    [alert] = site.dcc.dcc_alerts
    assert (alert.request_id, alert.outcome) == (first.request_id, "join window expired")
    assert alert.at == first.answered_at + timedelta(minutes=90)
    assert not site.hub.device_log.join_window_open(ESME)  # the CHF's own window agrees


# -- CH and GPF inventory statuses --------------------------------------------------------------------------------
def test_8_14_2_makes_the_chf_and_gpf_installed_and_the_wan_commissions_the_chf() -> None:
    site = Site(wan_up=False)
    assert (site.smi.status(CHF), site.smi.status(GPF)) == (SmiStatus.PENDING, SmiStatus.PENDING)
    site.install(no_wan=True)
    assert site.smi.status(CHF) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert site.smi.status(GPF) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    site.clock.advance(days=3)
    site.wan.restore(CHF)
    assert site.smi.status(CHF) is SmiStatus.COMMISSIONED  # a CH is Commissioned when its CHF is
    assert site.smi.status(GPF) is SmiStatus.INSTALLED_NOT_COMMISSIONED  # the GPF waits for its supplier
    [device] = site.send(ReadInventory(CHF), A).payload.devices  # type: ignore[union-attr]
    assert device.device_status == "Commissioned"


def test_8_14_1_with_the_wan_up_commissions_the_chf_at_once() -> None:
    site = Site()
    site.install()
    assert site.smi.status(CHF) is SmiStatus.COMMISSIONED
    assert site.smi.status(GPF) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert site.call(RequestHandover(), G, GPF).code is RC.I0
