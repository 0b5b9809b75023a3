"""The run log: what a run set out to do and what pytest said, written as it happens.

* `collected.json` is written when collection ends, before any test runs: every node id, its SEC references and
  its bundle folder. A test that never ran is therefore still known.
* `results.jsonl` gets one line per pytest event (test started, each phase's report, a thread-method timeout),
  appended and flushed at once, by the one process that sees every report (the xdist controller, or pytest
  itself without xdist). A run killed at any point leaves every line up to that point.

`harness.evidence.summary` turns these, with the bundles' records, into the summary, the JUnit XML and the report;
`smets2-harness report DIR` does the same for a run that was killed before it could.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

COLLECTED = "collected.json"
RESULTS = "results.jsonl"


def write_collected(run_dir: Path, tests: list[dict[str, Any]], *, all_tests: bool) -> None:
    """Atomically: under xdist every worker collects the same list and writes it; the last rename wins."""
    data = {"version": 1, "written": time.time(), "all_tests": all_tests, "tests": tests}
    tmp = run_dir / f".{COLLECTED}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, run_dir / COLLECTED)


def append_event(run_dir: Path, event: dict[str, Any]) -> None:
    """One line, one write(2) with O_APPEND: lines from several processes never interleave mid-line."""
    line = (json.dumps({"t": time.time(), **event}, default=str) + "\n").encode()
    fd = os.open(run_dir / RESULTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_collected(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / COLLECTED).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tests"), list) else None


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete line; a line cut short by a kill (the last one) is skipped."""
    try:
        text = (run_dir / RESULTS).read_text(errors="replace")
    except OSError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("nodeid"), str):
            events.append(event)
    return events
