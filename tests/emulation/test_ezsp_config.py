"""The rig's coordinator.ezsp_config reaches the NCP through unmodified bellows (harness/drivers/ezsp.py and
meter_stick.py), and bellows' behaviour follows from what the NCP then reports: with CONFIG_MULTICAST_TABLE_SIZE 0
it reads no multicast entries at start, with bellows' own default (16) it reads 16. The bench and the topology-2
stick read the values back and record what was asked for beside what the NCP holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bellows.types as bt
import pytest

from harness.bench.bench import Bench
from harness.drivers.ezsp import EzspCoordinator, make_config
from harness.drivers.ezsp_config import not_in_force
from harness.drivers.meter_stick import MeterStick
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import EmulatedHan

EMULATED_RIG = Path(__file__).resolve().parents[2] / "rigs" / "emulated.yaml"
NCP_EUI = "00:12:4B:00:11:22:33:44"
KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
MULTICAST = int(bt.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE)
SOURCE_ROUTES = int(bt.EzspConfigId.CONFIG_SOURCE_ROUTE_TABLE_SIZE)


def test_make_config_passes_the_overrides_to_bellows() -> None:
    assert "ezsp_config" not in make_config("/dev/null")
    config = make_config("/dev/null", ezsp_config={"CONFIG_MULTICAST_TABLE_SIZE": 0, "CONFIG_KEY_TABLE_SIZE": None})
    assert config["ezsp_config"] == {"CONFIG_MULTICAST_TABLE_SIZE": 0, "CONFIG_KEY_TABLE_SIZE": None}


async def _coordinator_start(ezsp_config: dict[str, int | None] | None) -> EmulatedNcp:
    han = EmulatedHan([])
    ncp = han.make_ncp(13, eui64=NCP_EUI)
    try:
        async with serve_ncp(ncp, "loop") as url:
            coordinator = EzspCoordinator(url, ezsp_config=ezsp_config)
            try:
                await coordinator.connect()
                await coordinator.form()
            finally:
                await coordinator.close()
    finally:
        await han.close()
    ncp.check()
    return ncp


@pytest.mark.parametrize(("ezsp_config", "table", "reads"), [
    ({"CONFIG_MULTICAST_TABLE_SIZE": 0, "CONFIG_SOURCE_ROUTE_TABLE_SIZE": 30}, 0, 0),
    (None, 16, 16),  # bellows' default, a minimum it raises the NCP's 8 to
])
async def test_coordinator_start_writes_the_rig_values(ezsp_config: dict[str, int | None] | None, table: int,
                                                       reads: int) -> None:
    ncp = await _coordinator_start(ezsp_config)
    assert ncp._ram.config_value(bt.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE) == table
    written = {int(c.params["configId"]): c.params["value"] for c in ncp.commands_named("setConfigurationValue")}
    assert written[MULTICAST] == table
    if ezsp_config:
        assert written[SOURCE_ROUTES] == 30
    # bellows reads the table the NCP reports entry by entry, each time it starts the network (form starts it twice)
    read = ncp.command_counts["getMulticastTableEntry"]
    assert read == 0 if reads == 0 else (read > 0 and read % reads == 0), read


async def test_meter_stick_writes_the_rig_values_and_reports_what_is_in_force() -> None:
    ncp = EmulatedNcp(13, eui64=NCP_EUI, strict=True)
    async with serve_ncp(ncp, "loop") as url:
        stick = MeterStick(url, KEY, channels=(15,), ezsp_config={"CONFIG_MULTICAST_TABLE_SIZE": 2,
                                                                  "CONFIG_KEY_TABLE_SIZE": 300})
        try:
            await stick.connect()
            info = stick.info()
        finally:
            await stick.close()
    assert ncp._ram.config_value(bt.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE) == 2
    # the emulator, like a real NCP, refuses a table it will not allocate (harness/emulation/ncp/ram.py: 0-250)
    assert info["ezsp_config"] == {"CONFIG_MULTICAST_TABLE_SIZE": {"requested": 2, "in_force": 2},
                                   "CONFIG_KEY_TABLE_SIZE": {"requested": 300, "in_force": 4}}
    assert not_in_force(info["ezsp_config"]) == ["CONFIG_KEY_TABLE_SIZE: the rig asks for 300, the NCP holds 4"]


async def test_a_bench_records_the_values_asked_for_and_in_force(tmp_path: Path, caplog) -> None:
    rig = load_rig(EMULATED_RIG)
    rig = dataclasses.replace(rig, coordinator=dataclasses.replace(
        rig.coordinator, transport="loop",
        ezsp_config=(*rig.coordinator.ezsp_config, ("CONFIG_KEY_TABLE_SIZE", 300), ("CONFIG_PACKET_BUFFER_COUNT", None))))
    evidence = EvidenceBundle(tmp_path, "ezsp_config")
    bench = await Bench.start(rig, evidence)
    try:
        recorded = evidence.record.provenance["coordinator"]["ezsp_config"]
    finally:
        await bench.stop()
        evidence.close("passed")
    assert recorded["CONFIG_MULTICAST_TABLE_SIZE"] == {"requested": 0, "in_force": 0}  # rigs/emulated.yaml
    assert recorded["CONFIG_KEY_TABLE_SIZE"] == {"requested": 300, "in_force": 4}
    assert recorded["CONFIG_PACKET_BUFFER_COUNT"]["requested"] is None  # the NCP's own kept: whatever it holds
    assert isinstance(recorded["CONFIG_PACKET_BUFFER_COUNT"]["in_force"], int)
    assert [e.fields["detail"] for e in evidence.timeline.of_kind("coordinator.ezsp_config_not_in_force")] == [
        "CONFIG_KEY_TABLE_SIZE: the rig asks for 300, the NCP holds 4"]
    assert "coordinator.ezsp_config not in force: CONFIG_KEY_TABLE_SIZE" in caplog.text
