"""`smets2-harness rig check`: what a lab engineer sees before a run.

The coordinator is opened with unmodified bellows; where a test needs a stick that answers, the emulated NCP
serves one over tcp:// or a pty from a thread of its own, exactly as a ser2net bridge or a USB stick would.
EZSP 13 = EmberZNet 7.4.x and EZSP 8 = 6.7.x come from research/ezsp.md 1.3.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.drivers.probe import probe_ncp
from harness.emulation.ncp import EmulatedNcp, NvState, serve_ncp
from harness.errors import LinkError, RigError
from harness.zigbee.cbke.certificate import CertificateAuthority, DeviceCredentials

RIGS = Path(__file__).resolve().parents[1] / "rigs"
STICK_PORT = "/dev/serial/by-id/usb-Silicon_Labs_CP2102N_USB_to_UART_Bridge_Controller_0001-if00-port0"
SPEC_CODE = "83FED3407A939723A5C639B26916D505"  # research/vectors.md 1.2, CRC C3B5
STICK_EUI64 = "00:0D:6F:00:11:22:33:44"
LAB_CA = CertificateAuthority.generate(bytes.fromhex("4C41424341303031"))  # "LABCA001"
STICK_CBKE = LAB_CA.issue(bytes.fromhex("000D6F0011223344"), valid_from=0)  # subject: the stick's EUI-64


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["rig", "check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def line_for(out: str, item: str) -> str:
    lines = [line for line in out.splitlines() if line.split(" ", 1)[-1].startswith(f"{item}:")]
    assert len(lines) == 1, out
    return lines[0]


@contextlib.contextmanager
def stick(kind: str = "tcp", *, version: int = 13, nv: NvState | None = None, cbke: DeviceCredentials | None = None,
          cbke_library: bool = True) -> Iterator[tuple[str, EmulatedNcp]]:
    """An emulated NCP served from its own thread and event loop, like a stick on another end of a cable; with
    `cbke`, suite-2 CBKE data in its manufacturing tokens, as an SE stick from the factory."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        box["stop"] = asyncio.Event()
        ncp = EmulatedNcp(version, eui64=STICK_EUI64, strict=True, nv=nv)
        ncp.cbke_library = cbke_library
        if cbke is not None:
            ncp.install_cbke_data(cbke)
        async with serve_ncp(ncp, kind) as url:  # type: ignore[arg-type]
            box["url"], box["ncp"] = url, ncp
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "emulated NCP did not start"
    try:
        yield box["url"], box["ncp"]
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()


def formed_network() -> NvState:
    return NvState(formed=True, channel=15, pan_id=0x1A2B, extended_pan_id="00:0D:6F:00:11:22:33:44",
                   node_id=0x0000, network_key="01" * 16)


def serial_rig(tmp_path: Path, port: str, *, install_code: str = "{env: ESME_INSTALL_CODE}", connect: float = 10,
               power: str = "{kind: manual}") -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(f"""\
name: bench
coordinator:
  kind: serial
  port: {port}
  flow_control: software
hub:
  kind: harness
  eui64: 00-0D-6F-00-11-22-33-44
timeouts:
  connect: {connect}
devices:
  esme:
    kind: real
    eui64: 00-0D-6F-00-0A-BC-DE-F0
    install_code: {install_code}
    power: {power}
""")
    return path


# --- the default emulated rig ---------------------------------------------------------------------------------


