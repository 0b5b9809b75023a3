"""A bench capture (harness as hub, rigs/emulated.yaml) after CBKE, read by tshark (the independent decoder) with
nothing but the key table the bundle holds next to the pcap.

The ESME joins by its install code, runs CBKE with the coordinator (the emulated NCP's EZSP crypto), then the hub
reads its Metering cluster. tshark must dissect the whole key establishment (Initiate, Ephemeral Data and Confirm
Key Data, both ways, with the bench CA as issuer) and decrypt the APS-secured read and its answer under the CBKE
key, which it can only do with the CBKE key from the bundle's table: the install-code key alone does not open them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench import steps
from harness.bench.bench import Bench
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig
from tests.emulation.test_join_pcap_tshark import read_key_table
from tests.zigbee.tshark import require_tshark, run_fields

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
FIELDS = ["frame.number", "wpan.fcs_ok", "_ws.col.Info", "zbee_aps.cluster", "zbee.sec.key_id", "zbee.sec.key",
          "zbee_sec.encrypted_payload", "zbee_zcl_se.ke.cert.issuer", "zbee_zcl_se.ke.cert.subject",
          "zbee_zcl.attr.uint48"]
METERING, KEY_ESTABLISHMENT = "0x0702", "0x0800"


async def test_bench_capture_dissects_cbke_and_decrypts_the_aps_secured_read(tmp_path: Path) -> None:
    tshark = require_tshark()
    evidence = EvidenceBundle(tmp_path, "tests/emulation::cbke_bench_pcap")
    bench = await Bench.start(load_rig(ROOT / "rigs" / "emulated.yaml"), evidence)
    try:
        esme = bench.device("esme")
        steps.install_with_wan(bench, esme)
        await steps.whitelist_and_join(bench, bench.supplier_for(esme), esme)
        assert esme.emulated is not None and esme.emulated.key_established_ok
        cbke_key = bytes(esme.emulated.link_key)
        esme.emulated.set_attribute(0x0702, "current_summ_delivered", 424242)
        assert (await bench.read_metering(esme))["current_summ_delivered"] == 424242
        issuer = bench.cbke_ca.issuer.hex()
    finally:
        await bench.stop()
    evidence.close("passed")
    read = [e for e in evidence.timeline.of_kind("zcl.read")]
    assert read and read[-1].fields["aps_secured"] is True

    pcap = evidence.dir / "capture.pcap"
    keys = read_key_table(pcap.with_name(pcap.name + ".zigbee_pc_keys"))
    assert cbke_key in [key for key, _ in keys]
    frames = run_fields(tshark, pcap, FIELDS, keys)
    assert frames and all(f["wpan.fcs_ok"] == "1" for f in frames)

    info = [f["_ws.col.Info"] for f in frames if f["zbee_aps.cluster"] == KEY_ESTABLISHMENT]
    for name in ("Initiate Key Establishment Request", "Initiate Key Establishment Response",
                 "Ephemeral Data Request", "Ephemeral Data Response",
                 "Confirm Key Data Request", "Confirm Key Data Response"):
        assert any(name in i for i in info), (name, info)
    issuers = {f["zbee_zcl_se.ke.cert.issuer"].replace(":", "") for f in frames if f["zbee_zcl_se.ke.cert.issuer"]}
    assert issuers == {issuer.lower()}
    subjects = {f["zbee_zcl_se.ke.cert.subject"].replace(":", "") for f in frames if f["zbee_zcl_se.ke.cert.subject"]}
    assert "00db1234567890a0" in subjects  # the ESME's certificate names it

    metering = [f for f in frames if f["zbee_aps.cluster"] == METERING]
    # Two security headers each: NWK (key id 1, the network key) and APS (key id 0, a link key).
    secured = [f for f in metering if f["zbee.sec.key_id"] == "0x01,0x00"]
    assert len(secured) == len(metering) >= 2, metering  # the request and its answer, both APS-secured
    assert all(f["zbee.sec.key"].split(",")[1] == cbke_key.hex() for f in secured)  # opened with the CBKE key
    assert all(f["zbee_sec.encrypted_payload"] == "" for f in secured)
    assert "424242" in [f["zbee_zcl.attr.uint48"] for f in secured]

    # Without the CBKE key in the table the same frames stay sealed: the key above is what opened them.
    without = run_fields(tshark, pcap, FIELDS, [(k, label) for k, label in keys if k != cbke_key])
    sealed = [f for f in without if f["frame.number"] in {s["frame.number"] for s in secured}]
    assert sealed and all(f["zbee_sec.encrypted_payload"] for f in sealed)
