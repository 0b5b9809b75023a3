"""Each bench's ezsp.log holds its own frames only, with several benches in one event loop (issue 14 item 1).

bellows logs to process-global loggers; a per-bench handler on them gave every bench the other benches' frames.
Two benches run the standard install concurrently, each with its own ESME; each log must name its own meter in
the transient-key import and never the other bench's meter."""

from __future__ import annotations

import asyncio
import logging

import pytest

from harness.bench import steps
from harness.bench.bench import Bench
from harness.bench.frame_log import FrameLog, open_frame_logs
from harness.evidence.bundle import EvidenceBundle
from tests.fleet.premises_rigs import rig_with_esme

pytestmark = pytest.mark.timeout(120)

METERS = {"a": "00-DB-12-34-56-78-90-A0", "b": "00-DB-12-34-56-78-91-A7"}


def zigpy_form(dcc: str) -> str:
    return dcc.replace("-", ":").lower()


async def _premises(tmp_path, name: str, eui: str) -> tuple[str, int]:
    evidence = EvidenceBundle(tmp_path, f"premises_{name}")
    bench = await Bench.start(rig_with_esme(eui), evidence)
    try:
        esme = bench.device("esme")
        steps.install_with_wan(bench, esme)
        await steps.whitelist_and_join(bench, bench.supplier_for(esme), esme)
        steps.commission(bench, bench.supplier_for(esme), esme)
        records = bench.frame_log.records
    finally:
        await bench.stop()
        evidence.close("passed")
    return (evidence.dir / "ezsp.log").read_text(), records


async def test_two_benches_in_one_loop_each_log_only_their_own_frames(tmp_path):
    (log_a, records_a), (log_b, records_b) = await asyncio.gather(
        _premises(tmp_path, "a", METERS["a"]), _premises(tmp_path, "b", METERS["b"]))
    a, b = zigpy_form(METERS["a"]), zigpy_form(METERS["b"])
    assert "importTransientKey" in log_a and "importTransientKey" in log_b
    assert a in log_a and b not in log_a
    assert b in log_b and a not in log_b
    # Every record is written once: the line count is the number of records this bench's context emitted.
    assert len(log_a.splitlines()) >= records_a > 0
    assert len(log_b.splitlines()) >= records_b > 0
    assert open_frame_logs() == 0
    assert logging.getLogger("bellows.ezsp").level == logging.NOTSET


def test_a_deferred_log_is_written_only_when_kept(tmp_path):
    async def run(keep: bool) -> FrameLog:
        log = FrameLog.open(tmp_path / f"keep-{keep}.log", deferred=True)
        logging.getLogger("bellows.ezsp.protocol").debug("Sending command %s", "getNodeId")
        log.close(keep=keep)
        return log

    kept, dropped = asyncio.run(run(True)), asyncio.run(run(False))
    assert kept.records == dropped.records == 1
    assert "Sending command getNodeId" in kept.path.read_text()
    assert not dropped.path.exists()


def test_a_record_from_outside_any_bench_context_goes_to_the_only_open_log(tmp_path):
    log = FrameLog.open(tmp_path / "only.log")
    try:
        async def elsewhere() -> None:  # a fresh context, as a pytest-asyncio fixture task may be
            logging.getLogger("bellows.ash").debug("Received data 0102")

        import contextvars
        contextvars.Context().run(asyncio.run, elsewhere())
    finally:
        log.close()
    assert "Received data" in log.path.read_text()


def test_a_deferred_log_reads_as_the_records_were_when_emitted(tmp_path):
    """Formatting is put off until close; an argument that changes in between must not change the log."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Frame:  # shaped like bellows' ASH frames
        seq: int
        data: bytes

    class Mutable:
        def __init__(self) -> None:
            self.state = "before"

        def __repr__(self) -> str:
            return f"Mutable({self.state})"

    async def run() -> str:
        log = FrameLog.open(tmp_path / "late.log", deferred=True)
        logger = logging.getLogger("bellows.ezsp.protocol")
        result = {"status": 0, "value": b"\x01"}
        items = [1, 2]
        thing = Mutable()
        logger.debug("Received command %s: %s", "getValue", result)
        logger.debug("list %s, thing %r, frame %r", items, thing, Frame(3, b"\xaa"))
        logger.debug("mapping %(a)s", {"a": items})
        result["status"] = 0x35
        items.append(3)
        thing.state = "after"
        log.close(keep=True)
        return log.path.read_text()

    text = asyncio.run(run())
    assert "Received command getValue: {'status': 0, 'value': b'\\x01'}" in text
    assert "list [1, 2], thing Mutable(before), frame " in text and "Frame(seq=3, data=b'\\xaa')" in text
    assert "mapping [1, 2]" in text
    # (the changed status looked for as the field, not a bare "53", which the lines' timestamps can hold)
    assert "after" not in text and "'status': 53" not in text and "[1, 2, 3]" not in text


def test_lean_log_records_skip_the_caller_lookup(tmp_path):
    """The fleet workers' switch: records no longer carry file and line, and the frame log still reads the same."""
    import subprocess
    import sys
    code = (
        "import logging, asyncio, pathlib, sys\n"
        "from harness.bench.frame_log import FrameLog, lean_log_records\n"
        "lean_log_records()\n"
        "seen = []\n"
        "class Spy(logging.Handler):\n"
        "    def emit(self, r): seen.append((r.lineno, r.threadName, r.processName))\n"
        "logging.getLogger('bellows.ash').addHandler(Spy())\n"
        "async def main():\n"
        "    log = FrameLog.open(pathlib.Path(sys.argv[1]))\n"
        "    logging.getLogger('bellows.ash').debug('Sending data frame %r', b'\\x01')\n"
        "    log.close()\n"
        "asyncio.run(main())\n"
        "print(seen)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lean.log")], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[(0, None, None)]"
    assert "bellows.ash Sending data frame b'\\x01'" in (tmp_path / "lean.log").read_text()


