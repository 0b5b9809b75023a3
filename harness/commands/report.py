"""`smets2-harness report DIR`: rebuild a run's summary, JUnit XML and HTML report from what the run left.

For a run that was killed part-way (or whose pytest died): the run log (`collected.json`, `results.jsonl`) and
the bundles are enough to say, for every test, passed, failed, crashed, timed out or not run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="rebuild a run's summary, JUnit XML and report from its folder")
    p.add_argument("run_dir", metavar="DIR", help="the run's folder (reports/run-...)")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from harness.evidence.report import format_table
    from harness.evidence.runlog import COLLECTED, RESULTS
    from harness.evidence.summary import run_ok, verdict_line, write_summary

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise InputError("not a folder (expected a run folder such as reports/run-20261202-190000)",
                         where=str(run_dir))
    if not (run_dir / COLLECTED).exists() and not (run_dir / RESULTS).exists():
        raise InputError(f"no {COLLECTED} or {RESULTS}: not a run folder of smets2-harness", where=str(run_dir))
    rig, provenance = "", {}
    try:  # keep what the run itself said about its rig and provenance, if it got that far
        old = json.loads((run_dir / "summary.json").read_text())
        rig, provenance = str(old.get("rig", "")), dict(old.get("provenance") or {})
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    results = write_summary(run_dir, rig=rig, provenance=provenance)
    print(format_table(run_dir, results))
    print(f"{verdict_line(results)}; report: {run_dir / 'report.html'}")
    return 0 if run_ok(results) else 1
