"""`smets2-harness run` (what `make bench` calls): the bench scenarios on a rig, a summary table, the report path and
an exit code a CI job can trust."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("smets2-harness"))
RIG = str(ROOT / "rigs" / "emulated.yaml")

pytestmark = pytest.mark.timeout(180)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "run", "--rig", RIG, *args], cwd=cwd, capture_output=True, text=True, timeout=170)


def only_run_dir(report_dir: Path) -> Path:
    [run_dir] = [p for p in report_dir.iterdir() if p.is_dir()]
    return run_dir


def test_a_passing_scenario_exits_0_with_table_junit_and_report(tmp_path: Path) -> None:
    result = run_cli("--tests", str(ROOT / "harness" / "scenarios" / "test_dp121_negative_controls.py"),
                     "-k", "losing_supplier", "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = only_run_dir(tmp_path / "reports")
    assert "test_losing_supplier_8_11_after_the_cos_date_gets_e4" in result.stdout
    assert "DP121 E4 after the CoS date" in result.stdout and "PASSED" in result.stdout
    assert f"1 of 1 scenarios passed; report: {run_dir / 'report.html'}" in result.stdout
    assert (run_dir / "report.html").exists() and (run_dir / "junit.xml").exists()
    junit = (run_dir / "junit.xml").read_text()
    assert 'name="test_losing_supplier_8_11_after_the_cos_date_gets_e4"' in junit
    assert '<property name="sec" value="DP121 E4 after the CoS date"' in junit


def test_a_failing_and_a_skipped_scenario_exit_1_and_are_not_counted_as_passed(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "test_lab.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.sec('DP121')\n"
        "def test_gaining_supplier_stranded(evidence):\n"
        "    assert False, 'no SRV 8.11 from the gaining supplier'\n\n"
        "def test_needs_a_gsme(evidence):\n"
        "    pytest.skip('this rig has no GSME')\n\n"
        "def test_fine(evidence):\n"
        "    pass\n")
    result = run_cli("--tests", str(scenarios), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 of 3 scenarios passed, 1 failed, 1 skipped" in result.stdout
    assert "FAILED" in result.stdout and "SKIPPED" in result.stdout


def test_no_matching_scenario_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    result = run_cli("--tests", str(ROOT / "harness" / "scenarios" / "test_dp121_negative_controls.py"),
                     "-k", "no_such_scenario", "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 1
    assert "no scenario ran" in result.stderr
