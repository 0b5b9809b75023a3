"""Cluster set-up shared by the emulated SE devices (Basic, Metering), with zigpy's attribute definitions."""

from __future__ import annotations

from zigpy.zcl.clusters.general import Basic
from zigpy.zcl.clusters.smartenergy import Metering, MeteringDeviceType, MeteringUnitofMeasure

from harness.emulation.zcl_server import ZclEndpoint

__all__ = ["add_basic", "add_metering"]


def add_basic(endpoint: ZclEndpoint, *, manufacturer: str, model: str, mains_powered: bool) -> None:
    basic = Basic.cluster_id
    endpoint.set_attribute(basic, "zcl_version", 8)
    endpoint.set_attribute(basic, "app_version", 1)
    endpoint.set_attribute(basic, "stack_version", 2)
    endpoint.set_attribute(basic, "hw_version", 1)
    endpoint.set_attribute(basic, "manufacturer", manufacturer)
    endpoint.set_attribute(basic, "model", model)
    source = Basic.PowerSource.Mains_single_phase if mains_powered else Basic.PowerSource.Battery
    endpoint.set_attribute(basic, "power_source", source)


def add_metering(endpoint: ZclEndpoint, *, gas: bool, summation: int = 0) -> None:
    metering = Metering.cluster_id
    endpoint.set_attribute(metering, "current_summ_delivered", summation)
    endpoint.set_attribute(metering, "status", 0)
    unit = (MeteringUnitofMeasure.Cubic_Meter_and_Cubic_Meter_per_Hour_binary if gas
            else MeteringUnitofMeasure.Kwh_and_Kwh_binary)
    endpoint.set_attribute(metering, "unit_of_measure", unit)
    endpoint.set_attribute(metering, "multiplier", 1)
    endpoint.set_attribute(metering, "divisor", 1000)
    endpoint.set_attribute(metering, "summation_formatting", 0x2B)  # 2 decimals right, 5 left, no leading zeros
    kind = MeteringDeviceType.Gas_Metering if gas else MeteringDeviceType.Electric_Metering
    endpoint.set_attribute(metering, "metering_device_type", kind)
