"""The coordinator's identity against the rig, on a stick in its own process (the emulated NCP over tcp://,
which reports its own EUI-64 the way a stick reports the one burned into it): `rig check` fails it, `run` refuses
to start, and the bench refuses it at start; the same stick with the rig's EUI-64 passes all three."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.bench.bench import Bench
from harness.errors import RigError
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig
from tests.realbench.stick import CLI, HUB_EUI64, ROOT, real_style_rig, start_stick

OTHER_STICK = "00-0D-6F-00-0B-AD-57-1C"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def wrong_stick(tmp_path: Path):
    stick = start_stick(tmp_path / "nv.json", eui64=OTHER_STICK, control=False, devices={})
    yield stick
    stick.stop()


def test_rig_check_flags_a_coordinator_whose_eui64_differs(tmp_path: Path, wrong_stick) -> None:
    rig = real_style_rig(tmp_path / "rig.yaml", wrong_stick, roles=("esme",))
    result = subprocess.run([CLI, "rig", "check", str(rig)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("FAIL coordinator:")]
    assert f"EUI-64 is {OTHER_STICK} but the rig says {HUB_EUI64}" in line and "hub.eui64" in line


def test_run_refuses_to_start_on_the_wrong_stick(tmp_path: Path, wrong_stick) -> None:
    rig = real_style_rig(tmp_path / "rig.yaml", wrong_stick, roles=("esme",))
    reports = tmp_path / "reports"
    result = subprocess.run([CLI, "run", "--rig", str(rig), "--report-dir", str(reports), "--operator", "file:" +
                             str(tmp_path / "prompts")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"coordinator: the coordinator's EUI-64 is {OTHER_STICK} but the rig says {HUB_EUI64}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not list(reports.glob("run-*"))  # nothing ran


async def test_the_bench_refuses_the_wrong_stick_at_start(tmp_path: Path, wrong_stick) -> None:
    rig = load_rig(real_style_rig(tmp_path / "rig.yaml", wrong_stick, roles=("esme",)))
    evidence = EvidenceBundle(tmp_path / "run", "tests/x.py::test_identity")
    with pytest.raises(RigError, match=f"EUI-64 is {OTHER_STICK} but the rig says {HUB_EUI64}"):
        await Bench.start(rig, evidence)
    evidence.close("error")


def test_rig_check_passes_the_rigs_own_stick(tmp_path: Path) -> None:
    # A real ESME runs CBKE after joining, so the rig's stick carries suite-2 data as an SE stick does.
    stick = start_stick(tmp_path / "nv.json", control=False, devices={}, extra=("--cbke",))
    try:
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",), extra="")
        result = subprocess.run([CLI, "rig", "check", str(rig)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    finally:
        stick.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASS coordinator: EZSP 13, stack" in result.stdout and HUB_EUI64 in result.stdout
    assert "PASS coordinator.cbke: suite-2" in result.stdout, result.stdout
