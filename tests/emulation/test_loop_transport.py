"""The in-process line (harness-loop://, loop_transport.py): what crosses it is ASH, opened the way bellows opens
any port (serialx by URL scheme), with the failure modes of a real serial port."""

from __future__ import annotations

import asyncio
import errno

import pytest
import serialx
import zigpy.serial

from harness.emulation.ncp import EmulatedNcp, serve_ncp
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, bellows_app

pytestmark = pytest.mark.timeout(30)

# UG101 (ASH) 3: a host opens with CANCEL (0x1A; bellows sends a run of them) then RST: control byte 0xC0,
# CRC-CCITT 0x38BC, flag 0x7E.
CANCEL = 0x1A
RST = bytes.fromhex("C038BC7E")
CANCEL_RST = bytes([CANCEL]) + RST
ASH_FLAG = 0x7E


class Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


async def open_line(url: str) -> tuple[serialx.BaseSerialTransport, Recorder]:
    recorder = Recorder()
    transport, _ = await zigpy.serial.create_serial_connection(asyncio.get_running_loop(), lambda: recorder, url,
                                                               baudrate=115200)
    return transport, recorder


async def test_bellows_talks_ash_over_the_line():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    from_host = bytearray()
    receive = ncp.ash.data_received

    def tap(data: bytes) -> None:
        from_host.extend(data)
        receive(data)

    ncp.ash.data_received = tap  # type: ignore[method-assign]
    async with serve_ncp(ncp, "loop") as url:
        assert url.startswith("harness-loop://")
        async with bellows_app(url) as app:
            (node_id,) = await app._ezsp.getNodeId()
    assert node_id == 0x0000
    assert from_host[0] == CANCEL  # the bytes bellows wrote, unchanged, reached the NCP's ASH
    assert bytes(from_host).lstrip(bytes([CANCEL])).startswith(RST)
    assert from_host[-1] == ASH_FLAG
    assert ncp.ash.counters.naks_received == 0
    ncp.check()


async def test_a_write_reaches_the_peer_on_a_later_loop_iteration():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    seen: list[bytes] = []
    ncp.ash.data_received = seen.append  # type: ignore[method-assign]
    async with serve_ncp(ncp, "loop") as url:
        transport, _ = await open_line(url)
        transport.write(CANCEL_RST[:2])
        transport.write(CANCEL_RST[2:])
        assert seen == []  # never inside the writer's own call, as a pty's peer reads later
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert b"".join(seen) == CANCEL_RST
        transport.close()


async def test_a_url_no_ncp_serves_fails_like_a_missing_device():
    with pytest.raises(FileNotFoundError) as caught:
        await open_line("harness-loop://999999")
    assert caught.value.errno == errno.ENOENT
    assert "harness-loop://999999" in str(caught.value)


async def test_the_ncp_going_away_is_connection_lost_for_the_host():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "loop") as url:
        transport, recorder = await open_line(url)
    exc = await asyncio.wait_for(recorder.lost, 5)
    assert isinstance(exc, OSError) and exc.errno == errno.EIO
    with pytest.raises(OSError):
        transport.write(CANCEL_RST)  # a broken port says so, as serialx's own transports do
    with pytest.raises(FileNotFoundError):
        await open_line(url)  # and the URL is gone with it


async def test_a_second_host_takes_the_line_and_the_network_is_kept():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "loop") as url:
        async with bellows_app(url) as app:
            pan_id = app.state.network_info.pan_id
            transport, recorder = await open_line(url)  # like a second program opening the same UART
        transport.close()
        await asyncio.wait_for(recorder.lost, 5)
        async with bellows_app(url, auto_form=False) as app:
            assert app.state.network_info.pan_id == pan_id
    assert len(ncp.commands_named("formNetwork")) == 1
    ncp.check()


def test_there_is_no_synchronous_port_for_the_line():
    with pytest.raises(OSError) as caught:
        serialx.serial_for_url("harness-loop://1", baudrate=115200).open()
    assert caught.value.errno == errno.EOPNOTSUPP
