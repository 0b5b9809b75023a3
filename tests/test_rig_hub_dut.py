"""Rig files and `rig check` for the hub under test (topology 2): `hub: emulated` and `hub: real` are accepted,
validated with messages that name the field, and `rig check` on the real-hub example without hardware fails naming
what is missing (the stick's port, the DCC test system and its key, the stick's install code)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.rig import RigFileError, load_rig, parse_rig

ROOT = Path(__file__).resolve().parents[1]
REAL = (ROOT / "rigs" / "hub-dut-real.example.yaml").read_text()
EMULATED = (ROOT / "rigs" / "hub-dut-emulated.yaml").read_text()


def test_both_hub_dut_rigs_load_as_written() -> None:
    emulated = load_rig(ROOT / "rigs" / "hub-dut-emulated.yaml")
    assert (emulated.hub.kind, emulated.topology, emulated.is_emulated) == ("emulated", "hub-under-test", True)
    assert emulated.devices["esme"].kind == "stick" and emulated.hub.channel == 15
    real = load_rig(ROOT / "rigs" / "hub-dut-real.example.yaml")
    assert (real.hub.kind, real.topology, real.is_emulated) == ("real", "hub-under-test", False)
    assert real.hub.wan_link is not None and real.hub.wan_link.kind == "operator"
    assert "shielded enclosure" in (real.hub.wan_link.cut or "")
    assert real.hub.dcc is not None and real.hub.dcc.url.startswith("https://")
    assert real.hub.gpf == "00-DB-12-34-56-78-90-A3"
    assert load_rig(ROOT / "rigs" / "emulated.yaml").topology == "harness-as-hub"


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment", "text"),
    [
        ("    kind: duis-http\n    url: https://dcc-test.example.net/duis/v1",
         "    kind: duis-http\n    url: ftp://dcc", "hub.dcc.url", "not an http(s):// URL", REAL),
        ("  dcc:\n    kind: duis-http", "  dcx:\n    kind: duis-http", "hub.dcx", "unknown field", REAL),
        ("    kind: operator ", "    kind: smoke ", "hub.wan.kind", "operator, power", REAL),
        ("  kind: emulated\n  ezsp_version: 13\n  transport: pty\n  strict: true",
         "  kind: serial\n  port: tcp://10.0.0.2:6638", "coordinator.kind", "only the emulated NCP reaches", EMULATED),
        ("    kind: stick", "    kind: real", "devices", "exactly one device of kind 'stick'", REAL),
        ("  esme:\n    kind: stick", "  gsme:\n    kind: stick", "devices.gsme", "ESME only", EMULATED),
        ("  channel: 15", "  channel: 27", "hub.channel", "11..26", EMULATED),
        ("  kind: emulated\n  ezsp_version: 13", "  kind: emulated\n  ezsp_version: 8", "coordinator.ezsp_version",
         "EZSP 13 and later", EMULATED),
    ],
)
def test_bad_hub_dut_rigs_name_the_field(old: str, new: str, field: str, fragment: str, text: str) -> None:
    assert old in text
    with pytest.raises(RigFileError) as info:
        parse_rig(text.replace(old, new, 1), "lab.yaml")
    assert info.value.field_path == field and fragment in str(info.value), str(info.value)


def test_power_wan_needs_both_commands() -> None:
    text = REAL.replace("    kind: operator ", "    kind: power\n    on: relayctl 5 on\n#").replace(
        "    cut: Move", "#    cut: Move").replace("    restore: Take", "#    restore: Take")
    with pytest.raises(RigFileError, match=r"hub.wan.off: missing \(required\)"):
        parse_rig(text, "lab.yaml")


def test_a_stick_device_needs_a_hub_under_test() -> None:
    text = EMULATED.replace("hub:\n  kind: emulated", "hub:\n  kind: harness").replace("  channel: 15\n", "")
    text = re.sub(r"(?m)^  cbke: .*\n", "", text)  # hub-under-test fields a harness hub does not have
    with pytest.raises(RigFileError, match="devices.esme.kind: 'stick' plays a meter for a hub under test"):
        parse_rig(text, "lab.yaml")


def test_rig_check_on_the_real_hub_example_names_what_is_missing(capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCC_TEST_API_KEY", raising=False)
    monkeypatch.delenv("STICK_INSTALL_CODE", raising=False)
    code = main(["rig", "check", "--json", str(ROOT / "rigs" / "hub-dut-real.example.yaml")])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False
    failed = {c["item"]: c["message"] for c in report["checks"] if c["status"] == "fail"}
    assert "does not exist" in failed["coordinator"] and "/dev/serial/by-id/usb-Silicon_Labs" in failed["coordinator"]
    assert "DCC_TEST_API_KEY is not set" in failed["hub"]
    assert "dcc-test.example.net/duis/v1 is unreachable" in failed["hub"]
    assert "STICK_INSTALL_CODE is not set" in failed["esme"]


def test_rig_check_on_the_emulated_hub_dut_rig_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rig", "check", str(ROOT / "rigs" / "hub-dut-emulated.yaml")]) == 0
    out = capsys.readouterr().out
    assert "PASS hub: emulated Comms Hub under test" in out and "EUI-64 00-DB-12-34-56-78-90-A0" in out


def test_the_stick_is_compared_with_the_meter_it_plays_not_the_hub() -> None:
    """Topology 2: the coordinator stick is the ESME, so its EUI-64 must be devices.esme.eui64 (not hub.eui64)."""
    from harness.bench.identity import identity_problems

    rig = load_rig(ROOT / "rigs" / "hub-dut-emulated.yaml")
    stick = rig.devices["esme"].eui64
    assert identity_problems(rig, eui64=stick, channel=None, pan_id=None) == []
    problems = identity_problems(rig, eui64=rig.hub.eui64, channel=None, pan_id=None)
    assert len(problems) == 1 and "devices.esme.eui64" in problems[0] and stick in problems[0]
    topology1 = load_rig(ROOT / "rigs" / "emulated.yaml")
    assert "hub.eui64" in identity_problems(topology1, eui64=stick, channel=None, pan_id=None)[0]
