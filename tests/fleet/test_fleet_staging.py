"""Fleet bundles staged on tmpfs while their premises run: kept ones moved out, a dead worker's recovered."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.fleet import staging, story, worker
from harness.fleet.runner import FleetOptions, run_fleet
from harness.fleet.summary import table
from tests.fleet.premises_rigs import EMULATED_RIG

pytestmark = pytest.mark.timeout(180)


def test_the_staging_setting_is_checked(tmp_path: Path):
    assert staging.choose("off") is None
    assert staging.choose(str(tmp_path)) == tmp_path
    with pytest.raises(staging.StagingError, match="not a writable folder: .*nowhere"):
        staging.choose(str(tmp_path / "nowhere"))
    auto = staging.choose("auto")
    assert auto is None or auto == staging.DEFAULT_LOCATION


def test_the_command_names_a_bad_staging_folder(tmp_path: Path, capsys):
    status = main(["fleet", "--rig", str(EMULATED_RIG), "--premises", "1", "--staging", str(tmp_path / "nowhere"),
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status != 0 and "--staging" in err and "nowhere" in err
    assert not (tmp_path / "out").exists()


def test_kept_bundles_leave_the_stage_and_the_stage_is_removed(tmp_path: Path):
    location = tmp_path / "stage"
    location.mkdir()
    out = tmp_path / "fleet"
    summary = run_fleet(FleetOptions(rig=str(EMULATED_RIG), premises=4, workers=2, seed=3, out=out, sample_every=2,
                                     cbke=False, staging=str(location)), progress=None)
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert summary["staging"] == str(location) and summary["failed"] == 0
    kept = sorted(r["bundle"] for r in records if r["bundle"])
    assert [name.rsplit("-", 1)[0] for name in kept] == ["premises-00000", "premises-00002"]
    for name in kept:
        record = json.loads((out / "premises" / name / "record.json").read_text())
        assert record["outcome"] == "passed" and (out / "premises" / name / "timeline.jsonl").exists()
    assert sorted(p.name for p in (out / "premises").iterdir()) == kept
    assert list(location.iterdir()) == []  # the run's own staging folder is gone


def test_a_dead_workers_bundles_are_recovered_from_the_stage(tmp_path: Path, monkeypatch):
    real_story = story.story

    async def dies_at_premises_1(bench, params, **options):
        if params.index == 1:
            bench.evidence.timeline.record("test.about_to_die")
            await asyncio.sleep(2 * story.RECORD_SAVE_INTERVAL)  # the batched writes reach the stage
            os._exit(7)  # the worker process dies as a crash would: nothing is flushed on the way out
        return await real_story(bench, params, **options)

    monkeypatch.setattr(story, "story", dies_at_premises_1)  # the forked workers inherit it
    location = tmp_path / "stage"
    location.mkdir()
    out = tmp_path / "fleet"
    summary = run_fleet(FleetOptions(rig=str(EMULATED_RIG), premises=4, workers=2, seed=3, out=out, sample_every=0,
                                     concurrency=1, cbke=False, staging=str(location)), progress=None)
    records = {r["index"]: r for r in map(json.loads, (out / "records.jsonl").read_text().splitlines())}
    # The other worker ran everything the dead one had not started (one shared order, harness/fleet/worker.py).
    assert records[0]["outcome"] == records[2]["outcome"] == records[3]["outcome"] == "passed"
    lost = records[1]
    assert lost["outcome"] == "failed" and lost["cause"] == "worker process died"
    bundle = out / "premises" / lost["bundle"]
    assert json.loads((bundle / "record.json").read_text())["outcome"] == "incomplete"
    assert "test.about_to_die" in (bundle / "timeline.jsonl").read_text()
    assert summary["failed_by_cause"] == {"worker process died": 1}
    assert list(location.iterdir()) == []


def test_a_rerun_into_the_same_folder_replaces_the_kept_bundles(tmp_path: Path):
    location = tmp_path / "stage"
    location.mkdir()
    out = tmp_path / "fleet"
    options = FleetOptions(rig=str(EMULATED_RIG), premises=2, workers=1, seed=3, out=out, sample_every=1,
                           cbke=False, staging=str(location))
    first = run_fleet(options, progress=None)
    kept = sorted(p.name for p in (out / "premises").iterdir())
    assert first["failed"] == 0 and len(kept) == 2
    for name in kept:
        (out / "premises" / name / "from-the-first-run").write_text("x")
    for _ in range(2):  # a second and a third run: same names, same folder
        summary = run_fleet(options, progress=None)
        assert summary["failed"] == 0
        assert sorted(p.name for p in (out / "premises").iterdir()) == kept  # no leftovers, nothing partial
        for name in kept:
            bundle = out / "premises" / name
            assert not (bundle / name).exists() and not (bundle / "from-the-first-run").exists()
            assert json.loads((bundle / "record.json").read_text())["outcome"] == "passed"
    assert list(location.iterdir()) == []


def test_a_bundle_that_cannot_be_moved_stays_staged_and_is_named(tmp_path: Path, caplog):
    stage, root = tmp_path / "stage", tmp_path / "premises"
    (stage / "premises-00007-abcd").mkdir(parents=True)
    (stage / "premises-00007-abcd" / "record.json").write_text("{}")
    root.write_text("not a folder")  # the move cannot land
    assert staging.recover(stage, root) == {}
    assert (stage / "premises-00007-abcd" / "record.json").exists()
    assert "premises-00007-abcd" in caplog.text and str(stage) in caplog.text


def test_a_worker_that_fails_to_start_is_named_and_the_other_runs_its_premises(tmp_path: Path, monkeypatch):
    real_prepare = worker.prepare
    parent = os.getpid()

    async def first_worker_fails(job):  # type: ignore[no-untyped-def]
        # the two forked workers race for the first of two attempts: whichever gets it fails its start
        claim = tmp_path / "claimed"
        try:
            claim.touch(exist_ok=False)
        except FileExistsError:
            return await real_prepare(job)
        assert os.getpid() != parent
        raise RuntimeError("no formed NV template")

    monkeypatch.setattr(worker, "prepare", first_worker_fails)  # the forked workers inherit it
    out = tmp_path / "fleet"
    summary = run_fleet(FleetOptions(rig=str(EMULATED_RIG), premises=3, workers=2, seed=3, out=out, sample_every=0,
                                     concurrency=1, cbke=False, staging="off"), progress=None)
    assert summary["worker_errors"] == ["RuntimeError: no formed NV template"]
    assert summary["passed"] == 3 and summary["failed"] == 0  # the other worker took all three
    assert "worker processes that failed" in table(summary) and "no formed NV template" in table(summary)
