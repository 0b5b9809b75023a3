"""One worker process of the fleet: an event loop running premises, a few at a time.

Premises run concurrently inside the loop (each its own bench, NCP and HAN; their frame logs kept apart by
harness/bench/frame_log.py) up to `concurrency`; each finished premises' record goes to the parent at once, so the
progress bar moves and a worker that dies loses only the premises it had started and not finished.

The run's workers take their premises one at a time from one shared order (`WorkerJob.cursor`), not from a share
fixed at the start: a worker that gets ahead takes more, so none sits idle while another still has a queue (with
fixed halves one worker finished 0.6 s before the other in a 1,000-premises run), and when a worker dies the others
run what it had not started.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench import frame_log
from harness.fleet.nv_template import formed_nv_template
from harness.fleet.params import draw
from harness.fleet.story import run_premises
from harness.rig import Rig, load_rig

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerJob:
    rig_path: str
    root: str  # the run's premises folder
    seed: int
    indices: tuple[int, ...]  # the premises to run, in this order; with `cursor`, the whole run's order
    concurrency: int
    control_rate: float
    sample_every: int  # keep the bundle of every n-th passing premises (0: none)
    no_join_window: float
    frame_log: str  # one of harness/fleet/story.py FRAME_LOGS: "deferred", "deferred-ash" or "off"
    formed_start: bool
    reveal_secrets: bool
    cbke_ca: Any = None  # the run's CertificateAuthority (harness/fleet/runner.py)
    transport: str | None = None  # overrides the rig's coordinator.transport (the fleet's default: loop)
    cbke: bool = True  # False: no key establishment after the join (fleet --cbke off)
    event_loop: str = "asyncio"  # or "uvloop" (event_loop_factory)
    stage: str | None = None  # the run's staging folder (harness/fleet/staging.py), or None: bundles written in root
    cursor: Any = None  # a multiprocessing Value shared by the run's workers: the position in `indices` taken next


# How long a worker tries for the shared cursor's lock: held for a read and a write, so only a worker killed while
# holding it makes anyone wait this long. The worker then starts nothing more (none of its lanes waits again); the
# parent records what nobody ran as lost with the dead worker.
CURSOR_WAIT_S = 10.0
CURSOR_RETRY_S = 0.001  # the lock is tried without blocking, so the premises in flight keep running meanwhile


def _taker(job: WorkerJob) -> Callable[[], Awaitable[int | None]]:
    """The next premises this worker runs, None when there is none left."""
    if job.cursor is None:
        own = iter(job.indices)

        async def take_own() -> int | None:
            return next(own, None)

        return take_own
    cursor, order = job.cursor, job.indices
    lock = cursor.get_lock()
    stuck = False

    async def take() -> int | None:
        nonlocal stuck
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CURSOR_WAIT_S
        while not stuck and not lock.acquire(False):
            if loop.time() >= deadline:
                stuck = True
                LOGGER.warning("the fleet's shared cursor stayed locked for %.0f s (a worker died holding it): this "
                               "worker starts no more premises", CURSOR_WAIT_S)
            else:
                await asyncio.sleep(CURSOR_RETRY_S)
        if stuck:
            return None
        try:
            position = cursor.value
            if position >= len(order):
                return None
            cursor.value = position + 1
        finally:
            lock.release()
        return order[position]

    return take


def quiet_logging() -> None:
    """Benches set bellows' loggers to DEBUG for their frame logs; none of that belongs on the console."""
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # transports closed at shutdown are not news
    frame_log.lean_log_records()
    frame_log.capture_directly()  # bellows' DEBUG calls to the premises' deferred frame log, with no LogRecord


# Python's cyclic collector, as the fleet's workers use it. With 25 premises in flight a worker holds about a million
# objects, and each full (generation 2) collection walked all of them: ~120 ms, once every ~20 premises, 8-12 % of a
# worker's CPU (measured with gc.callbacks, docs/performance.md). What the worker holds when it starts (modules,
# bellows' and zigpy's tables) is frozen out of every collection, and a full collection runs after 100 middle ones
# instead of 10. A premises' objects live for its ~2 s and most die by reference counting, but every one alive at a
# collection is walked: with 40 in flight, young collections every 700 allocations and middle ones every 10 of
# those cost 1.5-1.7 s of 21 s over 300 premises; a young collection every 50,000 allocations (a few dozen a run)
# and a middle one every 20 of those, 0.7-1.4 s, and the worker 1-4 % less CPU side by side (docs/performance.md).
# The price is memory: cyclic garbage waits longer to be freed (about +30 MiB per worker at its peak, +70 MiB in all).
# Since then a middle collection runs after 50 young ones, not 20. What it finds is nearly all garbage: a finished
# premises leaves ~2,200 objects in reference cycles (its NCP's command log, its zigpy application's state, its
# timeline), and after 300 premises a middle collection found 682,573 unreachable objects and took 0.9 s (1.3 us
# an object, walking and freeing). 35 young collections carry a worker through 500 premises, so a 1,000-premises run
# needs no middle collection at all: the last premises' garbage goes with the worker process, which multiprocessing
# ends with os._exit where it forks (nothing walks it; a spawned worker's interpreter shutdown would). Side by side
# on 1,000 premises: 1.08, 1.09, 0.98 times the premises/s (and 1.00-1.17 in 6 rounds with 100); the worker's peak
# 211 -> 277 MiB; at 1,500 premises 260 -> 379 MiB (a middle collection every ~700 premises bounds it).
GC_THRESHOLDS = (50_000, 50, 100)


