"""The emulated DCC: checks in order (E1, replay, E2, E12, E19, E11, E4, E5, E20), SMI effects, WAN queueing,
N24, 12.1 routing, 8.12.1 restore, and the CH first-connectivity measure. Scenarios refer to domain.md §10.

Device SRVs are acknowledged I99 and answered later (tests/smets/test_dcc_delivery.py has those rules); `Site.call`
sends and reads the delivered response, `Site.commission` runs 8.1.1's CV 4 -> CV 5 round trip."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import DomainError
from harness.smets.alerts import N24Trigger
from harness.smets.clock import VirtualClock
from harness.smets.connectivity import ChState
from harness.smets.coverage import coverage_db_from_mapping
from harness.smets.dcc import Dcc
from harness.smets.duis import (
    ChfInstallSuccessNoSmWan,
    ChfInstallSuccessSmWan,
    CommissionDevice,
    DeviceLogRead,
    DevicePrenotification,
    DspInventory,
    DspWanMatrix,
    DuisSchemaError,
    NoPremisesFound,
    ReadDeviceLog,
    ReadInventory,
    ReplayRefused,
    Request,
    RequestHandover,
    RequestWanMatrix,
    ResponseCode,
    RestoreHanDeviceLog,
    UpdateHanDeviceLog,
    UpdateSecurityCredentialsCoS,
)
from harness.smets.hub import CommsHub
from harness.smets.identities import DeviceType, Eui64, Party, Role
from harness.smets.registration import ServiceFlag
from harness.smets.smi import SmartMeteringInventory, SmiEvent, SmiStatus
from harness.smets.wan import EmulatedWan
from tests.smets.premises import CHF, DCC, ESME, GPF, GSME, IHD, MPAN, SUPPLIER_A, SUPPLIER_B
from tests.smets.premises import RTDS_CODE as CODE

RC = ResponseCode
MPRN = "1000999888"
HASH = bytes(range(16))

A = Party("Supplier A", SUPPLIER_A, Role.IS)
B = Party("Supplier B", SUPPLIER_B, Role.IS)
G = Party("Gas Supplier", Eui64.parse("90-B3-D5-1F-30-04-00-00"), Role.GS)


class Site:
    """One premises: a CH (CHF+GPF), an ESME, GSME and IHD in the SMI; MPAN registered to A, MPRN to G."""

    def __init__(self, *, wan_up: bool = True, **dcc_options: object) -> None:
        self.clock = VirtualClock()
        self.smi = SmartMeteringInventory(self.clock)
        for eui, kind in ((CHF, DeviceType.CHF), (GPF, DeviceType.GPF), (ESME, DeviceType.ESME),
                          (GSME, DeviceType.GSME), (IHD, DeviceType.TYPE2)):
            self.smi.add_device(eui, kind)
        self.smi.set_chf(GPF, CHF)
        from harness.smets.registration import Registration

        self.reg = Registration(self.clock)
        self.reg.register(MPAN, A, self.clock.now())
        self.reg.register(MPRN, G, self.clock.now())
        self.reg.associate(GPF, MPRN)  # the GPF serves the gas meter point
        self.hub = CommsHub(self.clock, CHF, GPF)
        self.wan = EmulatedWan(self.clock)
        self.wan.attach(self.hub, up=wan_up)
        self.dcc = Dcc(self.clock, self.smi, self.reg, self.hub, self.wan, **dcc_options)  # type: ignore[arg-type]
        self._counters: dict[Eui64, itertools.count] = {}

    def send(self, body: object, sender: Party, target: Eui64 | str | None = None, *, cv: int | None = None,
             as_xml: bool = False):  # noqa: ANN201
        counter = next(self._counters.setdefault(sender.user_id, itertools.count(1)))
        if isinstance(body, CommissionDevice):
            body = body.at(self.dcc.clock.now())
        request = Request.build(body, originator=sender.user_id, target=target or DCC, counter=counter,  # type: ignore[arg-type]
                                command_variant=cv)
        return self.dcc.submit(request.to_xml() if as_xml else request, sender)

    def outcome(self, ack):  # noqa: ANN001, ANN201
        """The response delivered to the sender's outbox for `ack`'s request, or `ack` itself if it is final."""
        if ack.code is not RC.I99:
            return ack
        [response] = self.dcc.outbox.collect(ack.request_id.originator, ack.request_id)
        return response

    def call(self, body: object, sender: Party, target: Eui64 | str | None = None, *,  # noqa: ANN201
             cv: int | None = None):
        """Send, then read the DCC's final answer (the asynchronous one for a device SRV)."""
        return self.outcome(self.send(body, sender, target, cv=cv))

    def commission(self, device: Eui64 = ESME, sender: Party = A):  # noqa: ANN201
        """8.1.1: CV 4 returns the Pre-Command, CV 5 sends it back signed under the same RequestID; the final
        answer (or the CV 4 refusal)."""
        pre = self.send(CommissionDevice(), sender, device, cv=4)
        if pre.code is not RC.I0:
            return pre
        return self.outcome(self.dcc.submit(Request.signed(pre.request_id, "8.1.1", pre.payload.gbcs_payload), sender))

    def install(self, sender: Party = A, *, no_wan: bool = False):  # noqa: ANN201
        body = ChfInstallSuccessNoSmWan(CHF, MPAN) if no_wan else ChfInstallSuccessSmWan(CHF, MPAN)
        return self.send(body, sender)

    def add(self, device: Eui64 = ESME, sender: Party = A, *, mpxn: str | None = MPAN, join: int = 90):  # noqa: ANN201
        """8.11 Add: the final answer."""
        return self.call(UpdateHanDeviceLog.add(device, CODE, join_time_period=join, import_mpxn=mpxn), sender, CHF)


