"""Scenarios run only on a rig of their topology: the other bench's are deselected (not skipped) and the run says
so; each record and the report name the topology the result came from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = '''
import pytest

@pytest.mark.topology("hub-under-test")
def test_for_the_hub_under_test(evidence):
    evidence.record.measure("x", 1.0, "s", key=True)

def test_for_any_rig(evidence):
    pass
'''


def run(tmp_path: Path, rig: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    tests = tmp_path / "scenarios"
    tests.mkdir(exist_ok=True)
    (tests / "test_lab.py").write_text(SCENARIOS)
    run_dir = tmp_path / f"run-{Path(rig).stem}"
    result = subprocess.run([sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider",
                             f"--rig={ROOT / rig}", f"--run-dir={run_dir}"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    return result, run_dir


def test_hub_dut_scenarios_are_deselected_on_a_topology_1_rig(tmp_path: Path) -> None:
    result, run_dir = run(tmp_path, "rigs/emulated.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 deselected" in result.stdout
    assert ("1 scenario(s) for topology hub-under-test not run on rig" in result.stdout
            and "--rig rigs/hub-dut-emulated.yaml" in result.stdout)
    records = [json.loads(p.read_text()) for p in run_dir.glob("*/record.json")]
    assert [(r["test_id"].split("::")[-1], r["topology"]) for r in records] == [("test_for_any_rig", "harness-as-hub")]


def test_on_a_hub_dut_rig_they_run_and_the_report_says_which_topology(tmp_path: Path) -> None:
    result, run_dir = run(tmp_path, "rigs/hub-dut-emulated.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout and "deselected" not in result.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {r["topology"] for r in summary["results"]} == {"hub-under-test"}
    assert "<th>topology</th>" in (run_dir / "report.html").read_text()
