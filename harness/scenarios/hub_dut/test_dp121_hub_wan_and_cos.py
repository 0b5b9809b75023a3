"""DP121 (b)/(c) from the meter's side: while the hub's SM WAN is down an SRV is acknowledged I99 and answered E20,
or queued (answered I0 when the WAN returns); the stick cannot join a hub nobody whitelisted it on; after a change
of supplier, the WAN's restoration and the MP121 hand-over, the gaining supplier's 8.11 and 8.1.1 succeed and the
stick joins."""

from __future__ import annotations

import pytest

from harness.bench import hub_dut_steps as steps
from harness.smets.duis import CommissionDevice
from harness.smets.smi import SmiStatus

pytestmark = [pytest.mark.topology("hub-under-test")]


@pytest.mark.sec("DP121", "MP121", "SRV 8.14.2", "SRV 8.11")
async def test_wan_down_refuses_8_11_then_gaining_supplier_commissions(bench) -> None:  # noqa: ANN001
    esme = bench.device("esme")
    await steps.install_and_leave(bench, esme)
    await steps.add_to_device_log(bench, bench.installing_supplier, esme, codes="E20")
    await bench.expect_refused(esme, within=1.5)  # not whitelisted: the hub never heard the 8.11
    steps.change_of_supplier(bench, esme, effective_in_days=20)
    bench.advance(days=20)
    await bench.restore_wan()
    steps.mp121_handover(bench, esme)
    gaining = bench.gaining_supplier
    joined = await steps.whitelist_and_join(bench, gaining, esme)
    await steps.commission(bench, gaining, esme)
    if bench.dcc is not None:
        assert bench.status(esme) is SmiStatus.COMMISSIONED
        measure = bench.dcc.first_connectivity(bench.chf)
        assert measure is not None
    bench.evidence.record.measure("join_latency", joined.latency_s, "s", key=True)


@pytest.mark.sec("DP121", "SRV 8.11")
async def test_wan_down_queues_8_11_and_the_stick_joins_on_restoration(bench) -> None:  # noqa: ANN001
    if bench.dcc is None:
        pytest.skip("the DCC's WAN-down policy (queue or E20) is set in the DCC test system, not by the harness")
    bench.dcc.wan_down_policy = "queue"
    esme = bench.device("esme")
    await steps.install_and_leave(bench, esme)
    ack = await steps.add_to_device_log(bench, bench.installing_supplier, esme, codes="I99")  # nothing delivered
    assert esme.eui64 not in bench.hub.device_log  # held at the DCC while the WAN is down
    await bench.expect_refused(esme, within=1.5)
    bench.advance(days=10)
    await bench.restore_wan()
    assert esme.eui64 in bench.hub.device_log  # delivered on restoration
    answer = await bench.installing_supplier.outcome(ack)  # and its response reaches the supplier then
    assert answer is not None and answer.code == "I0"
    joined = await bench.join(esme)
    assert bench.status(esme) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    await steps.commission(bench, bench.installing_supplier, esme)
    bench.evidence.record.measure("join_latency", joined.latency_s, "s", key=True)


@pytest.mark.sec("DP121", "GBCS CS14 0x8F12")
async def test_a_join_while_the_wan_is_down_reaches_the_dcc_on_restoration(bench) -> None:  # noqa: ANN001
    """The HAN needs no WAN: a whitelisted stick joins during a WAN outage; the hub's 0x8F12 waits for the WAN and
    the DCC learns of the join (InstalledNotCommissioned) only when it returns; then 8.1.1 commissions."""
    esme = bench.device("esme")
    supplier = bench.installing_supplier
    await steps.install_with_wan(bench, esme)
    await steps.add_to_device_log(bench, supplier, esme)
    await bench.cut_wan()
    joined = await bench.join(esme)
    if bench.dcc is not None:
        assert bench.hub.device_log.entry(esme.eui64).joined and bench.hub.alerts[-1].hash_of(esme.eui64)
        assert not any(a.hash_of(esme.eui64) for a in bench.dcc.device_alerts)  # held in the WAN
        assert bench.status(esme) is SmiStatus.WHITELISTED
    # The DCC has not heard the 0x8F12, so for it the ESME is still Whitelisted: 8.1.1 is refused (E5). A DCC test
    # system may check the WAN first (E20).
    early = await supplier.send_critical(CommissionDevice(), esme.eui64)  # refused at the CV 4 transform
    steps.expect(early, "E5" if bench.dcc is not None else ("E5", "E20"), "8.1.1 before the DCC knows of the join")
    bench.advance(days=3)
    await bench.restore_wan()
    if bench.dcc is not None:
        assert bench.dcc.device_alerts[-1].hash_of(esme.eui64)  # the held 0x8F12 arrived
        assert bench.status(esme) is SmiStatus.INSTALLED_NOT_COMMISSIONED
    await steps.commission(bench, supplier, esme)
    bench.evidence.record.measure("join_latency", joined.latency_s, "s", key=True)
