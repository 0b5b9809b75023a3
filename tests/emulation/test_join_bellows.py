"""Install-code joins through UNMODIFIED bellows (via harness/drivers/ezsp.py) against the emulated NCP + HAN.

The coordinator is driven exactly as a real stick would be: pty or tcp://, EZSP 8, 13, 14 and 18. Meters join by
decrypting the Transport Key under the key from THEIR install code (research/vectors.md 1, 2.3).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import zigpy.types as zt

from harness.drivers.base import Coordinator
from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.devices import EmulatedDevice
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan
from harness.emulation.trust_centre import JoinDecision
from harness.errors import JoinTimeout, LinkError

# research/vectors.md 1.2: the ZigBee spec install code and its link key; zigpy's 8-byte vector.
SPEC_CODE = "83FED3407A939723A5C639B26916D505C3B5"
SPEC_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
OTHER_CODE = "11223344556677884AF7"
OTHER_KEY = bytes.fromhex("41618FC0C83B0E14A589954B16E31466")

NCP_EUI = "00:12:4B:00:11:22:33:44"
ESME = zt.EUI64.convert("70:B3:D5:00:00:00:00:01")
GSME = zt.EUI64.convert("70:B3:D5:00:00:00:00:02")
METERING = 0x0702
SE_PROFILE = 0x0109
FAST_DEVICES = {"scan_interval": 0.1, "scan_dwell": 0.004, "key_timeout": 0.3, "poll_interval": 0.1}


@dataclass
class Bench:
    han: EmulatedHan
    ncp: EmulatedNcp
    coordinator: EzspCoordinator
    url: str

    def device(self, eui64: zt.EUI64) -> EmulatedDevice:
        return self.han.device(eui64)


@contextlib.asynccontextmanager
async def bench(version: int, transport: str, devices: list[DeviceSpec], *, timeout: float = 10.0,
                use_thread: bool = False) -> AsyncIterator[Bench]:
    han = EmulatedHan(devices, device_options=FAST_DEVICES)
    ncp = han.make_ncp(version, eui64=NCP_EUI)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(han.close)
        url = await stack.enter_async_context(serve_ncp(ncp, transport))  # type: ignore[arg-type]
        coordinator = EzspCoordinator(url, timeout=timeout, use_thread=use_thread)
        stack.push_async_callback(coordinator.close)
        await coordinator.connect()
        await coordinator.form()
        han.start()
        yield Bench(han, ncp, coordinator, url)


async def eventually(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("transport", ["pty", "tcp", "loop"])
@pytest.mark.parametrize("version", [8, 13, 14, 18])
async def test_esme_joins_with_its_install_code_is_read_and_leaves(version: int, transport: str) -> None:
    async with bench(version, transport, [DeviceSpec("esme", ESME, SPEC_CODE)]) as b:
        coordinator: Coordinator = b.coordinator
        info = coordinator.info()
        assert info.protocol_version == version and info.eui64 == zt.EUI64.convert(NCP_EUI)
        esme = b.device(ESME)
        esme.set_attribute(METERING, "current_summ_delivered", 987654)

        await coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        joined = await coordinator.wait_joined(ESME, 10)

        assert joined.endpoints == (1,) and joined.profiles == (SE_PROFILE,)
        assert esme.join_attempts[-1].joined
        values = await coordinator.read_attributes(ESME, 1, METERING, ["current_summ_delivered"])
        assert values == {"current_summ_delivered": 987654}
        # bellows set the install-code-only policy and the key the meter's own code gives.
        assert b.han.stack.trust_centre.keys.policy_bitmask() & 0x11 == 0x11
        assert [d.decision for d in b.han.stack.decisions] == [JoinDecision.USE_PRECONFIGURED_KEY]

        await coordinator.revoke(ESME)
        await coordinator.remove(ESME)
        assert esme.leaves and not esme.joined
        assert ESME not in b.coordinator.app.devices


@pytest.mark.parametrize("green_power", [False, True])
async def test_the_hub_opens_no_green_power_commissioning_window(green_power: bool, monkeypatch) -> None:
    """An SE HAN has no Green Power: the harness as hub sends no GP Proxy Commissioning Mode broadcast (profile
    0xA1E0, endpoint 242) when it starts or permits a join; zigpy's own behaviour, kept behind a flag, does."""
    from harness.drivers.ezsp import HarnessControllerApplication

    monkeypatch.setattr(HarnessControllerApplication, "green_power_commissioning", green_power)
    async with bench(13, "loop", [DeviceSpec("esme", ESME, SPEC_CODE)]) as b:
        await b.coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        await b.coordinator.wait_joined(ESME, 10)
        broadcasts = [c.params["apsFrame"] for c in b.ncp.commands_named("sendBroadcast")]
    assert broadcasts, "the hub broadcast nothing (its Mgmt_Permit_Joining_req at least is expected)"
    green = [aps for aps in broadcasts if aps.profileId == 0xA1E0 or aps.destinationEndpoint == 242]
    assert bool(green) is green_power


