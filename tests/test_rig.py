"""Rig files (harness/rig.py): the shipped rigs load as written, and every kind of bad input is refused with a
message that names the file, the line, the field and the value, and says what was expected.

Install-code vectors are from research/vectors.md 1.2 (ZigBee spec example and zigpy's tests).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from harness.errors import RigError
from harness.rig import DEFAULT_TIMEOUTS, RigFileError, load_rig, parse_rig

RIGS = Path(__file__).resolve().parents[1] / "rigs"

SPEC_CODE = "83FED3407A939723A5C639B26916D505"  # vectors.md 1.2: CRC C3B5 (LSB first), key 66B6...02BB
SPEC_CRC = "C3B5"
SPEC_KEY = "66B6900981E1EE3CA4206B6B861C02BB"
CODE_8_WITH_CRC = "11223344556677884AF7"  # vectors.md 1.2: key 41618FC0C83B0E14A589954B16E31466
CODE_8_KEY = "41618FC0C83B0E14A589954B16E31466"
# domain.md 4.4: the GB RTDS sample code (ASCII "0123456789ABCDEF"), hashed with its CRC appended or bare.
RTDS_CODE = "30313233343536373839414243444546"
RTDS_KEY_APPEND = "17E92CAAA342C367E8EDDC58EEBA69ED"
RTDS_KEY_NONE = "3528C16449E1C30F62AFD614580B7AD0"

# A real bench: serial stick, two real meters. Tests change one line and look for it in the error.
BASE = """\
name: lab-1
coordinator:
  kind: serial
  port: /dev/serial/by-id/usb-Silicon_Labs_CP2102N-if00-port0
  baudrate: 115200
  flow_control: software
hub:
  kind: harness
  eui64: 00-DB-12-34-56-78-90-A2
install_code_crc_mode: append
timeouts:
  connect: 20
  join: 120
