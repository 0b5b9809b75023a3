"""ZDO and ZCL payload helpers (through zigpy's types): layouts from the ZigBee spec and vectors.md 3.4."""

from __future__ import annotations

import pytest
import zigpy.types as t
from hypothesis import given, strategies as st
from zigpy.zcl import foundation
from zigpy.zdo.types import NodeDescriptor, SimpleDescriptor, Status, ZDOCmd

from harness.errors import DecodeError
from harness.zigbee import zcl, zdo
from tests.zigbee.strategies import eui64s

DEVICE = t.EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
METERING = 0x0702


def test_read_attributes_matches_the_worked_frame() -> None:
    # vectors.md 3.4 frame 1: ZCL 00 01 00 0000 (profile-wide, tsn 1, Read Attributes, attribute 0x0000).
    message = zcl.read_attributes(1, [0x0000])
    assert message.to_bytes() == bytes.fromhex("0001000000")
    decoded = zcl.ZclMessage.from_bytes(METERING, bytes.fromhex("0001000000"))
    assert decoded.is_general and decoded.command_id == 0x00 and decoded.tsn == 1
    assert list(decoded.command.attribute_ids) == [0x0000]


def test_read_attributes_response_matches_the_worked_frame() -> None:
    # vectors.md 3.4 frame 3: ZCL 18 01 01 | 0000 00 25 40E201000000 (CurrentSummationDelivered uint48 123456).
    wire = bytes.fromhex("1801010000002540e201000000")
    message = zcl.read_attributes_response(1, [zcl.attribute_value(0x0000, 0x25, t.uint48_t(123456))])
    assert message.to_bytes() == wire
    decoded = zcl.ZclMessage.from_bytes(METERING, wire)
    (record,) = decoded.command.status_records
    assert (record.attrid, record.status, record.value.value) == (0, foundation.Status.SUCCESS, 123456)


def test_read_attributes_response_with_a_failure_record() -> None:
    message = zcl.read_attributes_response(7, [zcl.attribute_failure(0x0400, foundation.Status.UNSUPPORTED_ATTRIBUTE)])
    assert message.to_bytes() == bytes.fromhex("180701" "0004" "86")


def test_cluster_command_of_an_unknown_command_keeps_its_bytes() -> None:
    decoded = zcl.ZclMessage.from_bytes(0x0704, bytes.fromhex("01030006ffff00dc05"))  # Tunneling RequestTunnel
    assert not decoded.is_general and decoded.command_id == 0 and decoded.command == bytes.fromhex("06ffff00dc05")


def test_zcl_garbage_raises_decode_error() -> None:
    with pytest.raises(DecodeError, match="ZCL"):
        zcl.ZclMessage.from_bytes(METERING, b"\x00")
    with pytest.raises(DecodeError, match="Read_Attributes_rsp"):
        zcl.ZclMessage.from_bytes(METERING, bytes.fromhex("180101" "0000" "00" "25" "40e2"))


def test_device_annce_layout() -> None:
    # ZigBee spec 2.4.3.1.11: tsn | NWKAddr (2) | IEEEAddr (8, LE) | Capability (1).
    message = zdo.device_annce(5, 0x1234, DEVICE, 0x8E)
    assert message.cluster_id == 0x0013
    assert message.to_bytes() == bytes.fromhex("05" "3412" "0100ffeeddccbbaa" "8e")
    assert zdo.ZdoMessage.from_bytes(0x0013, message.to_bytes()) == message


