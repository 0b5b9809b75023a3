"""Record saves: eager by default (every change on disk at once); coalesced for the fleet (one write per event-loop
iteration, or at most every N seconds, and whatever the bundle's close says is on disk before close returns)."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from harness.evidence.bundle import EvidenceBundle
from harness.evidence import record as record_module


def _on_disk(bundle: EvidenceBundle) -> dict:
    return json.loads((bundle.dir / "record.json").read_text())


def _count_writes(monkeypatch) -> list[int]:
    writes: list[int] = []
    real = record_module.TestRecord.write

    def counting(self, path):
        writes.append(1)
        real(self, path)

    monkeypatch.setattr(record_module.TestRecord, "write", counting)
    return writes


async def test_eager_saves_put_every_change_on_disk_at_once(tmp_path, monkeypatch):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::eager")
    writes = _count_writes(monkeypatch)
    bundle.record.measure("a", 1.0, "s")
    assert [m["name"] for m in _on_disk(bundle)["measurements"]] == ["a"]
    bundle.record.measure("b", 2.0, "s")
    assert len(writes) == 2


async def test_coalesced_saves_write_a_burst_once_at_the_end_of_the_iteration(tmp_path, monkeypatch):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::coalesced", coalesce_saves=True)
    writes = _count_writes(monkeypatch)
    for i in range(10):
        bundle.record.measure(f"m{i}", float(i), "s")
    bundle.attach("ezsp_log", "ezsp.log")
    assert writes == [] and _on_disk(bundle)["measurements"] == []  # nothing yet: the burst is still running
    await asyncio.sleep(0)
    assert len(writes) == 1
    on_disk = _on_disk(bundle)
    assert [m["name"] for m in on_disk["measurements"]] == [f"m{i}" for i in range(10)]
    assert on_disk["files"]["ezsp_log"] == "ezsp.log"


async def test_close_writes_the_verdict_before_it_returns(tmp_path):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::closing", coalesce_saves=True)
    bundle.record.measure("late", 3.0, "s")
    bundle.close("failed", "boom")
    on_disk = _on_disk(bundle)  # no loop iteration in between
    assert on_disk["outcome"] == "failed" and on_disk["message"] == "boom"
    assert [m["name"] for m in on_disk["measurements"]] == ["late"]
    assert not bundle.record.save_pending
    await asyncio.sleep(0)  # the pending save found nothing left to do
    assert _on_disk(bundle) == on_disk


def test_without_a_running_loop_coalesced_saves_are_eager(tmp_path):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::no-loop", coalesce_saves=True)
    bundle.record.measure("now", 1.0, "s")
    assert [m["name"] for m in _on_disk(bundle)["measurements"]] == ["now"]


def test_the_save_policy_is_not_part_of_the_record(tmp_path):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::private", coalesce_saves=True)
    bundle.close("passed")
    assert not {"_saves", "_path", "_before_write", "reveal_secrets"} & set(_on_disk(bundle))


async def test_interval_saves_write_changes_once_after_the_interval(tmp_path, monkeypatch):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::interval", coalesce_saves=0.2)
    writes = _count_writes(monkeypatch)
    bundle.record.measure("a", 1.0, "s")
    for _ in range(5):  # several loop iterations go by: still nothing written
        await asyncio.sleep(0)
    bundle.record.measure("b", 2.0, "s")
    assert writes == [] and _on_disk(bundle)["measurements"] == []
    for _ in range(100):
        if writes:
            break
        await asyncio.sleep(0.02)
    assert len(writes) == 1
    assert [m["name"] for m in _on_disk(bundle)["measurements"]] == ["a", "b"]
    bundle.record.measure("c", 3.0, "s")  # a change after the write arms a new interval
    bundle.close("passed")
    assert [m["name"] for m in _on_disk(bundle)["measurements"]] == ["a", "b", "c"] and len(writes) == 2


async def test_coalesced_bundles_still_protect_key_tables_before_the_record_lists_them(tmp_path):
    import os

    bundle = EvidenceBundle(tmp_path, "tests/x.py::keys", coalesce_saves=0.05)
    table = bundle.path("capture.pcap.zigbee_pc_keys")
    table.write_text("secret\n")
    os.chmod(table, 0o644)
    bundle.attach("pcap", "capture.pcap")
    await asyncio.sleep(0.2)
    assert _on_disk(bundle)["secret_files"] == ["capture.pcap.zigbee_pc_keys"]
    assert table.stat().st_mode & 0o777 == 0o600


async def test_a_discarded_bundle_is_deleted_without_its_verdict_being_written(tmp_path, monkeypatch):
    """The fleet deletes a passing premises' bundle it does not keep: the record's final rewrite would be wasted."""
    bundle = EvidenceBundle(tmp_path, "tests/x.py::discarded", coalesce_saves=0.05)
    bundle.timeline.record("srv.sent", srv="8.11")
    bundle.record.measure("late", 3.0, "s")  # arms a coalesced save
    writes = _count_writes(monkeypatch)
    assert bundle.discard("passed") is True
    assert not bundle.dir.exists() and writes == []
    await asyncio.sleep(0.1)  # the armed save was cancelled: it neither writes nor recreates the folder
    assert writes == [] and not bundle.dir.exists()
    assert bundle.discard("passed") is False  # once only


async def test_a_discard_that_cannot_delete_the_folder_leaves_a_closed_truthful_bundle(tmp_path, monkeypatch):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::undeletable", coalesce_saves=0.05)
    bundle.timeline.record("srv.sent", srv="8.11")
    bundle.timeline.record("join", device="esme")

    def half_delete(path, *args, **kwargs):
        (path / "timeline.jsonl").unlink()  # removal fails part-way, after the timeline went
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("harness.evidence.bundle.shutil.rmtree", half_delete)
    assert bundle.discard("passed") is False
    on_disk = _on_disk(bundle)
    assert on_disk["outcome"] == "passed"  # not "incomplete": the folder says how the test ended
    kinds = [json.loads(line)["kind"] for line in (bundle.dir / "timeline.jsonl").read_text().splitlines()]
    assert kinds == ["srv.sent", "join", "test.end"]  # every event again, not only those after the failure


async def test_a_discard_whose_folder_is_already_gone_is_done_and_recreates_nothing(tmp_path, monkeypatch):
    bundle = EvidenceBundle(tmp_path, "tests/x.py::vanished", coalesce_saves=0.05)
    bundle.timeline.record("srv.sent", srv="8.11")
    real_rmtree = shutil.rmtree

    def gone_then_error(path, *args, **kwargs):
        real_rmtree(path)
        raise FileNotFoundError(2, "No such file or directory", str(path))

    monkeypatch.setattr("harness.evidence.bundle.shutil.rmtree", gone_then_error)
    assert bundle.discard("passed") is True
    await asyncio.sleep(0.1)
    assert not bundle.dir.exists()
