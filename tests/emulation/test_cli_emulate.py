"""`smets2-harness emulate ncp` as a user runs it: a separate process that bellows connects to over tcp://."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import subprocess
import sys
from pathlib import Path

import bellows.types as t
import pytest
import zigpy.types as zt

from tests.emulation.ncp_helpers import CLI, bellows_app, start_emulator, stop_emulator

pytestmark = pytest.mark.timeout(60)

ESME_EUI64 = "00-0D-6F-00-0A-BC-DE-F0"
# ZigBee install-code test vector (research/vectors.md 1.1): code + CRC C3B5 -> this link key.
ESME_INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"
ESME_LINK_KEY = "66B6900981E1EE3CA4206B6B861C02BB"


async def test_bellows_forms_on_the_cli_emulator_and_an_esme_joins(tmp_path: Path):
    nv_file, pcap = tmp_path / "nv.json", tmp_path / "han.pcap"
    proc, url = await start_emulator(
        "--listen", "tcp://127.0.0.1:0", "--ezsp", "13", "--strict",
        "--device", f"esme:{ESME_EUI64}:{ESME_INSTALL_CODE}", "--nv", str(nv_file), "--pcap", str(pcap),
    )  # fmt: skip
    try:
        assert url.startswith("tcp://127.0.0.1:")
        async with bellows_app(url) as app:
            pan_id = app.state.network_info.pan_id
            esme = zt.EUI64.convert(ESME_EUI64.replace("-", ":"))
            # Let bellows' start-up pre_permit restore its TC policy first (ezsp.md 0.3): wait for the task
            # itself rather than sleeping past its 2 s, which a loaded machine may overrun.
            pre_permit = [task for task in app._tasks if task.get_name() == "pre_permit"]
            assert pre_permit, "bellows started no pre_permit task; the ordering this test relies on changed"
            await asyncio.wait(pre_permit, timeout=30)
            await app.permit_with_link_key(esme, t.KeyData(bytes.fromhex(ESME_LINK_KEY)), time_s=60)
            for _ in range(400):  # up to 20 s: two processes share a busy machine
                if esme in app.devices:
                    break
                await asyncio.sleep(0.05)
            assert esme in app.devices
    finally:
        code, out = await stop_emulator(proc)
    assert code == 0, out
    assert "stopped after" in out
    assert ESME_INSTALL_CODE not in out  # secrets stay out of the terminal
    nv = json.loads(nv_file.read_text())
    assert nv["formed"] is True and nv["pan_id"] == pan_id
    assert pcap.stat().st_size > 24  # more than the pcap header: the join is on the capture


def test_cli_version_list_matches_the_codec():
    from harness.commands.emulate import SUPPORTED_VERSIONS as CLI_VERSIONS
    from harness.emulation.ncp.codec import SUPPORTED_VERSIONS

    assert CLI_VERSIONS == SUPPORTED_VERSIONS


async def test_pty_mode_prints_the_slave_path():
    proc, path = await start_emulator("--pty", "--ezsp", "14", "--strict")
    try:
        assert path.startswith("/dev/pts/")
        async with bellows_app(path) as app:
            assert app._ezsp.ezsp_version == 14
    finally:
        code, _ = await stop_emulator(proc)
    assert code == 0


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("meter:00-0D-6F-00-0A-BC-DE-F0:" + ESME_INSTALL_CODE, "kind 'meter'"),
        ("esme:00-0D-6F-00-0A:" + ESME_INSTALL_CODE, "EUI-64"),
        ("gsme:00-0D-6F-00-0A-BC-DE-F0:83FED3407A939723A5C639B26916D505C3B6", "install code"),
    ],
)
def test_bad_device_spec_exits_2_naming_the_bad_part(spec: str, named: str):
    result = subprocess.run(
        [CLI, "emulate", "ncp", "--listen", "tcp://127.0.0.1:0", "--device", spec],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert named in result.stderr and "--device" in result.stderr


def test_port_in_use_and_unwritable_capture_exit_2_without_a_traceback(tmp_path: Path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([CLI, "emulate", "ncp", "--listen", f"tcp://127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=30)
    assert busy.returncode == 2
    assert f"--listen tcp://127.0.0.1:{port}: cannot serve there" in busy.stderr
    assert "Traceback" not in busy.stderr

    capture = tmp_path / "no-such-folder" / "han.pcap"
    unwritable = subprocess.run([CLI, "emulate", "ncp", "--listen", "tcp://127.0.0.1:0", "--pcap", str(capture)],
                                capture_output=True, text=True, timeout=30)
    assert unwritable.returncode == 2
    assert f"--pcap {capture}: cannot write the radio capture: No such file or directory" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


@pytest.mark.parametrize(("delay", "acks"), [("0", True), ("0.02", False)])
async def test_ash_ack_delay_decides_whether_bellows_sees_ack_frames(delay: str, acks: bool, caplog):
    """0: an ACK frame for every command (the old behaviour); UG101's 20 ms: the response's ackNum, no ACK frame."""
    proc, path = await start_emulator("--pty", "--ezsp", "13", "--ash-ack-delay", delay)
    try:
        async with bellows_app(path) as app:
            with caplog.at_level(logging.DEBUG, logger="bellows.ash"):  # one command and its response
                await app._ezsp.getNodeId()
    finally:
        code, _ = await stop_emulator(proc)
    assert code == 0
    received = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Received frame")]
    assert any("DataFrame(" in m for m in received)
    assert any("AckFrame(" in m for m in received) is acks


@pytest.mark.parametrize(("value", "named"), [("-0.5", "'-0.5' is outside 0..0.2 s"), ("0.5", "'0.5' is outside 0..0.2 s"),
                                           ("soon", "'soon' is not a number")])
def test_a_bad_ash_ack_delay_exits_2_naming_the_option(value: str, named: str):
    result = subprocess.run([CLI, "emulate", "ncp", "--listen", "tcp://127.0.0.1:0", "--ash-ack-delay", value],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--ash-ack-delay" in result.stderr and named in result.stderr
