"""The radio side of the emulated coordinator: PAN coordinator + trust centre on the simulated medium.

`EmulatedCoordinatorStack` implements stack_api.CoordinatorStack for the emulated NCP. A join goes as on a
real ZigBee PRO network (frames in harness.zigbee's codecs, all visible to the sniffer):

    joiner -> beacon request;  coordinator -> beacon (association permit = permit window open)
    joiner -> association request;  coordinator queues the association response (indirect; joiner polls)
    the response is collected -> the trust centre decides from the NCP's policy and transient keys
      USE_PRECONFIGURED_KEY: APS Transport Key (network key) secured with the key-transport key of the
                             joiner's link key, NWK unsecured; trustCenterJoinHandler + childJoinHandler
      DENY_JOIN:             no key is sent, the child is dropped; trustCenterJoinHandler(DENY_JOIN)
    joiner decrypts the key (or cannot) -> Device_annce, NWK-secured -> incomingMessageHandler

A leave (NWK Leave from the device, e.g. after Mgmt_Leave_req) becomes trustCenterJoinHandler(DEVICE_LEFT).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from zigpy.types import EUI64, KeyData

from harness.emulation.medium import Medium
from harness.emulation.node import Child, NodeRole, ReceivedAps, ZigbeeNode, is_broadcast_nwk
from harness.emulation.stack_api import ApsMessage, NetworkParams, StackEvents, TrustCentreKeys
from harness.emulation.trust_centre import DeviceUpdate, JoinDecision, JoinRecord, TrustCentre
from harness.zigbee.aps import TransportNetworkKey
from harness.zigbee.auxsec import KeyId
from harness.zigbee.mac import ASSOCIATION_SUCCESS, AssociationResponse, Capability, MacFrame, MacFrameType
from harness.zigbee.nwk import Leave, NwkCommand, NwkFrame

__all__ = ["EmulatedCoordinatorStack", "NODE_TYPE_ROUTER", "NODE_TYPE_END_DEVICE", "NODE_TYPE_SLEEPY_END_DEVICE"]

LOGGER = logging.getLogger(__name__)

# EmberNodeType, as childJoinHandler reports it.
NODE_TYPE_ROUTER = 2
NODE_TYPE_END_DEVICE = 3
NODE_TYPE_SLEEPY_END_DEVICE = 4

_UNSET_EUI64 = EUI64.convert("00:00:00:00:00:00:00:00")


class EmulatedCoordinatorStack(ZigbeeNode):
    """PAN coordinator and trust centre. Give it to EmulatedNcp(stack=...); the NCP calls start() on form."""

    def __init__(
        self,
        medium: Medium,
        *,
        wildcard_satisfies_install_code_policy: bool = False,
        address_seed: int = 0,
        on_join_decision: Callable[[JoinRecord], None] | None = None,
    ) -> None:
        super().__init__(medium, _UNSET_EUI64, role=NodeRole.COORDINATOR)
        self.wildcard_satisfies_install_code_policy = wildcard_satisfies_install_code_policy
        self._rng = random.Random(address_seed)
        self.events: StackEvents | None = None
        self.params: NetworkParams | None = None
        self.trust_centre: TrustCentre | None = None
        self.on_join_decision = on_join_decision

    # -- CoordinatorStack ----------------------------------------------------------------------------------

    def start(self, params: NetworkParams, events: StackEvents, keys: TrustCentreKeys) -> None:
        same_network = (
            self.params is not None
            and self.params.pan_id == params.pan_id
            and bytes(self.params.network_key) == bytes(params.network_key)
            and self.params.eui64 == params.eui64
        )
        if self._radio_on:
            self.radio_down()
        if not same_network:
            self.children.clear()
            self._indirect.clear()
            self.address_map.clear()
        previous = self.trust_centre
        self.params = params
        self.events = events
        self.eui64 = EUI64(params.eui64)
        self.nwk = params.nwk
        self.pan_id = params.pan_id
        self.extended_pan_id = EUI64(params.extended_pan_id)
        self.channel = params.channel
        self.network_key = KeyData(params.network_key)
        self.network_key_seq = params.network_key_seq
        loop = asyncio.get_running_loop()
        self.trust_centre = TrustCentre(
            keys, loop.time, wildcard_satisfies_install_code_policy=self.wildcard_satisfies_install_code_policy
        )
        if previous is not None:  # the decision log spans resets, like a test's evidence should
            self.trust_centre.decisions = previous.decisions
            if same_network:
                self.trust_centre.link_keys = previous.link_keys
        self.radio_up()
        LOGGER.debug("coordinator %s up: PAN 0x%04X channel %d", self.eui64, self.pan_id, self.channel)

    def stop(self) -> None:
        if self.trust_centre is not None:
            self.trust_centre.permit_joining(0)
        if self._radio_on:
            self.radio_down()

    def permit_joining(self, seconds: int) -> None:
        if self.trust_centre is None:
            raise RuntimeError("permit_joining before the network is up")
        self.trust_centre.permit_joining(seconds)

    def send_unicast(self, dst_nwk: int, message: ApsMessage) -> bool:
        if not self._radio_on or self.nwk is None or not self._knows(dst_nwk):
            return False
        link_key = None
        if message.aps_encrypted:
            partner = self.address_map.get(dst_nwk)
            link_key = self.aps_link_key_for(partner) if partner is not None else None
            if link_key is None:
                return False  # the NCP checks for a key first; a race with a leave ends here
        self.send_aps_data(dst_nwk, profile_id=message.profile_id, cluster_id=message.cluster_id,
                           src_ep=message.src_ep, dst_ep=message.dst_ep, payload=message.payload,
                           counter=message.aps_counter, link_key=link_key)
        return True

    def aps_link_key_for(self, partner: EUI64) -> KeyData | None:
        """The NCP's key-table entry for the partner (what CBKE stored): EmberZNet's key for APS encryption."""
        keys = self.trust_centre.keys if self.trust_centre is not None else None
        lookup = getattr(keys, "link_key_for", None)
        return lookup(EUI64(partner)) if lookup is not None else None

    def partner_eui64(self, nwk: int) -> EUI64 | None:
        return self.address_map.get(nwk)

    def send_broadcast(self, dst: int, message: ApsMessage, radius: int) -> None:
        if not self._radio_on or not is_broadcast_nwk(dst):
            return
        self.send_aps_data(dst, profile_id=message.profile_id, cluster_id=message.cluster_id,
                           src_ep=message.src_ep, dst_ep=message.dst_ep, payload=message.payload,
                           counter=message.aps_counter)

    def remove_device(self, eui64: EUI64) -> None:
        eui64 = EUI64(eui64)
        child = self.children.get(eui64)
        if child is not None and self._radio_on and self.network_key is not None:
            # Ask it to leave (NWK Leave with the request bit), then forget it.
            self.send_nwk(child.nwk, Leave(request=True), dst_ieee=eui64)
        self.drop_child(eui64)
        if self.trust_centre is not None:
            self.trust_centre.forget(eui64)

    # -- queries for tests and the NCP ---------------------------------------------------------------------

    @property
    def decisions(self) -> list[JoinRecord]:
        return self.trust_centre.decisions if self.trust_centre is not None else []

    def child_by_nwk(self, nwk: int) -> Child | None:
        for child in self.children.values():
            if child.nwk == nwk:
                return child
        return None

    def _knows(self, nwk: int) -> bool:
        child = self.child_by_nwk(nwk)
        if child is not None:
            return child.authorised
        return nwk in self.address_map

    # -- MAC: beacons and association ----------------------------------------------------------------------

    def _permitting(self) -> bool:
        return self.trust_centre is not None and self.trust_centre.permits_joining()

    def on_beacon_request(self) -> None:
        self.transmit(self.beacon(association_permit=self._permitting(), pan_coordinator=True))

    def on_association_request(self, joiner: EUI64, capability: Capability) -> None:
        if not self._permitting() or self.pan_id is None:
            return  # macAssociationPermit is false: the request is ignored
        child = self.children.get(joiner)
        if child is None:
            child = Child(joiner, self._allocate_address(), capability)
            self.children[joiner] = child
        else:
            child.capability = capability
            child.authorised = False
        self._indirect.pop(joiner, None)
        response = AssociationResponse(child.nwk, ASSOCIATION_SUCCESS)
        pan = self.pan_id

        def build(pending: bool) -> bytes:
            # The parent's next step (authentication) starts once the joiner has collected its address.
            asyncio.get_running_loop().call_soon(self._authenticate, joiner)
            return MacFrame(MacFrameType.COMMAND, self.next_mac_seq(), pan, joiner, None, self.eui64, response,
                            ack_request=True, frame_pending=pending, pan_id_compression=True).to_bytes()

        self._queue_indirect(child, build)

    def _allocate_address(self) -> int:
        # ZigBee PRO stochastic addressing: random, not 0x0000 and not in the reserved 0xFFF8-0xFFFF range.
        used = {child.nwk for child in self.children.values()} | set(self.address_map) | {0x0000}
        while True:
            candidate = self._rng.randrange(0x0001, 0xFFF8)
            if candidate not in used:
                return candidate

    def _sleeping_child(self, mac_dst: int | EUI64) -> Child | None:
        # A joiner that has not yet been authorised is treated as asleep: it polls for its key.
        for child in self.children.values():
            if child.nwk == mac_dst or child.eui64 == mac_dst:
                if not child.rx_on_when_idle or not child.authorised:
                    return child
        return None

    # -- trust centre --------------------------------------------------------------------------------------

    def _authenticate(self, joiner: EUI64) -> None:
        child = self.children.get(joiner)
        if child is None or self.trust_centre is None or self.events is None or self.network_key is None:
            return
        record, link_key = self.trust_centre.decide(joiner)
        if self.on_join_decision is not None:
            self.on_join_decision(record)
        status = int(DeviceUpdate.STANDARD_SECURITY_UNSECURED_JOIN)
        if record.decision is JoinDecision.DENY_JOIN or link_key is None:
            self.drop_child(joiner)
            self.events.stack_trust_center_join(child.nwk, joiner, status, int(JoinDecision.DENY_JOIN), 0x0000)
            return
        self.forget_counter(joiner)
        command = TransportNetworkKey(KeyData(self.network_key), self.network_key_seq, joiner, self.eui64)
        self.send_aps_command_secured(child.nwk, command, link_key, key_id=KeyId.KEY_TRANSPORT, nwk_secure=False,
                                      dst_ieee=joiner)
        child.authorised = True
        self.address_map[child.nwk] = joiner
        index = list(self.children).index(joiner)
        self.events.stack_child_join(index, True, child.nwk, joiner, self._node_type(child))
        self.events.stack_trust_center_join(child.nwk, joiner, status, int(record.decision), 0x0000)

    @staticmethod
    def _node_type(child: Child) -> int:
        if child.is_router:
            return NODE_TYPE_ROUTER
        return NODE_TYPE_END_DEVICE if child.rx_on_when_idle else NODE_TYPE_SLEEPY_END_DEVICE

    # -- NWK and APS up-calls ------------------------------------------------------------------------------

    def on_nwk_command(self, frame: NwkFrame, command: NwkCommand) -> None:
        if not isinstance(command, Leave) or command.request:
            return
        eui64 = frame.src_ieee or self.address_map.get(frame.src)
        if eui64 is None:
            return
        self.drop_child(eui64)
        self.address_map.pop(frame.src, None)
        if self.trust_centre is not None:
            self.trust_centre.forget(eui64)
        if self.events is not None:
            self.events.stack_trust_center_join(frame.src, eui64, int(DeviceUpdate.DEVICE_LEFT),
                                                int(JoinDecision.NO_ACTION), 0xFFFF)

    def on_aps_data(self, received: ReceivedAps) -> None:
        if self.events is None:
            return
        aps = received.frame
        message = ApsMessage(
            profile_id=aps.profile_id or 0,
            cluster_id=aps.cluster_id or 0,
            src_ep=aps.src_endpoint or 0,
            dst_ep=aps.dst_endpoint or 0,
            payload=bytes(aps.payload),  # type: ignore[arg-type]
            aps_counter=aps.counter,
            group_id=aps.group or 0,
            aps_encrypted=received.aps_secured,
        )
        self.events.stack_message_received(received.src_nwk, received.src_eui64, message,
                                           broadcast=received.broadcast, lqi=received.lqi, rssi=received.rssi)
