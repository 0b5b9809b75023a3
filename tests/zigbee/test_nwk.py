"""ZigBee NWK frames: the tshark-checked frames of research/vectors.md section 3.4, round trips, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from zigpy.types import EUI64

from harness.errors import DecodeError, SecurityError
from harness.zigbee.auxsec import KeyId, SecuredPayload, SecurityHeader
from harness.zigbee.mac import Capability, MacFrame
from harness.zigbee.nwk import Leave, NwkFrame, NwkFrameType, RejoinRequest, RejoinResponse
from tests.zigbee.strategies import nwk_frames, raw_keys

NETWORK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")
DEVICE = EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
# vectors.md 3.4 frame 3: NWK-secured (frame counter 5) ZCL Read Attributes Response, device 0x1234 -> TC.
FRAME_3 = bytes.fromhex(
    "618803621a000034120812000034121e010100ffeeddccbbaa28050000000100ffeeddccbbaa00ff57e77d3aeb8f10d93d75b399"
    "4a3a206ebbb54048a3c700aa1a92")
FRAME_3_NWK = MacFrame.from_bytes(FRAME_3).payload
# Its decrypted NWK payload (vectors.md: APS 00 01 0207 0901 01 22 + ZCL 18 01 01 0000 00 25 40E201000000).
FRAME_3_PLAINTEXT = bytes.fromhex("000102070901012218010100000025" "40e201000000")


def test_decrypts_the_worked_frame() -> None:
    frame = NwkFrame.from_bytes(FRAME_3_NWK, NETWORK_KEY)
    assert (frame.frame_type, frame.dst, frame.src, frame.radius, frame.seq) == (NwkFrameType.DATA, 0, 0x1234, 30, 1)
    assert frame.src_ieee == DEVICE
    assert frame.security == SecurityHeader(KeyId.NETWORK, 5, DEVICE, key_seq=0, level=5)
    assert frame.payload == FRAME_3_PLAINTEXT


def test_encrypting_reproduces_the_worked_frame_byte_for_byte() -> None:
    frame = NwkFrame(NwkFrameType.DATA, dst=0x0000, src=0x1234, radius=30, seq=1, payload=FRAME_3_PLAINTEXT,
                     src_ieee=DEVICE, security=SecurityHeader(KeyId.NETWORK, 5, DEVICE, key_seq=0))
    raw = frame.to_bytes(NETWORK_KEY)
    assert raw == FRAME_3_NWK
    # On air the security level bits are zero: network key + extended nonce = 0x28 (vectors.md 3.1).
    assert raw[16] == 0x28


def test_without_key_the_payload_stays_secured_and_can_be_opened_later() -> None:
    frame = NwkFrame.from_bytes(FRAME_3_NWK)
    assert isinstance(frame.payload, SecuredPayload)
    assert frame.payload.mic == bytes.fromhex("a3c700aa")  # tshark: "Message Integrity Code: a3c700aa"
    assert frame.to_bytes() == FRAME_3_NWK  # re-encodes as captured without the key
    assert frame.decrypt(NETWORK_KEY).payload == FRAME_3_PLAINTEXT


def test_flipped_mic_or_wrong_key_raise_security_error() -> None:
    flipped = FRAME_3_NWK[:-1] + bytes([FRAME_3_NWK[-1] ^ 0x01])
    with pytest.raises(SecurityError, match="MIC"):
        NwkFrame.from_bytes(flipped, NETWORK_KEY)
    with pytest.raises(SecurityError):
        NwkFrame.from_bytes(FRAME_3_NWK, bytes(16))


def test_tampered_header_fails_the_mic() -> None:
    tampered = bytearray(FRAME_3_NWK)
    tampered[6] ^= 0x01  # radius is authenticated data
    with pytest.raises(SecurityError):
        NwkFrame.from_bytes(bytes(tampered), NETWORK_KEY)


def test_secured_frame_needs_a_key_to_encode() -> None:
    frame = NwkFrame(NwkFrameType.DATA, 0, 1, 30, 1, b"x", security=SecurityHeader(KeyId.NETWORK, 1, DEVICE, 0))
    with pytest.raises(SecurityError, match="network key"):
        frame.to_bytes()


def test_short_input_names_the_header() -> None:
    with pytest.raises(DecodeError, match=r"NWK frame: 3 bytes, need at least 8 for the header"):
        NwkFrame.from_bytes(b"\x08\x00\x00")
    with pytest.raises(DecodeError, match=r"need 16 for source IEEE address at offset 8"):
        NwkFrame.from_bytes(bytes.fromhex("0810" "0000" "3412" "1e" "01" "0100"))


def test_leave_and_rejoin_commands() -> None:
    # Leave options (ZigBee 3.4.4.3.1): bit 5 rejoin, bit 6 request, bit 7 remove children.
    leave = NwkFrame(NwkFrameType.COMMAND, 0xFFFD, 0x1234, 1, 9, Leave(rejoin=True),
                     src_ieee=DEVICE, security=SecurityHeader(KeyId.NETWORK, 77, DEVICE, 0))
    decoded = NwkFrame.from_bytes(leave.to_bytes(NETWORK_KEY), NETWORK_KEY)
    assert decoded == leave
    assert Leave(rejoin=True).to_bytes() == bytes([0x04, 0x20])
    assert Leave(request=True, remove_children=True).to_bytes() == bytes([0x04, 0xC0])
    assert RejoinRequest(Capability(0x8E)).to_bytes() == bytes([0x06, 0x8E])
    assert RejoinResponse(0x1234, 0).to_bytes() == bytes([0x07, 0x34, 0x12, 0x00])


@pytest.mark.parametrize("kind", list(NwkFrameType))
@given(data=st.data())
def test_round_trip_unsecured(kind: NwkFrameType, data: st.DataObject) -> None:
    frame = data.draw(nwk_frames(secured=False, kind=kind))
    assert NwkFrame.from_bytes(frame.to_bytes()) == frame


@pytest.mark.parametrize("kind", list(NwkFrameType))
@given(data=st.data(), key=raw_keys)
def test_round_trip_secured(kind: NwkFrameType, data: st.DataObject, key: bytes) -> None:
    frame = data.draw(nwk_frames(secured=True, kind=kind))
    raw = frame.to_bytes(key)
    level = frame.security.level  # not on air: the receiver must know the network's level
    assert NwkFrame.from_bytes(raw, key, security_level=level) == frame
    still_secured = NwkFrame.from_bytes(raw, security_level=level)
    assert still_secured.to_bytes() == raw and still_secured.decrypt(key) == frame


@given(st.binary(max_size=80), st.none() | raw_keys)
def test_fuzz_decodes_or_raises_decode_or_security_error(raw: bytes, key: bytes | None) -> None:
    try:
        NwkFrame.from_bytes(raw, key)
    except (DecodeError, SecurityError):
        pass
