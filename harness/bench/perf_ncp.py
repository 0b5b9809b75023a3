"""Benchmark of the emulated NCP under unmodified bellows (not a test: timing goals live here, design.md).

    .venv/bin/python -m harness.bench.perf_ncp [--ezsp 13] [--rounds 200] [--runs 5]

Measures, per transport (pty, tcp://): connect + auto-form time of a fresh `ControllerApplication`, reconnect
time onto the formed network, and the EZSP round trip (median and p95 of `getNodeId` and `nop`-class commands:
one ASH DATA frame each way plus the ACKs). Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

from bellows.zigbee.application import ControllerApplication

from harness.emulation.ncp import EmulatedNcp, serve_ncp

EUI64 = "00:0d:6f:00:00:00:be:01"


def _config(path: str) -> dict[str, Any]:
    return {
        "device": {"path": path},
        "database_path": None,
        "use_thread": False,
        "network": {"channel": 15},
        "backup_enabled": False,
        "topology_scan_enabled": False,
        "ota": {"enabled": False},
    }


async def _measure(version: int, transport: str, rounds: int) -> dict[str, float]:
    ncp = EmulatedNcp(version, eui64=EUI64, strict=True)
    async with serve_ncp(ncp, transport) as url:  # type: ignore[arg-type]
        start = time.perf_counter()
        app = await ControllerApplication.new(_config(url), auto_form=True)
        form_s = time.perf_counter() - start
        try:
            samples: dict[str, list[float]] = {"getNodeId": [], "readCounters": []}
            for _ in range(rounds):
                for name in samples:
                    t0 = time.perf_counter()
                    await getattr(app._ezsp, name)()
                    samples[name].append(time.perf_counter() - t0)
        finally:
            await app.shutdown()
        start = time.perf_counter()
        app = await ControllerApplication.new(_config(url), auto_form=False)
        reconnect_s = time.perf_counter() - start
        await app.shutdown()
    ncp.check()
    out = {"form_s": form_s, "reconnect_s": reconnect_s, "commands_at_form": float(len(ncp.command_log))}
    for name, values in samples.items():
        values.sort()
        out[f"{name}_median_ms"] = statistics.median(values) * 1000
        out[f"{name}_p95_ms"] = values[int(0.95 * (len(values) - 1))] * 1000
    return out


async def _main(version: int, rounds: int, runs: int) -> None:
    rows = []
    for transport in ("pty", "tcp"):
        results = [await _measure(version, transport, rounds) for _ in range(runs)]
        rows.append((transport, {key: statistics.median(r[key] for r in results) for key in results[0]}))
    print(f"emulated NCP, EZSP v{version}, unmodified bellows in one asyncio loop (use_thread off); medians of {runs} runs")
    header = ("transport", "connect+form s", "reconnect s", "getNodeId ms (med/p95)", "readCounters ms (med/p95)")
    print(" | ".join(header))
    print(" | ".join("-" * len(h) for h in header))
    for transport, r in rows:
        print(
            f"{transport:9} | {r['form_s']:14.3f} | {r['reconnect_s']:11.3f} | "
            f"{r['getNodeId_median_ms']:9.2f} / {r['getNodeId_p95_ms']:6.2f}      | "
            f"{r['readCounters_median_ms']:9.2f} / {r['readCounters_p95_ms']:6.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ezsp", type=int, default=13)
    parser.add_argument("--rounds", type=int, default=200, help="round trips per command per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_main(args.ezsp, args.rounds, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
