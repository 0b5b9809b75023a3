"""The rig's coordinator.ezsp_config reaches the NCP through unmodified bellows (harness/drivers/ezsp.py and
meter_stick.py), and bellows' behaviour follows from what the NCP then reports: with CONFIG_MULTICAST_TABLE_SIZE 0
it reads no multicast entries at start, with bellows' own default (16) it reads 16."""

from __future__ import annotations

import bellows.types as bt
import pytest

from harness.drivers.ezsp import EzspCoordinator, make_config
from harness.drivers.meter_stick import MeterStick
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import EmulatedHan

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


async def test_meter_stick_writes_the_rig_values() -> None:
    ncp = EmulatedNcp(13, eui64=NCP_EUI, strict=True)
    async with serve_ncp(ncp, "loop") as url:
        stick = MeterStick(url, KEY, channels=(15,), ezsp_config={"CONFIG_MULTICAST_TABLE_SIZE": 2})
        try:
            await stick.connect()
        finally:
            await stick.close()
    assert ncp._ram.config_value(bt.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE) == 2
