"""Topology 2 on the radio: UNMODIFIED bellows (raw EZSP through harness/drivers/meter_stick.py) drives the emulated
NCP's joining side to join an emulated Comms Hub by install-code key, on pty and tcp://, EZSP 13 and 14.

The hub's decisions come from the real CHF Device Log (harness/smets/hub_han.py), so "in the log" and "join window
open" are the domain's rules, not the test's. Keys come from the spec install-code vector (research/vectors.md 1.2).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from harness.drivers.meter_stick import MeterStick
from harness.emulation.comms_hub import EmulatedCommsHub
from harness.emulation.medium import Medium
from harness.emulation.ncp.joining import EmulatedJoinerStack
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.errors import JoinTimeout
from harness.smets.clock import VirtualClock
from harness.smets.device_log import ChfDeviceLog
from harness.smets.duis.request_id import RequestId
from harness.smets.hub import CommsHub, HubCommand
from harness.smets.hub_han import ChfJoinAuthority
from harness.smets.identities import DeviceType, Eui64

SPEC_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")  # vectors.md 1.2 (with its CRC)
SPEC_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
OTHER_CODE = bytes.fromhex("11223344556677884AF7")  # zigpy's 8-byte vector
OTHER_KEY = bytes.fromhex("41618FC0C83B0E14A589954B16E31466")
CHF = "00-DB-12-34-56-78-90-A2"
STICK = "00:DB:12:34:56:78:90:A0"
METERING = 0x0702


@dataclass
class Topology2:
    clock: VirtualClock
    hub: CommsHub
    authority: ChfJoinAuthority
    node: EmulatedCommsHub
    ncp: EmulatedNcp
    stick: MeterStick

    @property
    def stick_eui(self) -> Eui64:
        return Eui64.parse(STICK)

    def command(self, use_case: str, **fields: object) -> None:
        """What the DCC sends for SRV 8.11 (CCS01 Add / CCS02 Remove), straight to the CHF model."""
        self._counter = getattr(self, "_counter", 0) + 1
        rid = RequestId(Eui64.parse("90-B3-D5-1F-30-01-00-00"), Eui64.parse(CHF), self._counter)
        result = self.hub.handle(HubCommand(rid, "8.11", use_case, Eui64.parse(CHF), device=self.stick_eui,
                                            **fields))  # type: ignore[arg-type]
        assert result.success, result


@contextlib.asynccontextmanager
async def topology2(version: int, transport: str, key: bytes = SPEC_KEY) -> AsyncIterator[Topology2]:
    clock = VirtualClock()
    hub = CommsHub(clock, CHF, device_log=ChfDeviceLog(clock))
    authority = ChfJoinAuthority(hub, clock)
    medium = Medium()
    node = EmulatedCommsHub(medium, Eui64.parse(CHF).to_zigpy(), authority, channel=15, annce_timeout=1.0)
    authority.leave_requesters.append(lambda eui: node.request_leave(eui.to_zigpy()))
    ncp = EmulatedNcp(version, eui64=STICK, strict=True, stack=EmulatedJoinerStack(medium))
    async with contextlib.AsyncExitStack() as stack:
        node.power_on()
        stack.push_async_callback(node.power_off)
        url = await stack.enter_async_context(serve_ncp(ncp, transport))  # type: ignore[arg-type]
        stick = MeterStick(url, key, channels=(11, 15, 20), scan_duration=1, summation=4242)
        stack.push_async_callback(stick.close)
        await stick.connect()
        yield Topology2(clock, hub, authority, node, ncp, stick)
    ncp.check()  # strict: bellows sent nothing the emulator lacks a handler for
    assert not medium.node_errors


@pytest.mark.parametrize("transport", ["pty", "tcp"])
@pytest.mark.parametrize("version", [13, 14])
async def test_stick_joins_emulated_hub_by_install_code_and_serves_metering(version: int, transport: str) -> None:
    async with topology2(version, transport) as t2:
        # Before the 8.11 Add the hub permits nothing: the stick stays out.
        with pytest.raises(JoinTimeout, match="no HAN permitting joining"):
            await t2.stick.join(timeout=0.5)
        t2.command("CCS01", device_type=DeviceType.ESME, install_code=SPEC_CODE, join_time_period=90)
        joined = await t2.stick.join(timeout=10)
        assert joined.pan_id == t2.node.pan_id and joined.channel == 15
        assert joined.extended_pan_id == t2.node.extended_pan_id
        # The stick is up once it has the network key; the hub counts the join when the stick's Device_annce
        # reaches it over the radio, a moment later (its annce_timeout is 1 s): wait for that, not for a guess.
        entry = t2.hub.device_log.entry(STICK)
        for _ in range(100):
            if entry.joined:
                break
            await asyncio.sleep(0.02)
        assert entry.joined and entry.tc_link_key == SPEC_KEY  # the key the hub admitted it with
        assert [a.cause.value for a in t2.hub.alerts] == ["added", "joined"]
        assert t2.hub.alerts[-1].code == 0x8F12
        outcomes = [d.outcome for d in t2.node.decisions_for(t2.stick_eui.to_zigpy())]
        assert outcomes == ["key-sent", "joined"]
        # The hub reads the meter: the stick's host answers over raw EZSP.
        values = await t2.node.read_attributes(t2.stick_eui.to_zigpy(), METERING, [0x0000])
        assert values == {0x0000: 4242}
        assert t2.stick.answered and t2.stick.answered[-1][0] == METERING
        # Remove (CCS02): the hub asks the stick to leave, and the stick reports NETWORK_DOWN.
        t2.command("CCS02")
        await t2.stick.wait_left(5)
        assert not t2.stick.is_joined
        assert t2.node.decisions_for(t2.stick_eui.to_zigpy())[-1].outcome == "leave-requested"


@pytest.mark.parametrize("transport", ["pty", "tcp"])
@pytest.mark.parametrize("version", [13, 14])
async def test_wrong_install_code_never_joins_and_hub_says_why(version: int, transport: str) -> None:
    async with topology2(version, transport, key=OTHER_KEY) as t2:
        t2.command("CCS01", device_type=DeviceType.ESME, install_code=SPEC_CODE, join_time_period=90)
        with pytest.raises(JoinTimeout, match="JOIN_FAILED|NOT_JOINED"):
            await t2.stick.join(timeout=3)
        assert not t2.hub.device_log.entry(STICK).joined
        reasons = [d for d in t2.node.decisions_for(t2.stick_eui.to_zigpy()) if d.outcome == "no-annce"]
        assert reasons and "different link key" in reasons[0].reason
        assert any("did not verify" in line for line in t2.ncp.join_log)
        assert [a.cause.value for a in t2.hub.alerts] == ["added"]  # no 0x8F12 for a join that never happened


@pytest.mark.parametrize("version", [13, 14])
async def test_stick_resumes_after_a_reconnect_and_leaves_on_its_own(version: int) -> None:
    async with topology2(version, "tcp") as t2:
        t2.command("CCS01", device_type=DeviceType.ESME, install_code=SPEC_CODE, join_time_period=90)
        first = await t2.stick.join(timeout=10)
        await t2.stick.close()  # the host goes away; the NCP keeps its network in NV, and RST drops RAM
        again = MeterStick(t2.stick.port, SPEC_KEY, channels=(15,))
        try:
            await again.connect()
            assert await again.resume()  # networkInit: a joined router comes back up from NV
            assert again.joined_to is not None and again.joined_to.nwk == first.nwk
            assert await t2.node.read_attributes(t2.stick_eui.to_zigpy(), METERING, [0x0000]) == {0x0000: 0}
            await again.leave()  # leaveNetwork: NWK Leave on air, then NETWORK_DOWN
            await asyncio.sleep(0.05)
            assert t2.node.decisions_for(t2.stick_eui.to_zigpy())[-1].outcome == "left"
            assert t2.authority.records_for(t2.stick_eui)[-1].event == "left"
        finally:
            await again.close()


@pytest.mark.parametrize("version", [13, 14])
async def test_stick_rejoins_its_network_with_find_and_rejoin(version: int) -> None:
    async with topology2(version, "pty") as t2:
        t2.command("CCS01", device_type=DeviceType.ESME, install_code=SPEC_CODE, join_time_period=90)
        first = await t2.stick.join(timeout=10)
        await t2.stick.close()
        again = MeterStick(t2.stick.port, SPEC_KEY, channels=(15,))
        try:
            await again.connect()
            rejoined = await again.rejoin()
            assert (rejoined.nwk, rejoined.pan_id, rejoined.channel) == (first.nwk, first.pan_id, 15)
            assert any("rejoined PAN" in line for line in t2.ncp.join_log)
            assert await t2.node.read_attributes(t2.stick_eui.to_zigpy(), METERING, [0x0000]) == {0x0000: 0}
        finally:
            await again.close()