# -- E1 / replay ------------------------------------------------------------------------------------------------
def test_sender_must_be_the_request_originator() -> None:
    site = Site()
    request = Request.build(ChfInstallSuccessSmWan(CHF, MPAN), originator=B.user_id, target=DCC, counter=1)
    assert site.dcc.submit(request, A).code is RC.E1


def test_replayed_request_is_refused_and_recorded() -> None:
    site = Site()
    request = Request.build(ChfInstallSuccessSmWan(CHF, MPAN), originator=A.user_id, target=DCC, counter=7)
    assert site.dcc.submit(request, A).code is RC.I0
    with pytest.raises(ReplayRefused):
        site.dcc.submit(request, A)
    lower = Request.build(ReadInventory(CHF), originator=A.user_id, target=DCC, counter=6)
    with pytest.raises(ReplayRefused):
        site.dcc.submit(lower, A)
    assert len(site.dcc.refused) == 2


def test_malformed_xml_is_refused_before_any_response_code() -> None:
    site = Site()
    xml = Request.build(UpdateHanDeviceLog.add(ESME, CODE), originator=A.user_id, target=CHF, counter=1).to_xml()
    with pytest.raises(DuisSchemaError, match="InstallCode: 15 bytes, expected 6 or 8 or 12 or 16"):
        site.dcc.submit(xml.replace("4546<", "45<"), A)
    assert site.dcc.responses == []


# -- E2: the role matrix, domain.md §1.1 ([DP] duis-request-matrix.json) -------------------------------------
ROLE_MATRIX = {
    "8.1.1": {"IS", "GS"}, "8.2": {"IS", "ES", "GS", "RSA", "ED", "GT", "OU"}, "8.9": {"IS", "GS", "OU"},
    "8.11": {"IS", "GS", "OU"}, "8.12.1": {"IS", "GS"}, "8.14.1": {"IS", "GS"}, "8.14.2": {"IS", "GS"},
    "8.14.3": {"IS", "GS"}, "8.14.4": {"IS", "GS"}, "12.1": {"IS", "ES", "GS", "RSA", "ED", "GT", "OU"},
    "12.2": {"IS", "ES", "GS", "RSA", "ED", "GT", "OU"}, "6.21": {"IS", "GS"}, "6.23": {"IS", "GS"},
}
BODIES = {
    "8.1.1": (CommissionDevice(), ESME), "8.2": (ReadInventory(CHF), None), "8.9": (ReadDeviceLog(), CHF),
    "8.11": (UpdateHanDeviceLog.add(ESME, CODE), CHF), "8.12.1": (RestoreHanDeviceLog(GPF), CHF),
    "8.14.1": (ChfInstallSuccessSmWan(CHF, MPAN), None), "8.14.2": (ChfInstallSuccessNoSmWan(CHF, MPAN), None),
    "12.1": (RequestWanMatrix(uprn="1"), None), "12.2": (DevicePrenotification(ESME, "ESME"), None),
    "6.21": (RequestHandover(), GPF), "6.23": (UpdateSecurityCredentialsCoS(MPAN), ESME),
}


@pytest.mark.parametrize(
    ("srv", "role"), [(srv, role) for srv in sorted(BODIES) for role in Role if role.code not in ROLE_MATRIX[srv]])
