"""Clean state between scenarios: before each one, the bench brings the HAN to a known state and checks it, so the
suite runs back to back on one persistent stick (a real one, or `emulate ncp --nv`), not only on a fresh emulator.

1. Every rig device the coordinator still knows (its child table, or its address table) is made to leave: a ZDO
   Mgmt_Leave_req (no rejoin), then removeDevice so the coordinator forgets it even if the meter did not answer.
2. Then, per the rig's `coordinator.clean_state`:
   * `clear` (default): the transient (install-code) key table and the link-key table are cleared and joining
     is closed: the network, its key and PAN stay;
   * `reform`: the network is re-formed (new network key and extended PAN; the rig's channel and PAN ID when it
     names them), so nothing of the previous scenario's network survives on the stick.
3. The state is checked: no rig device in the child table, none in the link-key table. A check that fails stops
   the scenario before it starts, naming the device and the table.

The domain side (virtual clock, SMI, device logs, suppliers) is new for every scenario (the bench fixture is
per test); `check_domain_fresh` asserts that too, so a bench kept across tests could not carry state unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import zigpy.exceptions
import zigpy.types as zt

from harness.errors import RigError

LOGGER = logging.getLogger(__name__)
NO_NODE = 0xFFFF
KEY_NOT_FOUND = 0xFF
# A sleepy meter answers a leave only when it next polls its parent; mains-powered ones answer at once.
LEAVE_TIMEOUT_S = 10.0


@dataclass
class CleanStateReport:
    mode: str
    left: dict[str, str] = field(default_factory=dict)  # EUI-64 -> "left" / "removed (no answer: ...)"
    checks: list[str] = field(default_factory=list)


async def _children(ezsp: Any) -> dict[zt.EUI64, int]:
    # bellows' read_child_data asks for all 256 indices (an EZSP round trip each); the stick says how many
    # children it has (getParentChildParameters), so the scan stops once it has seen them all: one command on an
    # empty table instead of 256.
    count, _parent_eui64, _parent_id = await ezsp.getParentChildParameters()
    children: dict[zt.EUI64, int] = {}
    if int(count) == 0:
        return children
    async with contextlib.aclosing(ezsp.read_child_data()) as rows:
        async for nwk, eui, _type in rows:
            children[zt.EUI64(eui)] = int(nwk)
            if len(children) >= int(count):
                break
    return children


async def _known_node(ezsp: Any, eui: zt.EUI64) -> int | None:
    (nwk,) = await ezsp.lookupNodeIdByEui64(eui)
    return None if int(nwk) in (NO_NODE, 0xFFFE) else int(nwk)


async def _has_link_key(ezsp: Any, eui: zt.EUI64) -> bool:
    (index,) = await ezsp.findKeyTableEntry(eui, True)
    return int(index) != KEY_NOT_FOUND


async def _make_leave(app: Any, eui: zt.EUI64, nwk: int) -> str:
    device = app.devices.get(eui) or app.add_device(eui, zt.NWK(nwk))
    try:
        await asyncio.wait_for(device.zdo.leave(remove_children=True, rejoin=False), LEAVE_TIMEOUT_S)
        outcome = "left (Mgmt_Leave_req answered)"
    except (TimeoutError, asyncio.TimeoutError, zigpy.exceptions.ZigbeeException) as exc:
        outcome = f"removed (Mgmt_Leave_req not answered: {type(exc).__name__})"
    await app._ezsp.removeDevice(zt.NWK(nwk), eui, eui)
    app.devices.pop(eui, None)
    return outcome


async def bring_to_known_state(coordinator: Any, devices: Sequence[zt.EUI64], *, mode: str,
                               network: dict[str, Any] | None = None) -> CleanStateReport:
    """Make the rig's devices leave, clear the tables or re-form, and check. `coordinator` is an EzspCoordinator
    with its network up; errors from the link come out as the coordinator's LinkError."""
    app = coordinator._require_app()
    report = CleanStateReport(mode)

    async def work() -> None:
        ezsp = app._ezsp
        children = await _children(ezsp)
        for eui in devices:
            nwk = children.get(eui)
            if nwk is None:
                nwk = await _known_node(ezsp, eui)
            if nwk is not None:
                report.left[str(eui)] = await _make_leave(app, eui, nwk)
        if mode == "reform":
            app.config["network"].update(network or {})
            await app.form_network()
            await app.load_network_info(load_devices=False)
        else:
            await ezsp.clearTransientLinkKeys()
            await ezsp.clearKeyTable()
        await ezsp.permitJoining(0)
        coordinator._permits.clear()
        children = await _children(ezsp)
        stale = [str(eui) for eui in devices if eui in children]
        keyed = [str(eui) for eui in devices if await _has_link_key(ezsp, eui)]
        if stale:
            raise RigError(f"clean state: still in the coordinator's child table after leave and removeDevice: "
                           f"{', '.join(stale)}")
        if keyed:
            raise RigError(f"clean state: still in the coordinator's link-key table after clearing it: "
                           f"{', '.join(keyed)}")
        report.checks = ["no rig device in the child table", "no rig device in the link-key table",
                         "transient keys cleared, joining closed" if mode == "clear" else "network re-formed"]

    await coordinator._run(f"bring the HAN to a known state ({mode})", work(), 60.0 + LEAVE_TIMEOUT_S * len(devices))
    return report


def check_domain_fresh(bench: Any) -> None:
    """The domain of a new scenario: no device-log entry, no SRV yet, the clock where it started."""
    if len(bench.hub.device_log):
        raise RigError(f"clean state: the CHF device log already holds {len(bench.hub.device_log)} entries "
                       "before the scenario")
    if bench.clock.now() != bench.clock_started_at:
        raise RigError("clean state: the virtual clock has moved before the scenario started")
