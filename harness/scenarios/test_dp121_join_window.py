"""The CHF join window on the bench (domain.md §4.5, §10 scenario 9): a meter that is not there while its
JoinTimePeriod runs is refused on the air once the window closes; the CHF Device Log keeps an empty hash, the SMI
stays Whitelisted and the DCC raises N24 with the expiry (trigger model, domain.md §1.2)."""

from __future__ import annotations

import pytest

from harness.bench import steps
from harness.smets.duis import ResponseCode
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)

JOIN_TIME_PERIOD = 90  # minutes by default ([U], ChfDeviceLog join_time_unit)


@pytest.mark.sec("GBCS CCS01", "JoinTimePeriod")
async def test_meter_powered_after_the_join_window_is_refused(bench):
    esme = bench.device("esme")
    steps.install_with_wan(bench, esme)
    await bench.power_off(esme)
    supplier = bench.supplier_for(esme)
    add = supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn, join_time_period=JOIN_TIME_PERIOD)
    assert add.code is ResponseCode.I0
    await bench.settle()

    bench.advance(minutes=JOIN_TIME_PERIOD + 1)
    await bench.settle()  # the coordinator has withdrawn the key
    assert not bench.hub.device_log.join_window_open(esme.eui64)
    [n24] = [a for a in bench.dcc.dcc_alerts if a.device_id == esme.eui64]
    assert n24.code == "N24" and "expired" in n24.outcome and n24.request_id == add.request_id

    await bench.power_on(esme)
    reason = await bench.expect_no_join(esme, within=4.0)
    assert bench.hub.device_log.get(esme.eui64).hashed_tc_link_key == b""
    assert bench.status(esme) is SmiStatus.WHITELISTED
    bench.evidence.timeline.record("step", text=f"refused after the window: {reason}")
    bench.evidence.record.measure("late_meter_joined", 0, "flag", key=True)


@pytest.mark.sec("GBCS CCS01", "JoinTimePeriod")
async def test_meter_powered_inside_the_join_window_joins(bench):
    # The control for the test above: same steps, but the meter comes back half-way through its window.
    esme = bench.device("esme")
    steps.install_with_wan(bench, esme)
    await bench.power_off(esme)
    supplier = bench.supplier_for(esme)
    supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn, join_time_period=JOIN_TIME_PERIOD)
    bench.advance(minutes=JOIN_TIME_PERIOD // 2)
    await bench.power_on(esme)
    joined = await bench.wait_for_join(esme)
    assert joined.eui64 == esme.eui64.to_zigpy()
    assert bench.status(esme) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    bench.evidence.record.measurement(f"join_latency.{esme.eui64.dcc}").key = True
