"""Benchmark (not a test): the DP121 change-of-supplier scenario end to end on the emulated rig.

    .venv/bin/python -m harness.bench.perf_cos [--runs 5] [--rig rigs/emulated.yaml]

Each run is the bench scenario harness/scenarios/test_dp121_change_of_supplier.py tells: install and leave, CoS, WAN
restored after 60 virtual days, MP121 hand-over, 8.11, the ESME joins over bellows and the emulated NCP, 8.1.1.
Reports the median wall time of the whole run and of its parts (bench start-up: connect + form; the story), and
the ratio of virtual time covered to wall time spent, which is what makes a 90-day SLA testable in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness.bench import steps
from harness.bench.bench import Bench
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig

WAN_DAYS = 60
COS_IN_DAYS = 20


async def one_run(rig_path: str, root: Path, index: int) -> tuple[float, float, float]:
    rig = load_rig(rig_path)
    evidence = EvidenceBundle(root, f"perf_cos::run{index}")
    t0 = time.perf_counter()
    bench = await Bench.start(rig, evidence)
    t1 = time.perf_counter()
    try:
        esme = bench.device("esme")
        virtual_start = bench.clock.now()
        steps.install_and_leave(bench, esme)
        steps.change_of_supplier(bench, esme, effective_in_days=COS_IN_DAYS)
        steps.restore_wan_after(bench, WAN_DAYS - COS_IN_DAYS)
        steps.mp121_handover(bench, esme)
        await steps.whitelist_and_join(bench, bench.gaining_supplier, esme)
        steps.commission(bench, bench.gaining_supplier, esme)
        virtual = (bench.clock.now() - virtual_start).total_seconds()
    finally:
        await bench.stop()
        evidence.close("passed")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, virtual


async def run(runs: int, rig_path: str) -> int:
    starts, stories, totals, ratios = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(runs):
            start, story, virtual = await one_run(rig_path, Path(tmp), index)
            starts.append(start)
            stories.append(story)
            totals.append(start + story)
            ratios.append(virtual / story)
            print(f"run {index + 1}/{runs}: start-up {start:.2f} s, scenario {story:.2f} s "
                  f"({virtual / 86400:.0f} virtual days)")
    print(f"DP121 change-of-supplier scenario on {rig_path}, {runs} runs (median):")
    print(f"  whole run (start-up + scenario)  {statistics.median(totals):.2f} s")
    print(f"  bench start-up (connect + form)  {statistics.median(starts):.2f} s")
    print(f"  scenario (CoS -> Commissioned)   {statistics.median(stories):.2f} s")
    print(f"  virtual time / wall time         {statistics.median(ratios):,.0f} : 1")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rig", default="rigs/emulated.yaml")
    args = parser.parse_args(argv)
    # The bench logs every EZSP frame at DEBUG into its evidence; keep it off this console.
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    return asyncio.run(run(args.runs, args.rig))


if __name__ == "__main__":
    sys.exit(main())