def test_roles_not_permitted_for_an_srv_get_e2(srv: str, role: Role) -> None:
    site = Site()
    sender = Party(role.code, Eui64.parse("90-B3-D5-1F-30-09-00-00"), role)
    body, target = BODIES[srv]
    assert site.send(body, sender, target).code is RC.E2


@pytest.mark.parametrize("role", [Role.ED, Role.GT])
def test_scenario_22_network_operators_may_not_send_8_11(role: Role) -> None:
    site = Site()
    response = site.add(sender=Party("network", Eui64.parse("90-B3-D5-1F-30-0A-00-00"), role))
    assert response.code is RC.E2 and "may not send 8.11" in response.detail


def test_scenario_22_other_user_may_not_send_8_12_1() -> None:
    site = Site()
    ou = Party("OU", Eui64.parse("90-B3-D5-1F-30-0B-00-00"), Role.OU)
    assert site.send(RestoreHanDeviceLog(GPF), ou, CHF).code is RC.E2


# -- E12 (scenario 21) ----------------------------------------------------------------------------------------
def test_scenario_21_cv4_on_8_11_gets_e12() -> None:
    site = Site()
    response = site.send(UpdateHanDeviceLog.add(ESME, CODE), A, CHF, cv=4, as_xml=True)
    assert response.code is RC.E12 and "CommandVariant 4 not valid for 8.11" in response.detail
    assert site.hub.commands == []


def test_scenario_21_cv1_on_8_14_2_gets_e12() -> None:
    site = Site()
    assert site.send(ChfInstallSuccessNoSmWan(CHF, MPAN), A, cv=1).code is RC.E12
    assert site.dcc.ch_first_installed(CHF) is None


def test_command_variants_are_configurable() -> None:
    # Whether CV 2 (local delivery) is allowed for 8.11 is [U] (domain.md §8 item 12).
    site = Site(command_variants={"8.11": frozenset({1, 2})})
    site.install()
    assert site.call(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF, cv=2).code is RC.I0


# -- E19 / E11 (scenario 20) ----------------------------------------------------------------------------------
def test_unknown_device_gets_e19() -> None:
    site = Site()
    stranger = Eui64.parse("00-DB-12-34-56-78-90-FF")
    assert site.add(stranger).code is RC.E19
    assert site.send(CommissionDevice(), A, stranger, cv=4).code is RC.E19


def test_scenario_20_8_11_target_not_a_chf_gets_e11() -> None:
    site = Site()
    response = site.send(UpdateHanDeviceLog.add(ESME, CODE), A, ESME)
    assert response.code is RC.E11 and "does not apply to 00-DB-12-34-56-78-90-A0, a ESME" in response.detail


def test_non_device_srv_addressed_to_a_device_gets_e11() -> None:
    site = Site()
    assert site.send(ReadInventory(CHF), A, CHF).code is RC.E11


def test_8_14_x_for_a_device_that_is_not_a_chf_gets_e11() -> None:
    site = Site()
    assert site.send(ChfInstallSuccessSmWan(ESME, MPAN), A).code is RC.E11


def test_8_11_cannot_whitelist_a_gpf() -> None:
    site = Site()
    assert site.add(GPF, mpxn=None).code is RC.E11


# -- E4 (scenario 11) -------------------------------------------------------------------------------------------
def test_scenario_11_cos_boundary() -> None:
    site = Site()
    site.install()
    cos = site.clock.now() + timedelta(days=10)
    site.reg.change_of_supplier(MPAN, B, cos)
    assert site.add(sender=B).code is RC.E4  # before its registration starts
    site.clock.advance_to(cos)
    assert site.add(sender=A).code is RC.E4  # the losing supplier, at the CoS date-time
    assert site.add(sender=B).code is RC.I0


def test_unregistered_supplier_cannot_report_an_install() -> None:
    site = Site()
    assert site.install(sender=B).code is RC.E4
    assert site.dcc.ch_first_installed(CHF) is None


def test_other_user_may_whitelist_only_type2_devices_by_default() -> None:
    site = Site()
    site.install()
    ou = Party("IHD provider", Eui64.parse("90-B3-D5-1F-30-0C-00-00"), Role.OU)
    assert site.add(IHD, ou, mpxn=None).code is RC.I0
    assert site.add(ESME, ou, mpxn=None).code is RC.E4
    relaxed = Site(ou_8_11_type2_only=False)
    relaxed.install()
    assert relaxed.add(ESME, ou, mpxn=None).code is RC.I0


