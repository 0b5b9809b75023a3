"""Radio captures as classic pcap, and the Wireshark key table that decrypts them.

* pcap (libpcap 2.4, microsecond timestamps, little-endian) with LINKTYPE 195 = IEEE 802.15.4 with FCS: each
  record is the PSDU including its 2-byte FCS (CRC-16/KERMIT, LSB first), which Wireshark checks; 230 = without
  FCS is also accepted. Timestamps are passed in (virtual or wall time, the caller decides): no clock here.
* Key table: Wireshark's `zigbee_pc_keys` UAT, one line per key: "<32 hex>","Normal","<label>". "Normal" means
  the hex is the key bytes in the order AES uses them (as printed: network key 01030507..., install-code link
  key 66B69009...). Give raw link keys; Wireshark derives the key-transport/key-load keys itself.
  See research/vectors.md section 5 for the tshark runs this format was checked with.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from harness.errors import DecodeError
from harness.zigbee.mac import fcs

__all__ = [
    "LINKTYPE_IEEE802_15_4_WITHFCS",
    "LINKTYPE_IEEE802_15_4_NOFCS",
    "PcapRecord",
    "PcapWriter",
    "read_pcap",
    "zigbee_key_line",
    "write_zigbee_keys",
]

LINKTYPE_IEEE802_15_4_WITHFCS = 195
LINKTYPE_IEEE802_15_4_NOFCS = 230

_MAGIC_US = 0xA1B2C3D4
_SNAPLEN = 65535
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")

Timestamp = float | int | Decimal | datetime


@dataclass(frozen=True)
class PcapRecord:
    seconds: int
    microseconds: int
    data: bytes

    @property
    def timestamp(self) -> Decimal:
        return Decimal(self.seconds) + Decimal(self.microseconds) / 1_000_000


def _split_timestamp(timestamp: Timestamp) -> tuple[int, int]:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("pcap timestamp datetime must be timezone-aware (UTC epoch is written)")
        timestamp = Decimal(str(timestamp.timestamp()))
    micros = int((Decimal(str(timestamp)) * 1_000_000).to_integral_value())
    if micros < 0 or micros >> 32 >= 1_000_000:
        raise ValueError(f"pcap timestamp {timestamp!r} is outside 1970..2106")
    return divmod(micros, 1_000_000)


class PcapWriter:
    """Write records to a binary stream. With LINKTYPE 195 each PSDU's FCS is checked unless check_fcs=False
    (a capture that wants to show a corrupted frame on purpose)."""

    def __init__(self, stream: BinaryIO, linktype: int = LINKTYPE_IEEE802_15_4_WITHFCS) -> None:
        if linktype not in (LINKTYPE_IEEE802_15_4_WITHFCS, LINKTYPE_IEEE802_15_4_NOFCS):
            raise ValueError(f"linktype {linktype} is not 195 (802.15.4 with FCS) or 230 (without FCS)")
        self.stream = stream
        self.linktype = linktype
        stream.write(_GLOBAL.pack(_MAGIC_US, 2, 4, 0, 0, _SNAPLEN, linktype))

    @classmethod
    def open(cls, path: str | Path, linktype: int = LINKTYPE_IEEE802_15_4_WITHFCS) -> "PcapWriter":
        return cls(open(path, "wb"), linktype)  # noqa: SIM115 - closed by close()/context manager

    def write(self, timestamp: Timestamp, psdu: bytes, *, check_fcs: bool = True) -> None:
        """One frame at `timestamp` (seconds since the epoch, or an aware datetime)."""
        psdu = bytes(psdu)
        if len(psdu) > _SNAPLEN:
            raise ValueError(f"frame of {len(psdu)} bytes exceeds the pcap snap length {_SNAPLEN}")
        if check_fcs and self.linktype == LINKTYPE_IEEE802_15_4_WITHFCS:
            if len(psdu) < 3 or fcs(psdu[:-2]) != int.from_bytes(psdu[-2:], "little"):
                raise ValueError(f"frame {psdu[:8].hex()}... has no valid 802.15.4 FCS (LINKTYPE 195 needs one)")
        seconds, micros = _split_timestamp(timestamp)
        self.stream.write(_RECORD.pack(seconds, micros, len(psdu), len(psdu)) + psdu)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> "PcapWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_pcap(source: BinaryIO | bytes | str | Path) -> tuple[int, list[PcapRecord]]:
    """(linktype, records) of a classic pcap file (either byte order, microsecond or nanosecond magic)."""
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        data = source.read()
    return _parse(data)


def _parse(data: bytes) -> tuple[int, list[PcapRecord]]:
    if len(data) < _GLOBAL.size:
        raise DecodeError(f"pcap: {len(data)} bytes, need {_GLOBAL.size} for the global header")
    magic_le = int.from_bytes(data[:4], "little")
    magic_be = int.from_bytes(data[:4], "big")
    if _MAGIC_US in (magic_le, magic_be) or 0xA1B23C4D in (magic_le, magic_be):
        order = "<" if magic_le in (_MAGIC_US, 0xA1B23C4D) else ">"
    else:
        raise DecodeError(f"pcap: magic 0x{magic_le:08X} is not a classic pcap file")
    nanos = 0xA1B23C4D in (magic_le, magic_be)
    header = struct.unpack(order + "IHHiIII", data[: _GLOBAL.size])
    linktype = header[6] & 0x0FFFFFFF
    records = list(_records(data, order, nanos))
    return linktype, records


def _records(data: bytes, order: str, nanos: bool) -> Iterator[PcapRecord]:
    record = struct.Struct(order + "IIII")
    offset = _GLOBAL.size
    while offset < len(data):
        if offset + record.size > len(data):
            raise DecodeError(f"pcap: record header truncated at offset {offset}")
        seconds, fraction, included, _original = record.unpack_from(data, offset)
        offset += record.size
        if offset + included > len(data):
            raise DecodeError(f"pcap: record at offset {offset} claims {included} bytes, file ends first")
        yield PcapRecord(seconds, fraction // 1000 if nanos else fraction, data[offset : offset + included])
        offset += included


def _uat_label(label: str) -> str:
    # UAT string fields are double-quoted; keep labels to printable text without quotes or backslashes.
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in label)


def zigbee_key_line(key: bytes, label: str) -> str:
    """One `zigbee_pc_keys` entry: "<key hex, AES byte order>","Normal","<label>" (also usable with -o uat:...)."""
    raw = bytes(key)
    if len(raw) != 16:
        raise ValueError(f"ZigBee key for {label!r} must be 16 bytes, got {len(raw)}")
    return f'"{raw.hex().upper()}","Normal","{_uat_label(label)}"'


def write_zigbee_keys(target: str | Path | io.TextIOBase, keys: Iterable[tuple[bytes, str]]) -> None:
    """Write a Wireshark `zigbee_pc_keys` file (put it in the Wireshark config dir) from (key, label) pairs."""
    text = "".join(zigbee_key_line(key, label) + "\n" for key, label in keys)
    if isinstance(target, (str, Path)):
        # The table is secret material: owner-only from the first byte (created 0600, tightened if it existed).
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        target.write(text)
