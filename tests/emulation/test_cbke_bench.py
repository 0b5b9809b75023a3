"""The bench with CBKE on: the CHF Device Log's hash is AES-MMO of the key CBKE produced (not of the install-code
key), and a meter whose certificate comes from an unknown issuer fails the join with a message naming the issuer."""

from __future__ import annotations

import pytest

from harness.bench.bench import Bench
from harness.errors import SecurityError
from harness.smets.duis import ChfInstallSuccessSmWan, ResponseCode
from harness.zigbee.cbke.certificate import CertificateAuthority
from harness.zigbee.security import aes_mmo_hash

pytestmark = pytest.mark.timeout(120)


def _add(bench: Bench, role: str):
    device = bench.device(role)
    supplier = bench.supplier_for(device)
    assert supplier.send(ChfInstallSuccessSmWan(bench.chf, device.mpxn), bench.dcc.dcc_eui).code is ResponseCode.I0
    assert supplier.update_han_device_log_add(device.eui64, bench.chf, mpxn=device.mpxn).code is ResponseCode.I0
    return device


async def test_device_log_hash_is_the_hash_of_the_cbke_key(bench) -> None:
    esme = _add(bench, "esme")
    await bench.wait_for_join(esme)
    entry = bench.hub.device_log.get(esme.eui64)
    assert esme.emulated is not None and esme.emulated.key_established_ok
    cbke_key = bytes(esme.emulated.link_key)
    assert entry.hashed_tc_link_key == aes_mmo_hash(cbke_key)
    assert entry.hashed_tc_link_key != aes_mmo_hash(bench.rig.install_code("esme").link_key())
    events = bench.evidence.timeline.of_kind("han.cbke")
    assert events and events[-1].fields["success"]
    assert events[-1].fields["issuer"] == bench.cbke_ca.issuer.hex().upper()
    assert bench.evidence.record.measurement(f"cbke_duration.{esme.eui64.dcc}").value > 0


async def test_unknown_issuer_fails_the_join_naming_the_issuer(rig, evidence) -> None:
    rogue = CertificateAuthority.generate(bytes.fromhex("524F475545434131"))

    class RogueBench(Bench):
        cbke_device_issuers = {"esme": rogue}

    bench = await RogueBench.start(rig, evidence)
    try:
        esme = _add(bench, "esme")
        with pytest.raises(SecurityError, match="524F475545434131") as failure:
            await bench.wait_for_join(esme)
        assert "failed CBKE" in str(failure.value)
        assert not bench.hub.device_log.get(esme.eui64).joined  # the CHF records no join
    finally:
        await bench.stop()
