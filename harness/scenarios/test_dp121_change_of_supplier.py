"""DP121 (c): install and leave -> Change of Supplier -> SM WAN restored -> the gaining supplier obtains the install
code by the MP121 hand-over -> SRV 8.11 -> the meter joins the HAN by its install-code key -> 8.1.1 -> Commissioned.

Asserted at each step: the hub's device log, SMI statuses, alerts and the 90-day measure (seed 000; [MP121];
domain.md §2.3, §10 scenario 4).
"""

from __future__ import annotations

import time

import pytest

from harness.bench import steps
from harness.bench.supplier import NoInstallCode
from harness.smets.hub import ALERT_CHF_DEVICE_LOG_CHANGED, LogChangeKind
from harness.smets.install_codes import HandoverStatus
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)

WAN_DAYS = 60
COS_IN_DAYS = 20


@pytest.mark.sec("DP121", "MP121")
async def test_gaining_supplier_commissions_after_mp121_handover(bench):
    wall_start = time.monotonic()
    esme = bench.device("esme")
    installed = steps.install_and_leave(bench, esme)
    assert bench.status(esme) is SmiStatus.PENDING
    assert esme.eui64 not in bench.hub.device_log

    steps.change_of_supplier(bench, esme, effective_in_days=COS_IN_DAYS)
    assert bench.registration.supplier_at(esme.mpxn) == bench.gaining_supplier.party
    steps.restore_wan_after(bench, WAN_DAYS - COS_IN_DAYS)

    # Without the code the gaining supplier cannot even build the 8.11 (the DP121 problem) ...
    with pytest.raises(NoInstallCode):
        bench.gaining_supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
    # ... so it asks the installing supplier, who answers within 5 working days (MP121).
    handover = steps.mp121_handover(bench, esme)
    assert handover.status is HandoverStatus.ANSWERED
    assert bench.gaining_supplier.store.get(esme.eui64) == esme.install_code

    alerts_before = len(bench.hub.alerts)
    await steps.whitelist_and_join(bench, bench.gaining_supplier, esme)
    new_alerts = bench.hub.alerts[alerts_before:]
    assert [a.cause for a in new_alerts] == [LogChangeKind.ADDED, LogChangeKind.JOINED]
    assert all(a.code == ALERT_CHF_DEVICE_LOG_CHANGED for a in new_alerts)
    assert new_alerts[0].hash_of(esme.eui64) == b"" and new_alerts[1].hash_of(esme.eui64)
    assert bench.status(esme) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    # DCC alert N24 for the gaining supplier's 8.11 (trigger model: hash populated; domain.md §1.2).
    assert bench.dcc.dcc_alerts and bench.dcc.dcc_alerts[-1].request_id == bench.gaining_supplier.responses[-1].request_id

    steps.commission(bench, bench.gaining_supplier, esme)
    measure = bench.dcc.first_connectivity(bench.chf)
    assert measure is not None and measure.elapsed.days == WAN_DAYS and measure.met is True
    assert bench.dcc.ch_first_installed(bench.chf) == installed

    # Over the HAN the gaining supplier's meter now answers.
    if esme.emulated is not None:
        esme.emulated.set_attribute(0x0702, "current_summ_delivered", 4242)
    values = await bench.read_metering(esme)
    if esme.emulated is not None:
        assert values["current_summ_delivered"] == 4242
    bench.evidence.record.measure("commissioning_duration", (bench.clock.now() - installed).days, "virtual_days",
                                  key=True)
    bench.evidence.record.measure("scenario_wall_time", time.monotonic() - wall_start, "s")