def test_emulated_rig_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(RIGS / "emulated.yaml"))
    assert code == 0, out
    coordinator = line_for(out, "coordinator")
    assert coordinator.startswith("PASS coordinator: EZSP 13, stack 7.4.")
    assert "EUI-64 00-DB-12-34-56-78-90-A2" in coordinator  # the emulated NCP is the hub's radio
    assert "no network" in coordinator
    for role, eui in (("esme", "00-DB-12-34-56-78-90-A0"), ("gsme", "00-DB-12-34-56-78-90-B1"),
                      ("ihd", "00-DB-12-34-56-78-90-C2")):
        line = line_for(out, role)
        assert line.startswith(f"PASS {role}: emulated {role.upper()}, EUI-64 {eui}")
        assert "install code OK (16 bytes + CRC, source inline)" in line
    assert line_for(out, "hub").startswith("PASS hub:")
    assert line_for(out, "coordinator.cbke").startswith("PASS coordinator.cbke: emulated NCP: each bench run installs "
                                                        "suite-2 CBKE data from a per-run test CA")
    assert line_for(out, "coordinator.ezsp_config") == ("PASS coordinator.ezsp_config: in force as the rig asks: "
                                                        "CONFIG_MULTICAST_TABLE_SIZE 0")
    assert out.rstrip().endswith("7 passed, 0 failed")


