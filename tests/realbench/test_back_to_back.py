"""The whole bench, twice in a row, on one persistent emulated stick: `emulate ncp --listen tcp:// --nv FILE`
in its own process (restarted between the runs, so the second run starts on the network the NV file kept), a
`kind: serial` coordinator and `kind: real` devices in the rig, answered by the automatic operator
(`--operator emulated:tcp://...`: it presses the emulated meters' join buttons and switches their power).
Every scenario must pass both times: the bench's clean state (bench/clean_state.py) makes the meters left over
from one scenario leave before the next one starts."""

from __future__ import annotations

import json
import subprocess
from xml.etree import ElementTree
from pathlib import Path

import pytest

from tests.realbench.stick import CLI, ROOT, real_style_rig, start_stick

pytestmark = pytest.mark.timeout(900)


def _run(rig: Path, reports: Path, operator: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    result = subprocess.run([CLI, "run", "--rig", str(rig), "--report-dir", str(reports), "--operator", operator],
                            capture_output=True, text=True, cwd=ROOT, timeout=800)
    [run_dir] = sorted(reports.glob("run-*"), key=lambda p: p.stat().st_mtime)[-1:]
    return result, run_dir


def _junit_outcomes(junit: Path) -> dict[str, str]:
    """pytest's own verdicts (JUnit XML), not our summary: evidence must not be judged by itself."""
    outcomes = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        bad = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[f"{case.get('classname')}.{case.get('name')}"] = bad[0] if bad else "passed"
    return outcomes


def _events(run_dir: Path, kind: str) -> list[dict]:
    out = []
    for timeline in run_dir.glob("*/timeline.jsonl"):
        out += [e for e in map(json.loads, timeline.read_text().splitlines()) if e["kind"] == kind]
    return out


def test_the_whole_bench_passes_twice_on_one_persistent_stick(tmp_path: Path) -> None:
    nv = tmp_path / "stick-nv.json"
    summaries, pans = [], []
    for attempt in (1, 2):
        stick = start_stick(nv)
        try:
            rig = real_style_rig(tmp_path / "rig.yaml", stick)
            result, run_dir = _run(rig, tmp_path / f"reports-{attempt}", f"emulated:{stick.control}")
        finally:
            assert stick.stop() == 0, "".join(stick.output)  # strict mode: bellows sent nothing unhandled
        outcomes = _junit_outcomes(run_dir / "junit.xml")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert len(outcomes) >= 12 and set(outcomes.values()) == {"passed"}, outcomes
        summaries.append(outcomes)
        # The clean state did work: meters joined by one scenario were made to leave before the next.
        cleaned = _events(run_dir, "han.clean_state")
        assert len(cleaned) == len(outcomes)
        assert sum(len(e["left"]) for e in cleaned) >= 5, cleaned
        # The automatic operator answered every prompt, and the answers are on the timelines.
        answers = _events(run_dir, "operator.answer")
        assert answers and all(a["channel"] == "emulated" and a["answer"].startswith("ok") for a in answers)
        records = [json.loads(p.read_text()) for p in run_dir.glob("*/record.json")]
        coordinators = {json.dumps(r["provenance"]["coordinator"], sort_keys=True) for r in records
                        if "coordinator" in r["provenance"]}
        assert len(coordinators) == 1  # one stick, one network, through the whole run
        coordinator = json.loads(coordinators.pop())
        assert coordinator["eui64"].upper().replace(":", "-") == "00-DB-12-34-56-78-90-A2"  # the rig's hub.eui64
        pans.append(coordinator["pan_id"])
    assert summaries[0].keys() == summaries[1].keys()
    assert pans[0] == pans[1]  # the second run resumed the network the stick's NV file kept
