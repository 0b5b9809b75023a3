"""Benchmark (not a test): fleet throughput, the full bellows path against the domain-only path.

    .venv/bin/python -m harness.bench.perf_fleet [--sizes 1 10 100 1000] [--workers 2]

Full path: `smets2-harness fleet` (harness/fleet/): per premises its own emulated HAN, emulated NCP and bellows
over the in-process ASH line (or a pty), the DP121 story from harness/bench/steps.py with CBKE after the join (and
without, to show its cost), negative controls at 5 %, frame logs off or deferred (kept for failed and sampled
premises). Domain-only path: the same story on the same Bench's domain objects (SMI, DCC, CHF,
suppliers, virtual clock) with the join recorded on the CHF directly: no radio, no EZSP. Reports premises/s,
resident memory per premises in flight, and the ratio; the target is 1,000 premises in <= 30 s on 2 cores
(>= 33 premises/s).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

from harness import interpreter
from harness.bench import steps
from harness.bench.bench import Bench
from harness.bench.han_link import hashed_tc_link_key
from harness.evidence.bundle import EvidenceBundle
from harness.fleet import staging
from harness.fleet.params import draw
from harness.fleet.runner import FleetOptions, run_fleet
from harness.fleet.story import RECORD_SAVE_INTERVAL, premises_rig
from harness.rig import load_rig
from harness.smets.duis import ResponseCode

TARGET_PER_S = 1000 / 30


def domain_only(rig_path: str, premises: int, root: Path) -> float:
    """Premises per second of the DP121 story with no radio and no EZSP (one process), its evidence written as the
    fleet writes it (in batches from inside an event loop, harness/fleet/story.py), so that the ratio compares the
    paths and not two ways of writing evidence."""
    import asyncio

    base = load_rig(rig_path)

    async def run() -> float:
        start = time.perf_counter()
        for index in range(premises):
            params = draw(0, index, control_rate=0.0)
            evidence = EvidenceBundle(root, f"domain-{index:05d}", coalesce_saves=RECORD_SAVE_INTERVAL)
            bench = Bench(premises_rig(base, params), evidence)
            bench._premises()
            esme = bench.device("esme")
            steps.install_and_leave(bench, esme)
            steps.change_of_supplier(bench, esme, effective_in_days=params.cos_day)
            steps.restore_wan_after(bench, params.wan_outage_days - params.cos_day)
            steps.mp121_handover(bench, esme)
            while bench.gaining_supplier.store.get(esme.eui64) is None:
                bench.advance(days=1)
            steps.expect(bench.gaining_supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn),
                         ResponseCode.I0, "8.11")
            key = bench.hub.device_log.accepted_link_keys(esme.eui64)[0]
            bench.hub.device_joined(esme.eui64, hashed_tc_link_key(key), link_key=key)
            steps.commission(bench, bench.gaining_supplier, esme)
            evidence.close("passed")
        return premises / (time.perf_counter() - start)

    return asyncio.run(run())


def layer_profile(rig_path: str, premises: int, root: Path, *, frame_log: str = "deferred",
                  cbke: bool = True) -> tuple[float, dict[str, float], int]:
    """CPU ms per premises of one fleet worker run in this process (the fleet's path: loop line, uvloop where
    installed, formed start), and each layer's share of it (harness/bench/cpu_layers.py). Returns also the
    number of premises that failed (a profile of failures would mislead)."""
    import asyncio

    from harness.bench.cpu_layers import LayerSampler
    from harness.fleet import worker
    from harness.fleet.worker import WorkerJob, default_event_loop, event_loop_factory, prepare, quiet_logging, run_job
    from harness.zigbee.cbke.certificate import CertificateAuthority

    quiet_logging()
    worker.tune_gc()  # as a worker process does
    job = WorkerJob(rig_path=rig_path, root=str(root), seed=0, indices=tuple(range(premises)), concurrency=25,
                    control_rate=0.0, sample_every=0, no_join_window=2.0, frame_log=frame_log, formed_start=True,
                    reveal_secrets=False, cbke_ca=CertificateAuthority.generate(), transport="loop", cbke=cbke,
                    event_loop=default_event_loop())
    records: list[dict] = []
    sampler = LayerSampler()
    with asyncio.Runner(loop_factory=event_loop_factory(job.event_loop)) as runner:
        # The worker's one-off start (its formed NV template, first imports) is not per premises: it is done, and
        # one premises run, before the measurement starts.
        prepared = runner.run(prepare(job))
        runner.run(run_job(dataclasses.replace(job, indices=(premises,)), records.append, prepared))
        records.clear()
        started = time.process_time()
        sampler.start()
        try:
            runner.run(run_job(job, records.append, prepared))
        finally:
            sampler.stop()
        cpu = time.process_time() - started
    failed = sum(1 for r in records if "_worker" not in r and r.get("outcome") != "passed")
    return 1000 * cpu / max(1, premises), sampler.shares(), failed


def print_layers(cpu_ms: float, shares: dict[str, float], premises: int, failed: int) -> None:
    from harness.bench.cpu_layers import HOST

    budget = 1000 * 2 / TARGET_PER_S  # CPU ms per premises that 2 cores can spend at the target rate
    print(f"CPU per premises by layer (one worker, {premises} premises, {failed} failed, sampled on CPU time): "
          f"{cpu_ms:.0f} ms")
    for layer, share in shares.items():
        print(f"  {share:6.1%} {share * cpu_ms:6.1f} ms  {layer}")
    host = shares.get(HOST, 0.0) * cpu_ms
    print(f"the target's budget on 2 cores is {budget:.0f} ms CPU per premises; the unmodified host libraries alone "
          f"take {host:.0f} ms of it ({host / budget:.0%}), leaving {budget - host:.0f} ms for everything else, "
          f"which takes {cpu_ms - host:.0f} ms now")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rig", default="rigs/emulated.yaml")
    parser.add_argument("--frame-log", choices=("off", "deferred", "deferred-ash"), nargs="+",
                        default=["off", "deferred"])
    parser.add_argument("--cbke", choices=("on", "off"), nargs="+", default=["on", "off"],
                        help="on: every meter runs CBKE after joining (the fleet's default); off: the story alone")
    parser.add_argument("--transport", choices=("loop", "pty"), nargs="+", default=["loop"],
                        help="the NCP line: loop (the fleet's default, in-process) and/or pty")
    parser.add_argument("--layers", type=int, default=200, metavar="N",
                        help="also profile one worker over N premises and show CPU per premises by layer (0: no)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for transport in args.transport:
            for cbke in args.cbke:
                for frame_log in args.frame_log:
                    for size in args.sizes:
                        # Each fleet forks its workers from this process: measured before the domain-only run.
                        summary = run_fleet(FleetOptions(
                            rig=args.rig, premises=size, workers=args.workers, seed=0, sample_every=0,
                            out=Path(tmp) / f"fleet-{transport}-{cbke}-{frame_log}-{size}", frame_log=frame_log,
                            transport=transport, cbke=cbke == "on"), progress=None)
                        rows.append((transport, cbke, frame_log, size, summary))
        # The fleets stage their bundles (harness/fleet/staging.py); the in-process paths write where they would.
        with tempfile.TemporaryDirectory(dir=staging.choose("auto")) as scratch:
            domain = domain_only(args.rig, 200, Path(scratch) / "domain")
            layers = layer_profile(args.rig, args.layers, Path(scratch) / "layers") if args.layers > 0 else None
    print(f"domain-only path (no radio, no EZSP, 1 process, evidence written as the fleet writes it): "
          f"{domain:.0f} premises/s")
    print(f"{'line':>5s} {'CBKE':>4s} {'frame log':>12s} {'premises':>8s} {'wall (s)':>9s} {'premises/s':>11s} "
          f"{'vs target':>10s} {'vs domain':>10s} {'KiB/premises':>13s} {'failed':>7s}")
    for transport, cbke, frame_log, size, summary in rows:
        rate = summary["premises_per_s"]
        per = (summary.get("memory") or {}).get("per_premises_kb")
        print(f"{transport:>5s} {cbke:>4s} {frame_log:>12s} {size:8d} {summary['wall_s']:9.1f} {rate:11.1f} "
              f"{rate / TARGET_PER_S:9.0%} {rate / domain:9.1%} {per if per is not None else float('nan'):13.0f} "
              f"{summary['failed']:7d}")
    backends = {summary.get("curve_backend") for *_, summary in rows if summary.get("cbke")}
    print(f"CBKE curve backend: {', '.join(sorted(b for b in backends if b)) or 'n/a'} (SMETS2_CURVE_BACKEND)")
    places = {str(summary.get("staging")) for *_, summary in rows}
    print(f"bundles staged in: {', '.join(sorted(places)) or 'n/a'} (smets2-harness fleet --staging)")
    print(f"interpreter: {interpreter.this_build().label()} (docs/performance.md, 'The interpreter build')")
    print(f"target: 1,000 premises in <= 30 s on 2 cores = {TARGET_PER_S:.1f} premises/s")
    if layers is not None:
        print_layers(*layers[:2], args.layers, layers[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
