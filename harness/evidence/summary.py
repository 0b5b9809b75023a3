"""A run's verdicts from pytest's own reports: the summary table, summary.json, junit.xml and the report.

The verdict of each test comes from the run log (pytest's reports as they happened, `runlog.py`), never from the
bundle's record alone: a record can only say what the test wrote before it ended. Every test collected appears,
with one of these outcomes:

    passed, failed, error (setup or teardown failed), skipped, xfailed, xpassed,
    timed out (pytest-timeout), crashed (the process died inside the test), not run (the run ended first)

Only `passed` (and a non-strict `xpassed`) counts as passed.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.evidence.bundle import RECORD, safe_name
from harness.evidence.redaction import redact_text
from harness.evidence.runlog import read_collected, read_events

SUMMARY = "summary.json"
JUNIT = "junit.xml"
REPORT = "report.html"
PASSING = ("passed", "xpassed")
NOT_PROVEN = ("skipped", "xfailed")
TIMEOUT_MARK = "Timeout (>"  # pytest-timeout's failure text (signal method): "Timeout (>1.0s) from pytest-timeout."


@dataclass
class TestResult:
    nodeid: str
    outcome: str
    message: str = ""
    duration: float = 0.0
    sec_refs: list[str] = field(default_factory=list)
    bundle: str | None = None  # folder name in the run dir, when the test has one
    record_state: str | None = None  # the record's own outcome ("incomplete" after a crash)
    scenario_test: bool = True

    @property
    def name(self) -> str:
        return self.nodeid.split("::", 1)[-1]

    @property
    def passed(self) -> bool:
        return self.outcome in PASSING


def _load_record(run_dir: Path, bundle: str) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / bundle / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _classify(reports: dict[str, dict[str, Any]], started: bool, timed_out: dict[str, Any] | None,
              run_finished: bool) -> tuple[str, str]:
    if timed_out is not None:
        return "timed out", f"timed out after {timed_out.get('timeout')} s (pytest-timeout, thread method)"
    if "collect" in reports:
        return "error", "collection failed: " + reports["collect"].get("message", "")
    setup, call, teardown = reports.get("setup"), reports.get("call"), reports.get("teardown")
    for rep in (setup, call, teardown):
        if rep and rep["outcome"] == "failed" and "crashed while running" in rep.get("message", ""):
            return "crashed", rep["message"]  # pytest-xdist's report for a worker that died
    if setup and setup["outcome"] == "failed":
        return "error", setup.get("message", "")
    if setup and setup["outcome"] == "skipped":
        return ("xfailed" if setup.get("wasxfail") is not None else "skipped"), setup.get("message", "")
    if call:
        msg = call.get("message", "")
        if call["outcome"] == "failed":
            outcome = "timed out" if TIMEOUT_MARK in msg else "failed"
        elif call["outcome"] == "skipped":
            outcome = "xfailed" if call.get("wasxfail") is not None else "skipped"
        else:
            outcome = "xpassed" if call.get("wasxfail") is not None else "passed"
        if outcome in PASSING and teardown and teardown["outcome"] == "failed":
            return "error", teardown.get("message", "")
        if outcome in PASSING and teardown is None and not run_finished:
            return "crashed", "the process died in the test's teardown"
        return outcome, msg
    if started:
        return "crashed", "the process died while the test ran (os._exit, a signal or a killed worker)"
    return "not run", "the run ended before this test started"


def collect_results(run_dir: Path) -> list[TestResult]:
    """Every test of the run, in collection order, with its verdict."""
    collected = read_collected(run_dir) or {"tests": [], "all_tests": False}
    events = read_events(run_dir)
    finished = any(e.get("event") == "session.finish" for e in events)
    order: list[str] = []
    meta: dict[str, dict[str, Any]] = {}
    for t in collected["tests"]:
        if isinstance(t, dict) and isinstance(t.get("nodeid"), str) and t["nodeid"] not in meta:
            order.append(t["nodeid"])
            meta[t["nodeid"]] = t
    reports: dict[str, dict[str, dict[str, Any]]] = {}
    started: set[str] = set()
    timeouts: dict[str, dict[str, Any]] = {}
    for e in events:
        nodeid = e["nodeid"]
        if nodeid == "" or e.get("event") == "session.finish":
            continue
        if nodeid not in meta:  # collected.json lost or written by an older run: the events still count
            order.append(nodeid)
            meta[nodeid] = {"nodeid": nodeid, "evidence": False}
        kind = e.get("event")
        if kind == "start":
            started.add(nodeid)
        elif kind == "report" and e.get("when") in ("collect", "setup", "call", "teardown"):
            reports.setdefault(nodeid, {})[e["when"]] = e
        elif kind == "timeout":
            timeouts[nodeid] = e
    all_tests = bool(collected.get("all_tests", True))
    results = []
    for nodeid in order:
        outcome, message = _classify(reports.get(nodeid, {}), nodeid in started, timeouts.get(nodeid), finished)
        bundle = safe_name(nodeid)
        record = _load_record(run_dir, bundle) if (run_dir / bundle).is_dir() else None
        duration = sum(float(r.get("duration") or 0) for r in reports.get(nodeid, {}).values())
        results.append(TestResult(
            nodeid=nodeid, outcome=outcome, message=redact_text(message)[-4000:], duration=duration,
            sec_refs=list(meta[nodeid].get("sec") or (record or {}).get("sec_refs") or []),
            bundle=bundle if (run_dir / bundle).is_dir() else None,
            record_state=(record or {}).get("outcome"),
            scenario_test=all_tests or bool(meta[nodeid].get("evidence")) or record is not None,
        ))
    return results


def count(results: list[TestResult]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r.outcome] = out.get(r.outcome, 0) + 1
    return out


def verdict_line(results: list[TestResult]) -> str:
    """`3 of 5 scenarios passed, 1 skipped, 1 crashed`: a skipped scenario proved nothing, so it is not a pass."""
    counts = count(results)
    passed = sum(counts.get(o, 0) for o in PASSING)
    rest = [f"{n} {o}" for o, n in sorted(counts.items()) if o not in PASSING]
    return f"{passed} of {len(results)} scenarios passed" + "".join(f", {r}" for r in rest)


def run_ok(results: list[TestResult]) -> bool:
    return bool(results) and all(r.passed or r.outcome in NOT_PROVEN for r in results)


def write_junit(run_dir: Path, results: list[TestResult]) -> Path:
    """JUnit XML from the same verdicts (no captured output: nothing there for a secret to hide in)."""
    counts = count(results)
    suite = ET.Element("testsuite", {
        "name": "smets2-harness", "tests": str(len(results)),
        "failures": str(counts.get("failed", 0)),
        "errors": str(sum(counts.get(o, 0) for o in ("error", "crashed", "timed out", "not run"))),
        "skipped": str(sum(counts.get(o, 0) for o in NOT_PROVEN)),
        "time": f"{sum(r.duration for r in results):.3f}",
    })
    for r in results:
        path, _, name = r.nodeid.rpartition("::") if "::" in r.nodeid else ("", "", r.nodeid)
        classname = path.replace(".py", "").replace("/", ".").replace("::", ".")
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": f"{r.duration:.3f}"})
        props = ET.SubElement(case, "properties")
        for ref in r.sec_refs:
            ET.SubElement(props, "property", {"name": "sec", "value": ref})
        ET.SubElement(props, "property", {"name": "outcome", "value": r.outcome})
        if r.bundle:
            ET.SubElement(props, "property", {"name": "evidence", "value": r.bundle})
        text = r.message[-2000:]
        first = text.strip().splitlines()[-1][:200] if text.strip() else r.outcome
        if r.outcome == "failed":
            ET.SubElement(case, "failure", {"message": first}).text = text
        elif r.outcome in ("error", "crashed", "timed out", "not run"):
            ET.SubElement(case, "error", {"type": r.outcome, "message": f"{r.outcome}: {first}"}).text = text
        elif r.outcome in NOT_PROVEN:
            ET.SubElement(case, "skipped", {"message": f"{r.outcome}: {first}"})
    path = run_dir / JUNIT
    tmp = run_dir / f".{JUNIT}.tmp"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    tmp.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
    os.replace(tmp, path)
    return path


def write_summary(run_dir: Path, *, rig: str = "", provenance: dict[str, Any] | None = None) -> list[TestResult]:
    """summary.json, junit.xml and report.html of a run, from its run log and bundles."""
    from harness.evidence.report import write_report

    results = collect_results(run_dir)
    shown = [r for r in results if r.scenario_test]
    data = {"rig": rig, "provenance": provenance or {}, "verdict": verdict_line(shown), "ok": run_ok(shown),
            "results": [{**asdict(r), "name": r.name} for r in shown]}
    tmp = run_dir / f".{SUMMARY}.tmp"
    tmp.write_text(redact_text(json.dumps(data, indent=2, default=str)) + "\n")
    os.replace(tmp, run_dir / SUMMARY)
    write_junit(run_dir, shown)
    write_report(run_dir, shown, rig=rig, provenance=provenance or {})
    return shown
