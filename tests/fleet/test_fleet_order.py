"""The order a fleet starts its premises in, and the one cursor its workers take them from."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import time
from typing import Any

import pytest

from harness.fleet import runner, worker
from harness.fleet.params import WAITING_CONTROLS, draw_fleet, run_order
from harness.fleet.worker import WorkerJob

pytestmark = pytest.mark.timeout(60)


def _job(indices: tuple[int, ...], cursor: object = None) -> WorkerJob:
    return WorkerJob(rig_path="rigs/emulated.yaml", root="/nonexistent", seed=0, indices=indices, concurrency=1,
                     control_rate=0.0, sample_every=0, no_join_window=2.0, frame_log="off", formed_start=False,
                     reveal_secrets=False, cursor=cursor)


@pytest.mark.parametrize(("premises", "rate"), [(1000, 0.05), (40, 0.2), (7, 1.0), (3, 0.0)])
def test_waiting_controls_start_spread_over_the_first_half(premises: int, rate: float):
    order = run_order(9, premises, control_rate=rate)
    assert sorted(order) == list(range(premises))  # every premises exactly once
    waiting = {p.index for p in draw_fleet(9, premises, control_rate=rate) if p.control in WAITING_CONTROLS}
    positions = [position for position, index in enumerate(order) if index in waiting]
    assert len(positions) == len(waiting)
    if not waiting:
        assert order == tuple(range(premises))
        return
    span = max(len(waiting), premises // 2)
    assert positions[-1] < span  # none left to the end of the run
    gaps = [b - a for a, b in zip(positions, positions[1:])]
    assert all(gap >= span // len(waiting) for gap in gaps)  # spread, not bunched
    rest = [index for index in order if index not in waiting]
    assert rest == sorted(rest)  # the others keep their index order


def test_the_default_run_has_waiting_controls_to_place():
    # The seed-0 run of 1,000 premises `make bench-perf` and the issue measure: its order is not the identity.
    order = run_order(0, 1000, control_rate=0.05)
    assert order != tuple(range(1000))
    assert sum(p.control in WAITING_CONTROLS for p in draw_fleet(0, 1000, control_rate=0.05)) > 10


def _take(take: Any) -> int | None:
    return asyncio.run(take())


def test_without_a_cursor_a_worker_runs_its_own_indices_in_order():
    take = worker._taker(_job((5, 3, 8)))
    assert [_take(take) for _ in range(4)] == [5, 3, 8, None]


def _take_all(job: WorkerJob, start: Any, results: Any) -> None:
    async def drain() -> list[int]:
        take = worker._taker(job)
        taken = []
        while (index := await take()) is not None:
            taken.append(index)
        return taken

    start.wait()  # all processes take at once, so the lock is what keeps them apart
    results.put(asyncio.run(drain()))


def test_workers_sharing_a_cursor_take_each_premises_exactly_once():
    context = multiprocessing.get_context("fork")
    order = tuple(reversed(range(20_000)))
    job = _job(order, context.Value("q", 0))
    start, results = context.Barrier(3), context.Queue()
    processes = [context.Process(target=_take_all, args=(job, start, results)) for _ in range(3)]
    for process in processes:
        process.start()
    taken = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    assert all(taken)  # they did take side by side
    assert sorted(i for share in taken for i in share) == list(range(20_000))  # none twice, none missed
    assert all(share == sorted(share, reverse=True) for share in taken)  # each in the run's order


def test_the_fleet_gives_every_worker_the_run_order_and_one_cursor(tmp_path):
    options = runner.FleetOptions(rig="rigs/emulated.yaml", premises=300, workers=2, seed=0, control_rate=0.2)
    cursor = multiprocessing.get_context("fork").Value("q", 0)
    jobs = runner._jobs(options, tmp_path, None, None, cursor)  # type: ignore[arg-type]
    assert len(jobs) == 2
    assert all(job.indices == run_order(0, 300, control_rate=0.2) != tuple(range(300)) for job in jobs)
    assert all(job.cursor is cursor for job in jobs)


def _die_holding(cursor: object) -> None:
    cursor.get_lock().acquire()  # type: ignore[attr-defined]
    os._exit(0)  # as a worker killed inside take() would leave it: the lock is never released


def test_a_cursor_locked_by_a_dead_worker_stops_taking_and_says_why(monkeypatch, caplog):
    monkeypatch.setattr(worker, "CURSOR_WAIT_S", 0.2)
    context = multiprocessing.get_context("fork")
    cursor = context.Value("q", 0)
    take = worker._taker(_job((1, 2), cursor))
    assert _take(take) == 1
    dead = context.Process(target=_die_holding, args=(cursor,))
    dead.start()
    dead.join(timeout=10)

    async def meanwhile() -> tuple[int | None, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        index = await take()
        ticker.cancel()
        return index, ticks

    with caplog.at_level(logging.WARNING, logger="harness.fleet.worker"):
        index, ticks = asyncio.run(meanwhile())
    assert index is None and "stayed locked" in caplog.text
    assert ticks >= 5  # the loop kept running while the lock was tried (premises in flight are not frozen)
    began = time.monotonic()
    assert _take(take) is None and time.monotonic() - began < 0.1  # the next lane does not wait again
    assert caplog.text.count("stayed locked") == 1


async def test_cancelling_a_worker_stops_its_lanes_taking_premises(monkeypatch):
    ran: list[int] = []

    async def slow_premises(rig: Any, params: Any, root: Any, **options: Any) -> dict[str, Any]:
        ran.append(params.index)
        await asyncio.sleep(0.1)
        return {"index": params.index, "outcome": "passed"}

    monkeypatch.setattr(worker, "run_premises", slow_premises)
    job = dataclasses.replace(_job(tuple(range(40))), concurrency=4)
    records: list[dict[str, Any]] = []
    task = asyncio.create_task(worker.run_job(job, records.append, prepared=(None, None)))  # type: ignore[arg-type]
    await asyncio.sleep(0.25)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert len(ran) <= 12  # three rounds of four lanes at most, not all 40
    assert all(r["outcome"] in ("passed", "failed") for r in records if "index" in r)
