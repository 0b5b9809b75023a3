"""ASH faults injected by the emulated NCP, seen through unmodified bellows (research/ezsp.md 1.2, 8)."""

from __future__ import annotations

import asyncio

import pytest

from harness.emulation.ncp import EmulatedNcp, serve_ncp
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, bellows_app

pytestmark = pytest.mark.timeout(40)


class ConnectionWatch:
    """A zigpy application listener: resolves when bellows reports the connection lost."""

    def __init__(self) -> None:
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


async def test_dropped_ack_has_no_visible_effect():
    # With ACK frames sent at once (ash_ack_delay 0) there is one to drop; by default the response carries the ackNum.
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True, ash_ack_delay=0)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        before = len(ncp.commands_named("getNodeId"))
        ncp.ash.drop_next_ack()
        (node_id,) = await app._ezsp.getNodeId()
        assert node_id == 0x0000
        assert len(ncp.commands_named("getNodeId")) == before + 1
        assert ncp.ash.counters.duplicates_acked == 0  # the response's ackNum acknowledged the command
        assert ncp.ash._drop_acks == 0  # an ACK frame was due and dropped
    ncp.check()


async def test_corrupted_crc_is_naked_and_retransmitted():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "tcp") as url, bellows_app(url) as app:
        ncp.ash.corrupt_next_data_crc()
        (eui64,) = await app._ezsp.getEui64()
        assert str(eui64) == COORDINATOR_EUI64
        assert ncp.ash.counters.naks_received == 1
        assert ncp.ash.counters.retransmissions == 1
    ncp.check()


async def test_retransmitted_command_is_executed_once():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        before = len(ncp.commands_named("getNodeId"))
        ncp.ash.drop_next_ack()
        ncp.ash.hold_output(2.0)  # longer than bellows' ACK timeout: it retransmits with reTx=1
        (node_id,) = await app._ezsp.getNodeId()
        assert node_id == 0x0000
        assert ncp.ash.counters.duplicates_acked >= 1
        assert len(ncp.commands_named("getNodeId")) == before + 1
    ncp.check()


async def test_silent_ncp_times_out_cleanly_and_recovers_on_reconnect():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url:
        async with bellows_app(url) as app:
            pan_id = app.state.network_info.pan_id
            ncp.ash.go_silent()
            # bellows retransmits, then its EZSP command timeout (10 s, not configurable in 1.2.1) fires
            with pytest.raises(TimeoutError):
                await app._ezsp.getNodeId()
        ncp.ash.resume()
        async with bellows_app(url, auto_form=False) as app:
            assert app.state.network_info.pan_id == pan_id


@pytest.mark.parametrize("transport", ["pty", "tcp", "loop"])
async def test_unsolicited_rstack_is_connection_lost_and_reconnect_works(transport: str):
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, transport) as url:
        async with bellows_app(url) as app:
            pan_id = app.state.network_info.pan_id
            watch = ConnectionWatch()
            app.add_listener(watch)
            ncp.ash.send_unsolicited_rstack()
            await asyncio.wait_for(watch.lost, 5)
            assert not ncp.network_up  # the NCP rebooted: down until the host re-inits it
        async with bellows_app(url, auto_form=False) as app:
            assert app.state.network_info.pan_id == pan_id
    assert len(ncp.commands_named("formNetwork")) == 1
    ncp.check()


async def test_error_frame_is_connection_lost_and_reconnect_works():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url:
        async with bellows_app(url) as app:
            watch = ConnectionWatch()
            app.add_listener(watch)
            ncp.ash.send_error()
            await asyncio.wait_for(watch.lost, 5)
        async with bellows_app(url, auto_form=False) as app:
            assert app.state.network_info.pan_id == ncp.nv.pan_id
    ncp.check()
