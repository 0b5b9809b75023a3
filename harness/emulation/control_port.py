"""The emulator's control port: what a person's hands do to a real device, for emulated devices that stand in for
real ones on a bench (`smets2-harness emulate ncp --control tcp://127.0.0.1:PORT`).

One request line, one reply line: `join EUI64` (press the join button: power on if off; a device that gave up
after a leave starts scanning again), `power_on EUI64`, `power_off EUI64`, `status EUI64`. Replies are
`ok powered=yes joined=no` or `error WHY`. It binds to loopback only: it is a test fixture, not a remote control.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from zigpy.types import EUI64

VERBS = ("join", "power_on", "power_off", "status")


def _state(device: Any) -> str:
    return f"powered={'yes' if device.powered else 'no'} joined={'yes' if device.joined else 'no'}"


async def handle_request(devices: dict[EUI64, Any], line: str) -> str:
    verb, _, target = line.strip().partition(" ")
    if verb not in VERBS:
        return f"error unknown verb {verb!r} (expected one of {', '.join(VERBS)})"
    try:
        eui = EUI64.convert(target.strip().replace("-", ":"))
    except (ValueError, TypeError):
        return f"error {target!r} is not an EUI-64"
    device = devices.get(eui)
    if device is None:
        return f"error no emulated device {eui}"
    if verb == "power_off":
        await device.power_off()
    elif verb == "power_on":
        device.power_on()
    elif verb == "join":
        if device.powered and not device.joined and device._task is not None and device._task.done():
            await device.power_off()  # its join loop ended (left, no rejoin): the button starts it again
        device.power_on()
    return f"ok {_state(device)}"


class ControlPort:
    def __init__(self, devices: dict[EUI64, Any], host: str = "127.0.0.1", port: int = 0) -> None:
        self.devices = devices
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := (await reader.readline()).decode(errors="replace"):
                writer.write((await handle_request(self.devices, line)).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
