"""The capture of the hub-DUT bench decodes in tshark from the stick's install-code link key alone (CBKE on).

The whole topology-2 bench runs (rigs/hub-dut-emulated.yaml: emulated Comms Hub, the emulated NCP's joining side
driven by unmodified bellows): 8.11 Add, the stick joins, the hub reads Metering, 8.11 Remove makes it leave.
tshark (the independent decoder, research/vectors.md 5) gets only the key table the bench wrote next to the pcap:
it must decrypt the Transport Key under the key-transport key of that link key, learn the network key from it,
and decrypt the Device_annce, the CBKE exchange, the ZCL read and the NWK Leave that follow. The key table also
holds the CBKE key (for APS-secured traffic after CBKE, which the emulated stack does not send yet).
"""

from __future__ import annotations

from pathlib import Path

from harness.bench import hub_dut_steps as steps
from harness.bench.hub_dut import HubDutBench
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig
from tests.emulation.test_join_pcap_tshark import read_key_table
from tests.zigbee.tshark import require_tshark, run_fields

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ["frame.number", "wpan.fcs_ok", "_ws.col.Info", "zbee.sec.key", "zbee_sec.encrypted_payload",
          "zbee_aps.cmd.id", "zbee_aps.cmd.key", "zbee_aps.cmd.dst", "zbee_zdp.ext_addr", "zbee_zcl.attr.uint48",
          "zbee_nwk.cmd.id"]
STICK_KEY_HEX = "66b6900981e1ee3ca4206b6b861c02bb"  # AES-MMO of the rig's ESME code + CRC (vectors.md 1.2)


async def test_hub_dut_capture_decodes_from_the_install_code_key_alone(tmp_path: Path) -> None:
    tshark = require_tshark()
    rig = load_rig(ROOT / "rigs" / "hub-dut-emulated.yaml")
    evidence = EvidenceBundle(tmp_path, "tests/emulation::hub_dut_pcap")
    bench = await HubDutBench.start(rig, evidence)
    try:
        esme = bench.device("esme")
        bench.stick.set_attribute(0x0702, "current_summ_delivered", 654321)
        await steps.install_with_wan(bench, esme)
        await steps.whitelist_and_join(bench, bench.installing_supplier, esme)
        assert await bench.read_metering(esme) == {0x0000: 654321}
        await steps.remove_from_device_log(bench, bench.installing_supplier, esme)
        await bench.wait_left(esme, timeout=10)
        network_key = bytes(bench.hub_node.network_key)
        cbke_key = bench.hub_cbke.last_result(esme.eui64.to_zigpy()).link_key  # the rig runs CBKE (hub.cbke)
    finally:
        await bench.stop()
    evidence.close("passed")
    pcap = evidence.dir / "capture.pcap"
    keys = read_key_table(pcap.with_name(pcap.name + ".zigbee_pc_keys"))
    # the table holds the install-code link key, then the key CBKE established
    assert [key.hex() for key, _ in keys] == [STICK_KEY_HEX, cbke_key.hex()]

    frames = run_fields(tshark, pcap, FIELDS, keys[:1])  # tshark gets the install-code key alone

    assert frames and all(f["wpan.fcs_ok"] == "1" for f in frames)
    transport = [f for f in frames if f["zbee_aps.cmd.id"] == "0x05"]
    assert len(transport) == 1
    assert transport[0]["zbee.sec.key"] == STICK_KEY_HEX
    assert transport[0]["zbee_aps.cmd.key"] == network_key.hex()
    assert transport[0]["zbee_aps.cmd.dst"] == "00:db:12:34:56:78:90:a0"
    after = [f for f in frames if int(f["frame.number"]) > int(transport[0]["frame.number"])]
    assert after and all(f["zbee_sec.encrypted_payload"] == "" for f in after)  # everything after decrypted
    announces = [f for f in after if "Device Announcement" in f["_ws.col.Info"]]
    assert len(announces) == 1 and announces[0]["zbee_zdp.ext_addr"] == "00:db:12:34:56:78:90:a0"
    assert [f["zbee_zcl.attr.uint48"] for f in after if f["zbee_zcl.attr.uint48"]] == ["654321"]
    # the CBKE exchange (NWK security only) decodes too: Initiate, Ephemeral Data, Confirm Key Data, both ways
    ke_frames = [f["_ws.col.Info"] for f in after if "Key Establishment" in f["_ws.col.Info"]
                 or "Ephemeral Data" in f["_ws.col.Info"] or "Confirm Key" in f["_ws.col.Info"]]
    assert len(ke_frames) == 6, ke_frames
    leaves = [f for f in after if f["zbee_nwk.cmd.id"] == "0x04"]  # NWK Leave: the hub's request, the stick's own
    assert len(leaves) >= 2
