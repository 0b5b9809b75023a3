"""The joining side of the emulated NCP: the stick as a router that joins someone else's network (topology 2).

A bellows host drives a joiner with raw EZSP (research/ezsp.md 0.4, 4.2):

    setInitialSecurityState(HAVE_PRECONFIGURED_KEY | REQUIRE_ENCRYPTED_KEY, preconfiguredKey = install-code key)
    startScan(ACTIVE_SCAN)      -> networkFoundHandler per beacon heard, then scanCompleteHandler
    joinNetwork(ROUTER, params) -> OK at once; later stackStatusHandler(NETWORK_UP), or JOIN_FAILED
    networkInit                 -> a joined router resumes its network from NV (NETWORK_UP)
    findAndRejoinNetwork        -> rejoin the network in NV (NETWORK_UP) or NETWORK_DOWN
    leaveNetwork                -> NWK Leave broadcast, then NETWORK_DOWN
    a NWK Leave request or Mgmt_Leave_req from the trust centre -> NETWORK_DOWN

`EmulatedJoinerStack` is the radio side. It is the same ZigbeeNode stack the emulated meters use (harness/emulation/
node.py: MAC association, polling for the indirect response and key, NWK/APS security), and it implements
stack_api.CoordinatorStack as well, so the NCP's messaging handlers (sendUnicast, sendBroadcast) work unchanged
once joined. `JoiningHandlers` is the NCP mixin with the EZSP commands above.

On air it joins exactly as devices/base.py does: beacon request -> association -> poll -> APS Transport Key, which
it accepts only if it verifies under the key-transport key of ITS preconfigured key -> Device_annce (NWK-secured).

Simplifications (docs/hub-dut.md): rejoin is a re-association-free resume (a beacon from our PAN is heard, then a
Device_annce), not the NWK Rejoin Request exchange; the router accepts no children (one-hop topology).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import bellows.types as t
import zigpy.types as zt
import zigpy.zdo.types as zdo_t
from zigpy.types import EUI64, KeyData

from harness.emulation.medium import Medium
from harness.emulation.ncp import self_zdo
from harness.emulation.node import NodeRole, ReceivedAps, ZigbeeNode
from harness.emulation.stack_api import ApsMessage, NetworkParams, StackEvents, TrustCentreKeys
from harness.emulation.zdo_server import ZdoServer, node_descriptor
from harness.errors import DecodeError, SecurityError
from harness.zigbee.aps import ApsFrame, TransportNetworkKey
from harness.zigbee.auxsec import KeyId
from harness.zigbee.mac import (
    ASSOCIATION_SUCCESS,
    BROADCAST_PAN,
    AssociationRequest,
    AssociationResponse,
    Beacon,
    Capability,
    MacFrame,
    ZigbeeBeaconPayload,
)
from harness.zigbee.nwk import Leave, NwkCommand, NwkFrame

__all__ = ["FoundNetwork", "JoinOutcome", "EmulatedJoinerStack", "JoiningHandlers", "scan_dwell_seconds"]

LOGGER = logging.getLogger(__name__)

OK = t.sl_Status.OK
ROUTER_CAPABILITY = (Capability.AllocateAddress | Capability.FullFunctionDevice | Capability.MainsPowered
                     | Capability.RxOnWhenIdle)
EMBER_MANUFACTURER_CODE = 0x1002


def scan_dwell_seconds(duration: int) -> float:
    """802.15.4 scan time per channel: aBaseSuperframeDuration * (2^n + 1) symbols = 15.36 ms * (2^n + 1)."""
    return 0.01536 * ((1 << min(max(int(duration), 0), 14)) + 1)


@dataclass(frozen=True)
class FoundNetwork:
    """One beacon heard in an active scan (what networkFoundHandler reports)."""

    channel: int
    pan_id: int
    extended_pan_id: EUI64
    allowing_join: bool
    stack_profile: int
    nwk_update_id: int
    parent: int
    lqi: int
    rssi: int


@dataclass(frozen=True)
class JoinOutcome:
    joined: bool
    reason: str
    nwk: int | None = None
    network_key: KeyData | None = field(default=None, repr=False)
    network_key_seq: int = 0
    trust_centre: EUI64 | None = None


class JoinerEvents(StackEvents, Protocol):
    """What the joiner stack reports on top of StackEvents: it is no longer on the network."""

    def stack_network_left(self, why: str) -> None: ...


class EmulatedJoinerStack(ZigbeeNode):
    """A router joining a network on the medium, for the emulated NCP (EmulatedNcp(stack=...))."""

    def __init__(self, medium: Medium, *, association_timeout: float = 0.5, key_timeout: float = 1.5,
                 join_poll_interval: float = 0.02) -> None:
        super().__init__(medium, EUI64.convert("00:00:00:00:00:00:00:00"), role=NodeRole.ROUTER)
        self.association_timeout = association_timeout
        self.key_timeout = key_timeout
        self.join_poll_interval = join_poll_interval
        self.events: JoinerEvents | None = None
        self.zdo_endpoints: Callable[[], dict[int, self_zdo.LocalEndpoint]] = dict
        self.joined = False
        self.leaves: list[str] = []
        self._scanning: list[FoundNetwork] | None = None
        self._association: asyncio.Future[AssociationResponse] | None = None
        self._key: asyncio.Future[str] | None = None
        self._link_key: KeyData | None = None
        self._zdo_tsn = 0

    # -- CoordinatorStack (what the NCP calls once the network is up) -------------------------------------

    def start(self, params: NetworkParams, events: StackEvents, keys: TrustCentreKeys) -> None:
        """The network is up (after joinNetwork, or networkInit of a joined router): be on it."""
        self.events = events  # type: ignore[assignment]
        if self._radio_on and self.joined and self.pan_id == params.pan_id:
            return  # the join just brought us here
        if self._radio_on:
            self.radio_down()
        self.eui64 = EUI64(params.eui64)
        self.nwk = params.nwk
        self.pan_id = params.pan_id
        self.extended_pan_id = EUI64(params.extended_pan_id)
        self.channel = params.channel
        self.network_key = KeyData(params.network_key)
        self.network_key_seq = params.network_key_seq
        self.parent_nwk = 0x0000
        self.joined = True
        self.radio_up()

    def stop(self) -> None:
        self.joined = False
        if self._radio_on:
            self.radio_down()

    def permit_joining(self, seconds: int) -> None:
        """Routers here take no children (one-hop topology): the request is accepted and has no effect."""

    def send_unicast(self, dst_nwk: int, message: ApsMessage) -> bool:
        if not self.joined or not self._radio_on:
            return False
        self.send_aps_data(dst_nwk, profile_id=message.profile_id, cluster_id=message.cluster_id,
                           src_ep=message.src_ep, dst_ep=message.dst_ep, payload=message.payload,
                           counter=message.aps_counter)
        return True

    def send_broadcast(self, dst: int, message: ApsMessage, radius: int) -> None:
        if self.joined and self._radio_on:
            self.send_aps_data(dst, profile_id=message.profile_id, cluster_id=message.cluster_id,
                               src_ep=message.src_ep, dst_ep=message.dst_ep, payload=message.payload,
                               counter=message.aps_counter)

    def remove_device(self, eui64: EUI64) -> None:
        """No children to remove."""

    def announce_leave(self) -> None:
        """leaveNetwork from the host: tell the network before going."""
        if self.joined and self._radio_on:
            self.send_leave(rejoin=False)
        self.leaves.append("leaveNetwork from the host")

    # -- scanning and joining ------------------------------------------------------------------------------

    def _prepare(self, eui64: EUI64) -> None:
        if not self._radio_on:
            self.eui64 = EUI64(eui64)
            self.radio_up()

    async def scan(self, eui64: EUI64, channels: list[int], dwell: float) -> list[FoundNetwork]:
        """Active scan: a beacon request on each channel, beacons collected for `dwell` seconds each."""
        self._prepare(eui64)
        found: list[FoundNetwork] = []
        home = self.channel
        try:
            for channel in channels:
                self.channel = channel
                self._scanning = []
                self.transmit(MacFrame.beacon_request(self.next_mac_seq()))
                await asyncio.sleep(dwell)
                found.extend(self._scanning)
        finally:
            self._scanning = None
            if self.joined:
                self.channel = home
            else:
                self.radio_down()
        return found

    async def join(self, eui64: EUI64, network: FoundNetwork, link_key: KeyData) -> JoinOutcome:
        """MAC association with the beacon's sender, then the Transport Key under `link_key`, then Device_annce."""
        self._prepare(eui64)
        self.joined = False
        self.channel = network.channel
        self.pan_id = network.pan_id
        self.extended_pan_id = network.extended_pan_id
        self.parent_nwk = network.parent
        self.nwk = None
        self.network_key = None
        self._link_key = KeyData(link_key)
        loop = asyncio.get_running_loop()
        try:
            self._association = loop.create_future()
            self.send_mac_command(network.pan_id, network.parent, AssociationRequest(ROUTER_CAPABILITY),
                                  src_pan=BROADCAST_PAN)
            response = await self._poll_until(self._association, self.association_timeout)
            self._association = None
            if response is None:
                return self._failed(f"no association response from 0x{network.parent:04X} on channel "
                                    f"{network.channel} within {self.association_timeout:g} s")
            if response.status != ASSOCIATION_SUCCESS:
                return self._failed(f"association refused with status 0x{response.status:02X}")
            self.nwk = response.short_address
            self._key = loop.create_future()
            problem = await self._poll_until(self._key, self.key_timeout)
            self._key = None
            if problem is None:
                return self._failed(f"no Transport Key within {self.key_timeout:g} s after association "
                                    "(the trust centre refused the join)")
            if problem:
                return self._failed(problem)
        finally:
            self._association = None
            self._key = None
        self.joined = True
        self._announce()
        return JoinOutcome(True, f"joined PAN 0x{network.pan_id:04X} as 0x{self.nwk:04X}", self.nwk,
                           self.network_key, self.network_key_seq, self._trust_centre)

    async def rejoin(self, eui64: EUI64, params: NetworkParams, channels: list[int], dwell: float) -> JoinOutcome:
        """Find our own PAN again (any beacon from it) and announce ourselves there with the key we hold."""
        found = [n for n in await self.scan(eui64, channels, dwell)
                 if n.extended_pan_id == EUI64(params.extended_pan_id) and n.pan_id == params.pan_id]
        if not found:
            return JoinOutcome(False, f"PAN 0x{params.pan_id:04X} not heard on channel(s) {channels}")
        self._prepare(eui64)
        self.channel = found[0].channel
        self.pan_id = params.pan_id
        self.extended_pan_id = EUI64(params.extended_pan_id)
        self.nwk = params.nwk
        self.network_key = KeyData(params.network_key)
        self.network_key_seq = params.network_key_seq
        self.parent_nwk = found[0].parent
        self.joined = True
        self._announce()
        return JoinOutcome(True, f"rejoined PAN 0x{params.pan_id:04X} on channel {self.channel}", self.nwk,
                           self.network_key, self.network_key_seq)

    _trust_centre: EUI64 | None = None

    def _failed(self, reason: str) -> JoinOutcome:
        self.nwk = None
        self.network_key = None
        self.pan_id = None
        self.radio_down()
        LOGGER.debug("joiner %s: %s", self.eui64, reason)
        return JoinOutcome(False, reason)

    async def _poll_until(self, future: asyncio.Future[Any], timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not future.done() and loop.time() < deadline:
            self.send_poll()
            try:
                await asyncio.wait_for(asyncio.shield(future), self.join_poll_interval)
            except asyncio.TimeoutError:
                continue
        return future.result() if future.done() else None

    def _announce(self) -> None:
        self._zdo_tsn = (self._zdo_tsn + 1) & 0xFF
        server = ZdoServer(lambda: self.nwk or 0xFFFE, lambda: self.eui64,
                           node_descriptor(zdo_t.LogicalType.Router, ROUTER_CAPABILITY, EMBER_MANUFACTURER_CODE), {})
        annce = server.device_annce(self._zdo_tsn, ROUTER_CAPABILITY)
        self.send_aps_data(0xFFFD, profile_id=self_zdo.ZDO_PROFILE, cluster_id=annce.cluster_id, src_ep=0, dst_ep=0,
                           payload=annce.payload)

    # -- MAC/NWK/APS hooks ---------------------------------------------------------------------------------

    def on_beacon(self, frame: MacFrame, beacon: Beacon, lqi: int) -> None:
        payload = beacon.payload
        if self._scanning is None or not isinstance(payload, ZigbeeBeaconPayload):
            return
        if frame.src_pan is None or not isinstance(frame.src, int):
            return
        self._scanning.append(FoundNetwork(
            self.channel, frame.src_pan, payload.extended_pan_id, bool(beacon.superframe.association_permit),
            payload.stack_profile, payload.update_id, frame.src,
            lqi, self.medium.rssi))

    def on_beacon_request(self) -> None:
        if self.joined:
            self.transmit(self.beacon(association_permit=False, pan_coordinator=False))

    def on_association_response(self, frame: MacFrame, response: AssociationResponse) -> None:
        if self._association is not None and not self._association.done():
            self._association.set_result(response)

    def on_aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        if self._key is None or self._key.done() or aps.security is None or self._link_key is None:
            return
        if aps.security.key_id is not KeyId.KEY_TRANSPORT:
            return
        sender = aps.security.source or nwk.src_ieee
        try:
            command = aps.decrypt(self._link_key, sender=sender).payload
        except SecurityError:
            self._key.set_result(f"Transport Key from {sender} did not verify under the key-transport key of my "
                                 "preconfigured (install-code) link key: MIC check failed")
            return
        except DecodeError as exc:
            self._key.set_result(f"Transport Key from {sender} did not decode: {exc}")
            return
        if not isinstance(command, TransportNetworkKey) or command.destination != self.eui64:
            return
        self.network_key = KeyData(command.key)
        self.network_key_seq = command.key_seq
        self._trust_centre = EUI64(command.source)
        self._key.set_result("")

    def on_nwk_command(self, frame: NwkFrame, command: NwkCommand) -> None:
        if isinstance(command, Leave) and command.request and frame.dst == self.nwk and self.joined:
            self._leave(f"NWK Leave request from 0x{frame.src:04X}", rejoin=command.rejoin)

    def on_aps_data(self, received: ReceivedAps) -> None:
        if not self.joined or self.events is None:
            return
        aps = received.frame
        payload = bytes(aps.payload)  # type: ignore[arg-type]
        if aps.profile_id == self_zdo.ZDO_PROFILE and aps.dst_endpoint == 0:
            self._stack_zdo(received, payload)
        message = ApsMessage(profile_id=aps.profile_id or 0, cluster_id=aps.cluster_id or 0,
                             src_ep=aps.src_endpoint or 0, dst_ep=aps.dst_endpoint or 0, payload=payload,
                             aps_counter=aps.counter, group_id=aps.group or 0)
        self.events.stack_message_received(received.src_nwk, received.src_eui64, message,
                                           broadcast=received.broadcast, lqi=received.lqi, rssi=received.rssi)

    def _stack_zdo(self, received: ReceivedAps, payload: bytes) -> None:
        """The stack answers the ZDO requests it supports (APPLICATION_ZDO_FLAGS: the host gets a copy)."""
        cluster = received.frame.cluster_id or 0
        if received.broadcast and cluster != zdo_t.ZDOCmd.Mgmt_Leave_req:
            return
        if cluster == zdo_t.ZDOCmd.Mgmt_Leave_req:
            tsn = payload[0] if payload else 0
            self.send_aps_data(received.src_nwk, profile_id=0, cluster_id=zdo_t.ZDOCmd.Mgmt_Leave_rsp, src_ep=0,
                               dst_ep=0, payload=bytes([tsn, zdo_t.Status.SUCCESS]))
            asyncio.get_running_loop().call_later(0.005, self._leave, "Mgmt_Leave_req", False)
            return
        if cluster == zdo_t.ZDOCmd.Node_Desc_req:
            descriptor = node_descriptor(zdo_t.LogicalType.Router, ROUTER_CAPABILITY, EMBER_MANUFACTURER_CODE)
            tsn = payload[0] if payload else 0
            body = bytes([tsn, zdo_t.Status.SUCCESS]) + zt.uint16_t(self.nwk or 0).serialize() + descriptor.serialize()
            self.send_aps_data(received.src_nwk, profile_id=0, cluster_id=zdo_t.ZDOCmd.Node_Desc_rsp, src_ep=0,
                               dst_ep=0, payload=body)
            return
        if cluster not in (zdo_t.ZDOCmd.Active_EP_req, zdo_t.ZDOCmd.Simple_Desc_req, zdo_t.ZDOCmd.IEEE_addr_req,
                           zdo_t.ZDOCmd.NWK_addr_req):
            return  # the host handles the rest (APP_HANDLES_UNSUPPORTED_ZDO_REQUESTS)
        answer = self_zdo.answer(cluster, payload, nwk=self.nwk or 0, ieee=self.eui64,
                                 endpoints=self.zdo_endpoints())
        if answer is not None:
            rsp_cluster, rsp = answer
            self.send_aps_data(received.src_nwk, profile_id=0, cluster_id=rsp_cluster, src_ep=0, dst_ep=0,
                               payload=rsp)

    def _leave(self, why: str, rejoin: bool = False) -> None:
        if not self.joined:
            return
        self.send_leave(rejoin=rejoin)
        self.leaves.append(why)
        self.joined = False
        self.radio_down()
        if self.events is not None and hasattr(self.events, "stack_network_left"):
            self.events.stack_network_left(why)


class JoiningHandlers:
    """Mixin of EmulatedNcp: the EZSP commands of a joining router (module docstring)."""

    # Provided by EmulatedNcp.
    stack: Any
    nv: Any
    _ram: Any
    eui64: zt.EUI64
    callback: Callable[..., None]
    _bring_network_up: Callable[[], None]
    _stop_stack: Callable[[], None]
    network_params: Callable[[], NetworkParams]

    @property
    def join_log(self) -> list[str]:
        """What each join, scan and rejoin came to, in the joiner's words (evidence, tests)."""
        return self.__dict__.setdefault("_join_log", [])

    @property
    def joined_trust_centre(self) -> zt.EUI64 | None:
        """The trust centre that sent our network key, while joined through joinNetwork (for CBKE, cbke.py)."""
        joiner = self._joiner
        if joiner is None or not joiner.joined or joiner._trust_centre is None:
            return None
        return zt.EUI64(joiner._trust_centre)

    @property
    def _joiner(self) -> EmulatedJoinerStack | None:
        return self.stack if isinstance(self.stack, EmulatedJoinerStack) else None

    def _spawn_join_work(self, work: Any) -> None:
        tasks = self.__dict__.setdefault("_join_tasks", set())
        task = asyncio.get_running_loop().create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _log_join(self, text: str) -> None:
        self.join_log.append(text)
        LOGGER.debug("emulated NCP (joiner): %s", text)

    # startScan(ACTIVE_SCAN) lands here from EmulatedNcp.cmd_startScan.
    def _active_scan(self, channels: list[int], duration: int) -> dict:
        joiner = self._joiner
        if joiner is None:
            return {}
        joiner.zdo_endpoints = lambda: self._ram.endpoints

        async def scan() -> None:
            found = await joiner.scan(self.eui64, channels, scan_dwell_seconds(duration))
            for network in found:
                self.callback("networkFoundHandler", networkFound=t.EmberZigbeeNetwork(
                    channel=network.channel, panId=network.pan_id,
                    extendedPanId=t.ExtendedPanId(network.extended_pan_id), allowingJoin=network.allowing_join,
                    stackProfile=network.stack_profile, nwkUpdateId=network.nwk_update_id,
                ), lastHopLqi=network.lqi, lastHopRssi=network.rssi)  # fmt: skip
            self.callback("scanCompleteHandler", channel=0, status=OK)

        self._spawn_join_work(scan())
        return {"status": OK}

    def cmd_joinNetwork(self, p: dict) -> dict:
        joiner = self._joiner
        if joiner is None:
            return {"status": t.sl_Status.INVALID_STATE}  # this NCP's radio is a coordinator stack
        if self._ram.network_up:
            return {"status": t.sl_Status.INVALID_STATE}
        node_type = p["nodeType"]
        if node_type != t.EmberNodeType.ROUTER:
            # Only the mains-powered meter (ESME, a router) is modelled; a sleepy GSME would need polling.
            return {"status": t.sl_Status.INVALID_PARAMETER}
        security = self._ram.pending_security
        if security is None or t.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY not in security.bitmask:
            return {"status": t.EmberStatus.SECURITY_STATE_NOT_SET}
        params: t.EmberNetworkParameters = p["parameters"]
        network = FoundNetwork(int(params.radioChannel), int(params.panId), zt.EUI64(params.extendedPanId), True,
                               2, int(params.nwkUpdateId), 0x0000, 255, -40)
        key = KeyData(bytes(security.preconfiguredKey))
        joiner.zdo_endpoints = lambda: self._ram.endpoints

        async def join() -> None:
            outcome = await joiner.join(self.eui64, network, key)
            self._log_join(outcome.reason)
            if not outcome.joined:
                self.callback("stackStatusHandler", status=t.EmberStatus.JOIN_FAILED)
                return
            nv = self.nv
            nv.formed = True
            nv.node_type = int(t.EmberNodeType.ROUTER)
            nv.node_id = int(outcome.nwk or 0)
            nv.pan_id = network.pan_id
            nv.extended_pan_id = str(network.extended_pan_id)
            nv.channel = network.channel
            nv.channels = 1 << network.channel
            nv.nwk_update_id = network.nwk_update_id
            nv.network_key = bytes(outcome.network_key or b"\x00" * 16).hex()
            nv.network_key_seq = outcome.network_key_seq
            nv.tc_link_key = bytes(key).hex()
            nv.security_bitmask = int(security.bitmask)
            self._bring_network_up()

        self._spawn_join_work(join())
        return {"status": OK}

    def cmd_findAndRejoinNetwork(self, p: dict) -> dict:
        joiner = self._joiner
        if joiner is None or not self.nv.formed or self._ram.network_up:
            return {"status": t.sl_Status.INVALID_STATE}
        mask = int(p["channelMask"]) or (1 << self.nv.channel)
        channels = [c for c in range(11, 27) if mask & (1 << c)]
        params = self.network_params()

        async def rejoin() -> None:
            outcome = await joiner.rejoin(self.eui64, params, channels, scan_dwell_seconds(2))
            self._log_join(outcome.reason)
            if outcome.joined:
                self.nv.channel = joiner.channel
                self._bring_network_up()
            else:
                self.callback("stackStatusHandler", status=t.sl_Status.NETWORK_DOWN)

        self._spawn_join_work(rejoin())
        return {"status": OK}

    # -- JoinerEvents --------------------------------------------------------------------------------------

    def stack_network_left(self, why: str) -> None:
        self._log_join(f"left the network: {why}")
        self._stop_stack()
        self.nv.leave()
        self.callback("stackStatusHandler", status=t.sl_Status.NETWORK_DOWN)
