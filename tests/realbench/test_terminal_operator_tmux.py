"""`smets2-harness run` in a real terminal (a tmux pane): the operator prompt reaches the screen through
/dev/tty although pytest captures stdin/stdout, and the key the operator presses is taken as the answer.
The stick is the emulated NCP in its own process over tcp://; the ESME is `kind: real` in the rig, so only the
operator's Enter lets the scenario go on."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.realbench.stick import CLI, ROOT, real_style_rig, start_stick

TMUX = shutil.which("tmux")
if TMUX is None:
    if os.environ.get("SMETS2_REQUIRE_TMUX"):
        raise RuntimeError("tmux is required here (SMETS2_REQUIRE_TMUX=1) but not installed: run `make tmux`")
    pytest.skip("tmux is not installed (make tmux installs it); the terminal-operator test needs a real terminal",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(180)


def _tmux(*args: str) -> str:
    return subprocess.run([TMUX, *args], capture_output=True, text=True, check=True).stdout


def _wait_for(session: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in the terminal; it shows:\n{screen}")


def test_run_in_a_terminal_shows_the_prompt_and_takes_the_answer(tmp_path: Path) -> None:
    stick = start_stick(tmp_path / "nv.json", control=False)
    session = f"smets2-{uuid.uuid4().hex[:8]}"
    try:
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",))
        reports = tmp_path / "reports"
        command = (f"cd {shlex.quote(str(ROOT))} && {shlex.quote(CLI)} run --rig {shlex.quote(str(rig))} "
                   f"--report-dir {shlex.quote(str(reports))} -k standard_install --operator terminal; "
                   "echo RUN-EXIT=$?; sleep 60")
        _tmux("new-session", "-d", "-s", session, "-x", "220", "-y", "50", command)
        screen = _wait_for(session, "PRESS THE ESME JOIN BUTTON NOW", 90)
        assert ">>> OPERATOR:" in screen and "press Enter when done" in screen
        time.sleep(1.0)
        assert "RUN-EXIT" not in _tmux("capture-pane", "-p", "-J", "-t", session)  # the run waits for the answer
        _tmux("send-keys", "-t", session, "pressed, LED flashing", "Enter")
        screen = _wait_for(session, "RUN-EXIT=", 90)
        assert "RUN-EXIT=0" in screen and "1 of 1 scenarios passed" in screen, screen
    finally:
        subprocess.run([TMUX, "kill-session", "-t", session], capture_output=True)
        stick.stop()
    [bundle] = [p for p in reports.glob("run-*/*") if p.is_dir()]
    events = [json.loads(line) for line in (bundle / "timeline.jsonl").read_text().splitlines()]
    [answer] = [e for e in events if e["kind"] == "operator.answer"]
    assert answer["channel"] == "terminal" and answer["answer"] == "pressed, LED flashing"
    assert answer["instruction"] == "PRESS THE ESME JOIN BUTTON NOW"