def test_node_active_simple_descriptor_requests_and_responses() -> None:
    assert zdo.node_desc_req(1, 0x1234).to_bytes() == bytes.fromhex("013412")
    assert zdo.active_ep_req(2, 0x1234).to_bytes() == bytes.fromhex("023412")
    assert zdo.simple_desc_req(3, 0x1234, 1).to_bytes() == bytes.fromhex("03341201")
    # Active_EP_rsp: status | NWK | count | endpoints.
    assert zdo.active_ep_rsp(2, 0x1234, [1, 2]).to_bytes() == bytes.fromhex("02" "00" "3412" "02" "0102")
    # Simple_Desc_rsp: status | NWK | length | endpoint, profile, device id, version, in count+list, out count+list.
    descriptor = SimpleDescriptor(endpoint=1, profile=0x0109, device_type=0x0501, device_version=0,
                                  input_clusters=[0x0000, 0x0702], output_clusters=[])
    wire = bytes.fromhex("03" "00" "3412" "0c" "01" "0901" "0105" "00" "02" "0000" "0207" "00")
    assert zdo.simple_desc_rsp(3, 0x1234, descriptor).to_bytes() == wire
    decoded = zdo.ZdoMessage.from_bytes(ZDOCmd.Simple_Desc_rsp, wire)
    assert decoded["SimpleDescriptor"].input_clusters == [0x0000, 0x0702]
    # An error response carries no descriptor.
    assert zdo.simple_desc_rsp(3, 0x1234, None, Status.NOT_ACTIVE).to_bytes() == bytes.fromhex("03" "83" "3412")


def test_node_descriptor_response_round_trips() -> None:
    descriptor = NodeDescriptor(1, 0, 0, 0, 0, 8, 0x8E, 0x1234, 82, 82, 0x2C00, 82, 0)
    message = zdo.node_desc_rsp(4, 0x1234, descriptor)
    wire = message.to_bytes()
    assert wire[:4] == bytes.fromhex("04" "00" "3412") and len(wire) == 4 + 13
    assert zdo.ZdoMessage.from_bytes(ZDOCmd.Node_Desc_rsp, wire) == message


def test_mgmt_leave_and_permit_joining_layouts() -> None:
    # Mgmt_Leave_req: tsn | IEEE | options (bit 6 remove children, bit 7 rejoin).
    assert zdo.mgmt_leave_req(9, DEVICE, rejoin=True).to_bytes() == bytes.fromhex("09" "0100ffeeddccbbaa" "80")
    assert zdo.mgmt_leave_req(9, DEVICE, remove_children=True).to_bytes()[-1] == 0x40
    # Mgmt_Permit_Joining_req: tsn | PermitDuration | TC_Significance.
    assert zdo.mgmt_permit_joining_req(7, 254).to_bytes() == bytes.fromhex("07" "fe" "01")
    assert zdo.mgmt_leave_rsp(9).to_bytes() == bytes.fromhex("0900")
    assert zdo.mgmt_permit_joining_rsp(7).to_bytes() == bytes.fromhex("0700")


def test_zdo_garbage_raises_decode_error() -> None:
    with pytest.raises(DecodeError, match="transaction sequence number"):
        zdo.ZdoMessage.from_bytes(0x0013, b"")
    with pytest.raises(DecodeError, match="Device_annce"):
        zdo.ZdoMessage.from_bytes(0x0013, b"\x01\x02")
    with pytest.raises(DecodeError, match="0x7777"):
        zdo.ZdoMessage.from_bytes(0x7777, b"\x01")


@given(st.integers(0, 255), st.integers(0, 0xFFFF), eui64s, st.integers(0, 255))
def test_device_annce_round_trip(tsn: int, nwk: int, ieee: t.EUI64, capability: int) -> None:
    message = zdo.device_annce(tsn, nwk, ieee, capability)
    assert zdo.ZdoMessage.from_bytes(message.cluster_id, message.to_bytes()) == message


@given(st.integers(0, 255), st.lists(st.integers(0, 0xFFFF), max_size=20))
def test_read_attributes_round_trip(tsn: int, attribute_ids: list[int]) -> None:
    message = zcl.read_attributes(tsn, attribute_ids)
    assert zcl.ZclMessage.from_bytes(METERING, message.to_bytes()).to_bytes() == message.to_bytes()


@given(st.integers(0, 0xFFFF), st.binary(max_size=40))
def test_fuzz_zdo_and_zcl(cluster_id: int, raw: bytes) -> None:
    for decode in (zdo.ZdoMessage.from_bytes, zcl.ZclMessage.from_bytes):
        try:
            decode(cluster_id, raw)
        except DecodeError:
            pass
