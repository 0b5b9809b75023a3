"""`smets2-harness run`: the bench suite on a rig, a summary table and the report path."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from harness.errors import InputError
from harness.evidence.report import format_table, load_rows
from harness.rig import load_rig

PYTEST_NO_TESTS = 5


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the bench scenarios on a rig and write the evidence report")
    p.add_argument("--rig", default="rigs/emulated.yaml", help="rig file (default: %(default)s)")
    p.add_argument("--report-dir", default="reports", help="where the run's folder goes (default: %(default)s)")
    p.add_argument("--tests", default=str(Path(__file__).resolve().parent.parent / "scenarios"), help="bench scenarios to run (default: %(default)s)")
    p.add_argument("-k", dest="keyword", default=None, help="only scenarios matching this pytest -k expression")
    p.add_argument("--reveal-secrets", action="store_true", help="write install codes and keys to the evidence in clear")
    p.add_argument("--operator", default=None, metavar="CHANNEL",
                   help="where prompts for real devices go: auto (the terminal if any), terminal, file:PATH, "
                        "web[:PORT], emulated:tcp://HOST:PORT (default: the rig's operator:, else auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rig = load_rig(args.rig)  # fail early, with the rig file's own message, before pytest starts
    tests = Path(args.tests)
    from harness.bench.preflight import run_problems  # every problem at once, before any scenario starts

    problems = run_problems(rig, report_dir=args.report_dir, tests=str(tests), operator=args.operator)
    if problems:
        for problem in problems:
            print(f"smets2-harness run: {problem}", file=sys.stderr)
        print(f"smets2-harness run: {len(problems)} problem(s) found before the run; nothing was run",
              file=sys.stderr)
        return 2
    run_dir = Path(args.report_dir) / time.strftime("run-%Y%m%d-%H%M%S")
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = Path(args.report_dir) / f"{time.strftime('run-%Y%m%d-%H%M%S')}-{n}"
    run_dir.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider", "-rfE",
           f"--rig={args.rig}", f"--run-dir={run_dir}", f"--junitxml={run_dir / 'junit.xml'}", "--no-bench-summary",
           "-o", "junit_family=xunit2"]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.reveal_secrets:
        cmd.append("--reveal-secrets")
    if args.operator:
        cmd.append(f"--operator={args.operator}")
    print(f"smets2-harness run: rig {rig.name} ({args.rig}), scenarios in {tests}", flush=True)
    if any(d.kind == "real" for d in rig.devices.values()):
        from harness.drivers.operator import parse_operator_channel, where_prompts_go

        print(where_prompts_go(parse_operator_channel(args.operator or rig.operator or "auto")), flush=True)
    status = subprocess.run(cmd).returncode
    rows = load_rows(run_dir)
    print()
    print(format_table(rows))
    failed = [r for r in rows if r.result not in ("passed", "skipped")]
    skipped = [r for r in rows if r.result == "skipped"]
    passed = len(rows) - len(failed) - len(skipped)
    print()
    # A skipped scenario proved nothing on this rig, so it is not counted as passed.
    skipped_note = f", {len(skipped)} skipped" if skipped else ""
    print(f"{passed} of {len(rows)} scenarios passed{skipped_note}; report: {run_dir / 'report.html'}")
    if status == PYTEST_NO_TESTS or not rows:
        print("smets2-harness run: no scenario ran", file=sys.stderr)
        return 1
    return 0 if status == 0 and not failed else 1