devices:
  esme:
    kind: real
    eui64: 00-0D-6F-00-0A-BC-DE-F0
    install_code: 83FED3407A939723A5C639B26916D505C3B5
  gsme:
    kind: real
    eui64: 00-0D-6F-00-0A-BC-DE-F1
    install_code: {env: GSME_INSTALL_CODE}
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle` (found in the test's own text, not by the loader)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the rig text")


def line_after(text: str, anchor: str, needle: str) -> int:
    """1-based line of the first line containing `needle` after the line containing `anchor`."""
    start = line_of(text, anchor)
    return start + line_of("\n".join(text.splitlines()[start:]), needle)


def change(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def write(tmp_path: Path, text: str, name: str = "lab.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def rig_error(tmp_path: Path, text: str) -> RigFileError:
    path = write(tmp_path, text)
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    return info.value


def assert_names(err: RigFileError, path: Path, line: int | None, field: str, *fragments: str) -> None:
    """The message starts `file:line: field:` and contains the value and what was expected."""
    message = str(err)
    where = f"{path}:{line}" if line else f"{path}"
    assert message.startswith(f"{where}: {field}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert (err.path, err.field_path, err.line) == (str(path), field, line)


# --- the shipped rigs -----------------------------------------------------------------------------------------


def test_emulated_rig_loads_as_written() -> None:
    rig = load_rig(RIGS / "emulated.yaml")
    assert rig.name == "emulated"
    assert rig.is_emulated
    c = rig.coordinator
    assert (c.kind, c.ezsp_version, c.transport, c.strict, c.port) == ("emulated", 13, "pty", True, None)
    assert (rig.hub.kind, rig.hub.eui64, rig.hub.wan) == ("harness", "00-DB-12-34-56-78-90-A2", "emulated")
    assert rig.install_code_crc_mode == "append"
    assert (rig.timeout("connect"), rig.timeout("join"), rig.timeout("commissioning")) == (20, 30, 900)
    assert set(rig.devices) == {"esme", "gsme", "ihd"}
    assert {role: d.eui64 for role, d in rig.devices.items()} == {
        "esme": "00-DB-12-34-56-78-90-A0", "gsme": "00-DB-12-34-56-78-90-B1", "ihd": "00-DB-12-34-56-78-90-C2"}
    assert all(d.kind == "emulated" and d.power.kind == "emulated" for d in rig.devices.values())
    assert [d.install_code.kind for d in rig.devices.values()] == ["inline"] * 3
    # The ESME carries the ZigBee spec example code: in append mode its key is the published one.
    assert rig.install_code("esme").link_key().hex().upper() == SPEC_KEY
    assert rig.install_code("gsme").link_key().hex().upper() == RTDS_KEY_APPEND


def test_timeouts_not_in_the_file_take_the_defaults() -> None:
    rig = load_rig(RIGS / "emulated.yaml")
    for name in ("ash_ack", "cbke"):
        assert rig.timeout(name) == DEFAULT_TIMEOUTS[name]
    assert rig.timeout("ash_ack") == 3.2  # bellows' T_RX_ACK_MAX (research/ezsp.md 1.2)


def test_ezsp_stick_example_loads_as_written() -> None:
    rig = load_rig(RIGS / "ezsp-stick.example.yaml")
    assert rig.name == "ezsp-stick" and not rig.is_emulated
    c = rig.coordinator
    assert c.kind == "serial" and c.port is not None
    assert c.port.url == "/dev/serial/by-id/usb-Silicon_Labs_CP2102N_USB_to_UART_Bridge_Controller_0001-if00-port0"
    assert (c.port.baudrate, c.port.flow_control, c.port.is_local_device) == (115200, "software", True)
    esme = rig.devices["esme"]
    assert (esme.kind, esme.eui64, esme.firmware) == ("real", "00-0D-6F-00-0A-BC-DE-F0", "vendor 1.2.3")
    assert (esme.install_code.kind, esme.install_code.variable) == ("env", "ESME_INSTALL_CODE")
    assert esme.install_code.describe() == "env:ESME_INSTALL_CODE"
    assert esme.power.kind == "manual"
    assert esme.operator == "Hold the meter's HAN join button for 1 s, until its HAN LED flashes."
    assert (rig.timeout("connect"), rig.timeout("join"), rig.timeout("cbke"), rig.timeout("commissioning")) == (
        20, 120, 60, 900)


def test_remote_ezsp_example_loads_as_written() -> None:
    rig = load_rig(RIGS / "remote-ezsp.example.yaml")
    c = rig.coordinator
    assert c.port is not None
    assert (c.port.url, c.port.baudrate, c.port.flow_control, c.port.is_local_device) == (
        "tcp://192.0.2.10:6638", 115200, "hardware", False)
    esme, gsme = rig.devices["esme"], rig.devices["gsme"]
    assert (esme.install_code.kind, esme.install_code.path) == ("file", "secrets/esme.installcode")
    # A relative file is read from beside the rig file, wherever the command is run from.
    assert esme.install_code.file_path == RIGS / "secrets" / "esme.installcode"
    assert (esme.power.kind, esme.power.on, esme.power.off) == (
        "command", "relayctl --host 192.0.2.20 --channel 1 on", "relayctl --host 192.0.2.20 --channel 1 off")
    assert (gsme.install_code.variable, gsme.power.kind) == ("GSME_INSTALL_CODE", "manual")  # real: manual by default
    assert (rig.timeout("connect"), rig.timeout("join")) == (30, 180)


def test_base_rig_of_these_tests_loads(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, BASE))
    assert rig.name == "lab-1"
    assert rig.install_code("esme").link_key().hex().upper() == SPEC_KEY


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, change("name: lab-1\n", ""), name="bench-7.yaml"))
    assert rig.name == "bench-7"


# --- what each field accepts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["00:0d:6f:00:0a:bc:de:f0", "000D6F000ABCDEF0", "00 0D 6F 00 0A BC DE F0"])
def test_eui64_is_normalised_to_dcc_form(tmp_path: Path, written: str) -> None:
    rig = load_rig(write(tmp_path, change("eui64: 00-0D-6F-00-0A-BC-DE-F0", f"eui64: {written}")))
    assert rig.devices["esme"].eui64 == "00-0D-6F-00-0A-BC-DE-F0"


def test_all_digit_eui64_keeps_its_digits(tmp_path: Path) -> None:
    # Unquoted, YAML 1.1 reads 0012345670123456 as an octal number; the rig keeps what the user wrote.
    rig = load_rig(write(tmp_path, change("eui64: 00-0D-6F-00-0A-BC-DE-F0", "eui64: 0012345670123456")))
    assert rig.devices["esme"].eui64 == "00-12-34-56-70-12-34-56"


def test_all_digit_install_code_keeps_its_digits(tmp_path: Path) -> None:
    code = "01234567012345670123456701234567"  # a YAML 1.1 octal literal when unquoted
    rig = load_rig(write(tmp_path, change(f"install_code: {SPEC_CODE}{SPEC_CRC}", f"install_code: {code}")))
    assert rig.install_code("esme").hex() == code


def test_zigbee_code_with_its_crc_is_accepted(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, change(f"install_code: {SPEC_CODE}{SPEC_CRC}", f"install_code: {CODE_8_WITH_CRC}")))
    assert rig.install_code("esme").link_key().hex().upper() == CODE_8_KEY


def test_crc_mode_none_hashes_the_bare_gb_code(tmp_path: Path) -> None:
    text = change("install_code_crc_mode: append", "install_code_crc_mode: none")
    text = change(f"install_code: {SPEC_CODE}{SPEC_CRC}", f"install_code: {RTDS_CODE}", text)
    rig = load_rig(write(tmp_path, text))
    assert rig.install_code_crc_mode == "none"
    assert rig.install_code("esme").link_key().hex().upper() == RTDS_KEY_NONE


@pytest.mark.parametrize("flow", ["software", "hardware", "none"])
def test_flow_control_choices(tmp_path: Path, flow: str) -> None:
    rig = load_rig(write(tmp_path, change("flow_control: software", f"flow_control: {flow}")))
    assert rig.coordinator.port is not None and rig.coordinator.port.flow_control == flow


@pytest.mark.parametrize("url", ["tcp://192.0.2.10:6638", "rfc2217://bench-3.lab:4001", "socket://[::1]:9999",
                                 "device:///dev/ttyS0", "/dev/ttyAMA0"])
def test_port_forms_bellows_can_open(tmp_path: Path, url: str) -> None:
    rig = load_rig(write(tmp_path, change("port: /dev/serial/by-id/usb-Silicon_Labs_CP2102N-if00-port0",
                                          f"port: {url}")))
    assert rig.coordinator.port is not None and rig.coordinator.port.url == url


def test_install_code_from_env_resolves_at_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = load_rig(write(tmp_path, BASE))
    monkeypatch.setenv("GSME_INSTALL_CODE", f"{SPEC_CODE}{SPEC_CRC}")
    assert rig.install_code("gsme").link_key().hex().upper() == SPEC_KEY


def test_unset_env_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GSME_INSTALL_CODE", raising=False)
    path = write(tmp_path, BASE)
    rig = load_rig(path)
    with pytest.raises(RigError, match="environment variable GSME_INSTALL_CODE is not set") as info:
        rig.install_code("gsme")
    assert f"{path}: devices.gsme.install_code (env:GSME_INSTALL_CODE)" in str(info.value)


def test_bad_code_from_env_is_refused_without_showing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GSME_INSTALL_CODE", f"{SPEC_CODE}B5C3")  # CRC bytes swapped
    rig = load_rig(write(tmp_path, BASE))
    with pytest.raises(RigError) as info:
        rig.install_code("gsme")
    message = str(info.value)
    assert "devices.gsme.install_code (env:GSME_INSTALL_CODE)" in message and "CRC" in message
    assert SPEC_CODE not in message


def test_install_code_file_is_read_beside_the_rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "gsme.ic").write_text(f"{CODE_8_WITH_CRC}\n")
    rig = load_rig(write(tmp_path, change("{env: GSME_INSTALL_CODE}", "{file: secrets/gsme.ic}")))
    monkeypatch.chdir("/")
    assert rig.install_code("gsme").link_key().hex().upper() == CODE_8_KEY


def test_missing_install_code_file_is_named(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, change("{env: GSME_INSTALL_CODE}", "{file: nowhere.ic}")))
    with pytest.raises(RigError, match=re.escape(f"cannot read {tmp_path / 'nowhere.ic'}: No such file")):
        rig.install_code("gsme")


def test_repr_keeps_inline_install_codes_out(tmp_path: Path) -> None:
    rig = load_rig(write(tmp_path, BASE))
    assert SPEC_CODE not in repr(rig) and SPEC_CODE not in str(rig.devices["esme"])


# --- refused input: file, line, field, value, expectation ------------------------------------------------------


def test_missing_coordinator(tmp_path: Path) -> None:
    text = re.sub(r"coordinator:\n(  .*\n)+", "", BASE)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", 1, "coordinator", "missing (required)")


def test_missing_nested_field_points_at_its_parent(tmp_path: Path) -> None:
    text = change("    kind: real\n    eui64: 00-0D-6F-00-0A-BC-DE-F0\n", "    kind: real\n")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "esme:"), "devices.esme.eui64", "missing (required)")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("name: lab-1", "colour: red", "colour"),
        ("  baudrate: 115200", "  baud: 115200", "coordinator.baud"),
        ("  eui64: 00-DB-12-34-56-78-90-A2", "  eui: 00-DB-12-34-56-78-90-A2", "hub.eui"),
        ("  join: 120", "  joining: 120", "timeouts.joining"),
        ("    install_code: 83FE", "    pin: 1234\n    install_code: 83FE", "devices.esme.pin"),
    ],
)
def test_unknown_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = change(old, new)
    err = rig_error(tmp_path, text)
    key = field.rsplit(".", 1)[-1]
    assert_names(err, tmp_path / "lab.yaml", line_of(text, f"{key}:"), field, "unknown field", "expected one of:")


def test_unknown_field_lists_what_is_allowed(tmp_path: Path) -> None:
    err = rig_error(tmp_path, change("  baudrate: 115200", "  baud: 115200"))
    assert "port" in str(err) and "baudrate" in str(err) and "flow_control" in str(err)


def test_wrong_coordinator_kind(tmp_path: Path) -> None:
    text = change("  kind: serial", "  kind: usb")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "kind: usb"), "coordinator.kind", "'usb'",
                 "emulated, serial")


EMULATED = """\
coordinator:
  kind: emulated
  ezsp_version: 13
hub:
  kind: harness
devices:
  esme:
    kind: emulated
    eui64: 00-DB-12-34-56-78-90-A0
    install_code: 83FED3407A939723A5C639B26916D505
"""


@pytest.mark.parametrize("version", ["15", "7", "13.0", "thirteen", "true"])
def test_bad_ezsp_version(tmp_path: Path, version: str) -> None:
    text = change("ezsp_version: 13", f"ezsp_version: {version}", EMULATED)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", 3, "coordinator.ezsp_version", "8, 13, 14, 18")
    assert version.split(".")[0].lower() in str(err).lower()


@pytest.mark.parametrize("version", [8, 13, 14, 18])
def test_supported_ezsp_versions(tmp_path: Path, version: int) -> None:
    rig = load_rig(write(tmp_path, change("ezsp_version: 13", f"ezsp_version: {version}", EMULATED)))
    assert rig.coordinator.ezsp_version == version


@pytest.mark.parametrize("eui", ["00-0D-6F", "00-0D-6F-00-0A-BC-DE-FG", "00-0D-6F-00-0A-BC-DE-F0-11", "'-'"])
def test_bad_eui64(tmp_path: Path, eui: str) -> None:
    text = change("eui64: 00-0D-6F-00-0A-BC-DE-F1", f"eui64: {eui}")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_after(text, "gsme:", "eui64:"), "devices.gsme.eui64",
                 repr(eui.strip("'")), "is not an EUI-64", "expected 8 bytes of hex")


def test_duplicate_eui64(tmp_path: Path) -> None:
    text = change("eui64: 00-0D-6F-00-0A-BC-DE-F1", "eui64: 00:0d:6f:00:0a:bc:de:f0")  # same EUI, other spelling
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "00:0d:6f"), "devices.gsme.eui64",
                 "00-0D-6F-00-0A-BC-DE-F0", "already used by devices.esme.eui64")


def test_device_eui64_equal_to_hub_eui64(tmp_path: Path) -> None:
    text = change("eui64: 00-0D-6F-00-0A-BC-DE-F0", "eui64: 00-DB-12-34-56-78-90-A2")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "    eui64: 00-DB-12"), "devices.esme.eui64",
                 "already used by hub.eui64")


@pytest.mark.parametrize(
    ("code", "fragments"),
    [
        # non-hex, with its 1-based position in the code as written
        ("83FED3407A939723A5C639B26916D5G5C3B5", ["non-hex character 'G' at position 31"]),
        ("83FE-D340-7A93-9723-A5C6-39B2-6916-D505-C3ZZ", ["non-hex character 'Z' at position 43"]),
        # wrong length: 15 bytes is neither ZigBee (code + CRC) nor GB (16 bare bytes)
        ("83FED3407A939723A5C639B26916D5", ["length 15 bytes", "8, 10, 14, 18", "16 (GB, no CRC)"]),
        ("83FED3407A939723A5C639B26916D50", ["odd number of hex digits (31)"]),
        # wrong CRC: the spec CRC C3B5 with its bytes swapped
        ("83FED3407A939723A5C639B26916D505B5C3", ["CRC given B5C3 but computed C3B5"]),
    ],
)
def test_bad_inline_install_code(tmp_path: Path, code: str, fragments: list[str]) -> None:
    text = change(f"install_code: {SPEC_CODE}{SPEC_CRC}", f"install_code: {code}")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, f"install_code: {code}"), "devices.esme.install_code",
                 *fragments)


def test_crc_mode_none_refuses_a_short_zigbee_code(tmp_path: Path) -> None:
    text = change("install_code_crc_mode: append", "install_code_crc_mode: none")
    text = change(f"install_code: {SPEC_CODE}{SPEC_CRC}", f"install_code: {CODE_8_WITH_CRC}", text)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "install_code: 11"), "devices.esme.install_code",
                 "16-byte GB codes only")


def test_crc_mode_none_takes_a_gb_code_given_with_its_crc(tmp_path: Path) -> None:
    # 16 bytes + a CRC that checks: the CRC is verified, then left out of the hash.
    text = change("install_code_crc_mode: append", "install_code_crc_mode: none")
    text = change(f"install_code: {SPEC_CODE}{SPEC_CRC}", f"install_code: {RTDS_CODE}F596", text)
    rig = load_rig(write(tmp_path, text))
    assert rig.install_code("esme").link_key().hex().upper() == RTDS_KEY_NONE


def test_value_that_looks_like_a_date_but_is_not(tmp_path: Path) -> None:
    text = change("    kind: real\n    eui64: 00-0D-6F-00-0A-BC-DE-F0", "    kind: real\n    firmware: 2020-13-45\n"
                  "    eui64: 00-0D-6F-00-0A-BC-DE-F0")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "firmware:"), "devices.esme.firmware",
                 "'2020-13-45' is not a valid value")


@pytest.mark.parametrize("mode", ["sometimes", "true", "CRC"])
def test_bad_crc_mode(tmp_path: Path, mode: str) -> None:
    text = change("install_code_crc_mode: append", f"install_code_crc_mode: {mode}")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "install_code_crc_mode"), "install_code_crc_mode",
                 "append, none")


@pytest.mark.parametrize(
    ("source", "field", "fragment"),
    [
        ("{env: A, file: b.ic}", "devices.gsme.install_code", "exactly one source"),
        ("{}", "devices.gsme.install_code", "exactly one source"),
        ("{env: ''}", "devices.gsme.install_code.env", "is not an environment variable name"),
        ("{file: 12}", "devices.gsme.install_code.file", "is not a file path"),
        ("{vault: x}", "devices.gsme.install_code.vault", "unknown field"),
        ("", "devices.gsme.install_code", "expected hex, {env: VARIABLE} or {file: PATH}"),
    ],
)
def test_bad_install_code_source(tmp_path: Path, source: str, field: str, fragment: str) -> None:
    text = change("{env: GSME_INSTALL_CODE}", source)
    err = rig_error(tmp_path, text)
    assert err.field_path == field and fragment in str(err)
    assert err.line == line_after(text, "gsme:", "install_code:")


def test_install_code_given_as_a_list_is_refused_without_echoing_it(tmp_path: Path) -> None:
    text = change("{env: GSME_INSTALL_CODE}", f"[{SPEC_CODE}]")
    err = rig_error(tmp_path, text)
    assert err.field_path == "devices.gsme.install_code" and "a list is not an install code" in str(err)
    assert SPEC_CODE not in str(err)


def test_a_file_that_is_not_a_rig_is_not_echoed_whole(tmp_path: Path) -> None:
    err = rig_error(tmp_path, "a long line of prose that is not a rig file at all " * 40)
    assert "expected a mapping, got 'a long line of prose" in str(err) and "(str of 2039 chars)" in str(err)
    assert len(str(err)) < 200 + len(str(tmp_path))


@pytest.mark.parametrize("value", ["-5", "0", "thirty", "'30s'", ".nan", "true"])
def test_bad_timeout(tmp_path: Path, value: str) -> None:
    text = change("  join: 120", f"  join: {value}")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, f"join: {value}"), "timeouts.join",
                 "is not a positive number of seconds")


def test_negative_timeout_names_the_value(tmp_path: Path) -> None:
    err = rig_error(tmp_path, change("  connect: 20", "  connect: -1.5"))
    assert "timeouts.connect: -1.5 is not a positive number of seconds" in str(err)


def test_real_device_on_an_emulated_coordinator(tmp_path: Path) -> None:
    text = change("    kind: emulated", "    kind: real", EMULATED)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "kind: real"), "devices.esme.kind",
                 "a real device needs a real coordinator", "coordinator.kind: serial")


def test_emulated_device_needs_inline_code(tmp_path: Path) -> None:
    text = change("install_code: 83FED3407A939723A5C639B26916D505", "install_code: {env: X}", EMULATED)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "install_code"), "devices.esme.install_code",
                 "inline")


def test_emulated_device_takes_no_power_switch(tmp_path: Path) -> None:
    text = EMULATED + "    power: {kind: manual}\n"
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "power:"), "devices.esme.power", "powered by the harness")


@pytest.mark.parametrize(
    ("power", "field", "fragment"),
    [
        ("{kind: relay}", "devices.esme.power.kind", "'relay' is not one of manual, command"),
        ("{kind: command, on: relayctl 3 on}", "devices.esme.power.off", "missing (required)"),
        ("{kind: command, on: '', off: x}", "devices.esme.power.on", "empty"),
        ("{kind: manual, on: x}", "devices.esme.power.on", "only a 'command' power switch"),
        ("manual", "devices.esme.power", "expected a mapping"),
    ],
)
def test_bad_power(tmp_path: Path, power: str, field: str, fragment: str) -> None:
    text = change(f"    install_code: {SPEC_CODE}{SPEC_CRC}\n",
                  f"    install_code: {SPEC_CODE}{SPEC_CRC}\n    power: {power}\n")
    err = rig_error(tmp_path, text)
    assert err.field_path == field and fragment in str(err)
    assert err.line == line_of(text, "power:")


@pytest.mark.parametrize(
    ("port", "fragment"),
    [
        ("''", "is not a port"),
        ("", "is not a port"),
        ("usb://stick", "scheme not supported"),
        ("tcp://192.0.2.10", "is not tcp://host:port"),
        ("tcp://:6638", "is not tcp://host:port"),
        ("rfc2217://bench:99999", "port 1-65535"),
    ],
)
def test_bad_port(tmp_path: Path, port: str, fragment: str) -> None:
    text = change("port: /dev/serial/by-id/usb-Silicon_Labs_CP2102N-if00-port0", f"port: {port}")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "port:"), "coordinator.port", fragment)


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ("baudrate: 115200", "baudrate: fast", "coordinator.baudrate", "'fast' is not a baud rate"),
        ("flow_control: software", "flow_control: rts", "coordinator.flow_control", "software, hardware, none"),
        ("  kind: harness", "  kind: real", "hub.wan", "missing (required)"),
        ("  kind: harness", "  kind: meter", "hub.kind", "harness, real"),
        ("  esme:\n", "  water:\n", "devices.water", "esme, gsme, ihd, ppmid"),
        ("    kind: real\n    eui64: 00-0D-6F-00-0A-BC-DE-F0", "    kind: virtual\n    eui64: 00-0D-6F-00-0A-BC-DE-F0",
         "devices.esme.kind", "emulated, real"),
    ],
)
def test_other_bad_values(tmp_path: Path, old: str, new: str, field: str, fragment: str) -> None:
    err = rig_error(tmp_path, change(old, new))
    assert err.field_path == field and fragment in str(err), str(err)
    assert err.line is not None


def test_emulated_strict_must_be_a_boolean(tmp_path: Path) -> None:
    text = change("ezsp_version: 13", "ezsp_version: 13\n  strict: maybe", EMULATED)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", 4, "coordinator.strict", "'maybe' is not true or false")


def test_no_devices(tmp_path: Path) -> None:
    text = BASE.split("devices:")[0] + "devices: {}\n"
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "devices:"), "devices", "no devices")


def test_field_given_twice(tmp_path: Path) -> None:
    text = BASE + "  esme:\n    kind: real\n    eui64: 00-0D-6F-00-0A-BC-DE-F9\n    install_code: 1122334455667788\n"
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", len(text.splitlines()) - 3, "devices.esme",
                 f"given twice (first on line {line_of(text, 'esme:')})")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    err = rig_error(tmp_path, "- coordinator\n- hub\n")
    assert "expected a mapping" in str(err) and str(err).startswith(f"{tmp_path / 'lab.yaml'}:1: ")


# --- files that are not rig files at all ---------------------------------------------------------------------


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    text = change("  join: 120", "  join: [120")
    err = rig_error(tmp_path, text)
    message = str(err)
    assert "not valid YAML" in message
    assert err.line is not None and err.line >= line_of(text, "join: [120")
    assert message.startswith(f"{tmp_path / 'lab.yaml'}:{err.line}: ")


def test_bad_indentation_names_its_line(tmp_path: Path) -> None:
    text = change("  baudrate: 115200", "   baudrate: 115200")
    err = rig_error(tmp_path, text)
    assert "not valid YAML" in str(err) and err.line == line_of(text, "   baudrate")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    err = rig_error(tmp_path, text)
    assert str(err) == f"{tmp_path / 'lab.yaml'}: the file is empty (expected a mapping with coordinator, hub, devices)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RigFileError) as info:
        load_rig(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such rig file"


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(RigFileError, match="is a folder"):
        load_rig(tmp_path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(RigFileError, match=r"byte 0 \(line 1\) is not UTF-8 \(0x89\); expected a YAML rig file"):
        load_rig(path)


def test_parse_rig_names_the_given_path() -> None:
    with pytest.raises(RigFileError, match=r"^bench\.yaml:1: coordinator: missing"):
        parse_rig("hub: {kind: harness}\ndevices: {}\n", "bench.yaml")


def test_rig_file_error_is_a_rig_error() -> None:
    assert issubclass(RigFileError, RigError)


# -- hostile files: each a clean RigFileError naming file and field, fast, never a traceback or a hang ------------


def test_a_400_digit_timeout_is_out_of_range(tmp_path: Path) -> None:
    text = change("  join: 120", "  join: " + "9" * 400)
    err = rig_error(tmp_path, text)
    assert str(err).startswith(f"{tmp_path / 'lab.yaml'}:{line_of(text, '  join: 9')}: timeouts.join: ")
    assert "at most 2592000" in str(err) and len(str(err)) < 300  # the value is cut short, not echoed


@pytest.mark.parametrize("value", ["1e999", ".inf", ".nan", "-0.0"])
def test_infinite_and_nan_timeouts(tmp_path: Path, value: str) -> None:
    err = rig_error(tmp_path, change("  join: 120", f"  join: {value}"))
    assert "timeouts.join" in str(err) and "positive number of seconds" in str(err)


def test_a_huge_baud_rate_is_refused(tmp_path: Path) -> None:
    err = rig_error(tmp_path, change("baudrate: 115200", "baudrate: " + "1" * 40))
    assert "coordinator.baudrate" in str(err) and "not a baud rate" in str(err)


def test_billion_laughs_stops_at_the_node_budget(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]")
    err = rig_error(tmp_path, "\n".join(lines) + "\n" + BASE)
    assert "alias bomb" in str(err) and str(err).startswith(str(tmp_path / "lab.yaml"))


def test_a_recursive_anchor_stops_at_the_depth_limit(tmp_path: Path) -> None:
    err = rig_error(tmp_path, "description: &loop [*loop]\n" + BASE)
    assert "nested more than 64 levels" in str(err) and "description" in str(err)


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting(tmp_path: Path, opening: str) -> None:
    err = rig_error(tmp_path, "description: " + opening * 5000 + "\n")
    assert "nested" in str(err) or "not valid YAML" in str(err)


def test_a_list_as_field_name(tmp_path: Path) -> None:
    err = rig_error(tmp_path, "? [a, b]\n: 1\n" + BASE)
    assert "a field name must be text" in str(err) and err.line == 1


def test_an_oversized_rig_file(tmp_path: Path) -> None:
    err = rig_error(tmp_path, BASE + "# " + "x" * 300_000 + "\n")
    assert "over the 262144-byte limit for a rig file" in str(err)


def test_non_utf8_byte_named_with_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    data = BASE.encode().replace(b"name: lab-1", b"name: lab-\xe9", 1)
    path.write_bytes(data)
    with pytest.raises(RigFileError) as info:
        load_rig(path)
    offset = data.index(bytes([0xE9]))
    assert f"byte {offset} (line 1) is not UTF-8 (0xE9)" in str(info.value)


def test_a_named_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "rig.yaml"
    os.mkfifo(fifo)
    with pytest.raises(RigFileError, match="not a regular file"):
        load_rig(fifo)


def test_a_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RigFileError, match="is a device, not a regular file"):
        load_rig("/dev/zero")


def test_the_in_process_line_is_a_transport_a_rig_can_name(tmp_path: Path) -> None:
    text = (RIGS / "emulated.yaml").read_text()
    assert "transport: pty" in text
    loop_rig = tmp_path / "loop.yaml"
    loop_rig.write_text(text.replace("transport: pty", "transport: loop", 1))
    assert load_rig(loop_rig).coordinator.transport == "loop"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("transport: pty", "transport: usb", 1))
    with pytest.raises(RigError) as caught:
        load_rig(bad)
    assert "coordinator.transport" in str(caught.value) and "loop" in str(caught.value)


# --- coordinator.ezsp_config ----------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [BASE, EMULATED], ids=["serial", "emulated"])
def test_ezsp_config_is_read_in_order(tmp_path: Path, base: str) -> None:
    anchor = "  flow_control: software\n" if base is BASE else "  ezsp_version: 13\n"
    text = change(anchor, anchor + "  ezsp_config:\n    CONFIG_MULTICAST_TABLE_SIZE: 0\n"
                  "    CONFIG_SOURCE_ROUTE_TABLE_SIZE: 200\n    CONFIG_PACKET_BUFFER_COUNT: null\n", base)
    coordinator = load_rig(write(tmp_path, text)).coordinator
    assert coordinator.ezsp_config == (("CONFIG_MULTICAST_TABLE_SIZE", 0), ("CONFIG_SOURCE_ROUTE_TABLE_SIZE", 200),
                                       ("CONFIG_PACKET_BUFFER_COUNT", None))
    assert coordinator.ezsp_config_overrides == {"CONFIG_MULTICAST_TABLE_SIZE": 0,
                                                 "CONFIG_SOURCE_ROUTE_TABLE_SIZE": 200,
                                                 "CONFIG_PACKET_BUFFER_COUNT": None}


def test_ezsp_config_in_a_labgrid_place(tmp_path: Path) -> None:
    text = change("  kind: serial\n  port: /dev/serial/by-id/usb-Silicon_Labs_CP2102N-if00-port0\n"
                  "  baudrate: 115200\n  flow_control: software\n",
                  "  kind: labgrid\n  place: bench-3\n  ezsp_config: {CONFIG_KEY_TABLE_SIZE: 12}\n")
    assert load_rig(write(tmp_path, text)).coordinator.ezsp_config == (("CONFIG_KEY_TABLE_SIZE", 12),)


def test_no_ezsp_config_leaves_bellows_defaults(tmp_path: Path) -> None:
    assert load_rig(write(tmp_path, BASE)).coordinator.ezsp_config_overrides == {}


@pytest.mark.parametrize(
    ("entry", "fragments"),
    [
        ("CONFIG_MULTICAST_TABLE: 0", ("'CONFIG_MULTICAST_TABLE' is not an EZSP configuration value",
                                       "did you mean CONFIG_MULTICAST_TABLE_SIZE?")),
        ("multicast: 0", ("'multicast' is not an EZSP configuration value", "e.g. CONFIG_MULTICAST_TABLE_SIZE")),
        ("CONFIG_MULTICAST_TABLE_SIZE: 70000", ("70000 is not a configuration value", "0-65535")),
        ("CONFIG_MULTICAST_TABLE_SIZE: -1", ("-1 is not a configuration value",)),
        ("CONFIG_MULTICAST_TABLE_SIZE: sixteen", ("'sixteen' is not a configuration value",)),
        ("CONFIG_MULTICAST_TABLE_SIZE: true", ("True is not a configuration value",)),
        ("CONFIG_MULTICAST_TABLE_SIZE: 1.5", ("1.5 is not a configuration value",)),
        ("CONFIG_BINDING_TABLE_SIZE: null", ("null (keep the NCP's own value) applies only to a value bellows",
                                             "CONFIG_MULTICAST_TABLE_SIZE", "give a number")),
        # names and ranges bellows' own schema refuses when it connects (a stick may speak any EZSP version)
        ("CONFIG_CTUNE_VALUE: 5", ("bellows does not write CONFIG_CTUNE_VALUE on EZSP v4,", "any of them")),
        ("CONFIG_NEIGHBOR_TABLE_SIZE: 32", ("bellows refuses 32 for CONFIG_NEIGHBOR_TABLE_SIZE on EZSP v4,",
                                            "EZSP_SCHEMA of bellows/ezsp/v4/config.py")),
        ("CONFIG_MULTICAST_TABLE_SIZE: 300", ("bellows refuses 300 for CONFIG_MULTICAST_TABLE_SIZE",)),
        ("CONFIG_PACKET_BUFFER_COUNT: 0", ("bellows refuses 0 for CONFIG_PACKET_BUFFER_COUNT",)),
        ("CONFIG_SECURITY_LEVEL: 7", ("bellows refuses 7 for CONFIG_SECURITY_LEVEL",)),
        ("CONFIG_BROADCAST_ALARM_DATA_SIZE: 4", ("bellows does not write CONFIG_BROADCAST_ALARM_DATA_SIZE on EZSP v5,",)),
    ],
)
def test_bad_ezsp_config_entry(tmp_path: Path, entry: str, fragments: tuple[str, ...]) -> None:
    text = change("  flow_control: software\n", f"  flow_control: software\n  ezsp_config:\n    {entry}\n")
    err = rig_error(tmp_path, text)
    name = entry.split(":")[0]
    assert_names(err, tmp_path / "lab.yaml", line_of(text, entry), f"coordinator.ezsp_config.{name}", *fragments)


def test_ezsp_config_must_be_a_mapping(tmp_path: Path) -> None:
    text = change("  flow_control: software\n", "  flow_control: software\n  ezsp_config: [CONFIG_KEY_TABLE_SIZE]\n")
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "ezsp_config:"), "coordinator.ezsp_config",
                 "expected a mapping")


def test_an_emulated_coordinators_ezsp_config_is_checked_for_its_own_ezsp_version(tmp_path: Path) -> None:
    text = change("ezsp_version: 13", "ezsp_version: 13\n  ezsp_config:\n    CONFIG_NEIGHBOR_TABLE_SIZE: 32", EMULATED)
    err = rig_error(tmp_path, text)
    assert_names(err, tmp_path / "lab.yaml", line_of(text, "CONFIG_NEIGHBOR"), "coordinator.ezsp_config."
                 "CONFIG_NEIGHBOR_TABLE_SIZE", "bellows refuses 32 for CONFIG_NEIGHBOR_TABLE_SIZE on EZSP v13 (")
    # bellows writes the alarm data sizes on EZSP v4 only
    text = change("ezsp_version: 13", "ezsp_version: 8\n  ezsp_config:\n    CONFIG_BROADCAST_ALARM_DATA_SIZE: 4",
                  EMULATED)
    assert "on EZSP v8" in str(rig_error(tmp_path, text))
    ok = change("ezsp_version: 13", "ezsp_version: 8\n  ezsp_config:\n    CONFIG_NEIGHBOR_TABLE_SIZE: 16", EMULATED)
    assert load_rig(write(tmp_path, ok)).coordinator.ezsp_config == (("CONFIG_NEIGHBOR_TABLE_SIZE", 16),)
