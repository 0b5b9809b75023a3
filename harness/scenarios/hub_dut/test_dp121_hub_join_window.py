"""DP121 (a) from the other side: before 8.11 the hub refuses the stick; after it the stick joins within the join
window by its install-code key, the hub raises 0x8F12, and the supplier commissions it; the hub reads the meter."""

from __future__ import annotations

import pytest

from harness.bench import hub_dut_steps as steps
from harness.smets.hub import ALERT_CHF_DEVICE_LOG_CHANGED

pytestmark = [pytest.mark.topology("hub-under-test")]


@pytest.mark.sec("DP121", "SRV 8.11", "GBCS CCS01")
async def test_hub_refuses_the_stick_before_8_11_and_admits_it_after(bench) -> None:  # noqa: ANN001
    esme = bench.device("esme")
    supplier = bench.installing_supplier
    await steps.install_with_wan(bench, esme)
    steps.note(bench, "the stick tries to join before the 8.11 Add")
    reason = await bench.expect_refused(esme, within=1.5)
    if bench.hub_node is not None:  # the emulated hub never beaconed an open network: nothing to refuse yet
        assert "no HAN permitting joining" in reason or "not in the CHF Device Log" in reason, reason
    joined = await steps.whitelist_and_join(bench, supplier, esme)
    assert joined.attempts >= 1
    if bench.dcc is not None:
        alert = bench.dcc.device_alerts[-1]
        assert alert.code == ALERT_CHF_DEVICE_LOG_CHANGED and alert.hash_of(esme.eui64)
        assert bench.hub_node.decisions_for(esme.eui64.to_zigpy())[-1].outcome == "joined"
        values = await bench.read_metering(esme)  # the stick's host answers the hub's ZCL read over raw EZSP
        assert 0x0000 in values
    await steps.commission(bench, supplier, esme)
    bench.evidence.record.measure("stick_join_attempts", joined.attempts, "attempts")
    bench.evidence.record.measure("join_latency", joined.latency_s, "s", key=True)
