"""CBKE with the SE spec's Annex C test-vector certificates (`coordinator.cbke_credentials: se-test-vectors`) in
place of a per-run test CA: the meters join, run CBKE under the published CA, and the CHF Device Log holds the hash
of the key CBKE produced; a rig naming an EUI-64 the vectors have no certificate for fails to load, naming it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.bench.bench import Bench
from harness.errors import RigError
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig, parse_rig
from harness.smets.duis import ChfInstallSuccessSmWan, ResponseCode
from harness.zigbee.security import aes_mmo_hash

pytestmark = pytest.mark.timeout(120)
RIG = Path(__file__).parents[2] / "rigs" / "emulated-se-vectors.yaml"
SE_CA_ISSUER = "1112131415161718"  # SE Annex C (research/vectors.md §4.3)
SE_CA_PUBLIC = "0207A445022D9F39F49BDC38380026A27A9E0A1799313AB28C5C1A1C6B605154DB1DFF6752"


async def test_meters_run_cbke_under_the_se_test_vector_ca(tmp_path: Path) -> None:
    rig = load_rig(RIG)
    evidence = EvidenceBundle(tmp_path, "tests/emulation/test_cbke_se_vectors.py::test_vectors")
    bench = await Bench.start(rig, evidence)
    try:
        assert bench.cbke_ca is None  # nothing generated: the published certificates only
        supplier = bench.supplier_for(bench.device("esme"))
        assert supplier.send(ChfInstallSuccessSmWan(bench.chf, bench.device("esme").mpxn),
                             bench.dcc.dcc_eui).code is ResponseCode.I0
        for role in ("esme", "gsme"):
            device = bench.device(role)
            assert bench.supplier_for(device).update_han_device_log_add(device.eui64, bench.chf,
                                                                        mpxn=device.mpxn).code is ResponseCode.I0
            await bench.wait_for_join(device)
            assert device.emulated is not None and device.emulated.cbke is not None
            # The hub's side ends first; a sleepy GSME takes the Confirm Key response at its next poll.
            await asyncio.wait_for(device.emulated.cbke.established.wait(), 10)
            entry = bench.hub.device_log.get(device.eui64)
            assert entry.hashed_tc_link_key == aes_mmo_hash(bytes(device.emulated.link_key))  # the CBKE key's
            assert entry.hashed_tc_link_key != aes_mmo_hash(rig.install_code(role).link_key())
        events = [e.fields for e in bench.evidence.timeline.of_kind("han.cbke")]
        assert [(e["issuer"], e["subject"], e["success"]) for e in events] == [
            (SE_CA_ISSUER, "0A0B0C0D0E0F1012", True), (SE_CA_ISSUER, "2000000000000000", True)]
        assert bench.evidence.record.provenance["cbke_ca"]["public_key"] == SE_CA_PUBLIC
    finally:
        await bench.stop()
        evidence.close("passed")


def test_an_eui64_without_a_vector_certificate_is_named() -> None:
    text = RIG.read_text().replace("20-00-00-00-00-00-00-00", "00-DB-12-34-56-78-90-B1")
    with pytest.raises(RigError, match=r"devices\.gsme\.eui64.*00-DB-12-34-56-78-90-B1 has no SE test-vector "
                                       r"certificate.*20-00-00-00-00-00-00-01"):
        parse_rig(text, "se.yaml")


def test_an_unknown_credential_source_is_named() -> None:
    text = RIG.read_text().replace("cbke_credentials: se-test-vectors", "cbke_credentials: vendor")
    with pytest.raises(RigError, match=r"coordinator\.cbke_credentials.*'vendor' is not one of per-run-ca, "
                                       r"se-test-vectors"):
        parse_rig(text, "se.yaml")


def test_rig_check_says_where_the_cbke_credentials_come_from() -> None:
    from harness.cli import main

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["rig", "check", str(RIG)])
    assert code == 0, out.getvalue()
    assert "PASS coordinator.cbke: emulated NCP: suite-2 CBKE data from the SE test vectors" in out.getvalue()
