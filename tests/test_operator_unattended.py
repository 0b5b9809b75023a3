"""An unattended run (no controlling terminal, as in CI) of a rig with a real device: the scenario that needs a
button press fails at the prompt, naming it, instead of waiting out the join timeout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.realbench.stick import CLI, ROOT, real_style_rig, start_stick

pytestmark = pytest.mark.timeout(120)


def test_no_terminal_fails_the_scenario_at_the_prompt_naming_it(tmp_path: Path) -> None:
    stick = start_stick(tmp_path / "nv.json", control=False)
    try:
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",))
        result = subprocess.run([CLI, "run", "--rig", str(rig), "--report-dir", str(tmp_path / "r"),
                                 "-k", "standard_install"], capture_output=True, text=True, cwd=ROOT, timeout=100,
                                start_new_session=True)  # a new session has no controlling terminal
    finally:
        stick.stop()
    assert result.returncode == 1, result.stdout[-3000:]
    assert "operator prompts: on this terminal if there is one" in result.stdout
    [bundle] = [p for p in (tmp_path / "r").glob("run-*/*") if p.is_dir()]
    events = [json.loads(line) for line in (bundle / "timeline.jsonl").read_text().splitlines()]
    [failed] = [e for e in events if e["kind"] == "operator.failed"]
    assert "nobody can answer (no terminal (/dev/tty:" in failed["reason"]
    assert failed["instruction"] == "PRESS THE ESME JOIN BUTTON NOW"
    record = json.loads((bundle / "record.json").read_text())
    assert record["outcome"] in ("failed", "error")
    assert "PRESS THE ESME JOIN BUTTON NOW" in record["message"] and "JoinTimeout" not in record["message"]
