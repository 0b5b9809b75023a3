"""Operators: the person at a real bench (or a stand-in for emulated rigs) who presses buttons when asked."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol, TextIO

from harness.errors import RigError


class Operator(Protocol):
    async def instruct(self, instruction: str, *, timeout: float) -> None:
        """Ask for an action (e.g. "hold the join button for 1 s") and return once it is done."""


class ConsoleOperator:
    """Prints the instruction and waits for Enter. Refuses to wait where no one can answer (CI, no tty)."""

    def __init__(self, stream_in: TextIO = sys.stdin, stream_out: TextIO = sys.stdout) -> None:
        self._in = stream_in
        self._out = stream_out

    async def instruct(self, instruction: str, *, timeout: float) -> None:
        if not self._in.isatty():
            raise RigError(f"operator action needed but nobody can answer (stdin is not a terminal): {instruction}")
        self._out.write(f"\n>>> OPERATOR: {instruction}\n>>> press Enter when done ({timeout:.0f} s) ")
        self._out.flush()
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, self._in.readline), timeout)
        except TimeoutError:
            raise RigError(f"operator did not confirm within {timeout:.0f} s: {instruction}") from None


class ScriptedOperator:
    """For emulated rigs and tests: records each instruction and performs a scripted action for it."""

    def __init__(self, action: Callable[[str], Awaitable[None] | None] | None = None) -> None:
        self.instructions: list[str] = []
        self._action = action

    async def instruct(self, instruction: str, *, timeout: float) -> None:
        self.instructions.append(instruction)
        if self._action is not None:
            result = self._action(instruction)
            if result is not None:
                await asyncio.wait_for(result, timeout)
