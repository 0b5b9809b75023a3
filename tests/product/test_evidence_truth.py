"""Evidence that cannot lie: bundle collisions, crashes (os._exit, SIGKILL, thread-method timeout), tests never
run, and `smets2-harness report DIR` rebuilding a killed run. Each drives the real CLI in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("smets2-harness"))
pytestmark = pytest.mark.timeout(300)


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    reports = tmp_path / "reports"
    result = subprocess.run([CLI, "run", "--report-dir", str(reports), *args], cwd=tmp_path, capture_output=True,
                            text=True, timeout=280)
    [run_dir] = [p for p in reports.iterdir() if p.is_dir()]
    return result, run_dir


def outcomes(run_dir: Path) -> dict[str, str]:
    return {r["nodeid"]: r["outcome"] for r in json.loads((run_dir / "summary.json").read_text())["results"]}


def test_same_name_in_two_folders_and_slash_params_do_not_collide(tmp_path: Path) -> None:
    for folder, body in (("a", "assert False, 'a fails'"), ("b", "pass")):
        d = tmp_path / "lab" / folder
        d.mkdir(parents=True)
        (d / "__init__.py").write_text("")  # two modules of one name: pytest needs them in packages
        (d / "test_same.py").write_text(
            "import pytest\n\n"
            f"def test_x(evidence):\n    {body}\n\n"
            "@pytest.mark.parametrize('p', ['a/b', 'a-b'])\n"
            "def test_p(evidence, p):\n    evidence.record.measure('p', 1.0, 's', key=True)\n")
    result, run_dir = run(tmp_path, "--scenarios", str(tmp_path / "lab"))
    assert result.returncode == 1, result.stdout
    got = outcomes(run_dir)
    assert len(got) == 6 and len({r for r in got}) == 6
    assert [o for n, o in got.items() if n.endswith("a/test_same.py::test_x")] == ["failed"]
    assert [o for n, o in got.items() if n.endswith("b/test_same.py::test_x")] == ["passed"]
    records = [json.loads(p.read_text()) for p in run_dir.glob("*/record.json")]
    assert len(records) == 6 and len({r["test_id"] for r in records}) == 6  # one bundle per node id
    assert "5 of 6 scenarios passed, 1 failed" in result.stdout
    junit = (run_dir / "junit.xml").read_text()
    assert junit.count("<testcase") == 6 and junit.count("<failure") == 1


CRASHES = '''
import os, signal, time
import pytest

def test_1_fine(evidence):
    evidence.record.measure("fine", 1.0, "s", key=True)

def test_2_exits(evidence):
    evidence.record.measure("before_exit", 2.0, "s")
    os._exit(3)

def test_3_never_runs(evidence):
    pass
'''


def test_os_exit_leaves_crashed_and_not_run_in_summary_junit_and_report(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "test_crash.py").write_text(CRASHES)
    result, run_dir = run(tmp_path, "--scenarios", str(tmp_path / "lab"))
    assert result.returncode == 1
    got = {n.split("::")[-1]: o for n, o in outcomes(run_dir).items()}
    assert got == {"test_1_fine": "passed", "test_2_exits": "crashed", "test_3_never_runs": "not run"}
    assert "1 of 3 scenarios passed, 1 crashed, 1 not run" in result.stdout
    junit = (run_dir / "junit.xml").read_text()
    assert 'type="crashed"' in junit and 'type="not run"' in junit
    report = (run_dir / "report.html").read_text()
    assert "CRASHED" in report and "NOT RUN" in report and "record is incomplete" in report
    [crashed] = [json.loads(p.read_text()) for p in run_dir.glob("*/record.json")
                 if json.loads(p.read_text())["test_id"].endswith("test_2_exits")]
    assert crashed["outcome"] == "incomplete" and crashed["measurements"][0]["name"] == "before_exit"


def test_sigkill_and_report_command_rebuild(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "test_kill.py").write_text(CRASHES.replace("os._exit(3)", "os.kill(os.getpid(), signal.SIGKILL)"))
    result, run_dir = run(tmp_path, "--scenarios", str(tmp_path / "lab"))
    assert result.returncode == 1 and "killed or crashed" in result.stderr
    for name in ("summary.json", "junit.xml", "report.html"):
        (run_dir / name).unlink()
    again = subprocess.run([CLI, "report", str(run_dir)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "1 of 3 scenarios passed, 1 crashed, 1 not run" in again.stdout
    assert (run_dir / "junit.xml").exists() and (run_dir / "report.html").exists()


def test_thread_method_timeout_is_reported_as_timed_out(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "test_slow.py").write_text(
        "import time, pytest\n\n"
        "@pytest.mark.timeout(1, method='thread')\n"
        "def test_hangs(evidence):\n    time.sleep(30)\n\n"
        "def test_after(evidence):\n    pass\n")
    result, run_dir = run(tmp_path, "--scenarios", str(tmp_path / "lab"))
    assert result.returncode == 1
    got = {n.split("::")[-1]: o for n, o in outcomes(run_dir).items()}
    assert got == {"test_hangs": "timed out", "test_after": "not run"}
    assert 'type="timed out"' in (run_dir / "junit.xml").read_text()


def test_a_file_that_does_not_import_is_an_error_not_nothing(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "test_broken.py").write_text("import no_such_module_here\n")
    (tmp_path / "lab" / "test_ok.py").write_text("def test_ok(evidence):\n    pass\n")
    result, run_dir = run(tmp_path, "--scenarios", str(tmp_path / "lab"))
    assert result.returncode == 1
    got = outcomes(run_dir)
    assert got["test_broken.py"] == "error" and "not run" in got.values()


def test_report_command_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = subprocess.run([CLI, "report", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a run folder" in result.stderr


def test_xdist_workers_merge_into_one_summary_junit_and_report_and_a_dead_worker_is_crashed(tmp_path: Path) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extras (make .venv/.installed)")
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "test_par.py").write_text(
        "import os\n\n"
        + "".join(f"def test_ok_{i}(evidence):\n    pass\n\n" for i in range(4))
        + "def test_dies(evidence):\n    os._exit(5)\n")
    result, run_dir = run(tmp_path, "--scenarios", str(tmp_path / "lab"), "--", "-n", "2")
    assert result.returncode == 1
    got = {n.split("::")[-1]: o for n, o in outcomes(run_dir).items()}
    assert got["test_dies"] == "crashed" and sum(o == "passed" for o in got.values()) == 4, got
    assert (run_dir / "junit.xml").read_text().count("<testcase") == 5
    assert len(list(run_dir.glob("*.xml"))) == 1 and len(list(run_dir.glob("*.html"))) == 1
