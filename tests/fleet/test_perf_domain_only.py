"""The domain-only path perf_fleet compares the fleet with: the story on the domain objects alone, its evidence
written as the fleet writes it (batched inside an event loop), and still complete when each premises closes."""

from __future__ import annotations

import json

from harness.bench.perf_fleet import domain_only


def test_domain_only_path_runs_the_story_and_leaves_complete_records(tmp_path):
    rate = domain_only("rigs/emulated.yaml", 3, tmp_path)
    assert rate > 0
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("domain-*/record.json"))]
    assert len(records) == 3
    for record in records:
        assert record["outcome"] == "passed"  # written at close, not left at "incomplete" by the batching
        assert {"record", "timeline"} <= set(record["files"])
    timelines = [(p.read_text().splitlines()) for p in sorted(tmp_path.glob("domain-*/timeline.jsonl"))]
    assert all(lines and json.loads(lines[-1])["kind"] == "test.end" for lines in timelines)
