"""pcap writer/reader (LINKTYPE 195) and the Wireshark zigbee_pc_keys table."""

from __future__ import annotations

import io
import struct
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from harness.errors import DecodeError
from harness.evidence.pcap import (
    LINKTYPE_IEEE802_15_4_NOFCS,
    LINKTYPE_IEEE802_15_4_WITHFCS,
    PcapWriter,
    read_pcap,
    write_zigbee_keys,
    zigbee_key_line,
)

FRAME_1 = bytes.fromhex("618801621a341200000800341200001e20000102070901011000010000000929")


def test_global_header_is_libpcap_2_4_little_endian_linktype_195() -> None:
    stream = io.BytesIO()
    PcapWriter(stream)
    # magic a1b2c3d4 (LE), version 2.4, thiszone 0, sigfigs 0, snaplen 65535, network 195.
    assert stream.getvalue() == bytes.fromhex("d4c3b2a1" "0200" "0400" "00000000" "00000000" "ffff0000" "c3000000")


def test_record_carries_the_given_timestamp_and_the_frame_with_fcs() -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    writer.write(Decimal("1700000000.123456"), FRAME_1)
    record = stream.getvalue()[24:]
    assert struct.unpack("<IIII", record[:16]) == (1700000000, 123456, len(FRAME_1), len(FRAME_1))
    assert record[16:] == FRAME_1


def test_timestamps_from_float_int_and_aware_datetime() -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    writer.write(2.5, FRAME_1)
    writer.write(3, FRAME_1)
    writer.write(start + timedelta(days=90, microseconds=7), FRAME_1)
    linktype, records = read_pcap(stream.getvalue())
    assert linktype == LINKTYPE_IEEE802_15_4_WITHFCS
    assert [(r.seconds, r.microseconds) for r in records] == [
        (2, 500000), (3, 0), (int((start + timedelta(days=90)).timestamp()), 7)]
    assert all(r.data == FRAME_1 for r in records)
    with pytest.raises(ValueError, match="timezone-aware"):
        writer.write(datetime(2026, 1, 1), FRAME_1)


def test_linktype_195_refuses_a_frame_without_a_valid_fcs() -> None:
    writer = PcapWriter(io.BytesIO())
    with pytest.raises(ValueError, match="FCS"):
        writer.write(0, FRAME_1[:-1] + b"\x00")
    writer.write(0, FRAME_1[:-1] + b"\x00", check_fcs=False)  # a deliberately corrupted frame, on request


def test_linktype_230_takes_frames_without_fcs(tmp_path: Path) -> None:
    path = tmp_path / "nofcs.pcap"
    with PcapWriter.open(path, LINKTYPE_IEEE802_15_4_NOFCS) as writer:
        writer.write(1, FRAME_1[:-2])
    linktype, records = read_pcap(path)
    assert linktype == 230 and records[0].data == FRAME_1[:-2]


def test_reader_rejects_garbage() -> None:
    with pytest.raises(DecodeError, match="global header"):
        read_pcap(b"\x00" * 10)
    with pytest.raises(DecodeError, match="magic"):
        read_pcap(b"\x00" * 24)
    stream = io.BytesIO()
    PcapWriter(stream).write(0, FRAME_1)
    with pytest.raises(DecodeError, match="file ends first"):
        read_pcap(stream.getvalue()[:-1])


def test_key_line_is_the_format_tshark_accepted() -> None:
    # vectors.md 5.2: -o 'uat:zigbee_pc_keys:"66B6900981E1EE3CA4206B6B861C02BB","Normal","IC link key"'
    line = zigbee_key_line(bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB"), "IC link key")
    assert line == '"66B6900981E1EE3CA4206B6B861C02BB","Normal","IC link key"'


def test_key_table_file_and_label_sanitising(tmp_path: Path) -> None:
    path = tmp_path / "zigbee_pc_keys"
    write_zigbee_keys(path, [(bytes.fromhex("01030507090B0D0F00020406080A0C0D"), "nwk"),
                             (bytes(16), 'say "hi"\\\n')])
    assert path.read_text().splitlines() == [
        '"01030507090B0D0F00020406080A0C0D","Normal","nwk"',
        '"00000000000000000000000000000000","Normal","say _hi___"',
    ]
    with pytest.raises(ValueError, match="16 bytes"):
        zigbee_key_line(b"short", "x")
