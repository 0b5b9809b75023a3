"""Unmodified bellows drives the emulated NCP over a real pty, over tcp:// and over the in-process line
(harness-loop://, loop_transport.py), in strict mode.

Strict mode means every command bellows sent had an explicit handler: a bellows that starts sending something
new fails here rather than being answered by the default responder.
"""

from __future__ import annotations

import asyncio

import bellows.types as t
import pytest
import zigpy.exceptions
import zigpy.types as zt
import zigpy.zdo.types as zdo_t
from bellows.exception import InvalidCommandError

from harness.emulation.ncp import EmulatedNcp, NvState, StrictModeError, serve_ncp
from harness.emulation.stack_api import ApsMessage, NetworkParams, StackEvents, TrustCentreKeys
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, bellows_app

pytestmark = pytest.mark.timeout(30)

WELL_KNOWN_KEY = zt.KeyData(b"ZigBeeAlliance09")


@pytest.mark.parametrize("transport", ["pty", "tcp", "loop"])
@pytest.mark.parametrize("version", [8, 13, 14, 18])
async def test_bellows_connects_and_forms(version: int, transport: str):
    ncp = EmulatedNcp(version, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, transport) as url, bellows_app(url) as app:
        assert app.state.node_info.ieee == zt.EUI64.convert(COORDINATOR_EUI64)
        assert app.state.node_info.version.startswith(("6.", "7.", "8."))
        assert app.state.network_info.channel == 15
        assert app.state.network_info.pan_id == ncp.nv.pan_id
        assert bytes(app.state.network_info.network_key.key).hex() == ncp.nv.network_key
        assert app._ezsp.ezsp_version == version
    ncp.check()  # strict: no command without a handler
    assert ncp.unhandled == []
    assert ncp.nv.formed
    names = [c.name for c in ncp.command_log]
    assert names.index("formNetwork") < len(names) - names[::-1].index("networkInit") - 1  # formed, then re-init


async def test_bellows_in_its_default_thread_mode():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url, use_thread=True) as app:
        assert app.state.network_info.pan_id == ncp.nv.pan_id
    ncp.check()


@pytest.mark.parametrize("transport", ["pty", "tcp", "loop"])
async def test_reconnect_keeps_the_network(transport: str):
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, transport) as url:
        async with bellows_app(url) as app:
            first = app.state.network_info
        formed_once = len(ncp.commands_named("formNetwork"))
        async with bellows_app(url, auto_form=False) as app:
            second = app.state.network_info
    assert formed_once == 1 and len(ncp.commands_named("formNetwork")) == 1  # the network came back from NV
    assert (second.pan_id, second.extended_pan_id, second.network_key.key) == (
        first.pan_id,
        first.extended_pan_id,
        first.network_key.key,
    )
    ncp.check()


async def test_backup_seeds_a_new_ncp_with_the_same_network():
    partner = t.EUI64.convert("00:0d:6f:00:0a:bc:de:f0")
    link_key = t.KeyData(bytes.fromhex("66b6900981e1ee3ca4206b6b861c02bb"))
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        await app._ezsp.importLinkKey(index=0, address=partner, key=link_key)
        backup = await app.backups.create_backup(load_devices=True)
    backup_json = backup.as_open_coordinator_json()

    nv = NvState.from_zigpy_backup(backup_json)
    assert NvState.from_json(nv.to_json()) == nv
    # EZSP 13 on both sides: bellows 1.2.1 reads the v14+ exportLinkKeyByIndex reply with the v13 field order
    # (EZSPv14 inherits EZSPv13.read_link_keys), so on v14+ its backups never contain the key table.
    other = EmulatedNcp(13, eui64="00:0d:6f:00:00:00:bb:02", strict=True, nv=nv)
    async with serve_ncp(other, "tcp") as url, bellows_app(url, auto_form=False) as app:
        restored = await app.backups.create_backup(load_devices=True)
    assert restored.node_info.ieee == backup.node_info.ieee
    for field in ("pan_id", "extended_pan_id", "channel", "network_key", "stack_specific"):
        assert getattr(restored.network_info, field) == getattr(backup.network_info, field), field
    assert [(k.partner_ieee, k.key) for k in restored.network_info.key_table] == [(partner, link_key)]
    assert other.commands_named("formNetwork") == []
    other.check()


