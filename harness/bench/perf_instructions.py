"""Benchmark (not a test): a fleet premises' cost in CPU instructions, and the CPU speed the 33/s target needs.

    .venv/bin/python -m harness.bench.perf_instructions [--sizes 10 40] [--in-flight 4]
    make bench-perf-instructions          (installs valgrind where it can)

Why: the 2-core machine's speed is not steady. The same fleet code ran at 51 to 91 ms of CPU per premises within an
hour, with no steal time reported (docs/performance.md), so premises/s from one sitting says as much about the
machine's phase as about the code. Instructions do not move with it. This runs one fleet worker's path (the
default one: bellows over the in-process ASH line, CBKE after the join, the deferred frame log, uvloop) in this
process's child under `valgrind --tool=callgrind` for two sizes, and takes the difference over the extra premises,
so start-up (imports, the formed NV template, the CA) cancels out. Then the same child runs natively, which gives
this machine's instruction rate right now, and from both:

* the target's instruction budget on this machine now (2 cores x 30 s x its rate / 1,000 premises);
* the rate per core the target needs at this instruction count (instructions x 33 / 2), to compare with any
  machine's.

Callgrind counts user-space instructions only (no system calls, no page faults), so the rate is taken over user
CPU time; and a few premises in flight (`--in-flight`, 4 by default: under valgrind a premises runs ~50 times
slower and many more would time out in real time) rather than the fleet's 40, so the count is of the protocol
work, not of cache misses or the collector's walks over 40 premises' objects. Timers keep real time under
valgrind (bellows' and the NCP's ASH timeouts, the 20 ms ACK delay, key-establishment deadlines), so a slowed run
may count a few frames a native one does not send; every premises must pass, and the figure is good to a few per
cent. The fleet's parent process adds about 1.5 ms of CPU per premises on top.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import interpreter
from harness.bench.perf_fleet import TARGET_PER_S

CORES = 2
DEFAULT_RIG = "rigs/emulated.yaml"
_SUMMARY = re.compile(rb"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Budget:
    """What the instruction count means for the target."""

    instructions_per_premises: float
    rate_per_core: float  # this machine's instructions per CPU-second, measured natively on the same path

    @property
    def cpu_ms_per_premises(self) -> float:
        return 1000 * self.instructions_per_premises / self.rate_per_core

    @property
    def premises_per_s(self) -> float:
        """The fleet's rate this machine allows now, CPU-bound, workers only."""
        return CORES * self.rate_per_core / self.instructions_per_premises

    @property
    def needed_rate_per_core(self) -> float:
        return self.instructions_per_premises * TARGET_PER_S / CORES

    @property
    def budget_instructions(self) -> float:
        """Instructions a premises may cost for the target at this machine's rate now."""
        return CORES * self.rate_per_core / TARGET_PER_S


def callgrind_total(out_file: Path) -> int:
    """The event total a callgrind output file states (`summary:` in its header, or `totals:` at its end)."""
    data = Path(out_file).read_bytes()
    match = _SUMMARY.search(data)
    if match is None:
        raise ValueError(f"{out_file}: no 'summary:' or 'totals:' line (not a callgrind output file?)")
    return int(match.group(1))


def per_premises(small: tuple[int, int], large: tuple[int, int]) -> float:
    """(premises, instructions) at two sizes -> instructions per extra premises (start-up cancels out)."""
    (n1, i1), (n2, i2) = small, large
    if n2 <= n1:
        raise ValueError(f"sizes must grow: {n1} then {n2}")
    return (i2 - i1) / (n2 - n1)


# ---- the child: one fleet worker's path, in this process ------------------------------------------------------

def _child(rig_path: str, premises: int, in_flight: int, root: str) -> dict[str, object]:
    from harness.fleet.worker import WorkerJob, default_event_loop, event_loop_factory, quiet_logging, run_job, tune_gc
    from harness.zigbee.cbke.certificate import CertificateAuthority

    quiet_logging()
    tune_gc()
    job = WorkerJob(rig_path=rig_path, root=root, seed=0, indices=tuple(range(premises)), concurrency=in_flight,
                    control_rate=0.0, sample_every=0, no_join_window=2.0, frame_log="deferred", formed_start=True,
                    reveal_secrets=False, cbke_ca=CertificateAuthority.generate(), transport="loop", cbke=True,
                    event_loop=default_event_loop())
    records: list[dict[str, object]] = []
    start = os.times().user  # user time: what callgrind counts instructions of
    with asyncio.Runner(loop_factory=event_loop_factory(job.event_loop)) as runner:
        runner.run(run_job(job, records.append))
    outcomes = [r.get("outcome") for r in records if "_worker" not in r]
    return {"premises": premises, "passed": outcomes.count("passed"), "cpu_s": os.times().user - start}