def test_an_ezsp_config_value_the_ncp_refuses_fails_naming_it(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The probe writes the rig's values as bellows would and reads them back: one the NCP does not take fails
    (the emulated NCP, like a real one, refuses a key table it will not allocate)."""
    text = (RIGS / "emulated.yaml").read_text().replace(
        "    CONFIG_MULTICAST_TABLE_SIZE: 0\n",
        "    CONFIG_MULTICAST_TABLE_SIZE: 0\n    CONFIG_KEY_TABLE_SIZE: 300\n    CONFIG_PACKET_BUFFER_COUNT: null\n")
    rig = tmp_path / "emulated.yaml"
    rig.write_text(text)
    code, out, _ = run(capsys, str(rig))
    assert code != 0, out
    assert line_for(out, "coordinator.ezsp_config") == (
        "FAIL coordinator.ezsp_config: CONFIG_KEY_TABLE_SIZE: the rig asks for 300, the NCP holds 4 (lower it in the "
        "rig, or use firmware built with more: EmberZNet 7.x cannot raise a table at run time; docs/rigs.md)")
    assert line_for(out, "coordinator").startswith("PASS coordinator: EZSP 13")


def test_install_codes_are_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    for args in ((str(RIGS / "emulated.yaml"),), (str(RIGS / "emulated.yaml"), "--json")):
        _, out, err = run(capsys, *args)
        for secret in (SPEC_CODE, "30313233343536373839414243444546", "0F1E2D3C4B5A69788796A5B4C3D2E1F0"):
            assert secret not in out and secret not in err


@pytest.mark.parametrize(("version", "stack"), [(8, "6.7."), (14, None), (18, None)])
@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_emulated_versions_and_transports(tmp_path: Path, capsys: pytest.CaptureFixture[str], version: int,
                                          stack: str | None, transport: str) -> None:
    text = (RIGS / "emulated.yaml").read_text()
    text = text.replace("ezsp_version: 13", f"ezsp_version: {version}").replace("transport: pty",
                                                                                f"transport: {transport}")
    rig = tmp_path / "emulated.yaml"
    rig.write_text(text)
    code, out, _ = run(capsys, str(rig))
    assert code == 0, out
    coordinator = line_for(out, "coordinator")
    assert coordinator.startswith(f"PASS coordinator: EZSP {version}, stack {stack or ''}")
    assert f"emulated NCP over {transport}" in coordinator


# --- a real-bench rig on a machine without the stick ------------------------------------------------------------


def test_stick_example_fails_naming_the_missing_port(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if os.path.exists(STICK_PORT):
        pytest.skip("this machine has the example's stick plugged in")
    monkeypatch.delenv("ESME_INSTALL_CODE", raising=False)
    code, out, _ = run(capsys, str(RIGS / "ezsp-stick.example.yaml"))
    assert code == 1
    assert line_for(out, "coordinator").startswith(f"FAIL coordinator: port {STICK_PORT} does not exist")
    assert line_for(out, "coordinator.port").startswith("PASS coordinator.port:")  # the by-id name itself is right
    assert "environment variable ESME_INSTALL_CODE is not set" in line_for(out, "esme")
    assert line_for(out, "esme").startswith("FAIL esme:")


def test_unset_env_variable_fails_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESME_INSTALL_CODE", raising=False)
    with stick() as (url, _):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)))
    assert code == 1
    assert line_for(out, "coordinator").startswith("PASS coordinator: EZSP 13")
    esme = line_for(out, "esme")
    assert esme.startswith("FAIL esme: real ESME, EUI-64 00-0D-6F-00-0A-BC-DE-F0")
    assert "install code from env:ESME_INSTALL_CODE: environment variable ESME_INSTALL_CODE is not set" in esme


def test_real_bench_passes_through_a_tcp_bridge(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    with stick(nv=formed_network(), cbke=STICK_CBKE) as (url, ncp):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)))
    assert code == 0, out
    assert line_for(out, "coordinator.cbke") == (
        "PASS coordinator.cbke: suite-2 (sect283k1) CBKE data: certificate issuer 4C41424341303031, "
        "subject 000D6F0011223344, no expiry")
    assert line_for(out, "coordinator.port") == f"PASS coordinator.port: {url} (network serial port)"
    assert re.fullmatch(r"PASS coordinator: EZSP 13, stack 7\.4\.\d+\.\d+ build \d+, "
                        rf"EUI-64 00-0D-6F-00-11-22-33-44, channel 15 \({re.escape(url)}\)",
                        line_for(out, "coordinator"))
    esme = line_for(out, "esme")
    assert "install code OK (16 bytes + CRC, source env:ESME_INSTALL_CODE)" in esme and SPEC_CODE not in out
    assert "power manual" in esme
    ncp.check()  # the probe used only commands the emulator models (strict)


def test_bad_install_code_from_env_fails_without_showing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE + "B5C3")  # the spec CRC with its bytes swapped
    code, out, _ = run(capsys, str(serial_rig(tmp_path, "tcp://127.0.0.1:9")))
    assert code == 1
    esme = line_for(out, "esme")
    assert "install code from env:ESME_INSTALL_CODE: CRC given B5C3 but computed C3B5" in esme
    assert SPEC_CODE not in out


def test_missing_install_code_file_fails_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(serial_rig(tmp_path, "tcp://127.0.0.1:9", install_code="{file: esme.ic}")))
    assert code == 1
    assert f"install code from file:esme.ic: cannot read {tmp_path / 'esme.ic'}: No such file" in line_for(out, "esme")


def test_missing_power_program_fails_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    power = "{kind: command, on: 'no-such-relayctl 3 on', off: 'true'}"
    code, out, _ = run(capsys, str(serial_rig(tmp_path, "tcp://127.0.0.1:9", power=power)))
    assert code == 1
    esme = line_for(out, "esme")
    assert "power.on: program 'no-such-relayctl' not found on PATH" in esme and "power.off" not in esme


# --- ports --------------------------------------------------------------------------------------------------------


def test_bare_tty_usb_name_is_a_warning_level_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    code, out, _ = run(capsys, str(serial_rig(tmp_path, "/dev/ttyUSB7")))
    assert code == 1
    port = line_for(out, "coordinator.port")
    assert port.startswith("FAIL coordinator.port: /dev/ttyUSB7 is not a stable name (warning)")
    assert "replug" in port and "/dev/serial/by-id/" in port
    if not os.path.exists("/dev/ttyUSB7"):
        assert line_for(out, "coordinator").startswith("FAIL coordinator: port /dev/ttyUSB7 does not exist")


def test_pty_name_fails_even_when_the_ncp_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The coordinator works, but its name won't survive: the check as a whole must not pass.
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    with stick("pty") as (path, _):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, path)))
    assert code == 1
    assert line_for(out, "coordinator").startswith("PASS coordinator: EZSP 13")
    assert line_for(out, "coordinator.port").startswith(f"FAIL coordinator.port: {path} is not a stable name")


def test_silent_port_fails_within_the_connect_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    master, slave = os.openpty()  # a port with nothing behind it: RST is never answered
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        code, out, _ = run(capsys, str(serial_rig(tmp_path, path, connect=0.5)))
    finally:
        os.close(master)
        os.close(slave)
    assert code == 1
    coordinator = line_for(out, "coordinator")
    assert coordinator.startswith(f"FAIL coordinator: no EZSP answer from {path}")
    assert "within 0.5 s" in coordinator and "baud rate (115200)" in coordinator


def test_refused_tcp_bridge_names_the_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with stick() as (url, _):
        pass  # the bridge is gone again: its port now refuses connections
    code, out, _ = run(capsys, str(serial_rig(tmp_path, url)))
    assert code == 1
    assert line_for(out, "coordinator").startswith(f"FAIL coordinator: cannot connect to {url}: connection refused")


# --- rig files that do not load -----------------------------------------------------------------------------------


def test_broken_rig_file_exits_2_with_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = tmp_path / "broken.yaml"
    rig.write_text((RIGS / "emulated.yaml").read_text().replace(
        "    eui64: 00-DB-12-34-56-78-90-B1", "    eui64: 00-DB-12"))
    line = next(n for n, text in enumerate(rig.read_text().splitlines(), 1) if "00-DB-12\n" in text + "\n")
    code, out, err = run(capsys, str(rig))
    assert code == 2
    assert out == ""
    assert f"{rig}:{line}: devices.gsme.eui64: '00-DB-12' is not an EUI-64" in err


def test_missing_rig_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2 and f"{tmp_path / 'nope.yaml'}: no such rig file" in err


def test_rig_without_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["rig"])
    assert info.value.code == 2


# --- machine-readable ---------------------------------------------------------------------------------------------


def test_json_results_for_a_passing_rig(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(RIGS / "emulated.yaml"), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and report["name"] == "emulated"
    checks = {c["item"]: c for c in report["checks"]}
    assert set(checks) == {"coordinator", "coordinator.cbke", "coordinator.ezsp_config", "hub", "esme", "gsme", "ihd"}
    assert all(c["status"] == "pass" for c in checks.values())
    assert checks["coordinator.ezsp_config"]["details"] == {
        "CONFIG_MULTICAST_TABLE_SIZE": {"requested": 0, "in_force": 0}}
    details = checks["coordinator"]["details"]
    assert details["ezsp_version"] == 13 and details["stack_version"].startswith("7.4.")
    assert details["eui64"] == "00-DB-12-34-56-78-90-A2" and details["network"] is None
    assert checks["esme"]["details"]["install_code_source"] == "inline"


def test_json_results_for_a_failing_rig(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESME_INSTALL_CODE", raising=False)
    with stick(nv=formed_network()) as (url, _):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    checks = {c["item"]: c for c in report["checks"]}
    assert checks["coordinator"]["status"] == "pass"
    assert checks["coordinator"]["details"]["network"]["channel"] == 15
    assert checks["coordinator"]["details"]["network"]["pan_id"] == "0x1A2B"
    assert checks["esme"]["status"] == "fail" and "ESME_INSTALL_CODE" in checks["esme"]["message"]


def test_json_marks_an_unstable_port_as_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(serial_rig(tmp_path, "/dev/ttyACM3")), "--json")
    assert code == 1
    port = next(c for c in json.loads(out)["checks"] if c["item"] == "coordinator.port")
    assert (port["status"], port["severity"]) == ("fail", "warning")


def test_json_for_a_broken_rig_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = tmp_path / "broken.yaml"
    rig.write_text("coordinator: {kind: usb}\nhub: {kind: harness}\ndevices: {}\n")
    code, out, err = run(capsys, str(rig), "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False and report["checks"] == []
    assert report["error"].startswith(f"{rig}:1: coordinator.kind: 'usb' is not one of emulated, serial")
    assert report["error"] in err


# --- CBKE suite 2 on the stick -------------------------------------------------------------------------------------


def test_a_stick_without_cbke_data_fails_for_a_real_meter(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    with stick(nv=formed_network()) as (url, ncp):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)))
    assert code == 1
    line = line_for(out, "coordinator.cbke")
    assert line.startswith("FAIL coordinator.cbke: no suite-2 CBKE data installed (getCertificate283k1: ")
    assert "esme will run CBKE after joining and leave when it fails" in line and line.endswith("(warning)")
    ncp.check()


def test_a_stick_without_the_ecc_library_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    with stick(nv=formed_network(), cbke_library=False) as (url, _):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)), "--json")
    assert code == 1
    check = {c["item"]: c for c in json.loads(out)["checks"]}["coordinator.cbke"]
    assert check["status"] == "fail" and check["severity"] == "warning"
    assert "the NCP firmware has no ECC library (getCertificate283k1: LIBRARY_NOT_PRESENT)" in check["message"]
    assert check["details"]["present"] is False


def test_a_stick_certificate_for_another_device_or_expired_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    other = LAB_CA.issue(bytes.fromhex("000D6F00AABBCCDD"), valid_from=1_000_000, valid_to=3600)
    with stick(nv=formed_network(), cbke=other) as (url, _):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)))
    assert code == 1
    line = line_for(out, "coordinator.cbke")
    assert line.startswith("FAIL coordinator.cbke: suite-2 (sect283k1) CBKE data: certificate issuer 4C41424341303031")
    assert "the certificate's subject 000D6F00AABBCCDD is not this stick's EUI-64 00-0D-6F-00-11-22-33-44" in line
    assert "the certificate expired at 1003600 (Unix time)" in line


def test_the_stick_private_key_is_never_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESME_INSTALL_CODE", SPEC_CODE)
    with stick(nv=formed_network(), cbke=STICK_CBKE) as (url, ncp):
        code, out, _ = run(capsys, str(serial_rig(tmp_path, url)), "--json")
    assert code == 0, out
    assert ncp.commands_named("getCertificate283k1")  # the certificate is public
    asked = [c.params.get("valueId") for c in ncp.commands_named("getValue")]
    assert all("PRIVATE_KEY" not in str(v) for v in asked), asked
    assert STICK_CBKE.private_key_bytes.hex() not in out.lower()


# --- the probe on its own (the bench reuses it for provenance) ----------------------------------------------------


@pytest.mark.parametrize("flow_control", ["software", "hardware", "none"])
async def test_probe_reads_an_ncp_with_any_flow_control(flow_control: str) -> None:
    ncp = EmulatedNcp(13, eui64=STICK_EUI64, strict=True, nv=formed_network())
    async with serve_ncp(ncp, "pty") as path:
        info = await probe_ncp(path, baudrate=460800, flow_control=flow_control, timeout=10)
    ncp.check()
    assert (info.ezsp_version, info.eui64, info.port) == (13, "00-0D-6F-00-11-22-33-44", path)
    assert info.stack_version.startswith("7.4.")
    assert info.network is not None and (info.network.channel, info.network.node_type) == (15, "COORDINATOR")
    assert info.summary().endswith("channel 15")


async def test_probe_errors_are_the_harness_own_and_name_the_port() -> None:
    with pytest.raises(RigError, match="port /dev/serial/by-id/usb-nothing-here does not exist"):
        await probe_ncp("/dev/serial/by-id/usb-nothing-here", timeout=5)
    with stick() as (url, _):
        pass
    with pytest.raises(LinkError, match=re.escape(url)):
        await probe_ncp(url, timeout=5)
    with pytest.raises(ValueError, match="flow_control 'xon'"):
        await probe_ncp(url, flow_control="xon")
