"""The clean-state child-table scan asks the stick how many children it has (getParentChildParameters, EZSP
0x0029) and stops once it has seen them: bellows' read_child_data alone asks for all 256 indices, one EZSP round
trip each, which cost every bench ~512 commands. Through unmodified bellows on the emulated NCP."""

from __future__ import annotations

import bellows.types as t
import pytest
import zigpy.types as zt

from harness.bench.clean_state import _children
from harness.emulation.ncp import EmulatedNcp, serve_ncp
from harness.emulation.ncp.nvstate import ChildEntry
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, EzspHost, bellows_app

pytestmark = pytest.mark.timeout(30)

CHILDREN = [ChildEntry("00:db:12:34:56:78:90:b1", 0x4A21), ChildEntry("00:db:12:34:56:78:90:c2", 0x1F07)]


def test_get_parent_child_parameters_answers_in_bellows_layout():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    ncp.nv.children = list(CHILDREN)
    answer = EzspHost(ncp).response("getParentChildParameters")
    assert answer["childCount"] == 2
    # A coordinator has no parent: the null node ID (UG100 EmberNodeId 0xFFFF) and no EUI-64.
    assert answer["parentNodeId"] == 0xFFFF
    assert answer["parentEui64"] == t.EUI64(bytes(8))
    ncp.nv.children = []
    assert EzspHost(ncp).response("getParentChildParameters")["childCount"] == 0
    ncp.check()


@pytest.mark.parametrize("children", [[], CHILDREN[:1], CHILDREN], ids=["empty", "one", "two"])
async def test_the_scan_finds_every_child_and_stops_there(children: list[ChildEntry]):
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "loop") as url, bellows_app(url) as app:
        ncp.nv.children = list(children)
        before = len(ncp.commands_named("getChildData"))
        found = await _children(app._ezsp)
        asked = len(ncp.commands_named("getChildData")) - before
    assert found == {zt.EUI64.convert(c.eui64): c.nwk for c in children}
    assert asked == len(children)  # one getChildData per child, none past the last; none on an empty table
    ncp.check()
