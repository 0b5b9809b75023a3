"""DP121 (e): MP281 mode: the DCC serves install codes from the Smart Metering Inventory to the registered
supplier only; after the CoS the gaining supplier gets the code at once and commissions (domain.md §2.3, [MP281])."""

from __future__ import annotations

import pytest

from harness.bench import steps
from harness.smets.install_codes import NotAuthorisedForDevice
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)


@pytest.mark.sec("DP121", "MP281")
async def test_mp281_gaining_supplier_gets_the_code_from_the_smi(bench):
    esme = bench.device("esme")
    bench.dcc.enable_mp281()

    steps.install_and_leave(bench, esme)  # records the ESME's MPxN in the SMI (8.4), as the DCC needs for MP281
    installing = bench.supplier_for(esme)
    bench.dcc.deposit_install_code(installing.party, esme.eui64, installing.store.get(esme.eui64))
    steps.change_of_supplier(bench, esme, effective_in_days=15)
    steps.restore_wan_after(bench, 20)

    with pytest.raises(NotAuthorisedForDevice):
        bench.dcc.request_install_code(bench.supplier_for(esme).party, esme.eui64)  # no longer registered
    asked = bench.clock.now()
    code = bench.dcc.request_install_code(bench.gaining_supplier.party, esme.eui64, into=bench.gaining_supplier.store)
    assert code == esme.install_code
    bench.evidence.record.measure("code_wait", (bench.clock.now() - asked).total_seconds(), "virtual_s", key=True)

    await steps.whitelist_and_join(bench, bench.gaining_supplier, esme)
    steps.commission(bench, bench.gaining_supplier, esme)
    assert bench.status(esme) is SmiStatus.COMMISSIONED
