"""The automatic operator: for emulated devices standing in for real ones (`kind: real` in the rig, served by
`smets2-harness emulate ncp --control tcp://...`), it does what a person would, through the emulator's control port.

A prompt it can act on carries an `OperatorAction` (join -> press the join button, power_on, power_off); a free-text
prompt with no action is refused, because a machine cannot guess what "hold the button until the LED flashes" means.
The wire protocol is one line each way: `VERB EUI64` -> `ok STATE` or `error WHY` (harness/emulation/control_port.py).
"""

from __future__ import annotations

import asyncio
import re
import time

from harness.drivers.operator import OperatorAction, OperatorAnswer, OperatorUnavailable, _timed_out
from harness.errors import InputError, RigError

_URL = re.compile(r"^tcp://([^:/]+):(\d{1,5})/?$")


def parse_control_url(text: str, *, where: str) -> str:
    match = _URL.match(text.strip())
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise InputError(f"{text!r} is not tcp://HOST:PORT (the emulator's --control address)", where=where)
    return text.strip()


async def control_request(url: str, line: str, *, timeout: float) -> str:
    """Send one request line to an emulator's control port; return its `ok ...` reply or raise RigError."""
    match = _URL.match(url)
    assert match is not None, url
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(match.group(1), int(match.group(2))), timeout)
    except (OSError, TimeoutError) as exc:
        raise OperatorUnavailable(f"cannot reach the emulator's control port {url}: {exc}") from None
    try:
        writer.write(line.encode() + b"\n")
        await writer.drain()
        reply = (await asyncio.wait_for(reader.readline(), timeout)).decode(errors="replace").strip()
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
    if not reply.startswith("ok"):
        raise RigError(f"the emulator at {url} refused {line!r}: {reply or 'no reply'}")
    return reply


class EmulatedHandsOperator:
    channel = "emulated"

    def __init__(self, url: str) -> None:
        self.url = url

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        if action is None or action.eui64 is None:
            raise OperatorUnavailable(f"the automatic operator can only press join buttons and switch power; "
                                      f"it cannot do: {instruction}")
        started = time.monotonic()
        try:
            reply = await asyncio.wait_for(control_request(self.url, f"{action.verb} {action.eui64}",
                                                           timeout=timeout), timeout)
        except TimeoutError:
            raise _timed_out(self.channel, instruction, timeout) from None
        return OperatorAnswer(self.channel, reply, round(time.monotonic() - started, 3))
