"""DP121 (d): negative controls. Without the code the gaining supplier cannot whitelist the device (the stranded
state DP121 describes); the losing supplier's 8.11 after the CoS date gets E4; a wrong install code never joins and
the SMI stays Whitelisted (seed 000; domain.md §1.2, §10 scenarios 11, 19)."""

from __future__ import annotations

import pytest

from harness.bench import steps
from harness.bench.supplier import NoInstallCode
from harness.smets.duis import ResponseCode
from harness.smets.install_codes import HandoverStatus, InstallerBehaviour
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)

NO_JOIN_WINDOW_S = 6.0  # long enough for several scan/join attempts of an emulated meter


@pytest.mark.sec("DP121", "stranded without the install code")
async def test_without_the_code_the_gaining_supplier_is_stranded(bench):
    esme = bench.device("esme")
    steps.install_and_leave(bench, esme)
    steps.change_of_supplier(bench, esme, effective_in_days=10)
    steps.restore_wan_after(bench, 30)

    # The installing supplier never answers (the pre-MP121 world): after the 5-WD deadline the request is missing.
    handover = steps.mp121_handover(bench, esme, behaviour=InstallerBehaviour.never())
    assert handover.status in (HandoverStatus.PENDING, HandoverStatus.MISSING)
    bench.advance(days=30)
    assert handover.status is HandoverStatus.MISSING
    with pytest.raises(NoInstallCode):
        bench.gaining_supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)

    # Not in the CHF Device Log, so the meter cannot join even while it keeps trying.
    reason = await bench.expect_no_join(esme, within=NO_JOIN_WINDOW_S)
    assert esme.eui64 not in bench.hub.device_log
    assert bench.status(esme) is SmiStatus.PENDING
    bench.evidence.record.measure("handover_outcome_missing", 1, "flag", key=True)
    bench.evidence.timeline.record("step", text=f"stranded: {reason}")


@pytest.mark.sec("DP121", "E4 after the CoS date")
async def test_losing_supplier_8_11_after_the_cos_date_gets_e4(bench):
    esme = bench.device("esme")
    steps.install_and_leave(bench, esme)
    steps.change_of_supplier(bench, esme, effective_in_days=5)
    steps.restore_wan_after(bench, 10)
    losing = bench.supplier_for(esme)
    response = losing.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
    assert response.code is ResponseCode.E4
    assert esme.eui64 not in bench.hub.device_log
    bench.evidence.record.measure("losing_supplier_refused", 1, "flag", key=True)


@pytest.mark.sec("DP121", "wrong install code")
async def test_wrong_install_code_never_joins_and_smi_stays_whitelisted(bench):
    esme = bench.device("esme")
    steps.install_with_wan(bench, esme)
    supplier = bench.supplier_for(esme)
    wrong = bytes(b ^ 0x5A for b in esme.install_code)  # a valid 16-byte code, just not this meter's
    supplier.store.put(esme.eui64, wrong, "mistyped delivery file")

    response = supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
    assert response.code is ResponseCode.I0
    assert bench.status(esme) is SmiStatus.WHITELISTED

    reason = await bench.expect_no_join(esme, within=NO_JOIN_WINDOW_S)
    if esme.emulated is not None:
        assert "transport key" in reason.lower() or "mic" in reason.lower(), reason
    assert bench.hub.device_log.get(esme.eui64).hashed_tc_link_key == b""
    assert bench.status(esme) is SmiStatus.WHITELISTED
    bench.evidence.record.measure("wrong_code_joined", 0, "flag", key=True)