async def test_join_works_with_bellows_serial_thread_as_on_a_real_stick() -> None:
    """bellows' default (use_thread=True) runs ASH on its own event-loop thread."""
    async with bench(13, "tcp", [DeviceSpec("esme", ESME, SPEC_CODE)], use_thread=True) as b:
        b.device(ESME).set_attribute(METERING, "current_summ_delivered", 5)
        await b.coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        await b.coordinator.wait_joined(ESME, 10)
        assert await b.coordinator.read_attributes(ESME, 1, METERING, [0]) == {0: 5}


async def test_wait_joined_wakes_on_zigpys_device_initialized_not_on_a_poll(monkeypatch) -> None:
    """The join latency a bench measures must not include a polling period: with the re-check made longer than
    the test's limit, only zigpy's device_initialized event can end the wait in time. The link going away wakes a
    waiter too, with the LinkError that names it."""
    import harness.drivers.ezsp as ezsp

    monkeypatch.setattr(ezsp, "JOIN_RECHECK_S", 60.0)
    async with bench(13, "loop", [DeviceSpec("esme", ESME, SPEC_CODE), DeviceSpec("gsme", GSME, OTHER_CODE)]) as b:
        await b.coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        joined = await asyncio.wait_for(b.coordinator.wait_joined(ESME, 30), 10)
        assert joined.eui64 == ESME
        waiter = asyncio.ensure_future(b.coordinator.wait_joined(GSME, 30))  # never permitted: it waits
        await asyncio.sleep(0.1)
        assert not waiter.done()
        b.coordinator.connection_lost(ConnectionResetError("stick unplugged"))
        with pytest.raises(LinkError, match="stick unplugged"):
            await asyncio.wait_for(waiter, 5)


@pytest.mark.parametrize("version", [13, 18])
async def test_meter_with_a_different_install_code_does_not_join(version: int) -> None:
    # The harness permits the ESME's EUI-64 with the spec code's key, but the meter was built with another code.
    async with bench(version, "pty", [DeviceSpec("esme", ESME, OTHER_CODE)]) as b:
        esme = b.device(ESME)
        assert bytes(esme.link_key) == OTHER_KEY
        await b.coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        await eventually(lambda: len(esme.join_attempts) >= 2)
        with pytest.raises(JoinTimeout, match="70:b3:d5:00:00:00:00:01"):
            await b.coordinator.wait_joined(ESME, 0.5)
        assert not esme.joined
        assert all("MIC check failed" in a.reason for a in esme.join_attempts if a.channel is not None)
        # The trust centre did send a key (the one it was given): the refusal is the meter's.
        assert b.han.stack.decisions[0].decision is JoinDecision.USE_PRECONFIGURED_KEY


@pytest.mark.parametrize("version", [13, 14])
async def test_only_the_permitted_meter_joins_and_the_other_is_refused_with_a_reason(version: int) -> None:
    async with bench(version, "tcp", [DeviceSpec("esme", ESME, SPEC_CODE), DeviceSpec("gsme", GSME, OTHER_CODE)]) as b:
        await b.coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        await b.coordinator.wait_joined(ESME, 10)
        gsme = b.device(GSME)
        await eventually(lambda: len(gsme.join_attempts) >= 2)
        assert not gsme.joined and GSME not in b.coordinator.app.devices
        refused = b.han.stack.trust_centre.decisions_for(GSME)
        assert refused and all(r.decision is JoinDecision.DENY_JOIN for r in refused)
        assert "no transient key for 70:b3:d5:00:00:00:00:02" in refused[0].reason


