"""Benchmark (not a test): topology 2, time from the CHF Device Log entry to the stick on the hub's HAN.

    .venv/bin/python -m harness.bench.perf_hub_join [--runs 7] [--version 13] [--transport pty]

Each run builds a fresh emulated Comms Hub (decisions from the CHF Device Log) and the emulated NCP's joining side,
connects unmodified bellows through harness/drivers/meter_stick.py, then measures from the CCS01 Add to (a) the
stick's NETWORK_UP (scan on channel 15, association, Transport Key, Device_annce) and (b) the hub reading the stick's
Metering through the stick's host. Prints medians and the ratio to one active scan's dwell (the floor a real stick
also pays).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time

from harness.drivers.meter_stick import MeterStick
from harness.emulation.comms_hub import EmulatedCommsHub
from harness.emulation.medium import Medium
from harness.emulation.ncp.joining import EmulatedJoinerStack, scan_dwell_seconds
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.smets.clock import VirtualClock
from harness.smets.device_log import ChfDeviceLog
from harness.smets.duis.request_id import RequestId
from harness.smets.hub import CommsHub, HubCommand
from harness.smets.hub_han import ChfJoinAuthority
from harness.smets.identities import DeviceType, Eui64

CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
STICK = Eui64.parse("00-DB-12-34-56-78-90-A0")
CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505")  # vectors.md 1.2 without its CRC
KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
SCAN_DURATION = 1


async def one_run(version: int, transport: str) -> tuple[float, float]:
    clock = VirtualClock()
    hub = CommsHub(clock, CHF, device_log=ChfDeviceLog(clock))
    authority = ChfJoinAuthority(hub, clock)
    medium = Medium()
    node = EmulatedCommsHub(medium, CHF.to_zigpy(), authority, channel=15)
    ncp = EmulatedNcp(version, eui64=STICK.to_zigpy(), stack=EmulatedJoinerStack(medium))
    async with contextlib.AsyncExitStack() as stack:
        node.power_on()
        stack.push_async_callback(node.power_off)
        url = await stack.enter_async_context(serve_ncp(ncp, transport))  # type: ignore[arg-type]
        stick = MeterStick(url, KEY, channels=(15,), scan_duration=SCAN_DURATION)
        stack.push_async_callback(stick.close)
        await stick.connect()
        start = time.perf_counter()
        hub.handle(HubCommand(RequestId(Eui64.parse("90-B3-D5-1F-30-01-00-00"), CHF, 1), "8.11", "CCS01", CHF,
                              device=STICK, device_type=DeviceType.ESME, install_code=CODE, join_time_period=90))
        await stick.join(30)
        joined = time.perf_counter() - start
        await node.read_attributes(STICK.to_zigpy(), 0x0702, [0x0000])
        read = time.perf_counter() - start
    return joined, read


async def run(runs: int, version: int, transport: str) -> int:
    joins: list[float] = []
    reads: list[float] = []
    for index in range(runs):
        joined, read = await one_run(version, transport)
        joins.append(joined)
        reads.append(read)
        print(f"run {index + 1}/{runs}: stick joined {joined * 1000:.0f} ms, hub read the meter {read * 1000:.0f} ms")
    dwell = scan_dwell_seconds(SCAN_DURATION)
    print(f"EZSP v{version} over {transport}, {runs} runs (one channel scanned, dwell {dwell * 1000:.0f} ms):")
    for name, values in (("8.11 Add -> stick NETWORK_UP", joins), ("8.11 Add -> hub read Metering", reads)):
        median = statistics.median(values)
        print(f"  {name}: median {median * 1000:.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f});"
              f" {median / dwell:.1f} x the scan dwell")
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
