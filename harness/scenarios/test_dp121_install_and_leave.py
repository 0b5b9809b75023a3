"""DP121 (b): install and leave (SRV 8.14.2), the SM WAN restored after N virtual days, then the installing
supplier commissions over the HAN (domain.md §2.2, §10 scenario 3; seed 000 §"install and leave")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.bench import steps

pytestmark = pytest.mark.timeout(120)

WAN_DAYS = 45  # inside the DCC's 90-day target ([MP121], [PM])


@pytest.mark.sec("DP121", "SRV 8.14.2")
async def test_install_and_leave_then_wan_restored_installing_supplier_commissions(bench):
    esme = bench.device("esme")
    installed = steps.install_and_leave(bench, esme)
    steps.restore_wan_after(bench, WAN_DAYS)

    supplier = bench.supplier_for(esme)
    await steps.whitelist_and_join(bench, supplier, esme)
    steps.commission(bench, supplier, esme)

    # The CH First Time Installed Date is the 8.14.2 date, and first connectivity is measured from it ([PM] p.26).
    assert bench.dcc.ch_first_installed(bench.chf) == installed
    measure = bench.dcc.first_connectivity(bench.chf)
    assert measure is not None and measure.elapsed == timedelta(days=WAN_DAYS) and measure.met is True
    bench.evidence.record.measure("first_connectivity", measure.elapsed.days, "days", target=90, key=True)
    bench.evidence.record.measure("commissioning_duration", (bench.clock.now() - installed).total_seconds() / 86400,
                                  "virtual_days")


@pytest.mark.sec("DP121", "DCC 90-day target")
async def test_wan_restored_after_the_90_day_target_still_commissions_and_records_the_breach(bench):
    # domain.md §10 scenario 15: the harness must not assume restoration within 90 days.
    esme = bench.device("esme")
    steps.install_and_leave(bench, esme)
    steps.restore_wan_after(bench, 120)
    supplier = bench.supplier_for(esme)
    await steps.whitelist_and_join(bench, supplier, esme)
    steps.commission(bench, supplier, esme)
    measure = bench.dcc.first_connectivity(bench.chf)
    assert measure is not None and measure.elapsed == timedelta(days=120) and measure.met is False
    bench.evidence.record.measure("first_connectivity", 120, "days", target=90, key=True)
