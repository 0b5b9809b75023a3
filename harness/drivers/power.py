"""Power switches for devices under test: a command (relay, PDU CLI), a person, or the emulator."""

from __future__ import annotations

import asyncio
import shlex
from typing import Protocol

from harness.drivers.operator import Operator, OperatorAction
from harness.errors import RigError


class PowerSwitch(Protocol):
    async def on(self) -> None: ...

    async def off(self) -> None: ...


class CommandPowerSwitch:
    """Runs the rig's `on`/`off` command lines (no shell); a non-zero exit is a RigError naming the command."""

    def __init__(self, on_command: str, off_command: str, *, timeout: float = 30.0) -> None:
        self.on_command = on_command
        self.off_command = off_command
        self.timeout = timeout

    async def _run(self, command: str) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *shlex.split(command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except OSError as exc:
            raise RigError(f"power command {command!r} could not start: {exc.strerror}") from exc
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            raise RigError(f"power command {command!r} did not finish within {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip()[-300:]
            raise RigError(f"power command {command!r} exited {proc.returncode}: {tail}")

    async def on(self) -> None:
        await self._run(self.on_command)

    async def off(self) -> None:
        await self._run(self.off_command)


class ManualPowerSwitch:
    """Asks the operator to switch the device."""

    def __init__(self, operator: Operator, device: str, *, timeout: float = 120.0, role: str | None = None,
                 eui64: str | None = None) -> None:
        self._operator = operator
        self._device = device
        self._timeout = timeout
        self._role = role or device.lower()
        self._eui64 = eui64

    async def on(self) -> None:
        await self._operator.instruct(f"switch ON the power to the {self._device}", timeout=self._timeout,
                                      action=OperatorAction("power_on", self._role, self._eui64))

    async def off(self) -> None:
        await self._operator.instruct(f"switch OFF the power to the {self._device}", timeout=self._timeout,
                                      action=OperatorAction("power_off", self._role, self._eui64))