def test_an_ezsp_level_log_leaves_out_the_ash_frame_lines_and_keeps_the_rest(tmp_path):
    ash = logging.getLogger("bellows.ash")

    async def run() -> tuple[FrameLog, FrameLog, list[int]]:
        levels = []
        lean = FrameLog.open(tmp_path / "ezsp.log", deferred=True, ash_frames=False)
        levels.append(ash.level)  # only logs without ASH lines open: bellows.ash makes no DEBUG records
        ash.debug("Sending frame %r", b"\x01")
        ash.warning("NCP entered failed state")
        logging.getLogger("bellows.ezsp.protocol").debug("Sending command  %s", "getNodeId")

        async def other() -> FrameLog:  # a second bench in its own context wants the ASH lines
            full = FrameLog.open(tmp_path / "full.log", deferred=True)
            levels.append(ash.level)
            ash.debug("Sending frame %r", b"\x02")
            full.close()
            return full

        full = await asyncio.create_task(other())
        levels.append(ash.level)
        lean.close()
        return lean, full, levels

    lean, full, levels = asyncio.run(run())
    assert levels == [logging.INFO, logging.DEBUG, logging.INFO]
    text = lean.path.read_text()
    assert "NCP entered failed state" in text and "Sending command  getNodeId" in text
    assert "Sending frame" not in text and lean.records == 2
    assert "Sending frame b'\\x02'" in full.path.read_text()
    assert ash.level == logging.NOTSET and open_frame_logs() == 0


def test_zigpy_values_are_copied_not_formatted_and_read_as_when_emitted(tmp_path):
    """bellows logs zigpy Structs and lists (EmberApsFrame, EUI64, KeyData) in most command lines. A deferred log
    copies them instead of formatting them at once (the cost it exists to avoid); the copy reads exactly as the
    original did when it was logged, whatever happens to the original afterwards."""
    import bellows.types as bt
    import zigpy.types as zt

    aps = bt.EmberApsFrame(profileId=0x0109, clusterId=0x0800, sourceEndpoint=1, destinationEndpoint=1,
                           options=bt.EmberApsOption.APS_OPTION_ENCRYPTION, groupId=0, sequence=7)
    eui = zt.EUI64.convert("00:0d:6f:00:0a:90:69:e8")
    key = zt.KeyData(range(16))
    # (the key is redacted in the file, down to its last two bytes)
    expected = f"Sending command  sendUnicast: ({aps!r},) {{'eui64': {eui!r}, 'key': <redacted 16 bytes …0e0f>}}"

    kept: list[object] = []  # each record's arguments as the log kept them (a handler after it may redact them)

    class Pending(list):
        def append(self, record: logging.LogRecord) -> None:
            kept.append(record.args)
            super().append(record)

    async def run() -> str:
        log = FrameLog.open(tmp_path / "zigpy.log", deferred=True)
        log._pending = Pending()
        logging.getLogger("bellows.ezsp.protocol").debug("Sending command  %s: %s %s", "sendUnicast", (aps,),
                                                         {"eui64": eui, "key": key})
        aps.sequence = 99
        aps.clusterId = 0x0006
        eui[0] = 0xFF
        key[15] = 0xEE
        log.close(keep=True)
        return log.path.read_text()

    # As in a fleet worker: the pytest run's redacting record factory formats every record as it is made.
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        text = asyncio.run(run())
    finally:
        logging.setLogRecordFactory(factory)
    (args,) = kept  # copied, not formatted: the same types, other objects
    assert args is not None and type(args[1][0]) is bt.EmberApsFrame and args[1][0] is not aps
    assert type(args[2]["eui64"]) is zt.EUI64 and args[2]["eui64"] is not eui
    assert expected in text
    assert "sequence=99" not in text and ":ff" not in text and "0eee" not in text
