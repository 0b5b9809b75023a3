"""tshark, an independent decoder, reads the frames our encoder builds (research/vectors.md section 5).

The capture is written with our pcap writer (LINKTYPE 195, so the FCS must be right) and decoded with a key table
holding ONLY the raw install-code link key: tshark must derive the key-transport key itself, decrypt the APS
Transport Key, learn the network key from it and then open every NWK-secured frame, checking each MIC.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
import zigpy.types as t
from zigpy.types import EUI64, KeyData

from harness.evidence.pcap import PcapWriter
from harness.zigbee import zcl, zdo
from harness.zigbee.aps import ApsFrame, TransportNetworkKey, TransportTcLinkKey
from harness.zigbee.auxsec import KeyId, SecurityHeader
from harness.zigbee.mac import (
    AssociationRequest,
    AssociationResponse,
    Beacon,
    Capability,
    DataRequest,
    MacFrame,
    MacFrameType,
    SuperframeSpec,
    ZigbeeBeaconPayload,
    fcs,
)
from harness.zigbee.nwk import Leave, NwkCommand, NwkFrame, NwkFrameType, RejoinRequest
from tests.zigbee import tshark as tshark_helper
from tests.zigbee.tshark import require_tshark, run_fields

pytestmark = pytest.mark.tshark

PAN = 0x1A62
TC = EUI64.convert("11:22:33:44:55:66:77:88")
DEVICE = EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
EPID = EUI64.convert("00:11:22:33:44:55:66:77")
NETWORK_KEY = KeyData(bytes.fromhex("01030507090B0D0F00020406080A0C0D"))
# Install code 83FED3407A939723A5C639B26916D505 C3B5 -> link key (ZigBee spec example; vectors.md 1.2).
INSTALL_CODE_LINK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
TC_LINK_KEY = KeyData(bytes(range(16)))
START = 1_700_000_000  # virtual capture time, seconds

FIELDS = [
    "frame.number", "frame.time_epoch", "wpan.fcs_ok", "wpan.frame_type", "wpan.cmd", "wpan.asoc.addr",
    "wpan.assoc.status", "wpan.cinfo.alloc_addr", "wpan.assoc_permit", "wpan.bcn_coord",
    "zbee_beacon.ext_panid", "zbee_beacon.profile", "zbee_beacon.update_id", "zbee_nwk.src", "zbee_nwk.dst",
    "zbee_nwk.cmd.id", "zbee_nwk.cmd.leave.rejoin", "zbee_nwk.cmd.cinfo", "zbee.sec.counter", "zbee.sec.key",
    "zbee_sec.encrypted_payload", "zbee_aps.cmd.id", "zbee_aps.cmd.key_type", "zbee_aps.cmd.key",
    "zbee_aps.cmd.dst", "zbee_aps.cmd.src", "zbee_aps.cluster", "zbee_zcl.cmd.id", "zbee_zcl_se.met.attr_id",
    "zbee_zcl.attr.uint48", "zbee_zdp.ext_addr", "zbee_zdp.nwk_addr", "zbee_zcl_se.tun.protocol_id",
    "_ws.malformed",
]


def _nwk_secured(dst: int, src: int, ieee: EUI64, seq: int, counter: int, payload: bytes | NwkCommand) -> bytes:
    kind = NwkFrameType.COMMAND if isinstance(payload, NwkCommand) else NwkFrameType.DATA
    return NwkFrame(kind, dst, src, 30, seq, payload, src_ieee=ieee,
                    security=SecurityHeader(KeyId.NETWORK, counter, ieee, key_seq=0)).to_bytes(NETWORK_KEY)


def _metering(counter: int, message: zcl.ZclMessage) -> ApsFrame:
    return ApsFrame.data(counter, profile_id=0x0109, cluster_id=0x0702, src_endpoint=1, dst_endpoint=1,
                         payload=message.to_bytes())


def build_capture() -> dict[str, bytes]:
    """The frames, by name, in capture order (frame numbers 1..n)."""
    frames: dict[str, bytes] = {}
    # TC -> device: network key in an APS Transport Key under KTK(install-code link key); NWK unsecured.
    transport = ApsFrame.command(0x11, TransportNetworkKey(NETWORK_KEY, 0, DEVICE, TC),
                                 security=SecurityHeader(KeyId.KEY_TRANSPORT, 1, TC))
    nwk = NwkFrame(NwkFrameType.DATA, 0x1234, 0x0000, 30, 1, transport.to_bytes(INSTALL_CODE_LINK_KEY))
    frames["transport_key"] = MacFrame.data(1, PAN, 0x1234, 0x0000, nwk.to_bytes()).to_bytes()
    # TC -> meter: Metering Read Attributes (CurrentSummationDelivered), NWK-secured.
    read = _metering(0x12, zcl.read_attributes(1, [0x0000]))
    frames["read"] = MacFrame.data(2, PAN, 0x1234, 0x0000, _nwk_secured(0x1234, 0, TC, 2, 10, read.to_bytes())).to_bytes()
    # meter -> TC: the response, uint48 123456.
    response = _metering(0x13, zcl.read_attributes_response(1, [zcl.attribute_value(0, 0x25, t.uint48_t(123456))]))
    good = MacFrame.data(3, PAN, 0x0000, 0x1234, _nwk_secured(0, 0x1234, DEVICE, 3, 11, response.to_bytes())).to_bytes()
    frames["response"] = good
    # The same frame with one MIC byte flipped (FCS recomputed so only the MIC is wrong).
    body = good[:-3] + bytes([good[-3] ^ 0x01])
    frames["bad_mic"] = body + fcs(body).to_bytes(2, "little")
    frames["leave"] = MacFrame.data(5, PAN, 0xFFFF, 0x1234,
                                    _nwk_secured(0xFFFD, 0x1234, DEVICE, 5, 12, Leave(rejoin=True))).to_bytes()
    annce = ApsFrame.data(0x14, profile_id=zdo.ZDO_PROFILE, cluster_id=0x0013, src_endpoint=0, dst_endpoint=0,
                          payload=zdo.device_annce(5, 0x1234, DEVICE, 0x8E).to_bytes())
    frames["device_annce"] = MacFrame.data(6, PAN, 0xFFFF, 0x1234,
                                           _nwk_secured(0xFFFD, 0x1234, DEVICE, 6, 13, annce.to_bytes())).to_bytes()
    frames["beacon_request"] = MacFrame.beacon_request(7).to_bytes()
    beacon = Beacon(SuperframeSpec(pan_coordinator=True, association_permit=True),
                    ZigbeeBeaconPayload(EPID, update_id=3))
    frames["beacon"] = MacFrame(MacFrameType.BEACON, 8, src_pan=PAN, src=0x0000, payload=beacon).to_bytes()
    frames["association_request"] = MacFrame(
        MacFrameType.COMMAND, 9, PAN, 0x0000, 0xFFFF, DEVICE, AssociationRequest(Capability(0x8E)),
        ack_request=True).to_bytes()
    frames["association_response"] = MacFrame(
        MacFrameType.COMMAND, 10, PAN, DEVICE, None, TC, AssociationResponse(0x1234, 0), ack_request=True,
        pan_id_compression=True).to_bytes()
    frames["poll"] = MacFrame(MacFrameType.COMMAND, 11, PAN, 0x0000, None, 0x1234, DataRequest(), ack_request=True,
                              pan_id_compression=True).to_bytes()
    frames["ack"] = MacFrame.ack(11).to_bytes()
    # APS link-key security WITHOUT the extended nonce: the nonce uses the NWK source IEEE address.
    tunnel = ApsFrame.data(0x15, profile_id=0x0109, cluster_id=0x0704, src_endpoint=1, dst_endpoint=1,
                           payload=bytes.fromhex("01040006ffff00dc05"), security=SecurityHeader(KeyId.DATA, 3))
    frames["aps_link_key"] = MacFrame.data(13, PAN, 0x0000, 0x1234, _nwk_secured(
        0, 0x1234, DEVICE, 13, 14, tunnel.to_bytes(INSTALL_CODE_LINK_KEY, sender=DEVICE))).to_bytes()
    tc_link = ApsFrame.command(0x16, TransportTcLinkKey(TC_LINK_KEY, DEVICE, TC),
                               security=SecurityHeader(KeyId.KEY_TRANSPORT, 2, TC))
    frames["tc_link_key"] = MacFrame.data(14, PAN, 0x1234, 0x0000, _nwk_secured(
        0x1234, 0, TC, 14, 15, tc_link.to_bytes(INSTALL_CODE_LINK_KEY))).to_bytes()
    frames["rejoin_request"] = MacFrame.data(15, PAN, 0x0000, 0x1234, _nwk_secured(
        0, 0x1234, DEVICE, 15, 16, RejoinRequest(Capability(0x8E)))).to_bytes()
    return frames


NAMES = list(build_capture())


@functools.cache
def _decode(tshark_path: str, with_key: bool) -> dict[str, dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="smets2-wire-") as tmp:
        pcap = Path(tmp) / "capture.pcap"
        with PcapWriter.open(pcap) as writer:
            for index, psdu in enumerate(build_capture().values()):
                writer.write(START + index, psdu)
        keys = [(INSTALL_CODE_LINK_KEY, "IC link key")] if with_key else []
        rows = run_fields(tshark_path, pcap, FIELDS, keys)
    assert len(rows) == len(NAMES), f"tshark read {len(rows)} frames, wrote {len(NAMES)}"
    return dict(zip(NAMES, rows))


def decoded(with_key: bool = True) -> dict[str, dict[str, str]]:
    return _decode(require_tshark(), with_key)


def test_every_frame_has_a_correct_fcs_and_nothing_is_malformed() -> None:
    for name, row in decoded().items():
        assert row["wpan.fcs_ok"] == "1", name
        assert row["_ws.malformed"] == "", name


def test_timestamps_are_the_ones_passed_in() -> None:
    times = [row["frame.time_epoch"] for row in decoded().values()]
    assert [float(x) for x in times] == [START + i for i in range(len(NAMES))]


def test_transport_key_decrypts_with_only_the_install_code_link_key() -> None:
    row = decoded()["transport_key"]
    assert row["zbee.sec.key"] == INSTALL_CODE_LINK_KEY.hex()  # KTK derived by tshark from the raw link key
    assert row["zbee_sec.encrypted_payload"] == ""
    assert (row["zbee_aps.cmd.id"], row["zbee_aps.cmd.key_type"]) == ("0x05", "0x01")
    assert row["zbee_aps.cmd.key"] == bytes(NETWORK_KEY).hex()
    assert (row["zbee_aps.cmd.dst"], row["zbee_aps.cmd.src"]) == (str(DEVICE), str(TC))


def test_nwk_secured_metering_read_decrypts_with_the_learned_network_key() -> None:
    frames = decoded()
    read, response = frames["read"], frames["response"]
    for row in (read, response):
        assert row["zbee.sec.key"] == bytes(NETWORK_KEY).hex()  # learned from the Transport Key
        assert row["zbee_sec.encrypted_payload"] == ""
        assert row["zbee_aps.cluster"] == "0x0702"
        assert row["zbee_zcl_se.met.attr_id"] == "0x0000"
    assert (read["zbee_nwk.src"], read["zbee_nwk.dst"], read["zbee.sec.counter"]) == ("0x0000", "0x1234", "10")
    assert read["zbee_zcl.cmd.id"] == "0x00"
    assert response["zbee_zcl.cmd.id"] == "0x01" and response["zbee_zcl.attr.uint48"] == "123456"


def test_a_flipped_mic_byte_does_not_decrypt() -> None:
    row = decoded()["bad_mic"]
    assert row["zbee_sec.encrypted_payload"] == "1"
    assert row["zbee.sec.key"] == "" and row["zbee_zcl.cmd.id"] == ""


def test_without_keys_nothing_decrypts() -> None:
    frames = decoded(with_key=False)
    assert frames["transport_key"]["zbee_aps.cmd.key"] == ""
    for name in ("read", "response", "leave", "device_annce"):
        assert frames[name]["zbee_sec.encrypted_payload"] == "1", name


def test_mac_commands_beacon_and_ack() -> None:
    frames = decoded()
    assert (frames["beacon_request"]["wpan.frame_type"], frames["beacon_request"]["wpan.cmd"]) == ("0x0003", "0x07")
    beacon = frames["beacon"]
    assert beacon["wpan.frame_type"] == "0x0000"
    assert (beacon["wpan.bcn_coord"], beacon["wpan.assoc_permit"]) == ("1", "1")
    assert (beacon["zbee_beacon.ext_panid"], beacon["zbee_beacon.profile"]) == (str(EPID), "0x0002")
    assert beacon["zbee_beacon.update_id"] == "3"
    request = frames["association_request"]
    assert (request["wpan.cmd"], request["wpan.cinfo.alloc_addr"]) == ("0x01", "1")
    response = frames["association_response"]
    assert (response["wpan.cmd"], response["wpan.asoc.addr"], response["wpan.assoc.status"]) == ("0x02", "0x1234", "0x00")
    assert frames["poll"]["wpan.cmd"] == "0x04"
    assert frames["ack"]["wpan.frame_type"] == "0x0002"


def test_nwk_commands_zdo_and_aps_link_key_frames() -> None:
    frames = decoded()
    leave = frames["leave"]
    assert (leave["zbee_nwk.cmd.id"], leave["zbee_nwk.cmd.leave.rejoin"]) == ("0x04", "1")
    rejoin = frames["rejoin_request"]
    assert (rejoin["zbee_nwk.cmd.id"], rejoin["zbee_nwk.cmd.cinfo"]) == ("0x06", "0x8e")
    annce = frames["device_annce"]
    assert (annce["zbee_zdp.ext_addr"], annce["zbee_zdp.nwk_addr"]) == (str(DEVICE), "0x1234")
    tunnel = frames["aps_link_key"]
    assert tunnel["zbee.sec.key"].split(",") == [bytes(NETWORK_KEY).hex(), INSTALL_CODE_LINK_KEY.hex()]
    assert tunnel["zbee_zcl_se.tun.protocol_id"] == "0x06"
    tc_link = frames["tc_link_key"]
    assert (tc_link["zbee_aps.cmd.key_type"], tc_link["zbee_aps.cmd.key"]) == ("0x04", bytes(TC_LINK_KEY).hex())


def test_missing_tshark_skips_or_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no tshark on PATH
    monkeypatch.delenv(tshark_helper.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="tshark not installed"):
        tshark_helper.require_tshark()
    monkeypatch.setenv(tshark_helper.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="SMETS2_REQUIRE_TSHARK=1"):
        tshark_helper.require_tshark()
