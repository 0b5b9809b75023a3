"""Benchmark (not a test): one emulated coordinator and a HAN of many meters joining it.

    .venv/bin/python -m harness.bench.perf_han [--meters 1 10 50 100 200] [--version 13]

For each size: an emulated HAN with that many ESMEs, the emulated NCP on a pty, bellows connects and forms through
harness/drivers/ezsp.py, every meter's install-code link key is permitted, the meters power on together, and the
run waits until the coordinator has every one of them joined and interviewed. Reports the time until all have
joined, and the event-loop lag while they join (how late a 10 ms timer fires: median, p99, max), which is what
turns into EZSP timeouts when the simulated radio costs too much per frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import time

import zigpy.types as zt

from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan
from harness.zigbee.installcode import derive_link_key

SIZES = (1, 10, 50, 100, 200)
TICK = 0.01
PERMIT_SECONDS = 254


def meter(index: int) -> tuple[zt.EUI64, str]:
    eui = zt.EUI64.convert(f"00:db:12:e1:00:00:{index >> 8:02x}:{index & 0xFF:02x}")
    code = bytes((index * 7 + i) & 0xFF for i in range(16)).hex().upper()
    return eui, code


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(TICK)
        samples.append(loop.time() - start - TICK)


async def one_size(meters: int, version: int) -> dict[str, float]:
    specs = [DeviceSpec("esme", *meter(i)) for i in range(meters)]
    han = EmulatedHan(specs)
    ncp = han.make_ncp(version, eui64="00:12:4B:00:11:22:33:44")
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(han.close)
        url = await stack.enter_async_context(serve_ncp(ncp, "pty"))
        coordinator = EzspCoordinator(url, timeout=20)
        stack.push_async_callback(coordinator.close)
        await coordinator.connect()
        await coordinator.form()
        for spec in specs:
            key = derive_link_key(spec.install_code, "append")
            await coordinator.permit_install_code(spec.eui64, key, PERMIT_SECONDS)
        lag: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.get_running_loop().create_task(_lag_probe(lag, stop))
        start = time.perf_counter()
        han.start()
        await asyncio.gather(*(coordinator.wait_joined(spec.eui64, 120) for spec in specs))
        joined = time.perf_counter() - start
        stop.set()
        await probe
    ordered = sorted(lag) or [0.0]
    return {"meters": meters, "join_all_s": joined, "lag_median_ms": statistics.median(ordered) * 1000,
            "lag_p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000, "lag_max_ms": ordered[-1] * 1000,
            "frames": han.medium.frames_sent}


async def run(sizes: list[int], version: int) -> int:
    print(f"{'meters':>6s} {'all joined (s)':>15s} {'loop lag median':>16s} {'p99':>9s} {'max':>9s} {'frames':>8s}")
    for size in sizes:
        r = await one_size(size, version)
        print(f"{r['meters']:6d} {r['join_all_s']:15.2f} {r['lag_median_ms']:13.1f} ms {r['lag_p99_ms']:6.1f} ms "
              f"{r['lag_max_ms']:6.1f} ms {r['frames']:8.0f}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--version", type=int, default=13)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(run(args.meters, args.version))


if __name__ == "__main__":
    sys.exit(main())
