"""`smets2-harness emulate ncp` as a server: it survives hostile hosts and keeps serving the next one, logs each
session event at INFO, refuses non-loopback addresses without --allow-remote, validates --nv / --seed-backup
on load (naming file and field) and writes the key-holding NV file owner-only."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from pathlib import Path

import bellows.types as t
import pytest
import zigpy.exceptions
from bellows.ezsp import EZSP

from tests.emulation.ncp_helpers import CLI, bellows_app, start_emulator, stop_emulator

pytestmark = pytest.mark.timeout(90)


async def _emulator_with_log(tmp_path: Path, *args: str):
    """The CLI emulator with its stderr (the session log) going to a file we can read afterwards."""
    log = tmp_path / "emulator.log"
    stderr = log.open("wb")
    proc = await asyncio.create_subprocess_exec(CLI, "emulate", "ncp", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=stderr)  # fmt: skip
    stderr.close()
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    return proc, line.split("listening on ")[1].split()[0], log


async def test_hostile_hosts_leave_the_emulator_serving_the_next_one(tmp_path: Path):
    nv_file = tmp_path / "nv.json"
    proc, url, log = await _emulator_with_log(tmp_path, "--listen", "tcp://127.0.0.1:0", "--ezsp", "13",
                                              "--strict", "--nv", str(nv_file))  # fmt: skip
    host, port = url.removeprefix("tcp://").split(":")
    try:
        # 1. Garbage on the wire, then a disconnect mid-frame.
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(os.urandom(4096) + b"\x1a\xc0\x38\xbc\x7e" + b"\x00\x7e" * 100 + b"\x42\x21")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        # 2. A real EZSP host (bellows' protocol layer) asks to form on channel 200 and is refused.
        ezsp = EZSP({"path": url, "baudrate": 115200, "flow_control": None})
        await ezsp.connect(use_thread=False)
        try:
            await ezsp.setInitialSecurityState(state=t.EmberInitialSecurityState(
                bitmask=t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY, preconfiguredKey=t.KeyData(b"Z" * 16),
                networkKey=t.KeyData(b"N" * 16), networkKeySequenceNumber=0,
                preconfiguredTrustCenterEui64=t.EUI64([0] * 8)))  # fmt: skip
            bad = t.EmberNetworkParameters(
                extendedPanId=t.ExtendedPanId.convert("11:22:33:44:55:66:77:88"), panId=0x1A62, radioTxPower=8,
                radioChannel=200, joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION, nwkManagerId=0,
                nwkUpdateId=0, channels=t.Channels.ALL_CHANNELS,
            )  # fmt: skip
            with pytest.raises(zigpy.exceptions.FormationFailure):
                await ezsp.formNetwork(bad)
            (state,) = await ezsp.networkState()
            assert state == t.EmberNetworkStatus.NO_NETWORK
            # 3. A second host takes over while the first is still connected.
            async with bellows_app(url) as app:
                assert 11 <= app.state.network_info.channel <= 26
                formed_channel = app.state.network_info.channel
        finally:
            await ezsp.disconnect()
    finally:
        code, out = await stop_emulator(proc)
    assert code == 0, out
    saved = json.loads(nv_file.read_text())
    assert saved["formed"] is True and saved["channel"] == formed_channel  # never 200
    assert stat.S_IMODE(nv_file.stat().st_mode) == 0o600  # it holds the network key
    events = log.read_text()
    for expected in ("connected", "disconnected", "replaces host", "reset by the host", "formNetwork rejected",
                     "network formed on channel"):
        assert expected in events, f"no {expected!r} session event in\n{events}"
    assert (b"N" * 16).hex() not in events and "4e4e4e4e" not in events.lower()  # no key in the log


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "emulate", "ncp", *args], capture_output=True, text=True, timeout=30)


def test_listen_beyond_loopback_needs_allow_remote():
    result = _run("--listen", "tcp://0.0.0.0:0")
    assert result.returncode == 2 and "--listen" in result.stderr and "--allow-remote" in result.stderr


async def test_allow_remote_serves_on_a_non_loopback_address():
    proc, url = await start_emulator("--listen", "tcp://0.0.0.0:0", "--allow-remote")
    try:
        assert url.startswith("tcp://0.0.0.0:")
    finally:
        code, _ = await stop_emulator(proc)
    assert code == 0


GOOD_NV = {"formed": True, "channel": 15, "pan_id": 0x1A62, "extended_pan_id": "11:22:33:44:55:66:77:88",
           "network_key": "01" * 16, "tc_link_key": "5a" * 16}  # fmt: skip


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({**GOOD_NV, "channel": 200}, "channel"),
        ({**GOOD_NV, "pan_id": 0xFFFF}, "pan_id"),
        ({**GOOD_NV, "network_key": "zz"}, "network_key"),
        ({**GOOD_NV, "key_table": [{"eui64": "00:0d:6f:00:0a:bc:de:f0", "key": "123"}]}, "key_table[0]: key"),
        ({**GOOD_NV, "node_id": "0"}, "node_id"),
        ({**GOOD_NV, "surprise": 1}, "surprise"),
        ({**GOOD_NV, "tokens": {"0x1:0": "[" * 20 + "1" + "]" * 20}}, "tokens"),
        ('{"formed": ' + "[" * 40 + "1" + "]" * 40 + "}", "nested"),
        ("[1, 2]", "JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_bad_nv_file_exits_2_naming_the_file_and_field(tmp_path: Path, content, named: str):
    nv_file = tmp_path / "nv.json"
    nv_file.write_text(content if isinstance(content, str) else json.dumps(content))
    result = _run("--listen", "tcp://127.0.0.1:0", "--nv", str(nv_file))
    assert result.returncode == 2, result.stderr
    assert str(nv_file) in result.stderr and named in result.stderr
    assert "Traceback" not in result.stderr and "01010101" not in result.stderr


def test_nv_and_backup_must_be_regular_files_of_bounded_size(tmp_path: Path):
    fifo = tmp_path / "nv.fifo"
    os.mkfifo(fifo)
    result = _run("--listen", "tcp://127.0.0.1:0", "--nv", str(fifo))  # would block forever if opened
    assert result.returncode == 2 and "not a regular file" in result.stderr and str(fifo) in result.stderr
    big = tmp_path / "backup.json"
    big.write_text(" " * (5 << 20) + "{}")
    result = _run("--listen", "tcp://127.0.0.1:0", "--seed-backup", str(big))
    assert result.returncode == 2 and "--seed-backup" in result.stderr and "allowed" in result.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"metadata": {}}))
    result = _run("--listen", "tcp://127.0.0.1:0", "--seed-backup", str(wrong))
    assert result.returncode == 2 and str(wrong) in result.stderr and "backup" in result.stderr
