"""A dual-fuel install on the bench: the electricity supplier whitelists the ESME and the IHD, the gas supplier the
GSME (a sleepy end device that only hears its parent when it polls); all three join by their own install-code keys
and the meters are commissioned (domain.md §2.1, §10 scenario 2)."""

from __future__ import annotations

import pytest

from harness.bench import steps
from harness.smets.duis import ChfInstallSuccessSmWan, ResponseCode
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)


@pytest.mark.sec("DP121", "SRV 8.11 dual fuel")
async def test_esme_gsme_and_ihd_join_and_the_meters_commission(bench):
    roles = [r for r in ("esme", "gsme", "ihd") if r in bench.devices]
    if len(roles) < 3:
        pytest.skip(f"this scenario needs an ESME, a GSME and an IHD; the rig has {', '.join(roles) or 'none'}")
    esme, gsme, ihd = (bench.device(r) for r in roles)
    electricity, gas = bench.supplier_for(esme), bench.supplier_for(gsme)
    assert electricity is not gas and gas.party.role.code == "GS"

    assert electricity.send(ChfInstallSuccessSmWan(bench.chf, esme.mpxn), bench.dcc.dcc_eui).code is ResponseCode.I0
    for device in (esme, gsme, ihd):
        await steps.whitelist_and_join(bench, bench.supplier_for(device), device)

    assert {e.eui64 for e in bench.hub.device_log.entries() if e.hashed_tc_link_key} == {
        esme.eui64, gsme.eui64, ihd.eui64}
    steps.commission(bench, electricity, esme)
    steps.commission(bench, gas, gsme)
    assert bench.status(ihd) is None  # Type 2 devices have no SMI status (domain.md §3)

    # The sleepy GSME answers a Metering read through its polling.
    if gsme.emulated is not None:
        gsme.emulated.set_attribute(0x0702, "current_summ_delivered", 777)
    values = await bench.read_metering(gsme)
    if gsme.emulated is not None:
        assert values["current_summ_delivered"] == 777
    assert bench.status(gsme) is SmiStatus.COMMISSIONED
    bench.evidence.record.measurement(f"join_latency.{gsme.eui64.dcc}").key = True
