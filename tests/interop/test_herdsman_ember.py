"""zigbee-herdsman's `ember` adapter (the EZSP host under Zigbee2MQTT) drives `smets2-harness emulate ncp` as it
drives a Silicon Labs stick: start, form, add an install code, permit, and the emulated ESME joins and answers a
ZDO request over the encrypted network; a wrong install code does not join. herdsman is independent of bellows,
so every answer the emulator gives is checked by a second implementation of the host side (docs/emulated-ncp.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulation.ncp_helpers import start_emulator, stop_emulator
from tests.interop.herdsman import event, require_herdsman, run_herdsman_host

pytestmark = pytest.mark.timeout(180)

ESME_EUI64 = "00-0D-6F-00-0A-BC-DE-F0"
ESME_IEEE = "0x000d6f000abcdef0"  # herdsman's spelling
# ZigBee install-code test vector (research/vectors.md 1.1), with its CRC.
ESME_INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"
WRONG_INSTALL_CODE = "83FED3407A939723A5C639B26916D505AAAA"
ROUTER = 1  # ZDO node descriptor logical type


async def _serve_and_drive(tmp_path: Path, version: int, transport: str, code: str, expect: str, wait_s: float):
    node = require_herdsman()
    where = ["--listen", "tcp://127.0.0.1:0"] if transport == "tcp" else ["--pty"]
    proc, port = await start_emulator(
        *where, "--ezsp", str(version), "--strict", "--device", f"esme:{ESME_EUI64}:{ESME_INSTALL_CODE}",
    )  # fmt: skip
    try:
        events = await run_herdsman_host(node, port, tmp_path, eui64=ESME_IEEE, install_code=code,
                                         expect=expect, wait_s=wait_s)  # fmt: skip
    finally:
        code_, out = await stop_emulator(proc)
    assert code_ == 0, f"the emulator exited {code_} (strict mode: a command without handler?)\n{out}"
    return events


@pytest.mark.parametrize("transport", ["tcp", "pty"])
@pytest.mark.parametrize("version", [13, 14])
async def test_herdsman_forms_and_an_install_code_esme_joins_and_answers_zdo(tmp_path, version, transport):
    events = await _serve_and_drive(tmp_path, version, transport, ESME_INSTALL_CODE, "join", wait_s=60)
    started = event(events, "started")
    assert started["result"] == "reset"  # a fresh NCP: herdsman formed the network itself
    assert started["version"]["ezsp"] == version
    assert event(events, "coordinator")["network"]["channel"] == 15
    announced = event(events, "device_announced")
    assert announced is not None and announced["ieee"] == ESME_IEEE, events
    # The answer to a request sent after the join, over the network key: the ESME really is on the network.
    rsp = event(events, "zdo_response")
    assert rsp is not None, events
    assert rsp["cluster"] == "NODE_DESCRIPTOR_RESPONSE"
    assert rsp["status"] == 0 and rsp["nwk"] == announced["nwk"] and rsp["logical_type"] == ROUTER
    endpoints = [e for e in events if e["event"] == "zdo_response" and e["cluster"] == "ACTIVE_ENDPOINTS_RESPONSE"]
    assert endpoints and endpoints[0]["status"] == 0 and endpoints[0]["endpoints"], events  # the ESME's SE endpoint


async def test_herdsman_with_a_wrong_install_code_sees_no_join(tmp_path):
    events = await _serve_and_drive(tmp_path, 13, "tcp", WRONG_INSTALL_CODE, "nojoin", wait_s=8)
    assert event(events, "install_code_added") is not None
    assert event(events, "no_join") is not None, events
    assert event(events, "device_announced") is None and event(events, "zdo_response") is None


async def test_herdsman_resumes_the_network_the_emulator_kept(tmp_path):
    """A second herdsman session finds the formed network in NV (networkInit), as on a stick after a restart,
    and each session's coordinator backup (getNetworkKeyInfo, exportKey, exportLinkKeyByIndex) reads it back."""
    node = require_herdsman()
    proc, port = await start_emulator("--listen", "tcp://127.0.0.1:0", "--ezsp", "14", "--strict")
    try:
        first = await run_herdsman_host(node, port, tmp_path, eui64=ESME_IEEE, install_code=ESME_INSTALL_CODE,
                                        expect="resume", wait_s=5)  # fmt: skip
        second = await run_herdsman_host(node, port, tmp_path, eui64=ESME_IEEE, install_code=ESME_INSTALL_CODE,
                                         expect="resume", wait_s=5)  # fmt: skip
    finally:
        code, out = await stop_emulator(proc)
    assert code == 0, out
    assert event(first, "started")["result"] == "reset" and event(second, "started")["result"] == "resumed"
    assert event(second, "coordinator")["network"] == event(first, "coordinator")["network"]
    # herdsman's backup (what Zigbee2MQTT takes on every start) reads back the network and its key.
    for run in (first, second):
        backup = event(run, "backup")
        assert backup == {"event": "backup", "pan_id": 0x1A62, "channel": 15, "network_key_sequence": 0,
                          "network_key_is_ours": True, "devices": 0}  # fmt: skip


def test_a_missing_herdsman_fails_under_require_and_skips_otherwise(tmp_path, monkeypatch):
    from tests.interop import herdsman

    monkeypatch.setattr(herdsman, "HERDSMAN_DIR", tmp_path / "absent")
    monkeypatch.setenv(herdsman.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="SMETS2_REQUIRE_HERDSMAN=1"):
        herdsman.require_herdsman()
    monkeypatch.delenv(herdsman.REQUIRE_ENV)
    with pytest.raises(pytest.skip.Exception, match="make herdsman"):
        herdsman.require_herdsman()
