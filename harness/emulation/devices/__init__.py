"""Emulated Smart Energy devices: ESME (router), GSME (sleepy end device), IHD (end device)."""

from __future__ import annotations

from harness.emulation.devices.base import ALL_CHANNELS, EmulatedDevice, JoinAttempt
from harness.emulation.devices.esme import EmulatedEsme
from harness.emulation.devices.gsme import EmulatedGsme
from harness.emulation.devices.ihd import EmulatedIhd

__all__ = ["ALL_CHANNELS", "EmulatedDevice", "JoinAttempt", "EmulatedEsme", "EmulatedGsme", "EmulatedIhd",
           "DEVICE_KINDS"]

DEVICE_KINDS: dict[str, type[EmulatedDevice]] = {"esme": EmulatedEsme, "gsme": EmulatedGsme, "ihd": EmulatedIhd}
