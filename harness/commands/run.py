"""`smets2-harness run`: the bench scenarios on a rig, a summary table, the report path and an exit code a CI job
can trust.

The scenarios ship in the package (`harness/scenarios/`), so this works from any folder once the wheel is
installed. pytest runs in a child process with the options the scenarios need passed explicitly (an installed run
has no project ini file): asyncio_mode=auto, a per-test timeout, logs captured at INFO (the DEBUG frame log goes
to each bundle's ezsp.log). The verdicts come from pytest's own reports, recorded as they happen; if pytest dies
part-way, the summary, JUnit and report are rebuilt from what it left (`smets2-harness report DIR` does the same
by hand). The child's output passes through the run's redaction before it reaches the terminal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from harness.errors import InputError
from harness.evidence.redaction import redact_log_text, redact_text, register_rig_secrets
from harness.rig import load_rig
from harness.rigs import EMULATED

PYTEST_NO_TESTS = 5
BUILTIN_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT_TIMEOUT = 300  # seconds per scenario; a lab's rig may need more (--timeout after --)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run", help="run the bench scenarios on a rig and write the evidence report",
        description="Run the bench scenarios (the built-in ones, or your own with --scenarios) on a rig. "
                    "Options after `--` go to pytest unchanged, e.g. `-- -x --timeout=600 -n 2`.")
    p.add_argument("--rig", default=str(EMULATED), help="rig file (default: the emulated rig shipped in the package)")
    p.add_argument("--report-dir", default="reports", help="where the run's folder goes (default: %(default)s)")
    p.add_argument("--scenarios", "--tests", dest="scenarios", action="append", default=None, metavar="PATH",
                   help="a folder or file of pytest scenarios using the plugin's fixtures; repeatable; "
                        "'builtin' names the scenarios shipped in the package (the default)")
    p.add_argument("-k", dest="keyword", default=None, help="only scenarios matching this pytest -k expression")
    p.add_argument("-m", dest="markexpr", default=None, help="only scenarios matching this marker expression")
    p.add_argument("--reveal-secrets", action="store_true", help="write install codes and keys to the evidence in clear")
    p.add_argument("--operator", default=None, metavar="CHANNEL",
                   help="where prompts for real devices go: auto (the terminal if any), terminal, file:PATH, "
                        "web[:PORT], emulated:tcp://HOST:PORT (default: the rig's operator:, else auto)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: options passed to pytest")
    p.set_defaults(func=run)


def scenario_paths(given: list[str] | None) -> list[Path]:
    paths = []
    for entry in given or ["builtin"]:
        path = BUILTIN_SCENARIOS if entry == "builtin" else Path(entry)
        if not path.exists():
            raise InputError("no such file or folder (expected pytest scenario files, or 'builtin')",
                             where=f"--scenarios {entry}")
        paths.append(path.resolve())
    return paths


def new_run_dir(report_dir: Path) -> Path:
    stamp = time.strftime("run-%Y%m%d-%H%M%S")
    run_dir, n = report_dir / stamp, 1
    while run_dir.exists():
        n += 1
        run_dir = report_dir / f"{stamp}-{n}"
    run_dir.mkdir(parents=True)
    return run_dir


def pytest_command(args: argparse.Namespace, paths: list[Path], run_dir: Path) -> list[str]:
    rootdir = Path(os.path.commonpath([p.parent if p.is_file() else p for p in paths]))
    if BUILTIN_SCENARIOS in paths:  # node ids read harness/scenarios/test_x.py::..., as in the repository
        rootdir = Path(os.path.commonpath([rootdir, BUILTIN_SCENARIOS.parent.parent]))
    cmd = [sys.executable, "-m", "pytest", *map(str, paths), "-q", "-p", "no:cacheprovider", "-rfE",
           f"--rootdir={rootdir}", "-c", os.devnull,  # no stray ini file from the current folder decides
           "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function",
           "-o", "log_level=INFO", f"--timeout={DEFAULT_TIMEOUT}",
           f"--rig={args.rig}", f"--run-dir={run_dir}", "--no-bench-summary"]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.markexpr:
        cmd += ["-m", args.markexpr]
    if args.reveal_secrets:
        cmd.append("--reveal-secrets")
    if args.operator:
        cmd.append(f"--operator={args.operator}")
    extra = list(args.pytest_args or [])
    if extra and extra[0] == "--":
        extra = extra[1:]
    return cmd + extra


def _relay(proc: subprocess.Popen[str], reveal: bool) -> None:
    """The child's output, line by line, through the run's redaction (the rig's codes and keys, key dumps)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line if reveal else redact_log_text(redact_text(line)))
        sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    from harness.evidence.record import base_provenance
    from harness.evidence.report import format_table, han_summary
    from harness.evidence.summary import run_ok, verdict_line, write_summary

    rig = load_rig(args.rig)  # fail early, with the rig file's own message, before pytest starts
    register_rig_secrets(rig)
    from harness.bench.preflight import run_problems  # every problem at once, before any scenario starts

    # A missing scenario folder is one of the pre-flight's lines, beside the rig's problems.
    missing = [e for e in (args.scenarios or []) if e != "builtin" and not Path(e).exists()]
    problems = run_problems(rig, report_dir=args.report_dir,
                            tests=missing[0] if missing else str(BUILTIN_SCENARIOS), operator=args.operator)
    if problems:
        for problem in problems:
            print(f"smets2-harness run: {problem}", file=sys.stderr)
        print(f"smets2-harness run: {len(problems)} problem(s) found before the run; nothing was run",
              file=sys.stderr)
        return 2
    paths = scenario_paths(args.scenarios)
    run_dir = new_run_dir(Path(args.report_dir)).resolve()
    cmd = pytest_command(args, paths, run_dir)
    print(f"smets2-harness run: rig {rig.name} ({args.rig}), scenarios in {', '.join(map(str, paths))}", flush=True)
    if any(d.kind == "real" for d in rig.devices.values()):
        from harness.drivers.operator import parse_operator_channel, where_prompts_go

        print(where_prompts_go(parse_operator_channel(args.operator or rig.operator or "auto")), flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                          env=env) as proc:
        try:
            _relay(proc, args.reveal_secrets)
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
        status = proc.wait()
    # Rebuilt here whether or not pytest wrote it: after a crash only the run log and the bundles are left.
    results = write_summary(run_dir, rig=args.rig, provenance=base_provenance())
    print()
    print(format_table(run_dir, results))
    joins = han_summary(run_dir, results)
    if joins:
        print()
        print(redact_text(joins))
    print()
    print(f"{verdict_line(results)}; report: {run_dir / 'report.html'}")
    if status not in (0, 1, PYTEST_NO_TESTS):
        print(f"smets2-harness run: pytest ended with status {status} (killed or crashed); "
              "the summary above was rebuilt from the run log", file=sys.stderr)
    if status == PYTEST_NO_TESTS or not results:
        print("smets2-harness run: no scenario ran", file=sys.stderr)
        return 1
    return 0 if status == 0 and run_ok(results) else 1
