"""ZigBee NWK frames (ZigBee spec 3.3, PRO 2007 / R21 layout) with network-key security.

    frame control (2, LE) | dst (2) | src (2) | radius (1) | seq (1) | [dst IEEE (8)] | [src IEEE (8)] |
    [multicast control (1)] | [source route: relay count (1), relay index (1), relays (2 each)] |
    [aux security header] | payload | [MIC]

Frame control bits: 0-1 frame type (0 data, 1 command), 2-5 protocol version (2 = PRO), 6-7 discover route,
8 multicast, 9 security, 10 source route, 11 dst IEEE present, 12 src IEEE present, 13 end device initiator.
NWK security always uses the network key (key id 1) and ZigBee always sets the extended nonce; see auxsec.py.

A secured frame decoded without a key keeps its payload as a SecuredPayload; `decrypt()` opens it later.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import ClassVar

from zigpy.types import EUI64, KeyData

from harness.errors import DecodeError, SecurityError
from harness.zigbee.auxsec import DEFAULT_LEVEL, KeyId, SecuredPayload, SecurityHeader, protect, unprotect
from harness.zigbee.command import Command, UnknownCommand, decode_command
from harness.zigbee.mac import Capability
from harness.zigbee.wire import ByteReader, eui64_bytes, uint

__all__ = [
    "NwkFrameType",
    "NwkFrame",
    "SourceRoute",
    "NwkCommand",
    "NetworkStatus",
    "Leave",
    "RejoinRequest",
    "RejoinResponse",
    "EndDeviceTimeoutRequest",
    "EndDeviceTimeoutResponse",
    "UnknownNwkCommand",
    "NWK_PROTOCOL_VERSION_PRO",
]

NWK_PROTOCOL_VERSION_PRO = 2
_FRAME = "NWK frame"
_HEADER_MIN = 8


class NwkFrameType(IntEnum):
    DATA = 0
    COMMAND = 1


# --- NWK commands (ZigBee spec 3.4) -------------------------------------------------------------------------


class NwkCommand(Command):
    """A NWK command (ZigBee spec 3.4)."""


@dataclass(frozen=True)
class NetworkStatus(NwkCommand):
    command_id: ClassVar[int] = 0x03
    status: int = 0
    destination: int = 0

    def body(self) -> bytes:
        return uint(self.status, 1, "status") + uint(self.destination, 2, "destination")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "NetworkStatus":
        return cls(reader.u8("status code"), reader.u16("destination address"))


@dataclass(frozen=True)
class Leave(NwkCommand):
    """Options: bit 5 rejoin, bit 6 request (parent asks the device to leave), bit 7 remove children."""

    command_id: ClassVar[int] = 0x04
    rejoin: bool = False
    request: bool = False
    remove_children: bool = False

    def body(self) -> bytes:
        return bytes([int(self.rejoin) << 5 | int(self.request) << 6 | int(self.remove_children) << 7])

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "Leave":
        options = reader.u8("leave options")
        return cls(bool(options >> 5 & 1), bool(options >> 6 & 1), bool(options >> 7 & 1))


@dataclass(frozen=True)
class RejoinRequest(NwkCommand):
    command_id: ClassVar[int] = 0x06
    capability: Capability = Capability(0)

    def body(self) -> bytes:
        return uint(int(self.capability), 1, "capability")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "RejoinRequest":
        return cls(Capability(reader.u8("capability information")))


@dataclass(frozen=True)
class RejoinResponse(NwkCommand):
    command_id: ClassVar[int] = 0x07
    network_address: int = 0xFFFE
    status: int = 0  # MAC association status: 0 success, 1 PAN at capacity, 2 access denied

    def body(self) -> bytes:
        return uint(self.network_address, 2, "network_address") + uint(self.status, 1, "status")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "RejoinResponse":
        return cls(reader.u16("network address"), reader.u8("rejoin status"))


@dataclass(frozen=True)
class EndDeviceTimeoutRequest(NwkCommand):
    command_id: ClassVar[int] = 0x0B
    timeout: int = 0  # index into the R21 timeout table (0 = 10 s, 8 = 256 min, 14 = 16384 min)
    configuration: int = 0

    def body(self) -> bytes:
        return uint(self.timeout, 1, "timeout") + uint(self.configuration, 1, "configuration")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "EndDeviceTimeoutRequest":
        return cls(reader.u8("requested timeout"), reader.u8("end device configuration"))


@dataclass(frozen=True)
class EndDeviceTimeoutResponse(NwkCommand):
    command_id: ClassVar[int] = 0x0C
    status: int = 0
    parent_information: int = 0

    def body(self) -> bytes:
        return uint(self.status, 1, "status") + uint(self.parent_information, 1, "parent_information")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "EndDeviceTimeoutResponse":
        return cls(reader.u8("status"), reader.u8("parent information"))


@dataclass(frozen=True)
class UnknownNwkCommand(UnknownCommand, NwkCommand):
    """A command this codec does not model (route request/reply, link status, ...), body kept as sent."""

    command_id: int = 0x08


_NWK_COMMANDS: dict[int, type[NwkCommand]] = {
    cls.command_id: cls
    for cls in (NetworkStatus, Leave, RejoinRequest, RejoinResponse, EndDeviceTimeoutRequest,
                EndDeviceTimeoutResponse)
}


def _pick_command(_reader: ByteReader, command_id: int) -> type[NwkCommand] | None:
    return _NWK_COMMANDS.get(command_id)


def _decode_command(data: bytes) -> NwkCommand:
    return decode_command(data, "NWK command", _pick_command, UnknownNwkCommand)


# --- The frame ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRoute:
    relay_index: int
    relays: tuple[int, ...]

    def to_bytes(self) -> bytes:
        out = uint(len(self.relays), 1, "relay count") + uint(self.relay_index, 1, "relay_index")
        return out + b"".join(uint(relay, 2, "relay") for relay in self.relays)


@dataclass(frozen=True)
class NwkFrame:
    """A NWK frame. `payload`: bytes (data: the APS frame), a NwkCommand, or a SecuredPayload if not decrypted.

    With `security` set, `to_bytes(network_key)` encrypts the payload (unless it is already a SecuredPayload).
    """

    frame_type: NwkFrameType
    dst: int
    src: int
    radius: int
    seq: int
    payload: bytes | NwkCommand | SecuredPayload = b""
    dst_ieee: EUI64 | None = None
    src_ieee: EUI64 | None = None
    security: SecurityHeader | None = None
    discover_route: int = 0
    multicast_control: int | None = None
    source_route: SourceRoute | None = None
    end_device_initiator: bool = False
    protocol_version: int = NWK_PROTOCOL_VERSION_PRO
    # On-air header bytes of a decoded frame (authenticated data for a later decrypt()); not part of equality.
    raw_header: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame_type", NwkFrameType(self.frame_type))
        if self.security is not None and self.security.key_id is not KeyId.NETWORK:
            raise ValueError("NWK security uses the network key (key id 1)")
        if self.security is None and isinstance(self.payload, SecuredPayload):
            raise ValueError("a SecuredPayload needs a security header")
        if isinstance(self.payload, NwkCommand) and self.frame_type is not NwkFrameType.COMMAND:
            raise TypeError("a NwkCommand payload needs frame_type COMMAND")
        if self.frame_type is NwkFrameType.COMMAND and isinstance(self.payload, bytes):
            raise TypeError("a NWK COMMAND frame's payload is a NwkCommand (or a SecuredPayload)")
        if not 0 <= self.discover_route <= 3 or not 0 <= self.protocol_version <= 15:
            raise ValueError("discover_route is 2 bits and protocol_version 4 bits")

    @property
    def is_secured(self) -> bool:
        return self.security is not None

    @property
    def is_decrypted(self) -> bool:
        return not isinstance(self.payload, SecuredPayload)

    def header_bytes(self) -> bytes:
        """Header through the source route (without the aux security header)."""
        control = (
            int(self.frame_type)
            | self.protocol_version << 2
            | self.discover_route << 6
            | int(self.multicast_control is not None) << 8
            | int(self.security is not None) << 9
            | int(self.source_route is not None) << 10
            | int(self.dst_ieee is not None) << 11
            | int(self.src_ieee is not None) << 12
            | int(self.end_device_initiator) << 13
        )
        out = (
            uint(control, 2, "frame control")
            + uint(self.dst, 2, "dst")
            + uint(self.src, 2, "src")
            + uint(self.radius, 1, "radius")
            + uint(self.seq, 1, "seq")
        )
        if self.dst_ieee is not None:
            out += eui64_bytes(self.dst_ieee, "dst_ieee")
        if self.src_ieee is not None:
            out += eui64_bytes(self.src_ieee, "src_ieee")
        if self.multicast_control is not None:
            out += uint(self.multicast_control, 1, "multicast_control")
        if self.source_route is not None:
            out += self.source_route.to_bytes()
        return out

    def _plain_payload(self) -> bytes:
        payload = self.payload
        return payload.to_bytes() if isinstance(payload, NwkCommand) else bytes(payload)  # type: ignore[arg-type]

    def to_bytes(self, network_key: bytes | KeyData | None = None) -> bytes:
        """On-air bytes. A secured frame with a clear payload needs the network key to encrypt it."""
        header = self.header_bytes()
        if self.security is None:
            return header + self._plain_payload()
        aux = self.security.to_bytes()
        if isinstance(self.payload, SecuredPayload):
            return header + aux + self.payload.to_bytes()
        if network_key is None:
            raise SecurityError(f"{_FRAME} seq {self.seq} is secured: the network key is needed to encrypt it")
        sealed = protect(header, self.security, bytes(network_key), self._plain_payload(),
                         sender=self.src_ieee, frame=_FRAME)
        return header + aux + sealed.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, network_key: bytes | KeyData | None = None, *,
                   security_level: int = DEFAULT_LEVEL) -> "NwkFrame":
        """Decode; with `network_key` a secured payload is decrypted (SecurityError if the MIC fails).

        `security_level` is the network's level (nwkSecurityLevel): it is not on air (sent as 0), so the
        receiver has to know it; ZigBee PRO uses 5.
        """
        data = bytes(data)
        if len(data) < _HEADER_MIN:
            raise DecodeError(f"{_FRAME}: {len(data)} bytes, need at least {_HEADER_MIN} for the header")
        reader = ByteReader(data, _FRAME)
        control = reader.u16("frame control")
        frame_type = control & 0x3
        if frame_type not in (0, 1):
            raise DecodeError(f"{_FRAME}: frame type {frame_type} ({'inter-PAN' if frame_type == 3 else 'reserved'})"
                              " is not supported (offset 0)")
        dst = reader.u16("destination address")
        src = reader.u16("source address")
        radius = reader.u8("radius")
        seq = reader.u8("sequence number")
        dst_ieee = reader.eui64("destination IEEE address") if control >> 11 & 1 else None
        src_ieee = reader.eui64("source IEEE address") if control >> 12 & 1 else None
        multicast = reader.u8("multicast control") if control >> 8 & 1 else None
        source_route = None
        if control >> 10 & 1:
            count = reader.u8("relay count")
            index = reader.u8("relay index")
            source_route = SourceRoute(index, tuple(reader.u16("relay address") for _ in range(count)))
        header_end = reader.pos
        security = None
        payload: bytes | NwkCommand | SecuredPayload
        if control >> 9 & 1:
            security = SecurityHeader.decode(reader, default_level=security_level)
            if security.key_id is not KeyId.NETWORK:
                raise DecodeError(f"{_FRAME}: security key id {security.key_id.name}, NWK uses the network key "
                                  f"(offset {header_end})")
            offset = reader.pos
            payload = SecuredPayload.split(reader.rest(), security.mic_length, _FRAME, offset)
        else:
            payload = reader.rest()
        frame = cls(
            frame_type=NwkFrameType(frame_type),
            dst=dst,
            src=src,
            radius=radius,
            seq=seq,
            payload=payload if isinstance(payload, SecuredPayload) or frame_type == 0 else _decode_command(payload),
            dst_ieee=dst_ieee,
            src_ieee=src_ieee,
            security=security,
            discover_route=control >> 6 & 0x3,
            multicast_control=multicast,
            source_route=source_route,
            end_device_initiator=bool(control >> 13 & 1),
            protocol_version=control >> 2 & 0xF,
            raw_header=data[:header_end],
        )
        if security is not None and network_key is not None:
            frame = frame.decrypt(network_key)
        return frame

    def decrypt(self, network_key: bytes | KeyData) -> "NwkFrame":
        """The frame with its payload decrypted and the MIC checked (SecurityError if it does not verify)."""
        if not isinstance(self.payload, SecuredPayload) or self.security is None:
            return self
        header = self.raw_header or self.header_bytes()
        plain = unprotect(header, self.security, bytes(network_key), self.payload, sender=self.src_ieee,
                          frame=f"{_FRAME} seq {self.seq}")
        payload: bytes | NwkCommand = plain
        if self.frame_type is NwkFrameType.COMMAND:
            payload = _decode_command(plain)
        return replace(self, payload=payload)
