"""DP121 (d) negative controls from the meter's side: an 8.11 Add carrying a wrong install code never lets the
stick in (the hub's decision log says why), and after 8.11 Remove the hub makes the stick leave."""

from __future__ import annotations

import pytest

from harness.bench import hub_dut_steps as steps
from harness.smets.smi import SmiStatus

pytestmark = [pytest.mark.topology("hub-under-test")]


@pytest.mark.sec("DP121", "SRV 8.11")
async def test_wrong_install_code_in_the_8_11_never_joins(bench) -> None:  # noqa: ANN001
    esme = bench.device("esme")
    supplier = bench.installing_supplier
    await steps.install_with_wan(bench, esme)
    await steps.add_to_device_log(bench, supplier, esme, install_code=bench.wrong_code_for(esme))
    reason = await bench.expect_refused(esme, within=4)
    if bench.hub_node is not None:
        assert reason.startswith("no-annce") and "different link key" in reason, reason
        assert any("did not verify" in line for line in bench.ncp.join_log)
        assert not bench.hub.device_log.entry(esme.eui64).joined
    if bench.dcc is not None:
        assert bench.status(esme) is SmiStatus.WHITELISTED  # never InstalledNotCommissioned
    bench.evidence.record.measure("stick_join_attempts_refused", len(bench.stick.attempts), "attempts", key=True)


@pytest.mark.sec("DP121", "SRV 8.11", "GBCS CCS02")
async def test_after_remove_the_hub_makes_the_stick_leave(bench) -> None:  # noqa: ANN001
    esme = bench.device("esme")
    supplier = bench.installing_supplier
    await steps.install_with_wan(bench, esme)
    await steps.whitelist_and_join(bench, supplier, esme)
    await steps.remove_from_device_log(bench, supplier, esme)
    await bench.wait_left(esme, timeout=10)
    assert not bench.stick.is_joined and bench.stick.leaves
    if bench.hub_node is not None:
        assert bench.hub_node.decisions_for(esme.eui64.to_zigpy())[-1].outcome == "leave-requested"
        assert esme.eui64 not in bench.hub.device_log
        assert bench.hub.device_log.historic.get(esme.eui64) is not None  # joined, so it went to Historic
    reason = await bench.expect_refused(esme, within=1.5)  # removed: it may not come back
    bench.evidence.record.measure("refused_after_remove", 1.0, "bool", key=True)
    assert reason
