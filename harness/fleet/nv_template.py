"""A formed network for each premises' emulated NCP, so bellows starts a network instead of forming one.

Forming costs bellows about 590 EZSP commands (resets, config, policies, a scan, formNetwork, key reads); starting
on a formed network, as after a stick's reboot, about 100. The fleet forms once per worker process through the
real path (bellows over the emulated NCP), keeps that NCP's NV state, and gives every premises a copy with its own
PAN ID, extended PAN ID and network key: each premises is still its own HAN, and bellows still reads and checks it
all over ASH/EZSP at start-up.
"""

from __future__ import annotations

import copy
from typing import Any

from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.nvstate import NvState
from harness.emulation.ncp.transport import serve_ncp
from harness.fleet.params import PremisesParams


async def formed_nv_template(ezsp_version: int, eui64: str, *, transport: str = "pty") -> dict[str, Any]:
    """Form a network with bellows against a fresh emulated NCP; its NV state as a dict."""
    ncp = EmulatedNcp(ezsp_version, eui64=eui64, strict=True)
    async with serve_ncp(ncp, transport) as url:  # type: ignore[arg-type]
        coordinator = EzspCoordinator(url)
        try:
            await coordinator.connect()
            await coordinator.form()
        finally:
            await coordinator.close()
    ncp.check()
    return ncp.nv.as_dict()


def premises_nv(template: dict[str, Any], params: PremisesParams) -> NvState:
    nv = NvState.from_dict(copy.deepcopy(template))
    nv.pan_id = params.pan_id
    nv.extended_pan_id = params.extended_pan_id.lower()
    nv.network_key = params.network_key
    nv.nwk_frame_counter = 0
    nv.aps_frame_counter = 0
    return nv
