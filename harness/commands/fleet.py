"""`smets2-harness fleet`: the DP121 story over N emulated premises, W worker processes (docs/fleet.md)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from harness.errors import InputError, RigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("fleet", help="run the DP121 story over many emulated premises and summarise them")
    p.add_argument("--rig", default="rigs/emulated.yaml", help="an emulated rig (default: %(default)s)")
    p.add_argument("--premises", type=int, required=True, help="how many premises")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPUs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the parameter distribution (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=None, help="premises in flight per worker (default: 40)")
    p.add_argument("--control-rate", type=float, default=0.05,
                   help="share of premises that run a negative control (default: %(default)s)")
    p.add_argument("--sample-every", type=int, default=100,
                   help="keep the evidence of every n-th passing premises; 0: none (failed ones always)")
    p.add_argument("--frame-log", choices=("deferred", "deferred-ash", "off"), default="deferred",
                   help="deferred: each kept bundle has its ezsp.log (EZSP commands, responses, bellows' messages); "
                        "deferred-ash: also a line per ASH frame (slower); off: bellows logs nothing")
    p.add_argument("--transport", choices=("loop", "pty", "tcp", "rig"), default="loop",
                   help="the serial line between bellows and each premises' emulated NCP: loop (in-process, the "
                        "same ASH bytes with no syscalls), pty, tcp, or rig (what the rig names); "
                        "default: %(default)s")
    p.add_argument("--cbke", choices=("on", "off"), default="on",
                   help="on: every meter runs CBKE (suite 2) after joining, as on a SMETS2 HAN; off: it does not "
                        "(the story without key establishment, to see what CBKE costs); default: %(default)s")
    p.add_argument("--event-loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                   help="the workers' event loop; auto: uvloop where it is installed, else asyncio")
    p.add_argument("--form-each", action="store_true",
                   help="let bellows form every premises' network instead of starting from a formed NV state")
    p.add_argument("--staging", default="auto", metavar="auto|off|DIR",
                   help="where each premises' bundle is written while it runs: auto (tmpfs, /dev/shm, where the "
                        "machine has it), off (in the output folder), or a folder; kept bundles are moved to the "
                        "output folder, and so are those of premises a dead worker left (default: %(default)s)")
    p.add_argument("--out", default=None, help="output folder (default: reports/fleet-<time>)")
    p.add_argument("--reveal-secrets", action="store_true", help="write install codes and keys in clear")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.fleet.runner import DEFAULT_CONCURRENCY, FleetOptions, run_fleet, table
    from harness.rig import load_rig

    rig = load_rig(args.rig)
    if rig.coordinator.kind != "emulated" or "esme" not in rig.devices:
        raise RigError(f"{args.rig}: fleet mode needs an emulated coordinator and an esme (each premises "
                       "gets its own emulated NCP and meter)")
    if rig.coordinator.cbke_credentials == "se-test-vectors" and args.cbke == "on":
        raise RigError(f"{args.rig}: coordinator.cbke_credentials: se-test-vectors names fixed certificate "
                       "subjects, and every premises of a fleet has its own EUI-64s; use a per-run-ca rig (e.g. "
                       "rigs/emulated.yaml) or --cbke off")
    for name, value, low in (("--premises", args.premises, 1), ("--workers", args.workers, 1),
                             ("--sample-every", args.sample_every, 0)):
        if value < low:
            raise InputError(f"must be at least {low}, got {value}", where=name)
    if not 0.0 <= args.control_rate <= 1.0:
        raise InputError(f"must be in 0..1, got {args.control_rate}", where="--control-rate")
    from harness.fleet.staging import StagingError, choose

    try:
        choose(args.staging)
    except StagingError as exc:
        raise InputError(str(exc), where="--staging") from None
    out = Path(args.out) if args.out else Path("reports") / time.strftime("fleet-%Y%m%d-%H%M%S")
    options = FleetOptions(rig=args.rig, premises=args.premises, workers=args.workers, seed=args.seed, out=out,
                           concurrency=args.concurrency or DEFAULT_CONCURRENCY, control_rate=args.control_rate,
                           sample_every=args.sample_every, frame_log=args.frame_log,
                           formed_start=not args.form_each, reveal_secrets=args.reveal_secrets,
                           transport=None if args.transport == "rig" else args.transport,
                           cbke=args.cbke == "on", event_loop=args.event_loop, staging=args.staging)
    print(f"smets2-harness fleet: {args.premises} premises on {rig.name} ({args.rig}), {args.workers} workers, "
          f"seed {args.seed}", flush=True)
    summary = run_fleet(options)
    print(table(summary))
    print(f"records: {out / 'records.jsonl'}  summary: {out / 'summary.json'}  plot: {out / 'fleet.svg'}  "
          f"bundles: {out / 'premises'}")
    return 0 if summary["failed"] == 0 else 1
