"""The fleet runner: N premises over W worker processes; progress, records, summary, table and plot.

Output folder (`out`):
  records.jsonl   one line per premises, in the order they finished (outcome, cause, parameters, measurements)
  summary.json    the summary (harness/fleet/summary.py), also printed as a table
  fleet.svg       histogram of virtual commissioning time; premises completed against wall time
  premises/       the evidence bundle of every failed premises and of every `sample_every`-th passing one
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness import interpreter
from harness.fleet import plot, staging
from harness.fleet.params import run_order
from harness.fleet.story import FRAME_LOGS
from harness.fleet.summary import summarise, table
from harness.fleet.worker import WorkerJob, default_event_loop, worker_main
from harness.zigbee.cbke import curve
from harness.zigbee.cbke.certificate import CertificateAuthority

# Premises in flight per worker. A premises spends ~2.2 s of wall time (real-time radio waits), so 2 workers x N in
# flight cap the rate at 2N/2.2 per second (Little's law): 25 capped it at ~22/s below what the CPU allows on a fast
# machine; past the CPU's limit more in flight only adds event-loop lag and memory (docs/performance.md).
DEFAULT_CONCURRENCY = 40


@dataclass(frozen=True)
class FleetOptions:
    rig: str
    premises: int
    workers: int = 2
    seed: int = 0
    out: Path = Path("reports/fleet")
    concurrency: int = DEFAULT_CONCURRENCY
    control_rate: float = 0.05
    sample_every: int = 100
    no_join_window: float = 2.0
    frame_log: str = "deferred"
    formed_start: bool = True
    reveal_secrets: bool = False
    transport: str | None = "loop"  # the NCP line for every premises; None: the rig's (pty or tcp)
    cbke: bool = True  # CBKE after every join, as a SMETS2 HAN needs; False measures the story without it
    event_loop: str = "auto"  # the workers' loop: uvloop where it is installed (auto), or asyncio / uvloop
    staging: str = "auto"  # where bundles are written while their premises runs (harness/fleet/staging.py)


class Progress:
    """A one-line progress bar on a terminal; a line every 10% otherwise (CI logs)."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total, self.stream = total, stream
        self.tty = stream.isatty()
        self._last_decile = -1
        self.start = time.perf_counter()

    def update(self, done: int, failed: int) -> None:
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.tty:
            filled = int(30 * done / max(1, self.total))
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} "
                              f"failed {failed}  {rate:.1f}/s ")
            self.stream.flush()
        elif (decile := 10 * done // max(1, self.total)) != self._last_decile:
            self._last_decile = decile
            self.stream.write(f"{done}/{self.total} premises, failed {failed}, {rate:.1f}/s\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _context() -> Any:
    # fork: the workers inherit the imported harness, bellows and zigpy instead of importing them again.
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _jobs(options: FleetOptions, root: Path, cbke_ca: CertificateAuthority, stage: Path | None,
          cursor: Any) -> list[WorkerJob]:
    """Every worker's job: the run's order of premises and the cursor they all take the next one from."""
    workers = max(1, min(options.workers, options.premises or 1))
    order = run_order(options.seed, options.premises, control_rate=options.control_rate)
    return [WorkerJob(rig_path=options.rig, root=str(root), seed=options.seed, cbke_ca=cbke_ca,
                      indices=order, cursor=cursor, concurrency=options.concurrency,
                      control_rate=options.control_rate, sample_every=options.sample_every,
                      no_join_window=options.no_join_window, frame_log=options.frame_log,
                      formed_start=options.formed_start, reveal_secrets=options.reveal_secrets,
                      transport=options.transport, cbke=options.cbke, event_loop=_event_loop(options),
                      stage=str(stage) if stage is not None else None)
            for w in range(workers)]


STDERR = "stderr"  # the progress bar goes to whatever sys.stderr is when the fleet runs, not when this was imported


def _event_loop(options: FleetOptions) -> str:
    if options.event_loop == "auto":
        return default_event_loop()
    return options.event_loop


def run_fleet(options: FleetOptions, *, progress: IO[str] | str | None = STDERR) -> dict[str, Any]:
    if options.frame_log not in FRAME_LOGS:
        raise ValueError(f"fleet frame_log={options.frame_log!r}: expected one of {', '.join(FRAME_LOGS)}")
    location = staging.choose(options.staging)  # refused (StagingError) before anything starts
    out = Path(options.out)
    root = out / "premises"
    root.mkdir(parents=True, exist_ok=True)
    # One test CA for the run (as one bench has one): it issues every premises' suite-2 certificates, unless the
    # rig names the SE test vectors. Issued certificates are per premises: each names its own EUI-64.
    cbke_ca = CertificateAuthority.generate()
    curve_backend = curve.backend_name()  # chosen here, so forked workers inherit the choice
    stage = staging.open_stage(location)
    context = _context()
    try:
        jobs = _jobs(options, root, cbke_ca, stage, context.Value("q", 0))
        records, worker_reports, wall = _run_workers(options, jobs, out, progress, context)
    finally:
        # Bundles still staged belong to premises a dead worker never finished (or to an interrupted run).
        recovered = staging.recover(stage, root)
    # A worker that died took the premises it had started with it: they are failures, not silently missing.
    seen = {r["index"] for r in records}
    with (out / "records.jsonl").open("a", encoding="utf-8") as sink:
        for index in range(options.premises):
            if index not in seen:
                lost = {"index": index, "outcome": "failed", "cause": "worker process died", "message": "",
                        "bundle": recovered.get(index)}
                records.append(lost)
                sink.write(json.dumps(lost) + "\n")
    memory = _memory([w for w in worker_reports if "peak_kb" in w])
    summary = summarise(records, wall_s=wall, workers=len(jobs), seed=options.seed, memory=memory)
    summary["worker_errors"] = [w["error"] for w in worker_reports if "error" in w]
    summary["rig"] = options.rig
    summary["cbke"] = options.cbke
    summary["frame_log"] = options.frame_log
    summary["curve_backend"] = curve_backend
    summary["interpreter"] = interpreter.this_build().label()  # its build moves throughput by a fifth
    summary["event_loop"] = jobs[0].event_loop
    summary["transport"] = options.transport or "rig"
    summary["staging"] = str(location) if location is not None else "off"
    if options.cbke:
        summary["cbke_ca"] = {"issuer": cbke_ca.issuer.hex().upper(),
                              "public_key": cbke_ca.public_key.hex().upper()}
    summary["out"] = str(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    days = [r["commissioning_days"] for r in records if r.get("commissioning_days") is not None]
    done = [r["done_at_s"] for r in records if r.get("done_at_s") is not None]
    plot.write(out / "fleet.svg", days, done,
               title=f"{options.premises} premises, seed {options.seed}, {len(jobs)} workers, {wall:.1f} s")
    return summary


def _run_workers(options: FleetOptions, jobs: list[WorkerJob], out: Path, progress: IO[str] | str | None,
                 context: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Start the worker processes and collect their records (written to records.jsonl as they come) and their own
    reports (memory and collector figures, or why a worker failed)."""
    queue = context.Queue()
    stream = sys.stderr if progress == STDERR else progress
    bar = Progress(options.premises, stream) if stream is not None and not isinstance(stream, str) else None
    started = time.perf_counter()
    processes = [context.Process(target=worker_main, args=(job, queue), name=f"fleet-worker-{i}", daemon=True)
                 for i, job in enumerate(jobs)]
    for process in processes:
        process.start()
    records: list[dict[str, Any]] = []
    worker_reports: list[dict[str, Any]] = []
    finished_workers = 0
    failed = 0
    try:
        with (out / "records.jsonl").open("w", encoding="utf-8") as sink:
            while finished_workers < len(processes):
                try:
                    item = queue.get(timeout=1.0)
                except Exception:  # queue.Empty: check nobody died without saying so  # noqa: BLE001
                    if all(not p.is_alive() for p in processes) and queue.empty():
                        break
                    continue
                if item is None:
                    finished_workers += 1
                    continue
                if "_worker" in item:
                    worker_reports.append(item["_worker"])
                    continue
                item["done_at_s"] = round(time.perf_counter() - started, 3)
                records.append(item)
                failed += item.get("outcome") != "passed"
                sink.write(json.dumps(item, default=str) + "\n")
                sink.flush()
                if bar is not None:
                    bar.update(len(records), failed)
    except BaseException:
        for process in processes:  # an interrupted parent stops its workers before their bundles are recovered
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join(timeout=10)
    wall = time.perf_counter() - started
    if bar is not None:
        bar.finish()
    return records, worker_reports, wall


def _memory(workers: list[dict[str, Any]]) -> dict[str, Any]:
    if not workers:
        return {}
    per = [(w["peak_kb"] - w["baseline_kb"]) / max(1, w["in_flight"]) for w in workers]
    memory: dict[str, Any] = {"peak_kb": max(w["peak_kb"] for w in workers), "per_premises_kb": max(per)}
    collectors = [w["gc"] for w in workers if "gc" in w]
    if collectors:  # how the workers' cyclic collector ran (harness/fleet/worker.py GC_THRESHOLDS)
        memory["gc"] = {"thresholds": collectors[0]["thresholds"],
                        "frozen_objects": max(c["frozen_objects"] for c in collectors),
                        "middle_collections": sum(c["middle_collections"] for c in collectors),
                        "full_collections": sum(c["full_collections"] for c in collectors)}
    return memory


__all__ = ["FleetOptions", "run_fleet", "table"]