def test_supplier_whitelists_an_ihd_through_its_ch() -> None:
    site = Site()
    site.install()
    assert site.add(IHD, mpxn=None).code is RC.I0
    assert IHD in site.hub.device_log


# -- E5 (scenario 12) -------------------------------------------------------------------------------------------
def test_scenario_12_8_1_1_on_a_whitelisted_device_gets_e5() -> None:
    site = Site()
    site.install()
    site.add()
    assert site.smi.status(ESME) is SmiStatus.WHITELISTED
    response = site.commission()
    assert response.code is RC.E5 and "needs InstalledNotCommissioned" in response.detail


def test_scenario_12_8_11_for_a_withdrawn_device_gets_e5() -> None:
    site = Site()
    site.install()
    site.smi.apply(ESME, SmiEvent.WITHDRAWN)
    assert site.add().code is RC.E5
    assert ESME not in site.hub.device_log


def test_smi_status_rules_are_configurable() -> None:
    site = Site(smi_status_rules={})
    site.install()
    site.add()
    assert site.commission().code is RC.E20  # not on the HAN yet: no answer


# -- SMI effects and N24 ----------------------------------------------------------------------------------------
def test_add_join_commission_moves_the_smi_and_service_flag() -> None:
    site = Site()
    site.install()
    response = site.add()
    assert response.code is RC.I0 and response.payload.success  # type: ignore[union-attr]
    assert site.smi.status(ESME) is SmiStatus.WHITELISTED
    assert site.smi.record(ESME).chf == CHF
    site.clock.advance(minutes=5)
    site.hub.device_joined(ESME, HASH)
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert site.reg.service_flag(MPAN) is ServiceFlag.INSTALLED_NOT_COMMISSIONED
    assert site.commission().code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.COMMISSIONED
    assert site.reg.service_flag(MPAN) is ServiceFlag.ACTIVE


def test_remove_returns_a_whitelisted_device_to_pending() -> None:
    site = Site()
    site.install()
    site.add()
    assert site.call(UpdateHanDeviceLog.remove(ESME), A, CHF).code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.PENDING


def test_n24_follows_the_hash() -> None:
    site = Site()
    site.install()
    add = site.add()
    site.clock.advance(minutes=3)
    site.hub.device_joined(ESME, HASH)
    [alert] = site.dcc.dcc_alerts
    assert (alert.code, alert.request_id, alert.device_id, alert.outcome) == ("N24", add.request_id, ESME, "joined")
    site.clock.advance(days=1)
    assert len(site.dcc.dcc_alerts) == 1  # the expiry timer was cancelled


def test_n24_on_join_window_expiry() -> None:
    site = Site()
    site.install()
    add = site.add(join=90)
    site.clock.advance(minutes=89)
    assert site.dcc.dcc_alerts == []
    site.clock.advance(minutes=2)
    [alert] = site.dcc.dcc_alerts
    assert alert.outcome == "join window expired" and alert.request_id == add.request_id
    assert alert.at == add.answered_at + timedelta(minutes=90)
    assert site.smi.status(ESME) is SmiStatus.WHITELISTED  # scenario 9


def test_n24_trigger_is_configurable() -> None:
    site = Site(n24_trigger=N24Trigger.HASH_POPULATED)
    site.install()
    site.add(join=1)
    site.clock.advance(hours=1)
    assert site.dcc.dcc_alerts == []


# -- WAN: E20 or queue -----------------------------------------------------------------------------------------
def test_wan_down_gives_e20_by_default() -> None:
    site = Site(wan_up=False)
    site.install(no_wan=True)
    response = site.add()
    assert response.code is RC.E20
    assert site.hub.commands == [] and site.smi.status(ESME) is SmiStatus.PENDING


def test_queued_requests_are_delivered_in_order_on_restore() -> None:
    site = Site(wan_up=False, wan_down_policy="queue")
    site.install(no_wan=True)
    sent_at = site.clock.now()
    acks = [site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF),
            site.send(UpdateHanDeviceLog.add(GSME, CODE, import_mpxn=MPRN), G, CHF),
            site.send(ReadDeviceLog(True), A, CHF)]
    assert [a.code for a in acks] == [RC.I99] * 3
    assert len(site.dcc.queued(CHF)) == 3 and site.hub.commands == []
    site.clock.advance(days=12)
    site.wan.restore(CHF)
    assert [c.use_case for c in site.hub.commands] == ["CCS01", "CCS01", "CCS07"]
    finals = [site.dcc.final_response(a.request_id) for a in acks]
    assert [f.code for f in finals] == [RC.I0] * 3  # type: ignore[union-attr]
    assert all(f.sent_at == sent_at and f.answered_at == site.clock.now() for f in finals)  # type: ignore[union-attr]
    assert site.dcc.queued() == []
    assert [r.request_id for r in site.dcc.outbox.collect(A.user_id)] == [acks[0].request_id, acks[2].request_id]
    read = finals[2].payload  # type: ignore[union-attr]
    assert isinstance(read, DeviceLogRead) and [e for e, _ in read.device_log] == [ESME, GSME]


