"""The emulated ESME (electricity meter): a mains-powered ZigBee router with an SE Metering server on endpoint 1."""

from __future__ import annotations

from typing import Any

import zigpy.zdo.types as zdo_t
from zigpy.types import EUI64

from harness.emulation.devices._clusters import add_basic, add_metering
from harness.emulation.devices.base import EmulatedDevice
from harness.emulation.medium import Medium
from harness.emulation.node import NodeRole
from harness.emulation.zcl_server import SE_PROFILE, ZclEndpoint
from harness.zigbee.installcode import CrcMode, InstallCode

__all__ = ["EmulatedEsme", "SE_DEVICE_METERING"]

SE_DEVICE_METERING = 0x0502  # SE 1.x device id "Metering Device"


class EmulatedEsme(EmulatedDevice):
    kind = "esme"
    logical_type = zdo_t.LogicalType.Router

    def __init__(self, medium: Medium, eui64: EUI64 | str, install_code: InstallCode | str, *,
                 crc_mode: CrcMode = "append", **options: Any) -> None:
        super().__init__(medium, eui64, install_code, crc_mode=crc_mode, role=NodeRole.ROUTER,
                         rx_on_when_idle=True, mains_powered=True, **options)

    def setup_endpoints(self) -> None:
        endpoint = self.add_endpoint(ZclEndpoint(1, SE_PROFILE, SE_DEVICE_METERING))
        add_basic(endpoint, manufacturer="smets2-harness", model="Emulated ESME", mains_powered=True)
        add_metering(endpoint, gas=False)
