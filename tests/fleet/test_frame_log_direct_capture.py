"""frame_log.capture_directly() (the fleet workers' switch): bellows' DEBUG calls go straight into the calling
bench's deferred frame log without a LogRecord, and the kept file reads exactly as it does through logging."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import bellows.types as bt
import pytest
import zigpy.types as zt

from harness.bench import frame_log
from harness.bench.frame_log import FrameLog

PROTOCOL = logging.getLogger("bellows.ezsp.protocol")
EZSP = logging.getLogger("bellows.ezsp")
ASH = logging.getLogger("bellows.ash")
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.M)


@pytest.fixture
def direct() -> Iterator[None]:
    frame_log.capture_directly()
    try:
        yield
    finally:
        frame_log.capture_through_logging()


class Mutable:
    def __init__(self) -> None:
        self.state = "before"

    def __repr__(self) -> str:
        return f"Mutable({self.state})"


@dataclasses.dataclass(frozen=True)
class Frame:  # shaped like bellows' ASH frames
    seq: int
    data: bytes


def _bellows_calls(path: Path, *, ash_frames: bool = True) -> tuple[FrameLog, str]:
    """What bellows logs in one start, in every shape its calls take; arguments change after the call."""
    async def run() -> FrameLog:
        log = FrameLog.open(path, deferred=True, ash_frames=ash_frames)
        aps = bt.EmberApsFrame(profileId=0x0109, clusterId=0x0800, sourceEndpoint=1, destinationEndpoint=1,
                               options=bt.EmberApsOption.APS_OPTION_RETRY, groupId=0, sequence=7)
        kwargs = {"configId": bt.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE, "value": 0}
        items = [1, 2]
        thing = Mutable()
        PROTOCOL.debug("Sending command  %s: %s %s", "setConfigurationValue", (), kwargs)
        PROTOCOL.debug("Received command %s: %s", "sendUnicast", {"status": bt.sl_Status.OK, "aps": aps})
        EZSP.debug("Setting config %s = %s (old value %s)", "CONFIG_MULTICAST_TABLE_SIZE", 0, 8)
        EZSP.debug("mapping %(a)s and %(b)r", {"a": zt.EUI64.convert("00:db:12:34:56:78:90:a0"), "b": items})
        EZSP.debug("list %s, thing %r, frame %r", items, thing, Frame(3, b"\xaa"))  # a Mutable: fixed at once
        EZSP.debug("no arguments at all")
        ASH.debug("Sending data frame %r", Frame(4, b"\x01"))
        ASH.info("ASH info %s", "kept at any ash_frames")
        try:
            raise ValueError("boom")
        except ValueError:
            EZSP.debug("with a traceback", exc_info=True)
        kwargs["value"] = 99
        items.append(3)
        thing.state = "after"
        log.close(keep=True)
        return log

    log = asyncio.run(run())
    return log, log.path.read_text()


@pytest.mark.parametrize("ash_frames", [True, False])
def test_the_kept_log_reads_the_same_either_way(tmp_path: Path, ash_frames: bool) -> None:
    usual, usual_text = _bellows_calls(tmp_path / "usual.log", ash_frames=ash_frames)
    frame_log.capture_directly()
    try:
        captured, direct_text = _bellows_calls(tmp_path / "direct.log", ash_frames=ash_frames)
    finally:
        frame_log.capture_through_logging()
    assert STAMP.sub("", direct_text) == STAMP.sub("", usual_text)
    assert len(STAMP.findall(direct_text)) == len(STAMP.findall(usual_text)) == captured.records == usual.records
    assert "'value': 0}" in direct_text and "'value': 99" not in direct_text and "[1, 2, 3]" not in direct_text
    assert "Mutable(before)" in direct_text and "after" not in direct_text
    assert "mapping 00:db:12:34:56:78:90:a0 and [1, 2]" in direct_text
    assert "ValueError: boom" in direct_text
    assert ("Sending data frame" in direct_text) is ash_frames


def test_records_skip_the_logging_machinery_only_while_switched_on(tmp_path: Path) -> None:
    made: list[str] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            made.append(record.getMessage())

    spy = Spy(logging.DEBUG)
    EZSP.addHandler(spy)
    try:
        async def run(name: str) -> None:
            log = FrameLog.open(tmp_path / name, deferred=True)
            PROTOCOL.debug("Sending command %s", name)
            log.close(keep=True)

        frame_log.capture_directly()
        try:
            assert "debug" in PROTOCOL.__dict__
            asyncio.run(run("direct"))
        finally:
            frame_log.capture_through_logging()
        assert "debug" not in PROTOCOL.__dict__
        asyncio.run(run("usual"))
    finally:
        EZSP.removeHandler(spy)
    assert made == ["Sending command usual"]  # the direct record built no LogRecord for any handler to see
    assert "Sending command direct" in (tmp_path / "direct").read_text()


def test_a_log_written_as_it_goes_and_a_context_with_no_bench_take_the_usual_path(tmp_path: Path,
                                                                                  direct: None) -> None:
    async def run() -> tuple[FrameLog, FrameLog]:
        live = FrameLog.open(tmp_path / "live.log")  # not deferred: formatted at once, through its handler
        PROTOCOL.debug("Sending command %s", "live")
        live.close()
        only = FrameLog.open(tmp_path / "only.log", deferred=True)

        async def elsewhere() -> None:  # a fresh context: no bench of its own, so the only open log takes it
            PROTOCOL.debug("Received data %s", "from elsewhere")

        await asyncio.get_running_loop().run_in_executor(None, contextvars.Context().run, asyncio.run, elsewhere())
        only.close(keep=True)
        return live, only

    live, only = asyncio.run(run())
    assert "Sending command live" in live.path.read_text() and live.records == 1
    assert "Received data from elsewhere" in only.path.read_text() and only.records == 1


async def test_two_benches_in_one_loop_keep_their_own_records(tmp_path: Path, direct: None) -> None:
    async def bench(name: str) -> str:
        log = FrameLog.open(tmp_path / f"{name}.log", deferred=True)
        for i in range(3):
            PROTOCOL.debug("Sending command %s %d", name, i)
            await asyncio.sleep(0)
        log.close(keep=True)
        return log.path.read_text()

    a, b = await asyncio.gather(asyncio.create_task(bench("a")), asyncio.create_task(bench("b")))
    assert STAMP.sub("", a).splitlines() == [f"bellows.ezsp.protocol Sending command a {i}" for i in range(3)]
    assert STAMP.sub("", b).splitlines() == [f"bellows.ezsp.protocol Sending command b {i}" for i in range(3)]


def test_the_fleet_workers_switch_it_on() -> None:
    import subprocess
    import sys

    code = ("import logging\n"
            "from harness.fleet.worker import quiet_logging\n"
            "quiet_logging()\n"
            "print(all('debug' in logging.getLogger(n).__dict__ for n in "
            "('bellows.ezsp.protocol', 'bellows.ezsp', 'bellows.ash', 'bellows.uart')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_the_kept_lines_carry_the_timestamps_the_logrecord_path_would(tmp_path: Path, monkeypatch) -> None:
    """With the clock fixed, the two paths write byte-identical files, timestamps included (both read the clock
    LogRecord reads on the running Python, and derive the milliseconds as it does)."""
    import time

    for stamp in (1796671092.123456, 1796671092.999999, 1796671093.0005):
        monkeypatch.setattr(time, "time", lambda stamp=stamp: stamp)
        monkeypatch.setattr(time, "time_ns", lambda stamp=stamp: int(round(stamp * 1e9)))
        _, usual_text = _bellows_calls(tmp_path / "usual.log")
        frame_log.capture_directly()
        try:
            _, direct_text = _bellows_calls(tmp_path / "direct.log")
        finally:
            frame_log.capture_through_logging()
        assert direct_text == usual_text
        millis = f",{int(round(stamp * 1e9)) % 1_000_000_000 // 1_000_000:03d} "
        assert STAMP.findall(direct_text) and all(millis in line for line in STAMP.findall(direct_text)), millis


def test_a_log_written_as_it_goes_takes_no_captured_record(tmp_path: Path) -> None:
    log = FrameLog(tmp_path / "live.log")
    try:
        assert log.capture("bellows.ezsp.protocol", "Sending command %s", ("getNodeId",)) is False
        assert log.records == 0
    finally:
        log.close()