def tune_gc() -> None:
    """For a fleet worker process (or a benchmark standing in for one): not for a process that runs anything else."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def prepare(job: WorkerJob) -> tuple[Rig, dict[str, Any] | None]:
    """The worker's one-off start: its rig, and the formed NV state every premises' NCP starts from."""
    rig = load_rig(job.rig_path)
    if job.transport is not None and rig.coordinator.kind == "emulated":
        rig = dataclasses.replace(rig, coordinator=dataclasses.replace(rig.coordinator, transport=job.transport))
    template = None
    if job.formed_start and rig.coordinator.kind == "emulated":
        template = await formed_nv_template(rig.coordinator.ezsp_version, rig.hub.eui64.replace("-", ":"),
                                            transport=rig.coordinator.transport)
    return rig, template


async def run_job(job: WorkerJob, report: Callable[[dict[str, Any]], None],
                  prepared: tuple[Rig, dict[str, Any] | None] | None = None) -> None:
    rig, template = prepared if prepared is not None else await prepare(job)
    root = Path(job.root)
    stage = Path(job.stage) if job.stage else None
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    collections_before = [generation["collections"] for generation in gc.get_stats()]  # a fork inherits the counts
    take = _taker(job)
    started = 0

    async def one(index: int) -> None:
        params = draw(job.seed, index, control_rate=job.control_rate)
        keep = job.sample_every > 0 and index % job.sample_every == 0
        try:
            record = await run_premises(rig, params, root, keep_if_passed=keep, nv_template=template,
                                        no_join_window=job.no_join_window, frame_log=job.frame_log,
                                        reveal_secrets=job.reveal_secrets, cbke_ca=job.cbke_ca,
                                        cbke=job.cbke, stage=stage)
        except BaseException as exc:  # noqa: BLE001 - run_premises records failures; this is a last resort
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            record = {"index": index, "outcome": "failed", "cause": f"{type(exc).__name__} (harness)",
                      "message": str(exc)[:500], "bundle": None}
        report(record)

    async def lane() -> None:  # one premises at a time; `concurrency` lanes run side by side
        nonlocal started
        me = asyncio.current_task()
        # one() records a cancelled premises as failed rather than raise; the lane then stops, as the worker does
        while not (me is not None and me.cancelling()) and (index := await take()) is not None:
            started += 1
            await one(index)

    await asyncio.gather(*(lane() for _ in range(max(1, job.concurrency))))
    # Peak resident memory above the worker's baseline, shared by the premises that were in flight together.
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report({"_worker": {"baseline_kb": baseline_kb, "peak_kb": peak_kb,
                        "in_flight": min(max(1, job.concurrency), started or 1),
                        "gc": {"thresholds": list(gc.get_threshold()), "frozen_objects": gc.get_freeze_count(),
                               "middle_collections": gc.get_stats()[1]["collections"] - collections_before[1],
                               "full_collections": gc.get_stats()[2]["collections"] - collections_before[2]}}})


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def default_event_loop() -> str:
    """The workers' loop when none is asked for: uvloop where it is installed, else asyncio."""
    return "uvloop" if uvloop_available() else "asyncio"


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The worker's event loop: CPython's own, or uvloop's (libuv; call_soon, timers and futures in C, about 10 %
    more premises per second, measured by harness/bench/perf_fleet.py). The protocol code is the same on both."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    if name == "asyncio":
        return None
    raise ValueError(f"event loop {name!r} is not asyncio or uvloop")


def worker_main(job: WorkerJob, queue: Any) -> None:
    """Process entry point: run the job, put each record on `queue`, then None. A worker that fails (its start, say)
    says why first: the others run the premises it would have taken, and the summary still shows it failed."""
    quiet_logging()
    tune_gc()
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(job.event_loop)) as runner:
            runner.run(run_job(job, queue.put))
    except BaseException as exc:
        queue.put({"_worker": {"error": f"{type(exc).__name__}: {exc}"[:500]}})
        raise
    finally:
        queue.put(None)