async def test_coordinator_self_interview_is_answered_by_the_ncp_zdo():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url:
        async with bellows_app(url) as app:
            coordinator = app.get_device(ieee=zt.EUI64.convert(COORDINATOR_EUI64))
            for _ in range(500):  # up to 10 s: zigpy interviews in the background, slowly on a busy machine
                if coordinator.node_desc is not None:
                    break
                await asyncio.sleep(0.02)
            assert coordinator.node_desc is not None
            assert coordinator.node_desc.logical_type == zdo_t.LogicalType.Coordinator
        # Endpoints live in NCP RAM: bellows adds them on connect, and the resets inside auto-form wipe them, as
        # on a real stick. A plain reconnect keeps them.
        async with bellows_app(url, auto_form=False) as app:
            coordinator = app.get_device(ieee=zt.EUI64.convert(COORDINATOR_EUI64))
            status, _, endpoints = await coordinator.zdo.Active_EP_req(0x0000)
            assert status == zdo_t.Status.SUCCESS and set(endpoints) == {1, 2, 242}  # bellows' addEndpoint calls
            status, _, desc = await coordinator.zdo.Simple_Desc_req(0x0000, 1)
            assert status == zdo_t.Status.SUCCESS and (desc.endpoint, desc.profile) == (1, 0x0104)
    ncp.check()


@pytest.mark.parametrize("version", [13, 14])
async def test_unicast_to_an_unknown_node_fails_delivery_without_a_radio(version: int):
    ncp = EmulatedNcp(version, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        packet = zt.ZigbeePacket(
            src=zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=0x0000),
            src_ep=1,
            dst=zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=0x1234),
            dst_ep=1,
            tsn=7,
            profile_id=0x0104,
            cluster_id=0x0000,
            data=zt.SerializableBytes(b"\x00\x07\x00\x04\x00"),
        )
        with pytest.raises(zigpy.exceptions.DeliveryError, match="Failed to deliver"):
            await app.send_packet(packet)
    ncp.check()


async def test_install_code_key_and_policy_reach_the_trust_centre_state():
    joiner = t.EUI64.convert("00:0d:6f:00:0a:bc:de:f0")
    key = t.KeyData(bytes.fromhex("66b6900981e1ee3ca4206b6b861c02bb"))
    now = [1000.0]
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True, clock=lambda: now[0])
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        # zigpy's startup permit(0) left bellows' wildcard well-known key behind (research/ezsp.md 0.3)
        assert ncp.transient_key_for(t.EUI64.convert("11:22:33:44:55:66:77:88")) == WELL_KNOWN_KEY
        await app.permit_with_link_key(joiner, key, time_s=60)
        assert ncp.transient_key_for(joiner) == key
        assert ncp.policy_bitmask() & 0x11 == 0x11  # ALLOW_JOINS | JOINS_USE_INSTALL_CODE_KEY, as a bitmask
        await app._ezsp.clearTransientLinkKeys()
        assert ncp.transient_key_for(joiner) is None
        await app.permit_with_link_key(joiner, key, time_s=60)
        now[0] += 301  # past CONFIG_TRANSIENT_KEY_TIMEOUT_S (EmberZNet default 300 s; bellows leaves it)
        assert ncp.transient_key_for(joiner) is None
    ncp.check()


async def test_strict_mode_reports_a_command_without_handler():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        ncp.check()
        with pytest.raises(InvalidCommandError):
            await app._ezsp.getRandomNumber()
    assert ncp.unhandled == ["getRandomNumber"]
    with pytest.raises(StrictModeError, match="getRandomNumber"):
        ncp.check()


async def test_default_responder_answers_status_ok_and_zeros_when_not_strict():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        status, value = await app._ezsp.getRandomNumber()
        assert (status, value) == (t.EmberStatus.SUCCESS, 0)
    ncp.check()  # not strict: nothing recorded as a failure
    assert [c.handled for c in ncp.commands_named("getRandomNumber")] == [False]


