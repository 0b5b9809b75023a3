"""DP121 (a): standard install with the SM WAN up: 8.14.1 -> 8.11 Add -> the meter joins by its install-code key
-> 8.1.1 -> Commissioned (domain.md §2.1, §10 scenario 1)."""

from __future__ import annotations

import pytest

from harness.smets.duis import ChfInstallSuccessSmWan, ResponseCode
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)


@pytest.mark.sec("DP121", "SRV 8.14.1/8.11/8.1.1")
async def test_standard_install_with_wan_commissions_the_esme(bench):
    esme = bench.device("esme")
    supplier = bench.supplier_for(esme)

    installed = supplier.send(ChfInstallSuccessSmWan(bench.chf, esme.mpxn), bench.dcc.dcc_eui)
    assert installed.code is ResponseCode.I0

    add = supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
    assert add.code is ResponseCode.I0
    assert bench.status(esme) is SmiStatus.WHITELISTED
    assert bench.hub.alerts[-1].hash_of(esme.eui64) == b""  # CS14 right after CCS01: empty hash

    joined = await bench.wait_for_join(esme)
    bench.evidence.record.measurement(f"join_latency.{esme.eui64.dcc}").key = True
    assert 0x0109 in joined.profiles  # the Smart Energy endpoint was interviewed
    assert bench.hub.alerts[-1].hash_of(esme.eui64) not in (None, b"")
    assert bench.status(esme) is SmiStatus.INSTALLED_NOT_COMMISSIONED

    commission = supplier.commission(esme.eui64)  # CV 4 -> Pre-Command, CV 5 -> I99, then the device's I0
    assert commission.code is ResponseCode.I0
    assert bench.status(esme) is SmiStatus.COMMISSIONED
    answers = [(r.code, type(r.payload).__name__) for r in supplier.responses if r.srv == "8.1.1"]
    assert answers == [(ResponseCode.I0, "PreCommand"), (ResponseCode.I99, "NoneType"),
                       (ResponseCode.I0, "DeviceResult")]

    # Over the HAN, through the coordinator, on the Smart Energy profile (zigpy alone would drop the reply).
    if esme.emulated is not None:
        esme.emulated.set_attribute(0x0702, "current_summ_delivered", 12345)
    values = await bench.read_metering(esme)
    assert "current_summ_delivered" in values
    if esme.emulated is not None:
        assert values["current_summ_delivered"] == 12345
