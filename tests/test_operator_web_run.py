"""`smets2-harness run --operator web:PORT`: the prompt for a real device appears on the local page while the run
waits, and the answer posted there lets the scenario go on (the stick is the emulated NCP in its own process)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.realbench.stick import CLI, ROOT, real_style_rig, start_stick

pytestmark = pytest.mark.timeout(150)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_web_page_shows_the_prompt_and_its_answer_is_taken(tmp_path: Path) -> None:
    stick = start_stick(tmp_path / "nv.json", control=False)
    port = _free_port()
    run: subprocess.Popen[str] | None = None
    try:
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",))
        run = subprocess.Popen([CLI, "run", "--rig", str(rig), "--report-dir", str(tmp_path / "r"), "-k",
                                "standard_install", "--operator", f"web:{port}"], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        prompt = None
        deadline = time.monotonic() + 90
        while prompt is None and time.monotonic() < deadline and run.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/prompt", timeout=2) as response:
                    prompt = json.loads(response.read())
            except OSError:
                pass
            time.sleep(0.2)
        assert prompt is not None and prompt["prompt"] == "PRESS THE ESME JOIN BUTTON NOW", run.communicate()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert "PRESS THE ESME JOIN BUTTON NOW" in response.read().decode()
        assert run.poll() is None  # waiting for the answer
        data = f"id={prompt['id']}&answer=done&note=LED+flashing".encode()
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/answer", data=data), timeout=5)
        out, _ = run.communicate(timeout=90)
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        stick.stop()
    assert run is not None and run.returncode == 0, out
    assert f"operator prompts: open http://127.0.0.1:{port}/" in out and "1 of 1 scenarios passed" in out
    [bundle] = [p for p in (tmp_path / "r").glob("run-*/*") if p.is_dir()]
    events = [json.loads(line) for line in (bundle / "timeline.jsonl").read_text().splitlines()]
    [answer] = [e for e in events if e["kind"] == "operator.answer"]
    assert answer["channel"] == "web" and answer["answer"] == "done LED flashing"