def test_alerts_wait_while_the_wan_is_down() -> None:
    site = Site()
    site.install()
    site.add()
    site.wan.cut()
    site.hub.device_joined(ESME, HASH)
    assert site.smi.status(ESME) is SmiStatus.WHITELISTED  # the CS14 has not reached the DCC
    site.wan.restore()
    assert site.smi.status(ESME) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert [e.kind for e in site.wan.events][-3:] == ["alert-held", "restored", "alert"]


def test_bad_wan_policy_is_refused() -> None:
    with pytest.raises(Exception, match="wan_down_policy"):
        Site(wan_down_policy="drop")


# -- first connectivity ([PM] p.27) ---------------------------------------------------------------------------
def test_install_date_is_the_8_14_2_date_and_connectivity_is_measured_from_it() -> None:
    site = Site(wan_up=False)
    site.clock.advance(days=2)
    site.install(no_wan=True)
    installed = site.clock.now()
    site.clock.advance(days=5)
    site.install(no_wan=False)  # a later 8.14.1 does not move the First Time Installed Date
    assert site.dcc.ch_first_installed(CHF) == installed
    assert site.dcc.ch_state(CHF) is ChState.INSTALLED_WAN
    assert site.dcc.first_connectivity(CHF).met is None  # type: ignore[union-attr]
    site.clock.advance(days=86)  # 91 days after install
    measure = site.dcc.first_connectivity(CHF)
    assert measure is not None and measure.connected_at is None and measure.met is False
    site.clock.advance(days=9)
    site.wan.restore()
    measure = site.dcc.first_connectivity(CHF)
    assert measure.elapsed == timedelta(days=100) and measure.met is False  # type: ignore[union-attr]


def test_connectivity_met_within_90_days() -> None:
    site = Site(wan_up=False)
    site.install(no_wan=True)
    site.clock.advance(days=90)
    site.wan.restore()
    measure = site.dcc.first_connectivity(CHF)
    assert measure.elapsed == timedelta(days=90) and measure.met is True  # type: ignore[union-attr]


def test_wan_up_before_install_counts_from_the_install_date() -> None:
    site = Site()
    site.clock.advance(days=3)
    site.install()
    assert site.dcc.first_connectivity(CHF).elapsed == timedelta(0)  # type: ignore[union-attr]


# -- non-device services ----------------------------------------------------------------------------------------
def test_8_2_reads_the_inventory() -> None:
    site = Site()
    response = site.send(ReadInventory(ESME), A)
    assert response.code is RC.I0
    assert isinstance(response.payload, DspInventory)
    [device] = response.payload.devices
    assert (device.device_id, device.device_type, device.device_status) == (ESME, "ESME", "Pending")
    assert "<sr:DeviceStatus>Pending<" in response.to_xml()


def test_12_2_prenotifies_a_device_into_the_smi() -> None:
    site = Site()
    ppmid = Eui64.parse("00-DB-12-34-56-78-90-A5")
    assert site.send(DevicePrenotification(ppmid, "PPMID"), A).code is RC.I0
    assert site.smi.record(ppmid).device_type is DeviceType.PPMID
    assert site.smi.status(ppmid) is SmiStatus.PENDING
    assert site.send(DevicePrenotification(ppmid, "TOASTER"), A).code is RC.E11


COVERAGE = {
    "postcodes": [
        {"postcode": "M22 0RR", "csp_region": "Central", "coverage_available": True, "wan_technology": "30",
         "connectivity_likelihood": "Medium", "premises": [{"address_identifier": "1 Threapwood Road",
                                                            "uprn": "123456789012"}]},
    ],
}


