"""ZigBee APS frames (ZigBee spec 2.2.5) and APS commands (4.4.x), with APS security.

    frame control (1) | [dst endpoint (1) | group (2)] | [cluster (2) | profile (2) | src endpoint (1)] |
    APS counter (1) | [extended header] | [aux security header] | payload | [MIC]

Frame control bits: 0-1 frame type (0 data, 1 command, 2 ack), 2-3 delivery mode (0 unicast, 2 broadcast,
3 group), 4 ack format (ack frames: 1 = command ack without endpoints), 5 security, 6 ack request,
7 extended header present.

APS security key ids: 0 link key, 1 network key, 2 key-transport key = HMAC-MMO(link key, 0x00),
3 key-load key = HMAC-MMO(link key, 0x02) (ZigBee 4.5.3). `to_bytes(key)`/`from_bytes(key)` take the *link key*
for ids 0, 2 and 3 (the KTK/KLK is derived here) and the network key for id 1. Without the extended nonce the
CCM* nonce uses the sender's EUI-64, which the caller must pass as `sender`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import ClassVar

from zigpy.types import EUI64, KeyData

from harness.errors import DecodeError, SecurityError
from harness.zigbee.auxsec import DEFAULT_LEVEL, KeyId, SecuredPayload, SecurityHeader, protect, unprotect
from harness.zigbee.command import Command, UnknownCommand, decode_command
from harness.zigbee.security import key_load_key, key_transport_key
from harness.zigbee.wire import ByteReader, as_key, eui64_bytes, uint

__all__ = [
    "ApsFrameType",
    "DeliveryMode",
    "ApsFrame",
    "ExtendedHeader",
    "ApsCommand",
    "TransportNetworkKey",
    "TransportTcLinkKey",
    "TransportAppLinkKey",
    "UpdateDevice",
    "RemoveDevice",
    "RequestKey",
    "SwitchKey",
    "VerifyKey",
    "ConfirmKey",
    "UnknownApsCommand",
    "KEY_TYPE_STANDARD_NETWORK",
    "KEY_TYPE_APP_LINK",
    "KEY_TYPE_TC_LINK",
    "aps_security_key",
]

_FRAME = "APS frame"

# Key types (ZigBee PRO 2007+ / R21, table 4-12): 0x01 standard network key, 0x03 application link key,
# 0x04 trust-centre link key. Request Key uses 0x02 for an application link key (table 4-21).
KEY_TYPE_STANDARD_NETWORK = 0x01
KEY_TYPE_APP_LINK = 0x03
KEY_TYPE_TC_LINK = 0x04
REQUEST_KEY_APP_LINK = 0x02


class ApsFrameType(IntEnum):
    DATA = 0
    COMMAND = 1
    ACK = 2


class DeliveryMode(IntEnum):
    UNICAST = 0
    BROADCAST = 2
    GROUP = 3


def aps_security_key(key_id: KeyId, key: bytes | KeyData) -> bytes:
    """The AES key for an APS key id: the link key itself, the network key, or the KTK/KLK derived from the link key."""
    raw = as_key(key, f"APS {KeyId(key_id).name} key")
    if key_id == KeyId.KEY_TRANSPORT:
        return key_transport_key(raw)
    if key_id == KeyId.KEY_LOAD:
        return key_load_key(raw)
    return raw


# --- APS commands --------------------------------------------------------------------------------------------


class ApsCommand(Command):
    """An APS command (ZigBee 4.4.10)."""


def _key(value: KeyData, name: str) -> bytes:
    return as_key(value, name)


@dataclass(frozen=True)
class TransportNetworkKey(ApsCommand):
    """Transport Key, key type 0x01 (standard network key): key, key seq, destination and source EUI-64."""

    command_id: ClassVar[int] = 0x05
    key_type: ClassVar[int] = KEY_TYPE_STANDARD_NETWORK
    key: KeyData
    key_seq: int
    destination: EUI64
    source: EUI64

    def body(self) -> bytes:
        return (bytes([self.key_type]) + _key(self.key, "key") + uint(self.key_seq, 1, "key_seq")
                + eui64_bytes(self.destination, "destination") + eui64_bytes(self.source, "source"))

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "TransportNetworkKey":
        return cls(reader.key("network key"), reader.u8("key sequence number"),
                   reader.eui64("destination address"), reader.eui64("source address"))


@dataclass(frozen=True)
class TransportTcLinkKey(ApsCommand):
    """Transport Key, key type 0x04 (trust-centre link key): key, destination and source EUI-64."""

    command_id: ClassVar[int] = 0x05
    key_type: ClassVar[int] = KEY_TYPE_TC_LINK
    key: KeyData
    destination: EUI64
    source: EUI64

    def body(self) -> bytes:
        return (bytes([self.key_type]) + _key(self.key, "key") + eui64_bytes(self.destination, "destination")
                + eui64_bytes(self.source, "source"))

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "TransportTcLinkKey":
        return cls(reader.key("TC link key"), reader.eui64("destination address"), reader.eui64("source address"))


@dataclass(frozen=True)
class TransportAppLinkKey(ApsCommand):
    """Transport Key, key type 0x03 (application link key): key, partner EUI-64, initiator flag."""

    command_id: ClassVar[int] = 0x05
    key_type: ClassVar[int] = KEY_TYPE_APP_LINK
    key: KeyData
    partner: EUI64
    initiator: bool

    def body(self) -> bytes:
        return (bytes([self.key_type]) + _key(self.key, "key") + eui64_bytes(self.partner, "partner")
                + bytes([int(self.initiator)]))

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "TransportAppLinkKey":
        key, partner = reader.key("application link key"), reader.eui64("partner address")
        initiator = reader.u8("initiator flag")
        if initiator > 1:
            raise reader.fail(f"initiator flag {initiator} is not 0 or 1", reader.pos - 1)
        return cls(key, partner, bool(initiator))


_TRANSPORT_KEY_TYPES: dict[int, type[ApsCommand]] = {
    KEY_TYPE_STANDARD_NETWORK: TransportNetworkKey,
    KEY_TYPE_APP_LINK: TransportAppLinkKey,
    KEY_TYPE_TC_LINK: TransportTcLinkKey,
}


@dataclass(frozen=True)
class UpdateDevice(ApsCommand):
    """Router -> trust centre: a device joined/rejoined/left. Status 0 secured rejoin, 1 unsecured join,
    2 device left, 3 trust-centre rejoin."""

    command_id: ClassVar[int] = 0x06
    device: EUI64
    device_nwk: int
    status: int

    def body(self) -> bytes:
        return eui64_bytes(self.device, "device") + uint(self.device_nwk, 2, "device_nwk") + uint(self.status, 1, "status")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "UpdateDevice":
        return cls(reader.eui64("device address"), reader.u16("device short address"), reader.u8("status"))


@dataclass(frozen=True)
class RemoveDevice(ApsCommand):
    command_id: ClassVar[int] = 0x07
    target: EUI64

    def body(self) -> bytes:
        return eui64_bytes(self.target, "target")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "RemoveDevice":
        return cls(reader.eui64("target address"))


@dataclass(frozen=True)
class RequestKey(ApsCommand):
    """Key type 0x04 = TC link key; 0x02 = application link key, which also carries the partner EUI-64."""

    command_id: ClassVar[int] = 0x08
    key_type: int = KEY_TYPE_TC_LINK
    partner: EUI64 | None = None

    def __post_init__(self) -> None:
        if (self.key_type == REQUEST_KEY_APP_LINK) != (self.partner is not None):
            raise ValueError("RequestKey carries a partner exactly for key type 0x02 (application link key)")

    def body(self) -> bytes:
        out = uint(self.key_type, 1, "key_type")
        return out + eui64_bytes(self.partner, "partner") if self.partner is not None else out

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "RequestKey":
        key_type = reader.u8("key type")
        partner = reader.eui64("partner address") if key_type == REQUEST_KEY_APP_LINK else None
        return cls(key_type, partner)


@dataclass(frozen=True)
class SwitchKey(ApsCommand):
    command_id: ClassVar[int] = 0x09
    key_seq: int = 0

    def body(self) -> bytes:
        return uint(self.key_seq, 1, "key_seq")

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "SwitchKey":
        return cls(reader.u8("key sequence number"))


@dataclass(frozen=True)
class VerifyKey(ApsCommand):
    """R21: a joiner proves it holds the TC link key: hash = HMAC-MMO(link key, 0x03) (ZigBee 4.4.10.7)."""

    command_id: ClassVar[int] = 0x0F
    key_type: int
    source: EUI64
    key_hash: bytes

    def body(self) -> bytes:
        if len(self.key_hash) != 16:
            raise ValueError(f"VerifyKey key_hash must be 16 bytes, got {len(self.key_hash)}")
        return uint(self.key_type, 1, "key_type") + eui64_bytes(self.source, "source") + bytes(self.key_hash)

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "VerifyKey":
        return cls(reader.u8("key type"), reader.eui64("source address"), reader.take(16, "verify-key hash"))


@dataclass(frozen=True)
class ConfirmKey(ApsCommand):
    command_id: ClassVar[int] = 0x10
    status: int
    key_type: int
    destination: EUI64

    def body(self) -> bytes:
        return (uint(self.status, 1, "status") + uint(self.key_type, 1, "key_type")
                + eui64_bytes(self.destination, "destination"))

    @classmethod
    def decode_body(cls, reader: ByteReader) -> "ConfirmKey":
        return cls(reader.u8("status"), reader.u8("key type"), reader.eui64("destination address"))


@dataclass(frozen=True)
class UnknownApsCommand(UnknownCommand, ApsCommand):
    """A command this codec does not model (tunnel, ...); its body is kept as sent."""

    command_id: int = 0x0E


_APS_COMMANDS: dict[int, type[ApsCommand]] = {
    cls.command_id: cls for cls in (UpdateDevice, RemoveDevice, RequestKey, SwitchKey, VerifyKey, ConfirmKey)
}


def _pick_command(reader: ByteReader, command_id: int) -> type[ApsCommand] | None:
    if command_id != TransportNetworkKey.command_id:
        return _APS_COMMANDS.get(command_id)
    key_type = reader.u8("key type")  # Transport Key: the key type says which fields follow
    cls = _TRANSPORT_KEY_TYPES.get(key_type)
    if cls is None:
        raise reader.fail(f"Transport Key key type 0x{key_type:02X} is not supported", 1)
    return cls


def _decode_command(data: bytes) -> ApsCommand:
    return decode_command(data, "APS command", _pick_command, UnknownApsCommand)


# --- The frame ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtendedHeader:
    """Fragmentation: 0 none, 1 first block (block_number = number of blocks), 2 a later block."""

    fragmentation: int = 0
    block_number: int | None = None
    ack_bitfield: int | None = None  # ACK frames of fragmented transfers only

    def to_bytes(self) -> bytes:
        if self.fragmentation not in (0, 1, 2):
            raise ValueError(f"fragmentation={self.fragmentation} is not 0, 1 or 2")
        if (self.fragmentation != 0) != (self.block_number is not None):
            raise ValueError("block_number is sent exactly when the frame is fragmented")
        out = bytes([self.fragmentation])
        if self.block_number is not None:
            out += uint(self.block_number, 1, "block_number")
        if self.ack_bitfield is not None:
            out += uint(self.ack_bitfield, 1, "ack_bitfield")
        return out


@dataclass(frozen=True)
class ApsFrame:
    """An APS frame. Data frames: endpoints, cluster and profile; `payload` bytes (the ZDO/ZCL frame).
    Command frames: `payload` an ApsCommand. Ack frames: endpoints etc. unless `ack_format` (command ack).
    A secured payload not (yet) decrypted is a SecuredPayload.
    """

    frame_type: ApsFrameType
    counter: int
    payload: bytes | ApsCommand | SecuredPayload = b""
    delivery_mode: DeliveryMode = DeliveryMode.UNICAST
    dst_endpoint: int | None = None
    group: int | None = None
    cluster_id: int | None = None
    profile_id: int | None = None
    src_endpoint: int | None = None
    ack_request: bool = False
    ack_format: bool = False
    extended_header: ExtendedHeader | None = None
    security: SecurityHeader | None = None
    raw_header: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame_type", ApsFrameType(self.frame_type))
        object.__setattr__(self, "delivery_mode", DeliveryMode(self.delivery_mode))
        has = {name: getattr(self, name) is not None
               for name in ("dst_endpoint", "group", "cluster_id", "profile_id", "src_endpoint")}
        want = self._addressing()
        for name, present in has.items():
            if present != (name in want):
                raise ValueError(f"APS {self.frame_type.name} frame (delivery {self.delivery_mode.name}, ack_format "
                                 f"{self.ack_format}): {name} must {'be set' if name in want else 'be None'}")
        if self.ack_format and self.frame_type is not ApsFrameType.ACK:
            raise ValueError("ack_format is for ACK frames only")
        if self.security is None and isinstance(self.payload, SecuredPayload):
            raise ValueError("a SecuredPayload needs a security header")
        if self.frame_type is ApsFrameType.COMMAND and isinstance(self.payload, bytes):
            raise TypeError("an APS COMMAND frame's payload is an ApsCommand (or a SecuredPayload)")
        if isinstance(self.payload, ApsCommand) and self.frame_type is not ApsFrameType.COMMAND:
            raise TypeError("an ApsCommand payload needs frame_type COMMAND")
        ext = self.extended_header
        if ext is not None and (ext.ack_bitfield is not None) != (
                self.frame_type is ApsFrameType.ACK and ext.fragmentation != 0):
            raise ValueError("ack_bitfield is sent exactly in ACKs of fragmented frames")

    def _addressing(self) -> tuple[str, ...]:
        if self.frame_type is ApsFrameType.DATA:
            first = "group" if self.delivery_mode is DeliveryMode.GROUP else "dst_endpoint"
            return (first, "cluster_id", "profile_id", "src_endpoint")
        if self.frame_type is ApsFrameType.ACK and not self.ack_format:
            return ("dst_endpoint", "cluster_id", "profile_id", "src_endpoint")
        return ()

    @classmethod
    def data(cls, counter: int, *, profile_id: int, cluster_id: int, src_endpoint: int, dst_endpoint: int,
             payload: bytes, ack_request: bool = False, security: SecurityHeader | None = None) -> "ApsFrame":
        return cls(ApsFrameType.DATA, counter, bytes(payload), dst_endpoint=dst_endpoint, cluster_id=cluster_id,
                   profile_id=profile_id, src_endpoint=src_endpoint, ack_request=ack_request, security=security)

    @classmethod
    def command(cls, counter: int, command: ApsCommand, *, security: SecurityHeader | None = None,
                ack_request: bool = False) -> "ApsFrame":
        return cls(ApsFrameType.COMMAND, counter, command, security=security, ack_request=ack_request)

    @property
    def is_decrypted(self) -> bool:
        return not isinstance(self.payload, SecuredPayload)

    def header_bytes(self) -> bytes:
        control = (
            int(self.frame_type)
            | int(self.delivery_mode) << 2
            | int(self.ack_format) << 4
            | int(self.security is not None) << 5
            | int(self.ack_request) << 6
            | int(self.extended_header is not None) << 7
        )
        out = bytes([control])
        if self.dst_endpoint is not None:
            out += uint(self.dst_endpoint, 1, "dst_endpoint")
        if self.group is not None:
            out += uint(self.group, 2, "group")
        if self.cluster_id is not None:
            out += uint(self.cluster_id, 2, "cluster_id") + uint(self.profile_id, 2, "profile_id")  # type: ignore[arg-type]
            out += uint(self.src_endpoint, 1, "src_endpoint")  # type: ignore[arg-type]
        out += uint(self.counter, 1, "counter")
        if self.extended_header is not None:
            out += self.extended_header.to_bytes()
        return out

    def _plain_payload(self) -> bytes:
        payload = self.payload
        return payload.to_bytes() if isinstance(payload, ApsCommand) else bytes(payload)  # type: ignore[arg-type]

    def to_bytes(self, key: bytes | KeyData | None = None, *, sender: EUI64 | None = None) -> bytes:
        """On-air bytes. A secured frame with a clear payload needs `key` (link key, or network key for id 1)."""
        header = self.header_bytes()
        if self.security is None:
            return header + self._plain_payload()
        aux = self.security.to_bytes()
        if isinstance(self.payload, SecuredPayload):
            return header + aux + self.payload.to_bytes()
        if key is None:
            raise SecurityError(f"{_FRAME} counter {self.counter} is secured ({self.security.key_id.name}): "
                                "a key is needed to encrypt it")
        sealed = protect(header, self.security, aps_security_key(self.security.key_id, key), self._plain_payload(),
                         sender=sender, frame=_FRAME)
        return header + aux + sealed.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, key: bytes | KeyData | None = None, *, sender: EUI64 | None = None,
                   security_level: int = DEFAULT_LEVEL) -> "ApsFrame":
        """Decode; with `key` a secured payload is decrypted (SecurityError if the MIC fails).

        `security_level` is the level assumed for the nonce and MIC (not on air; ZigBee PRO uses 5).
        """
        data = bytes(data)
        reader = ByteReader(data, _FRAME)
        control = reader.u8("frame control")
        frame_type = control & 0x3
        delivery = control >> 2 & 0x3
        if frame_type == 3:
            raise DecodeError(f"{_FRAME}: inter-PAN frames are not supported (offset 0)")
        if delivery == 1:
            raise DecodeError(f"{_FRAME}: delivery mode 1 (indirect) is reserved (offset 0)")
        ack_format = bool(control >> 4 & 1)
        if ack_format and frame_type != ApsFrameType.ACK:
            raise DecodeError(f"{_FRAME}: ack format bit set on a non-ACK frame (offset 0)")
        fields: dict[str, int | None] = dict.fromkeys(
            ("dst_endpoint", "group", "cluster_id", "profile_id", "src_endpoint"))
        addressed = frame_type == ApsFrameType.DATA or (frame_type == ApsFrameType.ACK and not ack_format)
        if addressed:
            if frame_type == ApsFrameType.DATA and delivery == DeliveryMode.GROUP:
                fields["group"] = reader.u16("group address")
            else:
                fields["dst_endpoint"] = reader.u8("destination endpoint")
            fields["cluster_id"] = reader.u16("cluster identifier")
            fields["profile_id"] = reader.u16("profile identifier")
            fields["src_endpoint"] = reader.u8("source endpoint")
        counter = reader.u8("APS counter")
        extended = None
        if control >> 7 & 1:
            ext_control = reader.u8("extended frame control")
            fragmentation = ext_control & 0x3
            if fragmentation == 3:
                raise reader.fail("fragmentation value 3 is reserved", reader.pos - 1)
            block = ack_bits = None
            if fragmentation:
                block = reader.u8("block number")
                if frame_type == ApsFrameType.ACK:
                    ack_bits = reader.u8("ack bitfield")
            extended = ExtendedHeader(fragmentation, block, ack_bits)
        header_end = reader.pos
        security = None
        payload: bytes | ApsCommand | SecuredPayload
        if control >> 5 & 1:
            security = SecurityHeader.decode(reader, default_level=security_level)
            offset = reader.pos
            payload = SecuredPayload.split(reader.rest(), security.mic_length, _FRAME, offset)
        else:
            payload = reader.rest()
            if frame_type == ApsFrameType.COMMAND:
                payload = _decode_command(payload)
            elif frame_type == ApsFrameType.ACK and payload:
                raise DecodeError(f"{_FRAME}: ACK with {len(payload)} payload bytes at offset {header_end}")
        frame = cls(
            frame_type=ApsFrameType(frame_type),
            counter=counter,
            payload=payload,
            delivery_mode=DeliveryMode(delivery),
            ack_request=bool(control >> 6 & 1),
            ack_format=ack_format,
            extended_header=extended,
            security=security,
            raw_header=data[:header_end],
            **fields,  # type: ignore[arg-type]
        )
        if security is not None and key is not None:
            frame = frame.decrypt(key, sender=sender)
        return frame

    def decrypt(self, key: bytes | KeyData, *, sender: EUI64 | None = None) -> "ApsFrame":
        """The frame with its payload decrypted and the MIC checked (SecurityError if it does not verify).

        `key` is the link key for key ids 0/2/3 (KTK/KLK derived here) or the network key for key id 1;
        `sender` is the sender's EUI-64, needed when the frame has no extended nonce.
        """
        if not isinstance(self.payload, SecuredPayload) or self.security is None:
            return self
        header = self.raw_header or self.header_bytes()
        plain = unprotect(header, self.security, aps_security_key(self.security.key_id, key), self.payload,
                          sender=sender, frame=f"{_FRAME} counter {self.counter}")
        payload: bytes | ApsCommand = plain
        if self.frame_type is ApsFrameType.COMMAND:
            payload = _decode_command(plain)
        elif self.frame_type is ApsFrameType.ACK and plain:
            raise DecodeError(f"{_FRAME}: secured ACK with {len(plain)} payload bytes")
        return replace(self, payload=payload)
