"""Pre-flight: `smets2-harness run` checks the whole rig and its arguments before any scenario, prints one line per
problem and exits 2, with no traceback, whatever is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("smets2-harness"))

RIG = """\
name: lab
coordinator:
  kind: serial
  port: /dev/serial/by-id/usb-no-such-stick-if00-port0
hub:
  kind: harness
  eui64: 00-DB-12-34-56-78-90-A2
devices:
  esme:
    kind: real
    eui64: 00-0D-6F-00-0A-BC-DE-F0
    install_code: {env: PREFLIGHT_ESME_CODE}
    power: {kind: command, on: no-such-relayctl 1 on, off: no-such-relayctl 1 off}
  gsme:
    kind: real
    eui64: 00-0D-6F-00-0A-BC-DE-F1
    install_code: {env: PREFLIGHT_GSME_CODE}
  ihd:
    kind: real
    eui64: 00-0D-6F-00-0A-BC-DE-F2
    install_code: {file: secrets/ihd.code}
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFLIGHT_")}
    return subprocess.run([CLI, "run", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def problem_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].endswith("problem(s) found before the run; nothing was run"), lines
    return lines[:-1]


def test_every_rig_problem_is_one_line_before_any_scenario(tmp_path: Path) -> None:
    rig = tmp_path / "lab.yaml"
    rig.write_text(RIG)
    result = run("--rig", str(rig), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    lines = problem_lines(result)
    assert any("devices.esme.install_code (env:PREFLIGHT_ESME_CODE): environment variable PREFLIGHT_ESME_CODE is "
               "not set" in x for x in lines)
    assert any("environment variable PREFLIGHT_GSME_CODE is not set" in x for x in lines)
    assert any("devices.ihd.install_code (file:secrets/ihd.code): cannot read" in x and
               str(tmp_path / "secrets" / "ihd.code") in x for x in lines)
    assert any("devices.esme.power.on: program 'no-such-relayctl' not found on PATH" in x for x in lines)
    assert any("coordinator.port: /dev/serial/by-id/usb-no-such-stick-if00-port0 does not exist" in x for x in lines)
    assert len(lines) == 6, lines  # esme code, esme power on/off, gsme code, ihd code, port
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("report_dir, message", [
    ("afile", "is a file, not a folder"),
    ("afile/below", "is a file, not a folder"),
    ("/proc/smets2-reports", "a kernel file system"),
])
def test_a_report_dir_that_cannot_hold_reports_is_one_line(tmp_path: Path, report_dir: str, message: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = run("--rig", str(ROOT / "rigs" / "emulated.yaml"), "--report-dir", report_dir, cwd=tmp_path)
    [line] = problem_lines(result)
    assert line.startswith(f"smets2-harness run: --report-dir {report_dir}: ") and message in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere, so a read-only folder cannot be made")
def test_a_read_only_report_dir_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    [line] = problem_lines(run("--rig", str(ROOT / "rigs" / "emulated.yaml"), "--report-dir", str(locked / "r"),
                               cwd=tmp_path))
    assert "cannot write there (no permission)" in line


def test_bad_tests_path_and_operator_are_lines_too(tmp_path: Path) -> None:
    rig = tmp_path / "lab.yaml"
    rig.write_text(RIG.replace("{env: PREFLIGHT_ESME_CODE}", "83FED3407A939723A5C639B26916D505")
                   .replace("{env: PREFLIGHT_GSME_CODE}", "30313233343536373839414243444546")
                   .replace("{file: secrets/ihd.code}", "0F1E2D3C4B5A69788796A5B4C3D2E1F0")
                   .replace("    power: {kind: command, on: no-such-relayctl 1 on, off: no-such-relayctl 1 off}\n", "")
                   .replace("/dev/serial/by-id/usb-no-such-stick-if00-port0", "tcp://127.0.0.1:1"))
    lines = problem_lines(run("--rig", str(rig), "--tests", str(tmp_path / "none"), "--operator", "file:/no/such/dir/p",
                              "--report-dir", str(tmp_path / "r"), cwd=tmp_path))
    assert any("coordinator.port: cannot connect to tcp://127.0.0.1:1" in x for x in lines)
    assert any("--operator file:/no/such/dir/p: folder /no/such/dir does not exist" in x for x in lines)
    assert any(f"--tests {tmp_path / 'none'}: no such file or folder" in x for x in lines)
    [bad] = problem_lines(run("--rig", str(ROOT / "rigs" / "emulated.yaml"), "--operator", "pigeon",
                              "--report-dir", str(tmp_path / "r"), cwd=tmp_path))
    assert "--operator: 'pigeon' is not an operator channel" in bad


def test_pytest_on_a_rig_with_problems_stops_once_with_the_lines(tmp_path: Path) -> None:
    rig = tmp_path / "lab.yaml"
    rig.write_text(RIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFLIGHT_")}
    result = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "harness" / "scenarios"), "-q",
                             "-p", "no:cacheprovider", f"--rig={rig}", f"--report-dir={tmp_path / 'r'}"],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 2, result.stdout[-3000:]
    out = result.stdout + result.stderr
    assert "rig pre-flight failed:" in out and "PREFLIGHT_ESME_CODE is not set" in out
    assert "Traceback" not in out and out.count("PREFLIGHT_ESME_CODE is not set") == 1
