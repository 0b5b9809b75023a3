"""Operators: the person at a real bench (or a stand-in) who presses buttons and switches power when asked.

Under `smets2-harness run` the scenarios run inside pytest, which captures stdin and stdout, so a prompt must take
another way to the person:

* `terminal`: the controlling terminal (/dev/tty), which pytest's capture does not touch;
* `file:PATH`: prompts appended to PATH as JSON lines, answers read from PATH.answers (any program or person can
  `tail -f` one and append to the other);
* `web[:PORT]`: a small page on http://127.0.0.1:PORT/ (harness/drivers/operator_web.py) the operator keeps open;
* `emulated:tcp://HOST:PORT`: an automatic operator for emulated devices that stand in for real ones: it performs
  the physical action itself through `smets2-harness emulate ncp --control` (harness/emulation/control_port.py);
* `auto` (default): the terminal when there is one; otherwise every prompt fails at once, naming the prompt.

Every prompt carries a timeout; an answer starting with "fail", "no" or "abort" means the person could not do it.
`RecordedOperator` puts each prompt and its answer on the test's timeline.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import termios
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from harness.errors import RigError

CHANNELS = ("auto", "terminal", "file", "web", "emulated")
DEFAULT_WEB_PORT = 8765
_DECLINE_WORDS = ("fail", "no", "abort", "cannot", "can't")
_POLL_S = 0.05


class OperatorUnavailable(RigError):
    """Nobody can answer a prompt on this channel (no terminal, CI): raised at once, not after the timeout."""


class OperatorTimeout(RigError):
    """The operator did not answer within the prompt's timeout."""


class OperatorDeclined(RigError):
    """The operator answered that the action could not be done."""


@dataclass(frozen=True)
class OperatorAction:
    """What a prompt asks for, in a form a machine can act on (the automatic operator) as well as a person."""

    verb: Literal["join", "power_on", "power_off"]
    device: str  # the rig role, e.g. "esme"
    eui64: str | None = None  # DCC form


@dataclass(frozen=True)
class OperatorAnswer:
    channel: str
    text: str  # what the operator typed or sent; "" for a bare "done"
    waited_s: float


class Operator(Protocol):
    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer | None:
        """Ask for an action (e.g. "hold the join button for 1 s") and return once it is done."""


def _check_answer(channel: str, text: str, instruction: str, started: float) -> OperatorAnswer:
    answer = text.strip()
    if answer.lower().startswith(_DECLINE_WORDS):
        raise OperatorDeclined(f"the operator answered {answer!r} ({channel}) to: {instruction}")
    return OperatorAnswer(channel, answer, round(time.monotonic() - started, 3))


def _timed_out(channel: str, instruction: str, timeout: float) -> OperatorTimeout:
    return OperatorTimeout(f"operator did not answer within {timeout:g} s ({channel}): {instruction}")


