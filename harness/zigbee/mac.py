"""IEEE 802.15.4 MAC frames as ZigBee uses them: data, MAC command, beacon (with the ZigBee beacon payload), ACK.

Layout (IEEE 802.15.4-2003/2006 clause 7.2; ZigBee beacon payload: ZigBee spec 3.6.7 / table 3-56):

    frame control (2, LE) | seq (1) | [dst PAN (2)] | [dst addr (2|8)] | [src PAN (2)] | [src addr (2|8)] |
    payload | FCS (2, CRC-16/KERMIT, LSB first)

Frame control bits: 0-2 frame type, 3 security, 4 frame pending, 5 ACK request, 6 PAN ID compression,
10-11 dst addressing mode, 12-13 frame version, 14-15 src addressing mode. Addressing mode 0 = no address,
2 = short (16-bit), 3 = long (EUI-64, little-endian on air). With PAN ID compression the source PAN is omitted
(it equals the destination PAN). ZigBee does not use MAC security; frames with the security bit are refused.

An address is modelled by its type: None (mode 0), int (short, mode 2) or zigpy EUI64 (long, mode 3).
"""

from __future__ import annotations

import binascii
import functools

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Union

from zigpy.types import EUI64
from zigpy.zdo.types import NodeDescriptor

from harness.errors import DecodeError
from harness.zigbee.wire import ByteReader, eui64_bytes, uint

__all__ = [
    "MacFrameType",
    "MacFrame",
    "Address",
    "MacCommand",
    "AssociationRequest",
    "AssociationResponse",
    "DisassociationNotification",
    "DataRequest",
    "PanIdConflictNotification",
    "OrphanNotification",
    "BeaconRequest",
    "CoordinatorRealignment",
    "UnknownMacCommand",
    "SuperframeSpec",
    "Beacon",
    "ZigbeeBeaconPayload",
    "Capability",
    "ASSOCIATION_SUCCESS",
    "ASSOCIATION_PAN_AT_CAPACITY",
    "ASSOCIATION_ACCESS_DENIED",
    "BROADCAST_PAN",
    "BROADCAST_ADDRESS",
    "fcs",
]

# The MAC capability byte (association request, NWK rejoin request, Device_annce) is zigpy's flag type.
Capability = NodeDescriptor.MACCapabilityFlags

BROADCAST_PAN = 0xFFFF
BROADCAST_ADDRESS = 0xFFFF

# Association status (802.15.4-2006 table 83).
ASSOCIATION_SUCCESS = 0x00
ASSOCIATION_PAN_AT_CAPACITY = 0x01
ASSOCIATION_ACCESS_DENIED = 0x02

_FRAME = "MAC frame"
_FCS_LENGTH = 2


# KERMIT is XMODEM (poly 0x1021, init 0, no final XOR, which binascii.crc_hqx computes in C) with every input
# byte and the result bit-reversed: with an initial value of 0 the reflected CRC is the mirror image of the plain
# one over mirrored bytes. A translate table mirrors the bytes, so a frame's CRC is three C calls, not a Python
# loop per byte (every frame is checked, by each receiver and by the capture). tests/zigbee/test_mac.py checks it
# against the bitwise definition.
_MIRROR8 = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


def fcs(data: bytes) -> int:
    """802.15.4 FCS: CRC-16/KERMIT (ITU-T poly 0x1021 reflected, init 0, no final XOR), sent LSB first."""
    if isinstance(data, int):  # bytes(5) would be five zero octets
        raise TypeError(f"the FCS is over octets, not an int ({data!r})")
    crc = binascii.crc_hqx(bytes(data).translate(_MIRROR8), 0)
    return _MIRROR8[crc >> 8] | _MIRROR8[crc & 0xFF] << 8


class MacFrameType(IntEnum):
    BEACON = 0
    DATA = 1
    ACK = 2
    COMMAND = 3


Address = Union[int, EUI64, None]


def _address_mode(address: Address, field: str) -> int:
    if address is None:
        return 0
    if isinstance(address, EUI64):
        return 3
    if isinstance(address, int) and not isinstance(address, bool):
        return 2
    raise TypeError(f"{field} must be None, a short address (int) or a zigpy EUI64, got {type(address).__name__}")


def _encode_address(address: Address, field: str) -> bytes:
    if address is None:
        return b""
    if isinstance(address, EUI64):
        return eui64_bytes(address, field)
    return uint(address, 2, field)


