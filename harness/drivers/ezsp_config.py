"""A rig's coordinator.ezsp_config as the NCP took it. bellows writes the values at every start and only logs a
refusal (an EmberZNet 7.x NCP will not raise a table above its build: ERROR_OUT_OF_MEMORY), so the bench reads each
one back and records what was asked for beside what is in force."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bellows.types as bt

ConfigReport = dict[str, dict[str, int | None]]


async def config_in_force(ezsp: Any, requested: Mapping[str, int | None]) -> ConfigReport:
    """{name: {"requested": value or None (the NCP's own kept), "in_force": what getConfigurationValue reports, or
    None if the NCP refuses to say}} for each name the rig gave, read from a connected bellows EZSP."""
    report: ConfigReport = {}
    for name, value in requested.items():
        status, current = await ezsp.getConfigurationValue(configId=bt.EzspConfigId[name])
        known = bt.sl_Status.from_ember_status(status) == bt.sl_Status.OK
        report[name] = {"requested": value, "in_force": int(current) if known else None}
    return report


async def write_and_read_back(ezsp: Any, config: Mapping[str, int | None]) -> ConfigReport:
    """Write bellows' configuration with the rig's values over its defaults, as bellows does at every start
    (RAM only), then read the rig's values back (an empty report for no rig values)."""
    await ezsp.write_config(dict(config))
    return await config_in_force(ezsp, config)


def not_in_force(report: ConfigReport) -> list[str]:
    """One line per value the NCP does not hold as asked."""
    return [f"{name}: the rig asks for {entry['requested']}, the NCP holds {entry['in_force']}"
            for name, entry in report.items()
            if entry["requested"] is not None and entry["in_force"] != entry["requested"]]
