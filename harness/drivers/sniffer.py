"""The rig's `sniffer:` role: a radio capture beside the coordinator, saved in each scenario's evidence bundle
with the Wireshark key table that decrypts it.

Sources (rig `sniffer.kind`):

* `pcap`: a pcap file that a capture tool keeps appending to (e.g. a sniffer stick's own tool writing to disk);
  each scenario gets the records appended while it ran (byte offsets, not timestamps, so clock skew cannot lose a
  frame);
* `tshark`: `tshark -i INTERFACE -F pcap -w -` (an 802.15.4 interface, or an extcap one such as a sniffer stick's);
* `command`: any program that writes a pcap stream to its stdout, e.g. `tshark -r lab.pcap -F pcap -w -` or a
  vendor sniffer tool; it runs for the scenario and is stopped (SIGTERM) at its end unless it ended on its own;
* `emulated`: the simulated medium's own capture (harness/emulation/medium.py), which the emulated rig always has.

Only classic pcap is accepted (`-F pcap`): the evidence tools read it, and Wireshark opens it with the key table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.errors import RigError

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GLOBAL_HEADER = 24
RECORD_HEADER = 16
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class CaptureResult:
    path: Path
    frames: int
    source: str
    linktype: int | None


class Capture(Protocol):
    source: str

    async def start(self) -> None: ...

    async def stop(self) -> CaptureResult: ...


def _check_header(data: bytes, where: str) -> tuple[str, int]:
    """The byte order and link type of a classic pcap; RigError for pcapng or anything else."""
    if data[:4] == PCAPNG_MAGIC:
        raise RigError(f"{where} is pcapng; the sniffer needs classic pcap (tshark: add -F pcap)")
    order = PCAP_MAGICS.get(data[:4])
    if order is None or len(data) < GLOBAL_HEADER:
        raise RigError(f"{where} is not a pcap capture (header {data[:4].hex() or 'empty'})")
    return order, struct.unpack(f"{order}I", data[20:24])[0]


def pcap_records(data: bytes, order: str) -> list[tuple[int, int]]:
    """(offset, length) of each whole record after the global header; a half-written last one is left out."""
    records, offset = [], GLOBAL_HEADER
    while offset + RECORD_HEADER <= len(data):
        caplen = struct.unpack(f"{order}I", data[offset + 8 : offset + 12])[0]
        end = offset + RECORD_HEADER + caplen
        if end > len(data):
            break
        records.append((offset, end - offset))
        offset = end
    return records


class PcapFileCapture:
    """The records a capture tool appends to `source` between start() and stop(), as a pcap of their own."""

    def __init__(self, source: str | os.PathLike[str], target: Path) -> None:
        self.source_path = Path(source)
        self.source = f"pcap {self.source_path}"
        self.target = target
        self._start_offset = GLOBAL_HEADER
        self._inode: int | None = None

    async def start(self) -> None:
        try:
            data = self.source_path.read_bytes()
            stat = self.source_path.stat()
        except FileNotFoundError:
            return  # the tool has not started writing: everything it writes belongs to this scenario
        except OSError as exc:
            raise RigError(f"sniffer: cannot read {self.source_path}: {exc.strerror}") from exc
        self._inode = stat.st_ino
        if len(data) >= GLOBAL_HEADER:
            order, _ = _check_header(data, f"sniffer source {self.source_path}")
            records = pcap_records(data, order)
            self._start_offset = sum(records[-1]) if records else GLOBAL_HEADER

    async def stop(self) -> CaptureResult:
        try:
            data = self.source_path.read_bytes()
            inode = self.source_path.stat().st_ino
        except OSError as exc:
            raise RigError(f"sniffer: the capture file {self.source_path} is gone: {exc.strerror}") from exc
        order, linktype = _check_header(data, f"sniffer source {self.source_path}")
        start = self._start_offset
        if inode != self._inode or len(data) < start:  # rotated or restarted: all of it is new
            start = GLOBAL_HEADER
        records = [r for r in pcap_records(data, order) if r[0] >= start]
        body = b"".join(data[offset : offset + length] for offset, length in records)
        self.target.write_bytes(data[:GLOBAL_HEADER] + body)
        return CaptureResult(self.target, len(records), self.source, linktype)


class CommandCapture:
    """A program writing pcap to its stdout, straight into the bundle's file."""

    def __init__(self, command: str | list[str], target: Path) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        self.source = f"command {shlex.join(self.argv)}"
        self.target = target
        self._process: asyncio.subprocess.Process | None = None
        self._out: object = None

    async def start(self) -> None:
        out = self.target.open("wb")
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv, stdout=out, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True)  # its own group, so stopping it reaches what it spawns (dumpcap)
        except OSError as exc:
            out.close()
            raise RigError(f"sniffer: {self.source!r} could not start: {exc.strerror}") from exc
        self._out = out

    async def finished(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a source that ends by itself (a `tshark -r` replay); True if it has."""
        assert self._process is not None, "start() first"
        try:
            await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> CaptureResult:
        process = self._process
        assert process is not None, "start() first"
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
            stopped_by_us = True
        else:
            stopped_by_us = False
        assert process.stderr is not None
        err = (await process.stderr.read()).decode(errors="replace").strip()
        self._out.close()  # type: ignore[attr-defined]
        data = self.target.read_bytes()
        if not stopped_by_us and process.returncode != 0:
            raise RigError(f"sniffer: {self.source!r} exited {process.returncode}: {err[-300:]}")
        if not data:
            raise RigError(f"sniffer: {self.source!r} wrote no capture{': ' + err[-300:] if err else ''}")
        order, linktype = _check_header(data, f"the output of {self.source!r}")
        return CaptureResult(self.target, len(pcap_records(data, order)), self.source, linktype)


def tshark_command(interface: str) -> list[str]:
    return ["tshark", "-i", interface, "-q", "-F", "pcap", "-w", "-"]


def make_capture(kind: str, target: Path, *, path: str | None = None, interface: str | None = None,
                 command: str | None = None) -> Capture:
    if kind == "pcap":
        assert path is not None
        return PcapFileCapture(path, target)
    if kind == "tshark":
        assert interface is not None
        capture = CommandCapture(tshark_command(interface), target)
        capture.source = f"tshark -i {interface}"
        return capture
    if kind == "command":
        assert command is not None
        return CommandCapture(command, target)
    raise ValueError(f"no external capture for sniffer kind {kind!r}")