def _decode_address(reader: ByteReader, mode: int, field: str) -> Address:
    if mode == 0:
        return None
    if mode == 2:
        return reader.u16(field)
    if mode == 3:
        return reader.eui64(field)
    raise reader.fail(f"{field} addressing mode 1 is reserved", 0)


# --- MAC commands (802.15.4-2006 clause 7.3) ---------------------------------------------------------------


class MacCommand:
    """Base of MAC command payloads: `command_id` plus a body codec."""

    command_id: ClassVar[int]

    def body(self) -> bytes:
        return b""

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "MacCommand":
        return cls()

    def to_bytes(self) -> bytes:
        return bytes([self.command_id]) + self.body()


@dataclass(frozen=True)
class AssociationRequest(MacCommand):
    command_id: ClassVar[int] = 0x01
    capability: Capability = Capability(0)

    def body(self) -> bytes:
        return uint(int(self.capability), 1, "capability")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "AssociationRequest":
        return cls(Capability(reader.u8("capability")))


@dataclass(frozen=True)
class AssociationResponse(MacCommand):
    command_id: ClassVar[int] = 0x02
    short_address: int = 0xFFFE
    status: int = ASSOCIATION_SUCCESS

    def body(self) -> bytes:
        return uint(self.short_address, 2, "short_address") + uint(self.status, 1, "status")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "AssociationResponse":
        return cls(reader.u16("short address"), reader.u8("association status"))


@dataclass(frozen=True)
class DisassociationNotification(MacCommand):
    command_id: ClassVar[int] = 0x03
    reason: int = 0x02  # 1 = coordinator wishes the device to leave, 2 = the device wishes to leave

    def body(self) -> bytes:
        return uint(self.reason, 1, "reason")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "DisassociationNotification":
        return cls(reader.u8("disassociation reason"))


@dataclass(frozen=True)
class DataRequest(MacCommand):
    """The poll a sleepy end device sends to its parent."""

    command_id: ClassVar[int] = 0x04


@dataclass(frozen=True)
class PanIdConflictNotification(MacCommand):
    command_id: ClassVar[int] = 0x05


@dataclass(frozen=True)
class OrphanNotification(MacCommand):
    command_id: ClassVar[int] = 0x06


@dataclass(frozen=True)
class BeaconRequest(MacCommand):
    command_id: ClassVar[int] = 0x07


@dataclass(frozen=True)
class CoordinatorRealignment(MacCommand):
    command_id: ClassVar[int] = 0x08
    pan_id: int = 0
    coordinator_short_address: int = 0
    channel: int = 11
    short_address: int = 0xFFFF
    channel_page: int | None = None  # 802.15.4-2006 frames carry it

    def body(self) -> bytes:
        out = (
            uint(self.pan_id, 2, "pan_id")
            + uint(self.coordinator_short_address, 2, "coordinator_short_address")
            + uint(self.channel, 1, "channel")
            + uint(self.short_address, 2, "short_address")
        )
        if self.channel_page is not None:
            out += uint(self.channel_page, 1, "channel_page")
        return out

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "CoordinatorRealignment":
        pan = reader.u16("PAN id")
        coordinator = reader.u16("coordinator short address")
        channel = reader.u8("channel")
        short = reader.u16("short address")
        page = reader.u8("channel page") if reader.remaining else None
        return cls(pan, coordinator, channel, short, page)


@dataclass(frozen=True)
class UnknownMacCommand(MacCommand):
    """A command this codec does not model; its body is kept as sent."""

    command_id: int = 0x09  # type: ignore[misc]
    payload: bytes = b""

    def body(self) -> bytes:
        return bytes(self.payload)


_MAC_COMMANDS: dict[int, type[MacCommand]] = {
    cls.command_id: cls
    for cls in (
        AssociationRequest,
        AssociationResponse,
        DisassociationNotification,
        DataRequest,
        PanIdConflictNotification,
        OrphanNotification,
        BeaconRequest,
        CoordinatorRealignment,
    )
}


def _decode_command(data: bytes) -> MacCommand:
    reader = ByteReader(data, "MAC command")
    command_id = reader.u8("command identifier")
    cls = _MAC_COMMANDS.get(command_id)
    if cls is None:
        return UnknownMacCommand(command_id, reader.rest())
    command = cls.decode_body(reader)
    reader.end()
    return command


# --- Beacon (802.15.4-2006 7.2.2.1, ZigBee beacon payload 3.6.7) --------------------------------------------


