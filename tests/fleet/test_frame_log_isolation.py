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
