"""APS frames and commands: the captured Transport-Key vector (vectors.md 3.3), the worked frames of 3.4
rebuilt byte for byte, round trips and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from zigpy.types import EUI64, KeyData

from harness.errors import DecodeError, SecurityError
from harness.zigbee.aps import (
    ApsFrame,
    ApsFrameType,
    RequestKey,
    TransportAppLinkKey,
    TransportNetworkKey,
    TransportTcLinkKey,
    UpdateDevice,
)
from harness.zigbee.auxsec import KeyId, SecuredPayload, SecurityHeader
from harness.zigbee.mac import MacFrame
from harness.zigbee.nwk import NwkFrame, NwkFrameType
from tests.zigbee.strategies import aps_frames, eui64s, raw_keys

ZIGBEE_ALLIANCE_09 = b"ZigBeeAlliance09"

# vectors.md 3.3: a captured APS Transport-Key (standard network key) under the KTK of ZigBeeAlliance09.
CAPTURED_SOURCE = EUI64.deserialize(bytes.fromhex("F2A6C9FEFF277184"))[0]  # OTA (little-endian) bytes
CAPTURED_APS = (
    bytes.fromhex("21" "95" "30" "53500B00" "F2A6C9FEFF277184")
    + bytes.fromhex("B67843D639C170F20B536FDA11B467CAAFECD6C24CD82DFBD1D8338A1DBD15EE1892AE51AB41EB")
)
CAPTURED_NETWORK_KEY = bytes.fromhex("AABBCCDDEEFF00112233445566778899")

# vectors.md 3.4 parameters.
PAN = 0x1A62
TC = EUI64.convert("11:22:33:44:55:66:77:88")
DEVICE = EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
NETWORK_KEY = KeyData(bytes.fromhex("01030507090B0D0F00020406080A0C0D"))
LINK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")  # install code 83FED3...D505 C3B5
FRAME_1 = bytes.fromhex("618801621a341200000800341200001e20000102070901011000010000000929")
FRAME_2 = bytes.fromhex(
    "618802621a341200000800341200001e21211130010000008877665544332211db193a9a68427dc735ef2fce37c638f928aa4adaa9"
    "4b6a100eec611b22e0675f66ec288b96f1756fef")
FRAME_3 = bytes.fromhex(
    "618803621a000034120812000034121e010100ffeeddccbbaa28050000000100ffeeddccbbaa00ff57e77d3aeb8f10d93d75b399"
    "4a3a206ebbb54048a3c700aa1a92")
FRAME_4 = bytes.fromhex(
    "618804621a000034120812000034121e020100ffeeddccbbaa28060000000100ffeeddccbbaa006d16014c2f1e23a544918d514e"
    "0cfb6a8ecfb00dd37cf33b0d088a53165937172ee44d01046ea5eee56f308720ba55e69feeb9d211a01e8b727bc244b28a226635"
    "50d79f2a716c8d41e90076571811e6bea5e98a834060bc0348da72a95e23")
FRAME_5 = bytes.fromhex(
    "618805621a000034120812000034121e030100ffeeddccbbaa28070000000100ffeeddccbbaa00644414ede6a5c3d9bd4a8f208c"
    "6b0d5d135ef989c987abd6a5ac9600c3a6b96c54028c6b27e6eaa4")
KLK_FRAME = bytes.fromhex(
    "618809621a341200000812341200001e408877665544332211283200000088776655443322110099ac85d75f8b5aa3c95db7daab"
    "3b6758c5992e53db8653ae0eecf190d8d33712f770b3c5d8842316351cacddd1d4a4a7e1991760")


def _nwk_secured(seq: int, radius: int, counter: int, payload: bytes, *, src: int, dst: int, ieee: EUI64) -> bytes:
    return NwkFrame(NwkFrameType.DATA, dst, src, radius, seq, payload, src_ieee=ieee,
                    security=SecurityHeader(KeyId.NETWORK, counter, ieee, key_seq=0)).to_bytes(NETWORK_KEY)


def test_captured_transport_key_decrypts_to_the_network_key() -> None:
    frame = ApsFrame.from_bytes(CAPTURED_APS, ZIGBEE_ALLIANCE_09)
    assert frame.frame_type is ApsFrameType.COMMAND and frame.counter == 0x95
    assert frame.security == SecurityHeader(KeyId.KEY_TRANSPORT, 0x000B5053, CAPTURED_SOURCE)
    assert frame.payload == TransportNetworkKey(
        key=KeyData(CAPTURED_NETWORK_KEY),
        key_seq=0,
        destination=EUI64.deserialize(bytes.fromhex("0102030405060708"))[0],
        source=EUI64.deserialize(bytes.fromhex("090A0B0C0D0E0F10"))[0],
    )


def test_captured_transport_key_re_encrypts_to_the_same_bytes() -> None:
    frame = ApsFrame.from_bytes(CAPTURED_APS, ZIGBEE_ALLIANCE_09)
    rebuilt = ApsFrame.command(0x95, frame.payload, security=frame.security)  # type: ignore[arg-type]
    assert rebuilt.to_bytes(ZIGBEE_ALLIANCE_09) == CAPTURED_APS


def test_captured_transport_key_with_a_wrong_link_key_fails_the_mic() -> None:
    with pytest.raises(SecurityError, match="MIC"):
        ApsFrame.from_bytes(CAPTURED_APS, LINK_KEY)


def test_worked_frame_1_unsecured_read_attributes_byte_exact() -> None:
    zcl = bytes.fromhex("0001000000")  # Read Attributes, tsn 1, CurrentSummationDelivered
    aps = ApsFrame.data(0x10, profile_id=0x0109, cluster_id=0x0702, src_endpoint=1, dst_endpoint=1, payload=zcl)
    nwk = NwkFrame(NwkFrameType.DATA, 0x1234, 0x0000, 30, 0x20, aps.to_bytes())
    assert MacFrame.data(1, PAN, 0x1234, 0x0000, nwk.to_bytes()).to_bytes() == FRAME_1


def test_worked_frame_2_transport_key_under_install_code_ktk_byte_exact() -> None:
    command = TransportNetworkKey(NETWORK_KEY, 0, DEVICE, TC)
    aps = ApsFrame.command(0x11, command, security=SecurityHeader(KeyId.KEY_TRANSPORT, 1, TC))
    nwk = NwkFrame(NwkFrameType.DATA, 0x1234, 0x0000, 30, 0x21, aps.to_bytes(LINK_KEY))
    assert MacFrame.data(2, PAN, 0x1234, 0x0000, nwk.to_bytes()).to_bytes() == FRAME_2


def test_worked_frame_3_nwk_secured_read_attributes_response_byte_exact() -> None:
    zcl = bytes.fromhex("18010100000025" "40e201000000")  # uint48 123456
    aps = ApsFrame.data(0x22, profile_id=0x0109, cluster_id=0x0702, src_endpoint=1, dst_endpoint=1, payload=zcl)
    nwk = _nwk_secured(1, 30, 5, aps.to_bytes(), src=0x1234, dst=0x0000, ieee=DEVICE)
    assert MacFrame.data(3, PAN, 0x0000, 0x1234, nwk).to_bytes() == FRAME_3


def test_worked_frame_5_nwk_and_aps_link_key_byte_exact() -> None:
    zcl = bytes.fromhex("01030006ffff00dc05")  # Tunneling RequestTunnel: GB-HRGP, mfr 0xFFFF, no FC, 1500
    aps = ApsFrame.data(0x24, profile_id=0x0109, cluster_id=0x0704, src_endpoint=1, dst_endpoint=1, payload=zcl,
                        security=SecurityHeader(KeyId.DATA, 2, DEVICE))
    nwk = _nwk_secured(3, 30, 7, aps.to_bytes(LINK_KEY), src=0x1234, dst=0x0000, ieee=DEVICE)
    assert MacFrame.data(5, PAN, 0x0000, 0x1234, nwk).to_bytes() == FRAME_5


def test_worked_frame_4_decrypts_and_re_encrypts_to_the_same_bytes() -> None:
    nwk = NwkFrame.from_bytes(MacFrame.from_bytes(FRAME_4).payload, NETWORK_KEY)
    aps = ApsFrame.from_bytes(nwk.payload)  # type: ignore[arg-type]
    assert aps.cluster_id == 0x0800 and aps.profile_id == 0x0109  # Key Establishment
    assert MacFrame.data(4, PAN, 0x0000, 0x1234, nwk.to_bytes(NETWORK_KEY)).to_bytes() == FRAME_4


def test_key_load_key_frame_carries_an_application_link_key() -> None:
    mac = MacFrame.from_bytes(KLK_FRAME)
    nwk = NwkFrame.from_bytes(mac.payload, NETWORK_KEY)  # type: ignore[arg-type]
    aps = ApsFrame.from_bytes(nwk.payload, LINK_KEY)  # type: ignore[arg-type]
    assert aps.security is not None and aps.security.key_id is KeyId.KEY_LOAD
    assert aps.payload == TransportAppLinkKey(KeyData(bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")),
                                              EUI64.convert("99:88:77:66:55:44:33:22"), True)
    rebuilt_nwk = NwkFrame(NwkFrameType.DATA, nwk.dst, nwk.src, nwk.radius, nwk.seq, aps.to_bytes(LINK_KEY),
                           src_ieee=nwk.src_ieee, security=nwk.security)
    assert rebuilt_nwk.to_bytes(NETWORK_KEY) == mac.payload


def test_aps_without_extended_nonce_needs_the_sender() -> None:
    frame = ApsFrame.data(1, profile_id=0x0109, cluster_id=0x0704, src_endpoint=1, dst_endpoint=1, payload=b"hi",
                          security=SecurityHeader(KeyId.DATA, 9))
    with pytest.raises(SecurityError, match="sender"):
        frame.to_bytes(LINK_KEY)
    raw = frame.to_bytes(LINK_KEY, sender=DEVICE)
    assert raw[8] == 0x00  # security control on air: link key, no extended nonce, level zeroed (vectors.md 3.1)
    assert ApsFrame.from_bytes(raw, LINK_KEY, sender=DEVICE) == frame
    with pytest.raises(SecurityError):
        ApsFrame.from_bytes(raw, LINK_KEY, sender=TC)


def test_command_layouts() -> None:
    # Transport Key TC link key (type 4): 05 04 key dst src; Update Device: 06 ieee nwk status;
    # Request Key for the TC link key: 08 04.
    key = KeyData(bytes(range(16)))
    assert TransportTcLinkKey(key, DEVICE, TC).to_bytes() == (
        bytes([0x05, 0x04]) + bytes(range(16)) + DEVICE.serialize() + TC.serialize())
    assert UpdateDevice(DEVICE, 0x1234, 1).to_bytes() == bytes([0x06]) + DEVICE.serialize() + bytes([0x34, 0x12, 1])
    assert RequestKey().to_bytes() == bytes([0x08, 0x04])


def test_decode_errors_name_the_field() -> None:
    with pytest.raises(DecodeError, match=r"APS frame: 3 bytes, need 4 for cluster identifier at offset 2"):
        ApsFrame.from_bytes(bytes.fromhex("000102"))
    with pytest.raises(DecodeError, match=r"key type 0x02 is not supported"):
        ApsFrame.from_bytes(bytes.fromhex("0101" "0502") + bytes(32))
    with pytest.raises(DecodeError, match=r"APS frame: 6 secured payload bytes at offset 7, need at least 8"):
        ApsFrame.from_bytes(bytes.fromhex("2101" "00" "00000000") + bytes(6), security_level=6)


@pytest.mark.parametrize("kind", list(ApsFrameType))
@given(data=st.data())
def test_round_trip_unsecured(kind: ApsFrameType, data: st.DataObject) -> None:
    frame = data.draw(aps_frames(secured=False, kind=kind))
    assert ApsFrame.from_bytes(frame.to_bytes()) == frame


@pytest.mark.parametrize("kind", list(ApsFrameType))
@given(data=st.data(), key=raw_keys, sender=eui64s)
def test_round_trip_secured(kind: ApsFrameType, data: st.DataObject, key: bytes, sender: EUI64) -> None:
    frame = data.draw(aps_frames(secured=True, kind=kind))
    assert frame.security is not None
    raw = frame.to_bytes(key, sender=sender)
    level = frame.security.level
    assert ApsFrame.from_bytes(raw, key, sender=sender, security_level=level) == frame
    still_secured = ApsFrame.from_bytes(raw, security_level=level)
    assert isinstance(still_secured.payload, SecuredPayload)
    assert still_secured.to_bytes() == raw


@given(st.binary(max_size=80), st.none() | raw_keys, st.none() | eui64s)
def test_fuzz_decodes_or_raises_decode_or_security_error(raw: bytes, key: bytes | None,
                                                         sender: EUI64 | None) -> None:
    try:
        ApsFrame.from_bytes(raw, key, sender=sender)
    except (DecodeError, SecurityError):
        pass
