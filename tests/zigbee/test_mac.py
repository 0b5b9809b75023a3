"""IEEE 802.15.4 MAC frames: vectors from research/vectors.md section 3.4 / 5, round trips and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from zigpy.types import EUI64

from harness.errors import DecodeError
from harness.zigbee.mac import (
    AssociationRequest,
    AssociationResponse,
    Beacon,
    BeaconRequest,
    Capability,
    DataRequest,
    MacFrame,
    MacFrameType,
    SuperframeSpec,
    ZigbeeBeaconPayload,
    fcs,
)
from tests.zigbee.strategies import mac_frames

# vectors.md 3.4 frame 1 (tshark: "FCS: 0x2909 (Correct)", frame control 0x8861).
FRAME_1 = bytes.fromhex("618801621a341200000800341200001e20000102070901011000010000000929")


def test_fcs_is_crc16_kermit() -> None:
    # CRC-16/KERMIT catalogue check value (reveng CRC catalogue): "123456789" -> 0x2189.
    assert fcs(b"123456789") == 0x2189
    # The FCS tshark accepted for vectors.md frame 1 is sent LSB first: ... 09 29 = 0x2909.
    assert fcs(FRAME_1[:-2]) == 0x2909


def test_decodes_the_worked_data_frame_header() -> None:
    frame = MacFrame.from_bytes(FRAME_1)
    assert frame.frame_type is MacFrameType.DATA
    assert (frame.seq, frame.dst_pan, frame.dst, frame.src, frame.source_pan) == (1, 0x1A62, 0x1234, 0x0000, 0x1A62)
    assert frame.ack_request and frame.pan_id_compression and frame.frame_version == 0
    assert frame.payload == FRAME_1[9:-2]


def test_data_constructor_reproduces_the_worked_frame() -> None:
    frame = MacFrame.data(1, 0x1A62, 0x1234, 0x0000, FRAME_1[9:-2])
    assert frame.to_bytes() == FRAME_1
    assert frame.to_bytes(with_fcs=False) == FRAME_1[:-2]


def test_broadcast_data_does_not_request_an_ack() -> None:
    assert not MacFrame.data(1, 0x1A62, 0xFFFF, 0x0000, b"x").ack_request


def _kermit_bitwise(data: bytes) -> int:
    """CRC-16/KERMIT from its definition: reflected poly 0x8408, init 0, one bit at a time."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def test_fcs_agrees_with_the_bitwise_definition_at_every_length() -> None:
    import random

    rng = random.Random(802)
    for length in range(0, 130):
        data = rng.randbytes(length)
        assert fcs(data) == _kermit_bitwise(data), data.hex()
    assert fcs(bytearray(b"123456789")) == fcs(memoryview(b"123456789")) == 0x2189


def test_bad_fcs_is_refused_with_both_values() -> None:
    corrupted = FRAME_1[:-1] + bytes([FRAME_1[-1] ^ 0x01])
    with pytest.raises(DecodeError, match=r"FCS 0x2809 .* != computed 0x2909"):
        MacFrame.from_bytes(corrupted)


def test_truncated_header_names_field_and_offset() -> None:
    truncated = FRAME_1[:5]
    with pytest.raises(DecodeError, match=r"MAC frame: 5 bytes, need 7 for destination address at offset 5"):
        MacFrame.from_bytes(truncated, with_fcs=False)


def test_ack_is_three_bytes_plus_fcs() -> None:
    # 802.15.4 ACK: frame control 0x0002, seq, FCS.
    raw = MacFrame.ack(0x42).to_bytes()
    assert raw[:3] == bytes([0x02, 0x00, 0x42]) and len(raw) == 5
    assert MacFrame.ack(7, frame_pending=True).to_bytes(with_fcs=False) == bytes([0x12, 0x00, 0x07])


def test_beacon_request_layout() -> None:
    # Command frame, dst short 0xFFFF on PAN 0xFFFF, no source: frame control 0x0803, command 0x07.
    assert MacFrame.beacon_request(9).to_bytes(with_fcs=False) == bytes.fromhex("030809ffffffff07")
    assert MacFrame.from_bytes(MacFrame.beacon_request(9).to_bytes()).payload == BeaconRequest()