def _run_child(rig: str, premises: int, in_flight: int, *, valgrind: str | None, out_file: Path | None,
               timeout: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as root:
        cmd = [sys.executable, "-m", "harness.bench.perf_instructions", "--child", str(premises),
               "--in-flight", str(in_flight), "--rig", rig, "--root", root]
        if valgrind is not None:
            cmd = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out_file}", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {done.returncode}: {done.stderr.strip()[-800:]}")
    result = json.loads(lines[-1])
    if result["passed"] != premises:
        raise RuntimeError(f"{result['passed']} of {premises} premises passed"
                           f"{' under valgrind (too many in flight for its speed?)' if valgrind else ''}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10, 40], metavar=("SMALL", "LARGE"))
    parser.add_argument("--in-flight", type=int, default=4, help="premises in flight (the fleet keeps 40)")
    parser.add_argument("--rig", default=DEFAULT_RIG)
    parser.add_argument("--native-runs", type=int, default=3, help="native runs of the large size for the rate")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args.rig, args.child, args.in_flight, args.root)))
        return 0

    small, large = args.sizes
    if not 0 < small < large or args.in_flight < 1:
        parser.error(f"--sizes {small} {large}: two growing positive sizes; --in-flight {args.in_flight}: >= 1")
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (Debian: apt-get install valgrind; `make bench-perf-instructions` does it "
              "when run as root)", file=sys.stderr)
        return 2
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, large):
            out = Path(tmp) / f"callgrind.{n}.out"
            started = time.perf_counter()
            _run_child(args.rig, n, args.in_flight, valgrind=valgrind, out_file=out, timeout=3600)
            counts.append((n, callgrind_total(out)))
            print(f"  callgrind, {n} premises: {counts[-1][1] / 1e9:.2f} G instructions "
                  f"({time.perf_counter() - started:.0f} s under valgrind)", flush=True)
    instructions = per_premises(counts[0], counts[1])
    # This machine's rate now: the same child natively, the difference of the two sizes' CPU over the same premises.
    rates = []
    for _ in range(max(1, args.native_runs)):
        a = _run_child(args.rig, small, args.in_flight, valgrind=None, out_file=None, timeout=600)
        b = _run_child(args.rig, large, args.in_flight, valgrind=None, out_file=None, timeout=600)
        cpu_per_premises = (float(b["cpu_s"]) - float(a["cpu_s"])) / (large - small)
        if cpu_per_premises <= 0:
            raise RuntimeError(f"{large} premises took no more user CPU than {small} ({b['cpu_s']} s against "
                               f"{a['cpu_s']} s): too small a difference to measure; use larger --sizes")
        rates.append(instructions / cpu_per_premises)
    rates.sort()
    budget = Budget(instructions, rates[len(rates) // 2])
    print(f"\nfleet premises, default path ({args.in_flight} in flight, one worker, {args.rig}):")
    print(f"  {instructions / 1e6:.0f} M instructions per premises (user space, callgrind, {small} -> {large})")
    print(f"  interpreter: {interpreter.this_build().label()} (the count depends on its build)")
    print(f"  this machine now: {budget.rate_per_core / 1e9:.2f} G instructions per user CPU-second "
          f"(native runs: {', '.join(f'{r / 1e9:.2f}' for r in rates)}), "
          f"{budget.cpu_ms_per_premises:.1f} ms of CPU per premises")
    print(f"  target {TARGET_PER_S:.0f} premises/s on {CORES} cores: "
          f"{budget.budget_instructions / 1e6:.0f} M instructions per premises at this rate; "
          f"this count needs {budget.needed_rate_per_core / 1e9:.2f} G/s per core")
    print(f"  CPU-bound rate on {CORES} cores at this machine's rate now: {budget.premises_per_s:.1f} premises/s "
          f"({100 * budget.premises_per_s / TARGET_PER_S:.0f} % of the target; workers only, at full use)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
