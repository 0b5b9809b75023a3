"""The radio capture of an install-code join decodes in tshark given ONLY the install-code link key.

tshark is the independent decoder (research/vectors.md 5): it derives the key-transport key from the link key
itself, decrypts the APS Transport Key, learns the network key from it and then decrypts the NWK-secured
Device_annce and ZCL traffic that follow. A MIC that does not verify would leave `zbee_sec.encrypted_payload`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import zigpy.types as zt

from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan
from tests.zigbee.tshark import require_tshark, run_fields

SPEC_CODE = "83FED3407A939723A5C639B26916D505C3B5"  # research/vectors.md 1.2
SPEC_KEY_HEX = "66b6900981e1ee3ca4206b6b861c02bb"
ESME = zt.EUI64.convert("70:B3:D5:00:00:00:00:01")
FIELDS = [
    "frame.number", "wpan.fcs_ok", "_ws.col.Info", "zbee.sec.key", "zbee_sec.encrypted_payload",
    "zbee_aps.cmd.id", "zbee_aps.cmd.key", "zbee_aps.cmd.dst", "zbee_zdp.ext_addr", "zbee_zcl.attr.uint48",
]


def read_key_table(path: Path) -> list[tuple[bytes, str]]:
    """Parse the sniffer's zigbee_pc_keys lines ("<hex>","Normal","<label>") back into keys."""
    keys = []
    for line in path.read_text().splitlines():
        key_hex, order, label = (field.strip('"') for field in line.split('","'))
        assert order == "Normal"
        keys.append((bytes.fromhex(key_hex), label))
    return keys


async def capture_join(pcap: Path) -> tuple[bytes, Path]:
    han = EmulatedHan([DeviceSpec("esme", ESME, SPEC_CODE)], pcap_path=pcap,
                      device_options={"scan_interval": 0.1, "scan_dwell": 0.004})
    ncp = han.make_ncp(13, eui64="00:12:4B:00:11:22:33:44")
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(han.close)
        url = await stack.enter_async_context(serve_ncp(ncp, "pty"))
        coordinator = EzspCoordinator(url)
        stack.push_async_callback(coordinator.close)
        await coordinator.connect()
        await coordinator.form()
        han.start()
        han.device(ESME).set_attribute(0x0702, "current_summ_delivered", 123456)
        await coordinator.permit_install_code(ESME, han.device(ESME).link_key, 60)
        await coordinator.wait_joined(ESME, 10)
        await coordinator.read_attributes(ESME, 1, 0x0702, [0x0000])
        network_key = bytes(han.stack.network_key)  # type: ignore[arg-type]
    assert han.sniffer is not None
    return network_key, han.sniffer.key_table_path


async def test_join_capture_decrypts_with_only_the_install_code_key(tmp_path: Path) -> None:
    tshark = require_tshark()
    pcap = tmp_path / "join.pcap"
    network_key, key_table = await capture_join(pcap)
    keys = read_key_table(key_table)
    assert [key.hex() for key, _ in keys] == [SPEC_KEY_HEX]  # the table holds the link key only

    frames = run_fields(tshark, pcap, FIELDS, keys)

    assert frames and all(frame["wpan.fcs_ok"] == "1" for frame in frames)
    transport_keys = [f for f in frames if f["zbee_aps.cmd.id"] == "0x05"]
    assert len(transport_keys) == 1
    transport_key = transport_keys[0]
    assert transport_key["zbee.sec.key"] == SPEC_KEY_HEX  # decrypted under the KTK of the install-code key
    assert transport_key["zbee_aps.cmd.key"] == network_key.hex()
    assert transport_key["zbee_aps.cmd.dst"] == str(ESME)

    announces = [f for f in frames if "Device Announcement" in f["_ws.col.Info"]]
    assert len(announces) == 1
    announce = announces[0]
    assert announce["zbee_zdp.ext_addr"] == str(ESME)
    assert announce["zbee.sec.key"] == network_key.hex() and announce["zbee_sec.encrypted_payload"] == ""
    assert int(announce["frame.number"]) > int(transport_key["frame.number"])

    readings = [f["zbee_zcl.attr.uint48"] for f in frames if f["zbee_zcl.attr.uint48"]]
    assert readings == ["123456"]
    # After the Transport Key every frame decrypted: none is left as an encrypted payload.
    after = [f for f in frames if int(f["frame.number"]) > int(transport_key["frame.number"])]
    assert after and all(f["zbee_sec.encrypted_payload"] == "" for f in after)
