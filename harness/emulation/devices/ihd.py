"""The emulated IHD (in-home display): a mains-powered, always-listening end device; a Metering client on ep 1."""

from __future__ import annotations

from typing import Any

import zigpy.zdo.types as zdo_t
from zigpy.types import EUI64
from zigpy.zcl.clusters.smartenergy import Metering

from harness.emulation.devices._clusters import add_basic
from harness.emulation.devices.base import EmulatedDevice
from harness.emulation.medium import Medium
from harness.emulation.node import NodeRole
from harness.emulation.zcl_server import SE_PROFILE, ZclEndpoint
from harness.zigbee.installcode import CrcMode, InstallCode

__all__ = ["EmulatedIhd", "SE_DEVICE_IN_HOME_DISPLAY"]

SE_DEVICE_IN_HOME_DISPLAY = 0x0503  # SE 1.x device id "In-Home Display"


class EmulatedIhd(EmulatedDevice):
    kind = "ihd"
    logical_type = zdo_t.LogicalType.EndDevice

    def __init__(self, medium: Medium, eui64: EUI64 | str, install_code: InstallCode | str, *,
                 crc_mode: CrcMode = "append", **options: Any) -> None:
        super().__init__(medium, eui64, install_code, crc_mode=crc_mode, role=NodeRole.END_DEVICE,
                         rx_on_when_idle=True, mains_powered=True, **options)

    def setup_endpoints(self) -> None:
        endpoint = self.add_endpoint(
            ZclEndpoint(1, SE_PROFILE, SE_DEVICE_IN_HOME_DISPLAY, output_clusters=[Metering.cluster_id])
        )
        add_basic(endpoint, manufacturer="smets2-harness", model="Emulated IHD", mains_powered=True)
