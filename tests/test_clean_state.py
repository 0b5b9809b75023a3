"""Clean state between scenarios on a persistent stick (the emulated NCP in its own process over tcp://, meters
on its radio), driven through real bellows: a meter joined by one bench is made to leave by the next bench's start,
and is off the child and key tables before that scenario begins; `reform` forms the rig's own channel and PAN."""

from __future__ import annotations

from pathlib import Path

import pytest
import zigpy.types as zt

from harness.bench import steps
from harness.bench.bench import Bench
from harness.bench.clean_state import _children, _has_link_key
from harness.drivers.operator import ScriptedOperator
from harness.errors import RigError
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig, parse_rig
from tests.realbench.stick import DEVICES, real_style_rig, start_stick

pytestmark = pytest.mark.timeout(120)
ESME = zt.EUI64.convert(DEVICES["esme"][0].replace("-", ":"))


@pytest.fixture
def stick(tmp_path: Path):
    s = start_stick(tmp_path / "nv.json", control=False, devices={"esme": DEVICES["esme"]})
    yield s
    s.stop()


async def _bench(rig, tmp_path: Path, name: str) -> Bench:
    evidence = EvidenceBundle(tmp_path / "run", f"tests/x.py::{name}")
    return await Bench.start(rig, evidence, operator=ScriptedOperator())


def _events(bench: Bench, kind: str) -> list[dict]:
    import json

    bench.evidence.timeline.close()
    return [e for e in map(json.loads, bench.evidence.timeline.path.read_text().splitlines()) if e["kind"] == kind]


async def test_a_meter_joined_by_one_scenario_is_made_to_leave_before_the_next(tmp_path: Path, stick) -> None:
    rig = load_rig(real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",)))
    first = await _bench(rig, tmp_path, "first")
    try:
        esme = first.device("esme")
        steps.install_with_wan(first, esme)
        await steps.whitelist_and_join(first, first.installing_supplier, esme)
        assert ESME in await _children(first.coordinator.app._ezsp)  # joined: the stick now knows the meter
    finally:
        await first.stop()

    second = await _bench(rig, tmp_path, "second")
    try:
        ezsp = second.coordinator.app._ezsp
        assert ESME not in await _children(ezsp)
        assert not await _has_link_key(ezsp, ESME)
        esme = second.device("esme")
        steps.install_with_wan(second, esme)
        await steps.whitelist_and_join(second, second.installing_supplier, esme)  # it joins afresh
    finally:
        await second.stop()
    [clean] = _events(second, "han.clean_state")
    assert clean["mode"] == "clear" and clean["left"] == {str(ESME): "left (Mgmt_Leave_req answered)"}


async def test_reform_forms_the_rigs_channel_and_pan_and_clear_then_checks_them(tmp_path: Path, stick) -> None:
    extra_reform = "  clean_state: reform\n  channel: 20\n  pan_id: 0x1A2B\n"
    text = real_style_rig(tmp_path / "base.yaml", stick, roles=("esme",)).read_text()

    def rig_with(coordinator_extra: str, name: str):
        path = tmp_path / name
        path.write_text(text.replace("  flow_control: none\n", "  flow_control: none\n" + coordinator_extra))
        return load_rig(path)

    reformed = await _bench(rig_with(extra_reform, "reform.yaml"), tmp_path, "reform")
    try:
        info = reformed.coordinator.info()
        assert (info.channel, info.pan_id) == (20, 0x1A2B)
    finally:
        await reformed.stop()
    same = await _bench(rig_with("  channel: 20\n  pan_id: 0x1A2B\n", "same.yaml"), tmp_path, "same")
    await same.stop()  # the stored network is the rig's: clear mode accepts it
    with pytest.raises(RigError, match="network is on channel 20 but the rig says coordinator.channel 15"):
        await _bench(rig_with("  channel: 15\n", "other.yaml"), tmp_path, "other")


async def test_emulated_rig_forms_on_the_rigs_channel_and_pan(tmp_path: Path) -> None:
    text = Path("rigs/emulated.yaml").read_text().replace("  strict: true", "  strict: true\n  channel: 25\n  pan_id: 0x0BEE")
    rig = parse_rig(text, str(Path("rigs/emulated.yaml").resolve()))
    bench = await _bench(rig, tmp_path, "emulated")
    try:
        info = bench.coordinator.info()
        assert (info.channel, info.pan_id) == (25, 0x0BEE)
        assert str(info.eui64).upper().replace(":", "-") == rig.hub.eui64  # the hub's EUI-64, not a made-up one
    finally:
        await bench.stop()
    assert bench.evidence.record.provenance["coordinator"]["eui64"].upper().replace(":", "-") == rig.hub.eui64


@pytest.mark.parametrize("field, value, message", [
    ("channel", "27", "not a 2.4 GHz ZigBee channel"), ("pan_id", "0xFFFF", "not a PAN ID"),
    ("clean_state", "wipe", "'wipe' is not one of clear, reform"),
])
def test_bad_identity_fields_name_the_field(field, value, message):
    text = Path("rigs/emulated.yaml").read_text().replace("  strict: true", f"  strict: true\n  {field}: {value}")
    with pytest.raises(RigError, match=f"coordinator.{field}: .*{message}"):
        parse_rig(text, "rigs/x.yaml")
