"""Evidence bundles are written pass or fail, and when a test crashes; secrets are redacted; the report links them."""

from __future__ import annotations

import json
from pathlib import Path

from harness.evidence.bundle import EvidenceBundle
from harness.evidence.report import format_table, load_rows, write_report
from harness.evidence.timeline import Timeline
from harness.smets.clock import VirtualClock

RIG = str(Path(__file__).resolve().parents[1] / "rigs" / "emulated.yaml")

INNER = '''
import pytest

@pytest.mark.sec("DP121")
def test_passes(evidence):
    evidence.timeline.record("join", eui64="00-DB-12-34-56-78-90-A0", install_code="83FED3407A939723A5C639B26916D505")
    evidence.record.measure("join_latency", 1.25, "s", key=True)

@pytest.mark.sec("MP097", "Appendix H 3.3")
def test_fails(evidence):
    evidence.timeline.record("srv.response", code="E4")
    assert 1 == 2, "losing supplier was not refused"

def test_crashes(evidence):
    raise RuntimeError("coordinator went away")
'''


def test_bundles_written_for_pass_fail_and_crash(pytester):
    pytester.makepyfile(test_inner=INNER)
    run_dir = pytester.path / "run"
    result = pytester.runpytest_subprocess(f"--rig={RIG}", f"--run-dir={run_dir}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)

    records = {json.loads(p.read_text())["test_id"].split("::")[-1]: json.loads(p.read_text())
               for p in run_dir.glob("*/record.json")}
    assert set(records) == {"test_passes", "test_fails", "test_crashes"}
    assert records["test_passes"]["outcome"] == "passed"
    assert records["test_passes"]["sec_refs"] == ["DP121"]
    assert records["test_fails"]["outcome"] == "failed"
    assert "losing supplier was not refused" in records["test_fails"]["message"]
    assert records["test_fails"]["sec_refs"] == ["MP097 Appendix H 3.3"]
    assert records["test_crashes"]["outcome"] == "failed"
    assert "coordinator went away" in records["test_crashes"]["message"]
    for rec in records.values():
        assert rec["provenance"]["bellows"] == "1.2.1" and rec["provenance"]["zigpy"] == "2.4.0"

    timeline = (run_dir / "test_inner.test_passes" / "timeline.jsonl").read_text()
    assert "83FED3407A939723A5C639B26916D505" not in timeline  # secrets redacted by default
    assert "<redacted 16 bytes" in timeline
    crash_events = [json.loads(line) for line in (run_dir / "test_inner.test_crashes" / "timeline.jsonl").open()]
    assert crash_events[-1]["kind"] == "test.end" and crash_events[-1]["outcome"] == "failed"

    page = (run_dir / "report.html").read_text()
    assert "test_fails" in page and "timeline.jsonl" in page
    assert "smets2-harness bench" in result.stdout.str() and "join_latency=1.25 s" in result.stdout.str()


def test_reveal_secrets_on_request(tmp_path):
    t = Timeline(tmp_path / "t.jsonl", reveal_secrets=True)
    t.record("join", install_code="83FED3407A939723A5C639B26916D505")
    t.close()
    assert "83FED3407A939723A5C639B26916D505" in (tmp_path / "t.jsonl").read_text()


def test_timeline_carries_virtual_time(tmp_path):
    clock = VirtualClock()
    t = Timeline(tmp_path / "t.jsonl", virtual_now=clock.now)
    clock.advance(days=90)
    event = t.record("wan", state="restored")
    assert event.virtual_time == clock.now().isoformat()
    t.close()


def test_summary_table_and_missed_targets(tmp_path):
    b = EvidenceBundle(tmp_path, "tests/bench/test_dp121_x.py::test_cos", sec_refs=["DP121"])
    b.record.measure("srv_response_time.8.11", 12.0, "s", target=10.0, key=True)
    b.close("failed", "slow")
    rows = load_rows(tmp_path)
    assert rows[0].result == "failed" and "MISSED" in rows[0].key_measurement
    table = format_table(rows)
    assert "test_cos" in table and "DP121" in table and "FAILED" in table
    assert write_report(tmp_path, rig="rigs/emulated.yaml").exists()
