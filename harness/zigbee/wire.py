"""Little-endian byte reading and writing shared by the MAC, NWK and APS codecs.

Every read names the frame and the field, so garbage on air gives a DecodeError such as
"NWK frame: 3 bytes, need 8 for radius at offset 6" instead of an IndexError from deep inside a codec.
"""

from __future__ import annotations

from zigpy.types import EUI64, KeyData, uint8_t

from harness.errors import DecodeError

__all__ = ["ByteReader", "uint", "eui64_bytes", "as_key"]


class ByteReader:
    """A cursor over one frame's bytes; `frame` names it in error messages ("MAC frame", "APS command")."""

    def __init__(self, data: bytes, frame: str) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.frame = frame

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, count: int, field: str) -> bytes:
        if self.pos + count > len(self.data):
            raise DecodeError(
                f"{self.frame}: {len(self.data)} bytes, need {self.pos + count} for {field} at offset {self.pos}"
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little")

    def u8(self, field: str) -> int:
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def u32(self, field: str) -> int:
        return self.uint(4, field)

    def eui64(self, field: str) -> EUI64:
        # what EUI64.deserialize gives (uint8_t items, wire order), without its per-octet parse: 4x faster
        return EUI64(map(uint8_t, self.take(8, field)))

    def key(self, field: str) -> KeyData:
        return KeyData(self.take(16, field))

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def end(self) -> None:
        """The frame must be fully consumed here (fixed-size bodies)."""
        if self.remaining:
            raise DecodeError(
                f"{self.frame}: {self.remaining} unexpected trailing bytes at offset {self.pos} "
                f"({self.data[self.pos:self.pos + 16].hex()})"
            )

    def fail(self, message: str, offset: int | None = None) -> DecodeError:
        at = self.pos if offset is None else offset
        return DecodeError(f"{self.frame}: {message} (offset {at})")


def uint(value: int, size: int, field: str) -> bytes:
    """`value` as `size` little-endian bytes; a value that does not fit names the field."""
    if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{field}={value!r} does not fit in {size} unsigned byte(s)")
    return value.to_bytes(size, "little")


def eui64_bytes(value: EUI64, field: str) -> bytes:
    if not isinstance(value, EUI64):
        raise TypeError(f"{field} must be a zigpy EUI64, got {type(value).__name__}")
    raw = bytes(value)  # its octets in wire order, as serialize() joins them, 40x faster (every frame has some)
    if len(raw) != 8:
        raise ValueError(f"{field} must be 8 octets, got {len(raw)}")
    return raw


def as_key(value: bytes | KeyData, field: str = "key") -> bytes:
    """A 16-byte AES key as bytes (accepts zigpy KeyData or bytes)."""
    if not isinstance(value, (bytes, bytearray, memoryview, list)):  # KeyData is a list of uint8
        raise TypeError(f"{field} must be 16 bytes or a zigpy KeyData, got {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != 16:
        raise ValueError(f"{field} must be 16 bytes, got {len(raw)}")
    return raw