class RecordingStack:
    """A stand-in radio side that records what the NCP asks of it (the real one is harness/emulation/stack.py)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.events: StackEvents | None = None
        self.keys: TrustCentreKeys | None = None

    def start(self, params: NetworkParams, events: StackEvents, keys: TrustCentreKeys) -> None:
        self.calls.append(("start", params))
        self.events, self.keys = events, keys

    def stop(self) -> None:
        self.calls.append(("stop",))

    def permit_joining(self, seconds: int) -> None:
        self.calls.append(("permit", seconds))

    def send_unicast(self, dst_nwk: int, message: ApsMessage) -> bool:
        self.calls.append(("unicast", dst_nwk, message))
        return True

    def send_broadcast(self, dst: int, message: ApsMessage, radius: int) -> None:
        self.calls.append(("broadcast", dst, message))

    def remove_device(self, eui64: zt.EUI64) -> None:
        self.calls.append(("remove", eui64))


@pytest.mark.parametrize("version", [13, 14])
async def test_stack_events_become_callbacks_bellows_understands(version: int):
    joiner, joiner_nwk = t.EUI64.convert("00:0d:6f:00:0a:bc:de:f0"), 0x1A2B
    stack = RecordingStack()
    ncp = EmulatedNcp(version, eui64=COORDINATOR_EUI64, strict=True, stack=stack)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        params = [c[1] for c in stack.calls if c[0] == "start"][-1]
        assert params.eui64 == zt.EUI64.convert(COORDINATOR_EUI64) and params.pan_id == app.state.network_info.pan_id
        assert params.network_key == app.state.network_info.network_key.key
        await app.permit_with_link_key(joiner, t.KeyData(b"\x01" * 16), time_s=60)
        assert ("permit", 60) in stack.calls
        assert stack.keys is not None and stack.keys.transient_key_for(joiner) == t.KeyData(b"\x01" * 16)

        joined = asyncio.get_running_loop().create_future()
        left = asyncio.get_running_loop().create_future()

        class Listener:
            def device_joined(self, device):
                if not joined.done():
                    joined.set_result(device)

            def device_left(self, device):
                if not left.done():
                    left.set_result(device)

        app.add_listener(Listener())
        assert stack.events is not None
        stack.events.stack_child_join(0, True, joiner_nwk, joiner, 4)
        stack.events.stack_trust_center_join(joiner_nwk, joiner, 1, 0, 0x0000)  # unsecured join, preconfigured key
        annce = bytes([0x81]) + t.NWK(joiner_nwk).serialize() + joiner.serialize() + bytes([0x80])
        stack.events.stack_message_received(
            joiner_nwk, joiner, ApsMessage(0, 0x0013, 0, 0, annce, aps_counter=5), broadcast=True, lqi=200, rssi=-40
        )
        device = await asyncio.wait_for(joined, 5)
        assert (device.ieee, device.nwk) == (joiner, joiner_nwk)
        assert ncp.nv.children and ncp.nv.children[0].nwk == joiner_nwk

        # zigpy's interview of the new device goes out through the stack
        for _ in range(500):  # up to 10 s on a busy machine
            if any(c[0] == "unicast" and c[1] == joiner_nwk for c in stack.calls):
                break
            await asyncio.sleep(0.02)
        assert any(c[0] == "unicast" and c[1] == joiner_nwk for c in stack.calls)

        stack.events.stack_trust_center_join(joiner_nwk, joiner, 2, 3, 0x0000)  # DEVICE_LEFT
        assert (await asyncio.wait_for(left, 5)).ieee == joiner
    ncp.check()


async def test_restoring_a_backup_replaces_the_network():
    """zigpy's restore_backup (bellows' write_network_info: factory reset, keys, form, children, resets)."""
    donor = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(donor, "pty") as url, bellows_app(url) as app:
        backup = await app.backups.create_backup(load_devices=True)

    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "tcp") as url, bellows_app(url) as app:
        assert app.state.network_info.extended_pan_id != backup.network_info.extended_pan_id
        await app.backups.restore_backup(backup)
        info = app.state.network_info
        assert (info.pan_id, info.extended_pan_id, info.network_key.key) == (
            backup.network_info.pan_id,
            backup.network_info.extended_pan_id,
            backup.network_info.network_key.key,
        )
        # zigpy adds 10000 to the frame counter on restore so old frames are never replayed
        assert info.network_key.tx_counter >= backup.network_info.network_key.tx_counter + 10000
    assert len(ncp.commands_named("formNetwork")) == 2
    ncp.check()


async def test_leave_network_brings_the_network_and_the_radio_down():
    stack = RecordingStack()
    ncp = EmulatedNcp(14, eui64=COORDINATOR_EUI64, strict=True, stack=stack)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        await app._ezsp.leaveNetwork()  # waits for stackStatusHandler(NETWORK_DOWN)
        (state,) = await app._ezsp.networkState()
        assert state == t.EmberNetworkStatus.NO_NETWORK
    assert stack.calls[-1] == ("stop",)
    assert not ncp.nv.formed
    ncp.check()