def test_12_1_answers_from_the_coverage_database() -> None:
    site = Site(coverage=coverage_db_from_mapping(COVERAGE))
    response = site.send(RequestWanMatrix("M22 0RR", "1 Threapwood Road"), A)
    assert response.code is RC.I0
    assert response.payload == DspWanMatrix("Central", True, "30", "Medium")
    assert "<sr:CSPRegion>Central<" in response.to_xml()
    by_uprn = site.send(RequestWanMatrix(uprn="123456789012"), A)
    assert by_uprn.payload == DspWanMatrix("Central", True, "30", "Medium")


def test_12_1_no_premises_found_for_a_new_postcode() -> None:
    # MP097 (domain.md §10 scenario 16): a postcode the database does not know yet.
    site = Site(coverage=coverage_db_from_mapping(COVERAGE))
    response = site.send(RequestWanMatrix("M22 9ZZ", "Plot 7"), A)
    assert response.code is RC.I0 and isinstance(response.payload, NoPremisesFound)
    assert "No premises found" in response.payload.detail
    assert "<sr:CSPRegion>Unknown<" in response.to_xml() and "No premises found" in response.to_xml()


def test_12_1_without_a_coverage_database_is_a_configuration_error() -> None:
    with pytest.raises(DomainError, match="coverage"):
        Site().send(RequestWanMatrix("M22 0RR", "1"), A)


# -- 8.12.1 restore, 8.9, 6.21, 6.23 ----------------------------------------------------------------------------
def test_8_12_1_restores_joined_devices_onto_a_replacement_ch() -> None:
    site = Site()
    site.install()
    site.add()
    site.hub.device_joined(ESME, HASH)
    new_chf = Eui64.parse("00-DB-12-34-56-78-90-B2")
    site.smi.add_device(new_chf, DeviceType.CHF)
    new_hub = CommsHub(site.clock, new_chf)
    site.wan.attach(new_hub)
    site.reg.associate(new_chf, MPAN)
    response = site.call(RestoreHanDeviceLog(CHF), A, new_chf)
    assert response.code is RC.I0
    entry = new_hub.device_log.entry(ESME)
    assert entry.hashed_tc_link_key == HASH and entry.install_code is None  # no install code needed
    assert site.smi.record(ESME).chf == new_chf
    unknown = site.send(RestoreHanDeviceLog(Eui64.parse("00-DB-12-34-56-78-90-95")), A, new_chf)
    assert unknown.code is RC.E19


def test_6_23_after_cos_needs_a_device_on_the_han() -> None:
    site = Site()
    site.install()
    site.add()
    assert site.send(UpdateSecurityCredentialsCoS(MPAN), A, ESME).code is RC.E5  # Whitelisted: [U] default rule
    site.hub.device_joined(ESME, HASH)
    assert site.call(UpdateSecurityCredentialsCoS(MPAN), A, ESME).code is RC.I0


def test_6_21_to_the_gpf() -> None:
    # The RTDS 6.21 targets the GPF (domain.md §1.11). Before the CH is reported installed its GPF is Pending and
    # refused (E5); 8.14.x makes it InstalledNotCommissioned (smi.CH_TRANSITIONS [U]), and the gas supplier's 6.21
    # reaches it. Only the supplier registered for the GPF's meter point may send it.
    site = Site()
    assert site.call(RequestHandover(), G, GPF).code is RC.E5
    site.install()
    assert site.smi.status(GPF) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    assert site.call(RequestHandover(), G, GPF).code is RC.I0
    assert site.send(RequestHandover(), A, GPF).code is RC.E4  # A is not the gas supplier


def test_every_answer_is_recorded_with_virtual_times() -> None:
    site = Site()
    site.install()
    site.clock.advance(hours=1)
    site.add()
    assert [(r.srv, r.code) for r in site.dcc.responses] == [("8.14.1", RC.I0), ("8.11", RC.I99), ("8.11", RC.I0)]
    assert site.dcc.responses[1].answered_at - site.dcc.responses[0].answered_at == timedelta(hours=1)


# -- anti-replay through the DCC (property) -------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 50)), max_size=25))
def test_dcc_answers_a_request_iff_its_counter_beats_every_earlier_one(sequence: list[tuple[bool, int]]) -> None:
    site = Site()
    highest: dict[bool, int] = {}
    for use_b, counter in sequence:
        sender = B if use_b else A
        request = Request.build(ReadInventory(ESME), originator=sender.user_id, target=DCC, counter=counter)
        if counter > highest.get(use_b, 0):
            assert site.dcc.submit(request, sender).code is RC.I0
            highest[use_b] = counter
        else:
            with pytest.raises(ReplayRefused):
                site.dcc.submit(request, sender)