def test_association_request_and_response_layout() -> None:
    device = EUI64.convert("aa:bb:cc:dd:ee:ff:00:01")
    capability = Capability.AllocateAddress | Capability.RxOnWhenIdle | Capability.MainsPowered \
        | Capability.FullFunctionDevice
    request = MacFrame(MacFrameType.COMMAND, 5, 0x1A62, 0x0000, 0xFFFF, device, AssociationRequest(capability),
                       ack_request=True)
    # FC 0xC823: command, ack request, dst short, src long; dst PAN, dst, src PAN 0xFFFF, src (LE), cmd 01, cap 8E.
    assert request.to_bytes(with_fcs=False) == bytes.fromhex("23c805621a0000ffff0100ffeeddccbbaa018e")
    response = MacFrame(MacFrameType.COMMAND, 6, 0x1A62, device, None, EUI64.convert("11:22:33:44:55:66:77:88"),
                        AssociationResponse(0x1234, 0), ack_request=True, pan_id_compression=True)
    assert response.to_bytes(with_fcs=False) == bytes.fromhex(
        "63cc06621a0100ffeeddccbbaa8877665544332211" "02341200")
    assert MacFrame.from_bytes(response.to_bytes()).payload == AssociationResponse(0x1234, 0)


def test_data_request_poll() -> None:
    poll = MacFrame(MacFrameType.COMMAND, 3, 0x1A62, 0x0000, None, 0x1234, DataRequest(), ack_request=True,
                    pan_id_compression=True)
    assert poll.to_bytes(with_fcs=False) == bytes.fromhex("638803621a0000341204")


def test_zigbee_beacon_payload_layout() -> None:
    # ZigBee spec table 3-56: protocol id 0, stack profile 2 | version 2 << 4, capacity byte, EPID (LE),
    # tx offset 0xFFFFFF, update id.
    payload = ZigbeeBeaconPayload(EUI64.convert("00:11:22:33:44:55:66:77"), router_capacity=True, device_depth=1,
                                  end_device_capacity=True, update_id=3)
    assert payload.to_bytes() == bytes.fromhex("00228c7766554433221100ffffff03")
    beacon = MacFrame(MacFrameType.BEACON, 1, src_pan=0x1A62, src=0x0000,
                      payload=Beacon(SuperframeSpec(pan_coordinator=True, association_permit=True), payload))
    raw = beacon.to_bytes(with_fcs=False)
    assert raw[:7] == bytes.fromhex("0080" "01" "621a" "0000")
    assert raw[7:11] == bytes.fromhex("ffcf" "00" "00")
    assert MacFrame.from_bytes(beacon.to_bytes()) == beacon


def test_refuses_mac_security_and_2015_frames() -> None:
    with pytest.raises(DecodeError, match="MAC security"):
        MacFrame.from_bytes(bytes.fromhex("490801621a34120000"), with_fcs=False)
    with pytest.raises(DecodeError, match="frame version 2"):
        MacFrame.from_bytes(bytes.fromhex("4128" "01621a34120000"), with_fcs=False)


@pytest.mark.parametrize("frame_type", list(MacFrameType))
@given(data=st.data())
def test_round_trip(frame_type: MacFrameType, data: st.DataObject) -> None:
    frame = data.draw(mac_frames(frame_type))
    assert MacFrame.from_bytes(frame.to_bytes()) == frame
    assert MacFrame.from_bytes(frame.to_bytes(with_fcs=False), with_fcs=False) == frame


@given(st.binary(max_size=60))
def test_fuzz_without_fcs_decodes_or_raises_decode_error(raw: bytes) -> None:
    try:
        frame = MacFrame.from_bytes(raw, with_fcs=False)
    except DecodeError:
        return
    assert frame.to_bytes(with_fcs=False)  # a decoded frame can be encoded again


@given(st.binary(max_size=60))
def test_fuzz_with_valid_fcs_decodes_or_raises_decode_error(raw: bytes) -> None:
    try:
        MacFrame.from_bytes(raw + fcs(raw).to_bytes(2, "little"))
    except DecodeError:
        pass


@given(st.binary(max_size=40))
def test_fuzz_with_any_fcs(raw: bytes) -> None:
    try:
        MacFrame.from_bytes(raw)
    except DecodeError:
        pass