@pytest.mark.parametrize("version", [13, 18])
async def test_with_no_key_permitted_nobody_joins(version: int) -> None:
    devices = [DeviceSpec("esme", ESME, SPEC_CODE), DeviceSpec("gsme", GSME, OTHER_CODE)]
    async with bench(version, "pty", devices) as b:
        ezsp = b.coordinator.app._ezsp
        # Open the network the way bellows' pre_permit would leave it (wildcard well-known key), but with the
        # install-code-only policy: by default the wildcard does not count, so nobody gets in.
        await ezsp.add_transient_link_key(zt.EUI64.convert("FF:FF:FF:FF:FF:FF:FF:FF"), zt.KeyData(b"ZigBeeAlliance09"))
        await b.coordinator._set_install_code_policy()
        await ezsp.permitJoining(60)
        await eventually(lambda: all(len(b.device(e).join_attempts) >= 2 for e in (ESME, GSME)))
        assert not b.device(ESME).joined and not b.device(GSME).joined
        assert {r.eui64 for r in b.han.stack.decisions} == {ESME, GSME}
        assert all(r.decision is JoinDecision.DENY_JOIN for r in b.han.stack.decisions)
        assert [e for e in b.coordinator.app.devices if e != zt.EUI64.convert(NCP_EUI)] == []


@pytest.mark.parametrize("version", [13, 18])
async def test_gsme_joins_as_a_sleepy_end_device_and_answers_through_polling(version: int) -> None:
    async with bench(version, "pty", [DeviceSpec("gsme", GSME, SPEC_CODE)]) as b:
        gsme = b.device(GSME)
        gsme.set_attribute(METERING, "current_summ_delivered", 31337)
        await b.coordinator.permit_install_code(GSME, SPEC_KEY, 60)
        await b.coordinator.wait_joined(GSME, 10)
        node_desc = b.coordinator.app.devices[GSME].node_desc
        assert node_desc.is_end_device and not node_desc.is_receiver_on_when_idle
        answered = b.han.stack.counters.polls_answered
        values = await b.coordinator.read_attributes(GSME, 1, METERING, [0x0000])
        assert values == {0x0000: 31337}
        assert b.han.stack.counters.polls_answered > answered  # the request waited for the meter's poll


@pytest.mark.parametrize("version", [13, 14])
async def test_silent_ncp_gives_link_error_naming_the_port(version: int) -> None:
    async with bench(version, "pty", []) as b:
        b.coordinator.timeout = 1.0  # short only once connected: connect and form keep the normal timeout
        b.ncp.ash.go_silent()
        with pytest.raises(LinkError) as caught:
            await b.coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        assert b.url in str(caught.value)


@pytest.mark.parametrize("port", ["/dev/smets2-no-such-stick", "tcp://127.0.0.1:9"])
async def test_unreachable_coordinator_gives_link_error_naming_the_port(port: str) -> None:
    coordinator = EzspCoordinator(port, timeout=5.0)
    assert isinstance(coordinator, Coordinator)
    try:
        with pytest.raises(LinkError, match=port.replace(".", r"\.")):
            await coordinator.connect()
    finally:
        await coordinator.close()


def test_flow_control_none_reaches_bellows_as_no_flow_control():
    # A stick without flow control: zigpy's schema alone would refuse "none", and None means software to bellows.
    from harness.drivers.ezsp import HarnessControllerApplication, make_config

    for flow in ("software", "hardware", "none"):
        config = HarnessControllerApplication.SCHEMA(make_config("/dev/ttyS9", flow_control=flow))
        assert config["device"]["flow_control"] == flow
    import voluptuous

    with pytest.raises(voluptuous.Invalid):
        HarnessControllerApplication.SCHEMA(make_config("/dev/ttyS9", flow_control="xon"))
