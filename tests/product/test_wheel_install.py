"""The product as a lab installs it: build the wheel, install it (no test extras) in a fresh venv outside the
checkout, run `smets2-harness run` from a temporary folder: every shipped scenario passes and the report is left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)


def test_wheel_installs_and_runs_every_scenario_from_a_temp_dir(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(wheels)],
                   check=True, timeout=300, capture_output=True)
    [wheel] = wheels.glob("smets2_harness-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, timeout=400,
                   capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = subprocess.run([str(venv / "bin" / "smets2-harness"), "run"], cwd=work, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    [run_dir] = list((work / "reports").iterdir())
    assert "scenarios passed; report:" in result.stdout
    count = result.stdout.rsplit(" of ", 1)[1].split()[0]
    assert f"{count} of {count} scenarios passed" in result.stdout and int(count) >= 10
    assert (run_dir / "report.html").exists() and (run_dir / "junit.xml").exists()
    assert "site-packages" in result.stdout.splitlines()[0]  # the installed scenarios ran, not the checkout's
