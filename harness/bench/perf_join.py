"""Benchmark (not a test): time from permit to join for an emulated ESME behind the emulated NCP.

    .venv/bin/python -m harness.bench.perf_join [--runs 7] [--version 13] [--transport pty]

Each run builds a fresh emulated HAN and NCP, connects bellows through harness/drivers/ezsp.py, forms, powers
the meter on, then measures from `permit_install_code` returning to (a) the meter holding the network key
(radio join, Device_annce sent) and (b) zigpy's interview completing (`wait_joined`). Prints the median and
the spread; device timings are the emulator's defaults (scan every 0.2 s), not the test suite's fast ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time

import zigpy.types as zt

from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan

SPEC_CODE = "83FED3407A939723A5C639B26916D505C3B5"  # ZigBee spec example install code (vectors.md 1.2)
ESME = zt.EUI64.convert("70:B3:D5:00:00:00:00:01")


async def one_run(version: int, transport: str) -> tuple[float, float]:
    han = EmulatedHan([DeviceSpec("esme", ESME, SPEC_CODE)])
    ncp = han.make_ncp(version, eui64="00:12:4B:00:11:22:33:44")
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(han.close)
        url = await stack.enter_async_context(serve_ncp(ncp, transport))  # type: ignore[arg-type]
        coordinator = EzspCoordinator(url)
        stack.push_async_callback(coordinator.close)
        await coordinator.connect()
        await coordinator.form()
        esme = han.device(ESME)
        han.start()
        await asyncio.sleep(0.5)  # the meter is already scanning when the permit comes, as on a bench
        await coordinator.permit_install_code(ESME, esme.link_key, 60)
        start = time.perf_counter()
        await esme.wait_joined(30)
        radio = time.perf_counter() - start
        await coordinator.wait_joined(ESME, 30)
        interview = time.perf_counter() - start
    return radio, interview


async def run(runs: int, version: int, transport: str) -> int:
    radio_times: list[float] = []
    interview_times: list[float] = []
    for index in range(runs):
        radio, interview = await one_run(version, transport)
        radio_times.append(radio)
        interview_times.append(interview)
        print(f"run {index + 1}/{runs}: radio join {radio * 1000:.0f} ms, interview complete {interview * 1000:.0f} ms")
    print(f"EZSP v{version} over {transport}, {runs} runs:")
    for name, values in (("permit -> radio join", radio_times), ("permit -> interview complete", interview_times)):
        print(f"  {name}: median {statistics.median(values) * 1000:.0f} ms "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--version", type=int, default=13)
    parser.add_argument("--transport", choices=("pty", "tcp"), default="pty")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.runs, args.version, args.transport))


if __name__ == "__main__":
    sys.exit(main())