class TerminalOperator:
    """Writes the prompt on the controlling terminal and reads the answer line from it, whatever pytest captures."""

    channel = "terminal"

    def __init__(self, tty: str = "/dev/tty") -> None:
        self.tty = tty

    def available(self) -> str | None:
        """None when a terminal can be opened; otherwise why not."""
        try:
            os.close(os.open(self.tty, os.O_RDWR | os.O_NOCTTY))
        except OSError as exc:
            return f"no terminal ({self.tty}: {exc.strerror})"
        return None

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        try:
            fd = os.open(self.tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise OperatorUnavailable(
                f"operator action needed but nobody can answer: no terminal ({self.tty}: {exc.strerror}); "
                f"prompt: {instruction} (use --operator file:PATH or --operator web)") from None
        started = time.monotonic()
        try:
            if os.isatty(fd):
                termios.tcflush(fd, termios.TCIFLUSH)  # a key pressed before the prompt is not its answer
            os.write(fd, (f"\r\n>>> OPERATOR: {instruction}\r\n>>> press Enter when done, or type 'fail' and Enter "
                          f"if you cannot ({timeout:g} s): ").encode())
            line = b""
            deadline = started + timeout
            while b"\n" not in line and b"\r" not in line:
                if time.monotonic() >= deadline:
                    os.write(fd, b"\r\n>>> (no answer: timed out)\r\n")
                    raise _timed_out(self.channel, instruction, timeout)
                try:
                    chunk = os.read(fd, 1024)
                except BlockingIOError:
                    await asyncio.sleep(_POLL_S)
                    continue
                if not chunk:  # the terminal hung up
                    raise OperatorUnavailable(f"the terminal closed while waiting for: {instruction}")
                line += chunk
        finally:
            os.close(fd)
        return _check_answer(self.channel, line.decode(errors="replace"), instruction, started)


class FileOperator:
    """Appends each prompt to `path` as a JSON line and waits for `<id> [answer]` (or JSON) in `path`.answers."""

    channel = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.answers = Path(f"{self.path}.answers")
        self._next_id = 1

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        prompt_id, self._next_id = self._next_id, self._next_id + 1
        started = time.monotonic()
        offset = self.answers.stat().st_size if self.answers.exists() else 0  # answers from before do not count
        record: dict[str, Any] = {"id": prompt_id, "prompt": instruction, "timeout_s": timeout,
                                  "answer_to": str(self.answers), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if action is not None:
            record["action"] = asdict(action)
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise OperatorUnavailable(f"cannot write the operator prompt file {self.path}: {exc.strerror}; "
                                      f"prompt: {instruction}") from None
        deadline = started + timeout
        while time.monotonic() < deadline:
            text = self._answer(prompt_id, offset)
            if text is not None:
                return _check_answer(self.channel, text, instruction, started)
            await asyncio.sleep(_POLL_S * 2)
        raise _timed_out(self.channel, instruction, timeout)

    def _answer(self, prompt_id: int, offset: int) -> str | None:
        try:
            with self.answers.open("rb") as src:
                src.seek(offset)
                lines = src.read().decode(errors="replace").splitlines()
        except FileNotFoundError:
            return None
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                if data.get("id") == prompt_id:
                    return str(data.get("answer", ""))
                continue
            head, _, rest = line.partition(" ")
            if head == str(prompt_id):
                return rest
        return None


class UnattendedOperator:
    """Nobody is there (CI, no terminal): every prompt fails at once with the prompt and how to give it a channel."""

    channel = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        raise OperatorUnavailable(f"operator action needed but nobody can answer ({self.reason}): {instruction} "
                                  "(run from a terminal, or use --operator file:PATH or --operator web)")


class ConsoleOperator:
    """Prints the instruction on a stream and waits for Enter on another (a plain script, not under pytest)."""

    channel = "console"

    def __init__(self, stream_in: TextIO = sys.stdin, stream_out: TextIO = sys.stdout) -> None:
        self._in = stream_in
        self._out = stream_out

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        if not self._in.isatty():
            raise OperatorUnavailable(
                f"operator action needed but nobody can answer (stdin is not a terminal): {instruction}")
        started = time.monotonic()
        self._out.write(f"\n>>> OPERATOR: {instruction}\n>>> press Enter when done ({timeout:.0f} s) ")
        self._out.flush()
        loop = asyncio.get_running_loop()
        try:
            line = await asyncio.wait_for(loop.run_in_executor(None, self._in.readline), timeout)
        except TimeoutError:
            raise _timed_out(self.channel, instruction, timeout) from None
        return _check_answer(self.channel, line, instruction, started)


class ScriptedOperator:
    """For emulated rigs and tests: records each instruction and performs a scripted action for it."""

    channel = "scripted"

    def __init__(self, action: Callable[[str], Awaitable[None] | None] | None = None) -> None:
        self.instructions: list[str] = []
        self.actions: list[OperatorAction | None] = []
        self._action = action

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        started = time.monotonic()
        self.instructions.append(instruction)
        self.actions.append(action)
        if self._action is not None:
            result = self._action(instruction)
            if result is not None:
                await asyncio.wait_for(result, timeout)
        return OperatorAnswer(self.channel, "", round(time.monotonic() - started, 3))


class RecordedOperator:
    """Puts every prompt, and the answer or failure, on a timeline (anything with `record(kind, **fields)`)."""

    def __init__(self, inner: Operator, timeline: Any) -> None:
        self.inner = inner
        self.timeline = timeline

    @property
    def channel(self) -> str:
        return str(getattr(self.inner, "channel", type(self.inner).__name__))

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer | None:
        fields: dict[str, Any] = {"instruction": instruction, "channel": self.channel, "timeout_s": timeout}
        if action is not None:
            fields.update(action=action.verb, device=action.eui64 or action.device)
        self.timeline.record("operator.prompt", **fields)
        try:
            answer = await self.inner.instruct(instruction, timeout=timeout, action=action)
        except RigError as exc:
            self.timeline.record("operator.failed", instruction=instruction, channel=self.channel,
                                 reason=str(exc))
            raise
        self.timeline.record("operator.answer", instruction=instruction, channel=self.channel,
                             answer=answer.text if answer else "", waited_s=answer.waited_s if answer else None)
        return answer


# --- choosing a channel ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorChannel:
    """A parsed `--operator` / rig `operator:` value."""

    kind: str
    path: str | None = None  # file
    port: int | None = None  # web
    url: str | None = None  # emulated: the emulator's control port

    def describe(self) -> str:
        extra = self.path or (str(self.port) if self.port is not None else None) or self.url
        return f"{self.kind}:{extra}" if extra else self.kind


def parse_operator_channel(text: str, *, where: str = "--operator") -> OperatorChannel:
    """`auto`, `terminal`, `file:PATH`, `web`, `web:PORT` or `emulated:tcp://HOST:PORT`; an error names `where`."""
    from harness.errors import InputError

    kind, sep, arg = str(text).strip().partition(":")
    if kind not in CHANNELS:
        raise InputError(f"{text!r} is not an operator channel (expected auto, terminal, file:PATH, web[:PORT] "
                         "or emulated:tcp://HOST:PORT)", where=where)
    if kind in ("auto", "terminal"):
        if sep:
            raise InputError(f"{kind!r} takes no argument, got {text!r}", where=where)
        return OperatorChannel(kind)
    if kind == "file":
        if not arg:
            raise InputError("file needs a path (file:PATH)", where=where)
        return OperatorChannel(kind, path=arg)
    if kind == "web":
        if not arg:
            return OperatorChannel(kind, port=DEFAULT_WEB_PORT)
        if not arg.isdigit() or not 0 < int(arg) < 65536:
            raise InputError(f"web port {arg!r} is not 1..65535", where=where)
        return OperatorChannel(kind, port=int(arg))
    from harness.drivers.operator_emulated import parse_control_url

    return OperatorChannel(kind, url=parse_control_url(arg, where=where))


def where_prompts_go(channel: OperatorChannel) -> str:
    """One line for the person starting a run: where to look for prompts and how to answer them."""
    if channel.kind == "file":
        return f"operator prompts: appended to {channel.path}; answer with a line `<id> done` in {channel.path}.answers"
    if channel.kind == "web":
        return f"operator prompts: open http://127.0.0.1:{channel.port}/ and keep it open"
    if channel.kind == "emulated":
        return f"operator prompts: answered automatically by the emulator at {channel.url}"
    if channel.kind == "terminal":
        return "operator prompts: on this terminal"
    return "operator prompts: on this terminal if there is one, else a prompt fails the scenario at once"


def make_operator(channel: OperatorChannel) -> Any:
    """The operator for a channel. `auto` is the terminal when one can be opened, else an unattended operator."""
    if channel.kind == "terminal":
        return TerminalOperator()
    if channel.kind == "file":
        assert channel.path is not None
        return FileOperator(channel.path)
    if channel.kind == "web":
        from harness.drivers.operator_web import WebOperator

        assert channel.port is not None
        return WebOperator(port=channel.port)
    if channel.kind == "emulated":
        from harness.drivers.operator_emulated import EmulatedHandsOperator

        assert channel.url is not None
        return EmulatedHandsOperator(channel.url)
    terminal = TerminalOperator()
    why = terminal.available()
    return terminal if why is None else UnattendedOperator(why)
