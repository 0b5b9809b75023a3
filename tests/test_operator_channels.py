"""Operator channels: the terminal (a real pty standing in for /dev/tty), the prompt file, the web page (real HTTP
on loopback), the automatic operator through a real control port on emulated devices, and the unattended case."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request

import pytest

from harness.drivers.operator import (
    FileOperator,
    OperatorAction,
    OperatorDeclined,
    OperatorTimeout,
    OperatorUnavailable,
    RecordedOperator,
    TerminalOperator,
    UnattendedOperator,
    make_operator,
    parse_operator_channel,
)
from harness.drivers.operator_web import WebOperator
from harness.errors import InputError
from harness.evidence.timeline import Timeline

PROMPT = "hold the ESME's join button for 1 s"


async def _read_until(master: int, marker: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while marker not in seen:
        assert loop.time() < deadline, f"never saw {marker!r}; got {seen!r}"
        try:
            seen += os.read(master, 4096)
        except BlockingIOError:
            await asyncio.sleep(0.02)
    return seen


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    os.set_blocking(master, False)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def test_terminal_operator_shows_the_prompt_and_takes_the_answer(pty_pair):
    master, tty = pty_pair
    task = asyncio.create_task(TerminalOperator(tty).instruct(PROMPT, timeout=10))
    shown = await _read_until(master, b"press Enter")
    assert PROMPT.encode() in shown
    os.write(master, b"pressed it\n")
    answer = await task
    assert answer.channel == "terminal" and answer.text == "pressed it"


async def test_terminal_operator_fail_answer_and_timeout(pty_pair):
    master, tty = pty_pair
    task = asyncio.create_task(TerminalOperator(tty).instruct(PROMPT, timeout=10))
    await _read_until(master, b"press Enter")
    os.write(master, b"fail: no LED\n")
    with pytest.raises(OperatorDeclined, match="fail: no LED.*join button"):
        await task
    with pytest.raises(OperatorTimeout, match=r"within 0.3 s \(terminal\): hold the ESME"):
        await TerminalOperator(tty).instruct(PROMPT, timeout=0.3)


async def test_no_terminal_fails_at_once_naming_the_prompt(tmp_path):
    missing = TerminalOperator(str(tmp_path / "no-tty"))
    assert "no terminal" in (missing.available() or "")
    with pytest.raises(OperatorUnavailable, match="nobody can answer.*hold the ESME's join button"):
        await asyncio.wait_for(missing.instruct(PROMPT, timeout=60), 5)
    with pytest.raises(OperatorUnavailable, match="nobody can answer \\(CI\\): hold the ESME"):
        await asyncio.wait_for(UnattendedOperator("CI").instruct(PROMPT, timeout=60), 5)


async def test_file_operator_prompt_line_and_answer_line(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    (tmp_path / "prompts.jsonl.answers").write_text("1 an answer from before the prompt\n")
    op = FileOperator(prompts)
    task = asyncio.create_task(op.instruct(PROMPT, timeout=10, action=OperatorAction("join", "esme", "00-11")))
    for _ in range(200):
        if prompts.exists() and prompts.read_text():
            break
        await asyncio.sleep(0.02)
    [line] = prompts.read_text().splitlines()
    record = json.loads(line)
    assert record["prompt"] == PROMPT and record["id"] == 1 and record["action"]["verb"] == "join"
    await asyncio.sleep(0.3)
    assert not task.done()  # the stale line does not count
    with (tmp_path / "prompts.jsonl.answers").open("a") as out:
        out.write('{"id": 1, "answer": "done, LED flashing"}\n')
    assert (await task).text == "done, LED flashing"
    with pytest.raises(OperatorTimeout, match="within 0.3 s"):
        await op.instruct("second prompt", timeout=0.3)


def _http(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_web_operator_page_shows_the_prompt_and_a_post_answers_it():
    op = WebOperator(port=0)
    loop = asyncio.get_running_loop()
    try:
        status, page = await loop.run_in_executor(None, _http, op.url)
        assert status == 200 and "Nothing to do" in page
        task = asyncio.create_task(op.instruct(PROMPT, timeout=10))
        await asyncio.sleep(0.1)
        status, page = await loop.run_in_executor(None, _http, op.url)
        assert "hold the ESME&#x27;s join button" in page and "Done" in page
        current = json.loads((await loop.run_in_executor(None, _http, op.url + "prompt"))[1])
        stale = await loop.run_in_executor(None, _http, op.url + "answer", f"id={current['id'] + 5}&answer=done".encode())
        assert stale[0] == 409
        await loop.run_in_executor(None, _http, op.url + "answer", f"id={current['id']}&answer=done&note=ok".encode())
        answer = await task
        assert answer.channel == "web" and answer.text == "done ok"
        task = asyncio.create_task(op.instruct("switch ON the ESME", timeout=10))
        await asyncio.sleep(0.1)
        current = json.loads((await loop.run_in_executor(None, _http, op.url + "prompt"))[1])
        await loop.run_in_executor(None, _http, op.url + "answer", f"id={current['id']}&answer=fail".encode())
        with pytest.raises(OperatorDeclined, match="switch ON the ESME"):
            await task
    finally:
        op.close()


async def test_emulated_hands_press_the_button_and_switch_power_on_a_real_emulated_device():
    from harness.emulation.control_port import ControlPort
    from harness.emulation.network import DeviceSpec, EmulatedHan

    han = EmulatedHan([DeviceSpec("esme", "00:0d:6f:00:00:00:00:01", "83FED3407A939723A5C639B26916D505")])
    port = ControlPort(han.devices)
    await port.start()
    try:
        op = make_operator(parse_operator_channel(f"emulated:{port.url}"))
        off = await op.instruct("switch OFF the ESME", timeout=5,
                                action=OperatorAction("power_off", "esme", "00-0D-6F-00-00-00-00-01"))
        assert off.text == "ok powered=no joined=no"
        pressed = await op.instruct("press join", timeout=5,
                                    action=OperatorAction("join", "esme", "00-0D-6F-00-00-00-00-01"))
        assert pressed.text.startswith("ok powered=yes")
        assert han.device("00:0d:6f:00:00:00:00:01").powered
        with pytest.raises(Exception, match="no emulated device"):
            await op.instruct("x", timeout=5, action=OperatorAction("join", "gsme", "00-0D-6F-00-00-00-00-09"))
        with pytest.raises(OperatorUnavailable, match="cannot do: read the LCD"):
            await op.instruct("read the LCD", timeout=5)
    finally:
        await port.close()
        await han.close()


async def test_recorded_operator_puts_prompt_and_answer_on_the_timeline(tmp_path, pty_pair):
    master, tty = pty_pair
    timeline = Timeline(tmp_path / "timeline.jsonl")
    op = RecordedOperator(TerminalOperator(tty), timeline)
    task = asyncio.create_task(op.instruct(PROMPT, timeout=10, action=OperatorAction("join", "esme", "00-0D")))
    await _read_until(master, b"press Enter")
    os.write(master, b"\n")
    await task
    with pytest.raises(OperatorUnavailable):
        await RecordedOperator(UnattendedOperator("CI"), timeline).instruct("second", timeout=5)
    timeline.close()
    events = [json.loads(line) for line in (tmp_path / "timeline.jsonl").read_text().splitlines()]
    kinds = [(e["kind"], e.get("channel")) for e in events]
    assert kinds == [("operator.prompt", "terminal"), ("operator.answer", "terminal"),
                     ("operator.prompt", "none"), ("operator.failed", "none")]
    assert events[0]["action"] == "join" and events[0]["device"] == "00-0D" and events[1]["answer"] == ""


@pytest.mark.parametrize("text, message", [
    ("telepathy", "not an operator channel"), ("file", "needs a path"), ("web:99999", "not 1..65535"),
    ("terminal:x", "takes no argument"), ("emulated:http://x", "not tcp://HOST:PORT"),
])
def test_bad_operator_channels_name_the_option(text, message):
    with pytest.raises(InputError, match=f"--operator: .*{message}"):
        parse_operator_channel(text)


def test_operator_channel_forms():
    assert parse_operator_channel("web").port == 8765
    assert parse_operator_channel("web:9000").port == 9000
    assert parse_operator_channel("file:/tmp/p.jsonl").path == "/tmp/p.jsonl"
    assert parse_operator_channel("emulated:tcp://127.0.0.1:5000").url == "tcp://127.0.0.1:5000"