@dataclass(frozen=True)
class SuperframeSpec:
    beacon_order: int = 15  # 15 = non-beacon network, as ZigBee uses
    superframe_order: int = 15
    final_cap_slot: int = 15
    battery_life_extension: bool = False
    pan_coordinator: bool = False
    association_permit: bool = False

    def to_int(self) -> int:
        for name in ("beacon_order", "superframe_order", "final_cap_slot"):
            value = getattr(self, name)
            if not 0 <= value <= 15:
                raise ValueError(f"superframe {name}={value} does not fit in 4 bits")
        return (
            self.beacon_order
            | self.superframe_order << 4
            | self.final_cap_slot << 8
            | int(self.battery_life_extension) << 12
            | int(self.pan_coordinator) << 14
            | int(self.association_permit) << 15
        )

    @classmethod
    def from_int(cls, value: int) -> "SuperframeSpec":
        return cls(
            value & 0xF,
            value >> 4 & 0xF,
            value >> 8 & 0xF,
            bool(value >> 12 & 1),
            bool(value >> 14 & 1),
            bool(value >> 15 & 1),
        )


_ZIGBEE_BEACON_LENGTH = 15


@dataclass(frozen=True)
class ZigbeeBeaconPayload:
    """The 15-byte ZigBee beacon payload (protocol id 0). Stack profile 2 = ZigBee PRO, protocol version 2."""

    extended_pan_id: EUI64
    stack_profile: int = 2
    protocol_version: int = 2
    router_capacity: bool = True
    device_depth: int = 0
    end_device_capacity: bool = True
    tx_offset: int = 0xFFFFFF
    update_id: int = 0

    def to_bytes(self) -> bytes:
        for name, bits in (("stack_profile", 4), ("protocol_version", 4), ("device_depth", 4)):
            value = getattr(self, name)
            if not 0 <= value < 1 << bits:
                raise ValueError(f"ZigBee beacon {name}={value} does not fit in {bits} bits")
        return (
            b"\x00"  # protocol id: ZigBee
            + bytes([self.stack_profile | self.protocol_version << 4])
            + bytes([int(self.router_capacity) << 2 | self.device_depth << 3 | int(self.end_device_capacity) << 7])
            + eui64_bytes(self.extended_pan_id, "extended_pan_id")
            + uint(self.tx_offset, 3, "tx_offset")
            + uint(self.update_id, 1, "update_id")
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "ZigbeeBeaconPayload":
        reader = ByteReader(data, "ZigBee beacon payload")
        if reader.u8("protocol id") != 0:
            raise reader.fail("protocol id is not 0 (ZigBee)", 0)
        profile = reader.u8("stack profile")
        flags = reader.u8("capacity flags")
        epid = reader.eui64("extended PAN id")
        tx_offset = reader.uint(3, "tx offset")
        update_id = reader.u8("NWK update id")
        reader.end()
        return cls(
            extended_pan_id=epid,
            stack_profile=profile & 0xF,
            protocol_version=profile >> 4,
            router_capacity=bool(flags >> 2 & 1),
            device_depth=flags >> 3 & 0xF,
            end_device_capacity=bool(flags >> 7 & 1),
            tx_offset=tx_offset,
            update_id=update_id,
        )


@dataclass(frozen=True)
class Beacon:
    """A beacon's MAC payload. `payload` is a ZigbeeBeaconPayload, or raw bytes for anything else."""

    superframe: SuperframeSpec = SuperframeSpec()
    payload: ZigbeeBeaconPayload | bytes = b""
    gts_permit: bool = False
    gts_list: bytes = b""  # GTS directions + descriptors as sent (ZigBee: none)
    pending_short: tuple[int, ...] = ()
    pending_long: tuple[EUI64, ...] = ()

    def to_bytes(self) -> bytes:
        gts_count = 0
        if self.gts_list:
            gts_count, leftover = divmod(len(self.gts_list) - 1, 3)
            if leftover or not 1 <= gts_count <= 7:
                raise ValueError(f"gts_list of {len(self.gts_list)} bytes is not 1 + 3*n (n = 1..7)")
        if len(self.pending_short) > 7 or len(self.pending_long) > 7:
            raise ValueError("at most 7 pending short and 7 pending long addresses fit in a beacon")
        out = uint(self.superframe.to_int(), 2, "superframe")
        out += bytes([gts_count | int(self.gts_permit) << 7]) + bytes(self.gts_list)
        out += bytes([len(self.pending_short) | len(self.pending_long) << 4])
        for address in self.pending_short:
            out += uint(address, 2, "pending_short")
        for address in self.pending_long:
            out += eui64_bytes(address, "pending_long")
        payload = self.payload
        return out + (payload.to_bytes() if isinstance(payload, ZigbeeBeaconPayload) else bytes(payload))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Beacon":
        reader = ByteReader(data, "MAC beacon")
        superframe = SuperframeSpec.from_int(reader.u16("superframe specification"))
        gts_spec = reader.u8("GTS specification")
        gts_count = gts_spec & 0x7
        gts_list = reader.take(1 + 3 * gts_count, "GTS list") if gts_count else b""
        pending = reader.u8("pending address specification")
        shorts = tuple(reader.u16("pending short address") for _ in range(pending & 0x7))
        longs = tuple(reader.eui64("pending long address") for _ in range(pending >> 4 & 0x7))
        rest = reader.rest()
        payload: ZigbeeBeaconPayload | bytes = rest
        if len(rest) == _ZIGBEE_BEACON_LENGTH and rest[0] == 0:
            payload = ZigbeeBeaconPayload.from_bytes(rest)
        return cls(superframe, payload, bool(gts_spec >> 7), gts_list, shorts, longs)


# --- The frame ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MacFrame:
    """One 802.15.4 MAC frame. `payload` is bytes (DATA), a MacCommand (COMMAND), a Beacon (BEACON), b"" (ACK)."""

    frame_type: MacFrameType
    seq: int
    dst_pan: int | None = None
    dst: Address = None
    src_pan: int | None = None
    src: Address = None
    payload: bytes | MacCommand | Beacon = b""
    ack_request: bool = False
    frame_pending: bool = False
    pan_id_compression: bool = False
    frame_version: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame_type", MacFrameType(self.frame_type))
        expected = {
            MacFrameType.DATA: bytes,
            MacFrameType.COMMAND: MacCommand,
            MacFrameType.BEACON: Beacon,
            MacFrameType.ACK: bytes,
        }[self.frame_type]
        if not isinstance(self.payload, expected):
            raise TypeError(f"MAC {self.frame_type.name} payload must be {expected.__name__}")
        if self.frame_type is MacFrameType.ACK and self.payload:
            raise ValueError("MAC ACK frames carry no payload")
        if (self.dst is None) != (self.dst_pan is None):
            raise ValueError("MAC dst_pan must be given exactly when dst is")
        if self.pan_id_compression:
            if self.dst is None or self.src is None or self.src_pan is not None:
                raise ValueError("PAN ID compression needs dst and src addresses and no src_pan")
        elif (self.src is None) != (self.src_pan is None):
            raise ValueError("MAC src_pan must be given exactly when src is (or set pan_id_compression)")
        if self.frame_version not in (0, 1):
            raise ValueError(f"frame_version={self.frame_version}: only 802.15.4-2003 (0) and -2006 (1) frames")

    @property
    def source_pan(self) -> int | None:
        """The source PAN, whether sent or implied by PAN ID compression."""
        return self.dst_pan if self.pan_id_compression else self.src_pan

    def header_bytes(self) -> bytes:
        control = (
            int(self.frame_type)
            | int(self.frame_pending) << 4
            | int(self.ack_request) << 5
            | int(self.pan_id_compression) << 6
            | _address_mode(self.dst, "dst") << 10
            | self.frame_version << 12
            | _address_mode(self.src, "src") << 14
        )
        out = uint(control, 2, "frame control") + uint(self.seq, 1, "seq")
        if self.dst is not None:
            out += uint(self.dst_pan, 2, "dst_pan") + _encode_address(self.dst, "dst")  # type: ignore[arg-type]
        if self.src is not None:
            if not self.pan_id_compression:
                out += uint(self.src_pan, 2, "src_pan")  # type: ignore[arg-type]
            out += _encode_address(self.src, "src")
        return out

    def to_bytes(self, *, with_fcs: bool = True) -> bytes:
        """The PSDU: MAC header, payload and (by default) the FCS, as a LINKTYPE 195 capture carries it."""
        payload = self.payload
        body = payload.to_bytes() if isinstance(payload, (MacCommand, Beacon)) else bytes(payload)
        frame = self.header_bytes() + body
        return frame + fcs(frame).to_bytes(2, "little") if with_fcs else frame

    @classmethod
    def from_bytes(cls, data: bytes, *, with_fcs: bool = True) -> "MacFrame":
        """Decode a PSDU; with `with_fcs` the last two bytes are the FCS and must match (else DecodeError).

        Frames are immutable, so the decoding of a PSDU just seen is reused: on a simulated channel every node in
        range decodes the same broadcast (a beacon request, a beacon), and a HAN of 200 meters would decode each
        one 200 times. Errors are not cached; each caller gets its own DecodeError."""
        if cls is MacFrame and with_fcs:
            return _decode_psdu(bytes(data))
        return cls._decode(data, with_fcs=with_fcs)

    @classmethod
    def _decode(cls, data: bytes, *, with_fcs: bool = True) -> "MacFrame":
        data = bytes(data)
        if with_fcs:
            if len(data) < 3 + _FCS_LENGTH:
                raise DecodeError(f"{_FRAME}: {len(data)} bytes, need at least 5 (frame control, seq, FCS)")
            sent = int.from_bytes(data[-2:], "little")
            computed = fcs(data[:-2])
            if sent != computed:
                raise DecodeError(f"{_FRAME}: FCS 0x{sent:04X} at offset {len(data) - 2} != computed 0x{computed:04X}")
            data = data[:-2]
        reader = ByteReader(data, _FRAME)
        control = reader.u16("frame control")
        seq = reader.u8("sequence number")
        frame_type = control & 0x7
        if frame_type > 3:
            raise DecodeError(f"{_FRAME}: frame type {frame_type} (802.15.4-2015) is not supported (offset 0)")
        if control >> 3 & 1:
            raise DecodeError(f"{_FRAME}: MAC security is set; ZigBee does not use it (offset 0)")
        version = control >> 12 & 0x3
        if version > 1:
            raise DecodeError(f"{_FRAME}: frame version {version} (802.15.4-2015) is not supported (offset 0)")
        dst_mode = control >> 10 & 0x3
        src_mode = control >> 14 & 0x3
        compressed = bool(control >> 6 & 1)
        if compressed and not (dst_mode and src_mode):
            raise DecodeError(f"{_FRAME}: PAN ID compression set without both addresses (offset 0)")
        dst_pan = reader.u16("destination PAN") if dst_mode else None
        dst = _decode_address(reader, dst_mode, "destination address")
        src_pan = reader.u16("source PAN") if src_mode and not compressed else None
        src = _decode_address(reader, src_mode, "source address")
        body = reader.rest()
        payload: bytes | MacCommand | Beacon
        if frame_type == MacFrameType.COMMAND:
            payload = _decode_command(body)
        elif frame_type == MacFrameType.BEACON:
            payload = Beacon.from_bytes(body)
        else:
            if frame_type == MacFrameType.ACK and body:
                raise DecodeError(f"{_FRAME}: ACK with {len(body)} payload bytes at offset {reader.pos - len(body)}")
            payload = body
        return cls(
            frame_type=MacFrameType(frame_type),
            seq=seq,
            dst_pan=dst_pan,
            dst=dst,
            src_pan=src_pan,
            src=src,
            payload=payload,
            ack_request=bool(control >> 5 & 1),
            frame_pending=bool(control >> 4 & 1),
            pan_id_compression=compressed,
            frame_version=version,
        )

    # Constructors for the frames a ZigBee node sends most.

    @classmethod
    def data(cls, seq: int, pan_id: int, dst: int | EUI64, src: int | EUI64, payload: bytes, *,
             ack_request: bool | None = None) -> "MacFrame":
        """Intra-PAN data frame (PAN ID compression), ACK requested unless sent to broadcast."""
        if ack_request is None:
            ack_request = dst != BROADCAST_ADDRESS
        return cls(MacFrameType.DATA, seq, pan_id, dst, None, src, bytes(payload), ack_request=ack_request,
                   pan_id_compression=True)

    @classmethod
    def ack(cls, seq: int, *, frame_pending: bool = False) -> "MacFrame":
        return cls(MacFrameType.ACK, seq, frame_pending=frame_pending)

    @classmethod
    def beacon_request(cls, seq: int) -> "MacFrame":
        return cls(MacFrameType.COMMAND, seq, BROADCAST_PAN, BROADCAST_ADDRESS, payload=BeaconRequest())


@functools.lru_cache(maxsize=512)
def _decode_psdu(psdu: bytes) -> MacFrame:
    return MacFrame._decode(psdu, with_fcs=True)
