"""Which bench a rig builds and which scenarios run on it: topology 1 (harness as hub) or 2 (hub under test).

A scenario says what it needs with `@pytest.mark.topology("hub-under-test")` (module-level `pytestmark` in
harness/scenarios/hub_dut/); unmarked scenarios are topology 1. On a rig of the other topology they are deselected
before the run (not skipped: nothing was tried), and the terminal summary says how many and which rig runs them.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import RigError
from harness.rig import Rig, load_rig

__all__ = ["TOPOLOGIES", "bench_class", "scenario_topology", "deselect_other_topology", "report_deselected"]

TOPOLOGIES = ("harness-as-hub", "hub-under-test")
EXAMPLE_RIG = {"harness-as-hub": "rigs/emulated.yaml", "hub-under-test": "rigs/hub-dut-emulated.yaml"}
_DESELECTED = pytest.StashKey[dict[str, int]]()


def bench_class(rig: Rig) -> Any:
    if rig.hub.under_test:
        from harness.bench.hub_dut import HubDutBench

        return HubDutBench
    from harness.bench.bench import Bench

    return Bench


def scenario_topology(item: pytest.Item) -> str | None:
    """The topology a bench scenario needs, or None for a test that uses no bench (unit tests)."""
    mark = item.get_closest_marker("topology")
    if mark is not None:
        name = str(mark.args[0]) if mark.args else ""
        if name not in TOPOLOGIES:
            raise pytest.UsageError(f"{item.nodeid}: topology({name!r}) is not one of {', '.join(TOPOLOGIES)}")
        return name
    return "harness-as-hub" if "bench" in getattr(item, "fixturenames", ()) else None


def deselect_other_topology(config: pytest.Config, items: list[pytest.Item]) -> None:
    needed = {id(item): scenario_topology(item) for item in items}
    if not any(needed.values()):
        return
    try:
        rig_topology = load_rig(config.getoption("--rig")).topology
    except RigError:
        return  # the `rig` fixture reports the broken rig file on the first scenario that needs it
    keep, drop = [], []
    for item in items:
        wanted = needed[id(item)]
        (drop if wanted is not None and wanted != rig_topology else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        counts: dict[str, int] = {}
        for item in drop:
            counts[needed[id(item)] or ""] = counts.get(needed[id(item)] or "", 0) + 1
        config.stash[_DESELECTED] = counts


def report_deselected(terminalreporter: Any, config: pytest.Config) -> None:
    for topology, count in config.stash.get(_DESELECTED, {}).items():
        terminalreporter.write_line(
            f"smets2-harness: {count} scenario(s) for topology {topology} not run on rig "
            f"{config.getoption('--rig')}; run them with --rig {EXAMPLE_RIG.get(topology, '<a ' + topology + ' rig>')}")
