"""The DCC's Join / Unjoin (8.7.x / 8.8.x), the GSME's path to the GPF Device Log, 8.12.2 Restore GPF Device Log,
8.3 Decommission, 8.4 Update Inventory and MP281 from the SMI (harness/smets/dcc_join.py, hub_gpf.py; domain.md
§1.5, §1.7, §2.3, §3, §4.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.smets.device_log import GpfDeviceLog
from harness.smets.duis import (
    CommissionDevice,
    DecommissionDevice,
    DeviceResult,
    JoinServiceCritical,
    JoinServiceNonCritical,
    ResponseCode,
    RestoreGpfDeviceLog,
    UnjoinServiceNonCritical,
    UpdateHanDeviceLog,
    UpdateInventory,
)
from harness.smets.hub import CommsHub
from harness.smets.hub_gpf import ALERT_GPF_DEVICE_LOG_CHANGED, GpfAlert
from harness.smets.identities import DeviceType, Eui64, Party, Role
from harness.smets.install_codes import NotAuthorisedForDevice
from harness.smets.smi import SmiStatus
from tests.smets.premises import CHF, ESME, GPF, GSME, IHD, MPAN
from tests.smets.premises import RTDS_CODE as CODE
from tests.smets.test_dcc import HASH, MPRN, A, B, G, Site

RC = ResponseCode
CHF2 = Eui64.parse("00-DB-12-34-56-78-90-B2")
GPF2 = Eui64.parse("00-DB-12-34-56-78-90-B3")
ED = Party("Distributor", Eui64.parse("90-B3-D5-1F-30-05-00-00"), Role.ED)


def _gsme_on_the_han(site: Site) -> None:
    """8.11 Add GSME (by the gas supplier) and its join: the GSME is in the CHF log with a hash (§2.1 step 6)."""
    add = UpdateHanDeviceLog.add(GSME, CODE, import_mpxn=MPRN)
    assert site.call(add, G, CHF).code is RC.I0
    site.hub.device_joined(GSME, HASH)
    assert site.smi.status(GSME) is SmiStatus.INSTALLED_NOT_COMMISSIONED


def _result(response) -> DeviceResult:  # noqa: ANN001
    assert isinstance(response.payload, DeviceResult), response
    return response.payload


def test_gsme_reaches_the_gpf_device_log_by_8_7_2_to_the_gpf() -> None:
    site = Site()
    _gsme_on_the_han(site)
    assert GSME not in site.hub.gpf_log  # 8.11 fills the CHF log only (§1.2)

    response = site.call(JoinServiceNonCritical(GSME), G, GPF)

    assert response.code is RC.I0
    assert _result(response).success and _result(response).gbcs_response_code == 0
    assert [(e.eui64, e.device_type) for e in site.hub.gpf_log.entries()] == [(GSME, DeviceType.GSME)]
    [command] = [c for c in site.hub.commands if c.srv == "8.7.2"]
    assert (command.use_case, command.device, command.device_type) == ("CS03", GSME, DeviceType.GSME)
    backup = site.dcc.gpf_backups[GPF]  # GCS62 0x8071 with the whole GPF log (§4.3)
    assert backup.code == ALERT_GPF_DEVICE_LOG_CHANGED and backup.gpf_entries == ((GSME, DeviceType.GSME),)
    assert site.dcc.backup_of(CHF) is not backup  # the CHF's 8.12.1 backup is not overwritten by the GPF's


def test_critical_join_takes_the_critical_command_variant() -> None:
    site = Site()
    _gsme_on_the_han(site)
    assert site.call(JoinServiceCritical(GSME), G, GPF, cv=1).code is RC.E12
    assert site.call(JoinServiceCritical(GSME), G, GPF, cv=4).code is RC.I0


def test_unjoin_removes_and_a_second_unjoin_answers_not_in_device_log() -> None:
    site = Site()
    _gsme_on_the_han(site)
    site.call(JoinServiceNonCritical(GSME), G, GPF)

    first = _result(site.call(UnjoinServiceNonCritical(GSME), G, GPF))
    second = _result(site.call(UnjoinServiceNonCritical(GSME), G, GPF))

    assert first.success and first.gbcs_response_code == 0 and GSME not in site.hub.gpf_log
    assert not second.success and second.gbcs_response_code == 1 and "Not in Device Log" in second.detail


def test_a_full_gpf_log_answers_device_log_full() -> None:
    site = Site()
    site.hub.gpf_log = GpfDeviceLog(capacity=0)
    _gsme_on_the_han(site)
    result = _result(site.call(JoinServiceNonCritical(GSME), G, GPF))
    assert not result.success and result.gbcs_response_code == 4 and "Device Log Full" in result.detail


def test_join_checks_roles_and_the_other_device() -> None:
    site = Site()
    stranger = Eui64.parse("00-DB-12-34-56-78-90-FF")
    assert site.call(JoinServiceNonCritical(stranger), G, GPF).code is RC.E19
    assert site.call(JoinServiceNonCritical(GSME), ED, GPF).code is RC.E2
    assert site.call(JoinServiceNonCritical(GSME), G, CHF).code is RC.E11  # a CHF is not a join target


def test_join_to_a_meter_goes_to_the_meter() -> None:
    site = Site()
    site.call(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    assert site.call(JoinServiceNonCritical(IHD), A, ESME).code is RC.E20  # the ESME is not on the HAN yet
    site.hub.device_joined(ESME, HASH)
    assert _result(site.call(JoinServiceNonCritical(IHD), A, ESME)).success


def test_8_12_2_restores_the_old_gpf_log_onto_the_new_gpf() -> None:
    site = Site()
    _gsme_on_the_han(site)
    site.call(JoinServiceNonCritical(GSME), G, GPF)
    new_hub = CommsHub(site.clock, CHF2, GPF2)
    site.wan.attach(new_hub)
    site.smi.add_device(CHF2, DeviceType.CHF)
    site.smi.add_device(GPF2, DeviceType.GPF)
    site.reg.associate(GPF2, MPRN)

    assert site.call(RestoreGpfDeviceLog(GPF2), G, GPF2).code is RC.E19  # nothing held for GPF2 as the old one
    response = site.call(RestoreGpfDeviceLog(GPF), G, GPF2)

    assert response.code is RC.I0 and _result(response).success
    assert [(e.eui64, e.device_type) for e in new_hub.gpf_log.entries()] == [(GSME, DeviceType.GSME)]
    assert isinstance(site.dcc.gpf_backups[GPF2], GpfAlert)  # the new GPF reported its restored log


def test_8_3_decommissions_a_commissioned_meter_only() -> None:
    site = Site()
    assert site.call(DecommissionDevice(ESME), A).code is RC.E4  # E4 before E5: the SMI knows no MPxN for it
    site.call(UpdateInventory.update_mpxn(ESME, MPAN), A)
    assert site.call(DecommissionDevice(ESME), A).code is RC.E5  # Pending
    site.call(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    site.hub.device_joined(ESME, HASH)
    assert site.call(CommissionDevice(), A, ESME, cv=4).code is RC.I0
    assert site.call(DecommissionDevice(ESME), B).code is RC.E4

    assert site.call(DecommissionDevice(ESME), A).code is RC.I0
    assert site.smi.status(ESME) is SmiStatus.DECOMMISSIONED


def test_8_4_update_mpxn_is_the_registered_suppliers_and_records_the_smi_association() -> None:
    site = Site()
    assert site.call(UpdateInventory.update_mpxn(ESME, MPAN), B).code is RC.E4
    assert site.call(UpdateInventory.update_mpxn(CHF, MPAN), A).code is RC.E11
    assert site.reg.mpxns_of(ESME) == []

    assert site.call(UpdateInventory.update_mpxn(ESME, MPAN), A).code is RC.I0
    assert str(site.smi.record(ESME).mpxn) == MPAN
    assert [str(m) for m in site.reg.mpxns_of(ESME)] == [MPAN]


def test_8_4_delete_withdraws_a_pending_device_only() -> None:
    site = Site()
    site.call(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    assert site.call(UpdateInventory.delete(ESME), A).code is RC.E5  # Whitelisted
    assert site.call(UpdateInventory.delete(GSME), A).code is RC.I0
    assert site.smi.status(GSME) is SmiStatus.WITHDRAWN


def test_mp281_serves_the_dp121_gaining_supplier_from_the_smi() -> None:
    """Install-and-leave: 8.11 never reached the CH, so only 8.4 tells the SMI which MPxN the ESME serves."""
    site = Site(wan_up=False)
    site.dcc.enable_mp281()
    with pytest.raises(NotAuthorisedForDevice):  # the SMI does not yet know the meter's MPxN
        site.dcc.deposit_install_code(A, ESME, CODE)
    assert site.call(UpdateInventory.update_mpxn(ESME, MPAN), A).code is RC.I0
    site.dcc.deposit_install_code(A, ESME, CODE)

    site.reg.change_of_supplier(MPAN, B, site.clock.now() + timedelta(days=15))
    site.clock.advance(days=15)

    with pytest.raises(NotAuthorisedForDevice):
        site.dcc.request_install_code(A, ESME)  # the losing supplier
    assert site.dcc.request_install_code(B, ESME) == CODE
