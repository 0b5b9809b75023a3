"""The ZigBee node stack model shared by the emulated coordinator and the emulated devices.

Layers, all as real bytes through harness.zigbee's codecs:

* MAC (802.15.4): address/PAN filtering, beacon request -> beacon, association request/response, data request
  (polling) and the parent's indirect queue for children that sleep;
* NWK: data and command frames secured with the network key (level 5, key id 1, extended nonce) with an
  outgoing frame counter and a per-sender replay check;
* APS: data frames, APS commands (Transport Key under the key-transport key of a link key), and data frames
  secured with a link key (key id 0, extended nonce), as Smart Energy sends application traffic after CBKE:
  `send_aps_data(link_key=...)` seals one, and a secured one received is opened with `aps_link_key_for(sender)`
  (a frame no key opens is dropped and counted).

Topology is one hop: every device joins the coordinator directly and unicasts go straight to their
destination (an end device sends via its parent, which is the coordinator). Emulated routers answer beacon
requests without permitting association, so nothing joins through them; NWK relaying is not modelled.
Subclasses add the roles: stack.EmulatedCoordinatorStack (PAN coordinator + trust centre) and
devices.base.EmulatedDevice (joiner, ZDO/ZCL server).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from zigpy.types import EUI64, KeyData

from harness.emulation.medium import Medium
from harness.errors import DecodeError, SecurityError
from harness.zigbee.aps import ApsCommand, ApsFrame, ApsFrameType, DeliveryMode
from harness.zigbee.auxsec import KeyId, SecurityHeader
from harness.zigbee.mac import (
    BROADCAST_ADDRESS,
    BROADCAST_PAN,
    AssociationRequest,
    AssociationResponse,
    Beacon,
    BeaconRequest,
    Capability,
    DataRequest,
    MacCommand,
    MacFrame,
    MacFrameType,
    SuperframeSpec,
    ZigbeeBeaconPayload,
)
from harness.zigbee.nwk import Leave, NwkCommand, NwkFrame, NwkFrameType

__all__ = ["NodeRole", "ReceivedAps", "Child", "ZigbeeNode", "is_broadcast_nwk"]

LOGGER = logging.getLogger(__name__)

DEFAULT_RADIUS = 30
# 802.15.4 macTransactionPersistenceTime as bellows configures it (INDIRECT_TRANSMISSION_TIMEOUT = 7680 ms).
INDIRECT_TRANSMISSION_TIMEOUT = 7.68
_COUNTER_WINDOW = 0x1_0000_0000


def is_broadcast_nwk(address: int) -> bool:
    return address >= 0xFFF8


class NodeRole(Enum):
    COORDINATOR = "coordinator"
    ROUTER = "router"
    END_DEVICE = "end-device"


@dataclass(frozen=True)
class ReceivedAps:
    """An APS frame delivered up the stack, with the NWK facts an application needs."""

    src_nwk: int
    src_eui64: EUI64 | None
    frame: ApsFrame
    broadcast: bool
    lqi: int
    rssi: int
    aps_secured: bool = False  # the frame came APS-secured with a link key (and was opened with it)


@dataclass
class Child:
    """A device that associated with this node (the parent keeps its address and whether it sleeps)."""

    eui64: EUI64
    nwk: int
    capability: Capability
    authorised: bool = False

    @property
    def rx_on_when_idle(self) -> bool:
        return bool(self.capability & Capability.RxOnWhenIdle)

    @property
    def is_router(self) -> bool:
        return bool(self.capability & Capability.FullFunctionDevice)


@dataclass
class _Pending:
    """A frame waiting for a child's poll: built on release, so it carries the right frame-pending bit."""

    psdu_for: Callable[[bool], bytes]
    expires: float


@dataclass
class NodeCounters:
    """What a test might want to know about a node's radio life."""

    frames_received: int = 0
    bad_fcs: int = 0
    undecodable: int = 0
    mic_failures: int = 0
    replays: int = 0
    polls_sent: int = 0
    polls_answered: int = 0
    indirect_expired: int = 0
    aps_no_key: int = 0  # APS-secured data from a sender we hold no link key for
    aps_mic_failures: int = 0


class ZigbeeNode:
    """One radio node: MAC, NWK and APS. Not usable alone: subclasses implement the on_* hooks."""

    def __init__(self, medium: Medium, eui64: EUI64, *, role: NodeRole, rx_on_when_idle: bool = True,
                 mains_powered: bool = True, channel: int = 11) -> None:
        self.medium = medium
        self.eui64 = EUI64(eui64)
        self.role = role
        self.rx_on_when_idle = rx_on_when_idle
        self.mains_powered = mains_powered
        self._channel = channel
        self._radio_on = False
        # Network state (None until formed/joined).
        self._nwk: int | None = None
        self.pan_id: int | None = None
        self.extended_pan_id: EUI64 | None = None
        self.network_key: KeyData | None = None
        self.network_key_seq = 0
        self.parent_nwk: int | None = None
        # Sequence numbers and security counters.
        self._mac_seq = 0
        self._nwk_seq = 0
        self._aps_counter = 0
        self.nwk_frame_counter = 0
        self.aps_frame_counter = 0
        self._incoming_counters: dict[EUI64, int] = {}
        self._incoming_aps_counters: dict[EUI64, int] = {}
        # Addressing and children.
        self.address_map: dict[int, EUI64] = {}
        self.children: dict[EUI64, Child] = {}
        self._indirect: dict[object, deque[_Pending]] = {}
        self.counters = NodeCounters()

    # -- RadioNode protocol --------------------------------------------------------------------------------

    @property
    def nwk(self) -> int | None:
        return self._nwk

    @nwk.setter
    def nwk(self, value: int | None) -> None:
        self._nwk = value

    @property
    def channel(self) -> int:
        return self._channel

    @channel.setter
    def channel(self, value: int) -> None:
        if not 11 <= value <= 26:
            raise ValueError(f"channel {value} is not a 2.4 GHz ZigBee channel (11..26)")
        self._channel = value

    @property
    def radio_on(self) -> bool:
        return self._radio_on

    def radio_up(self) -> None:
        self._radio_on = True
        self.medium.attach(self)

    def radio_down(self) -> None:
        self._radio_on = False
        self.medium.detach(self)

    @property
    def loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    # -- sequence numbers ----------------------------------------------------------------------------------

    def next_mac_seq(self) -> int:
        self._mac_seq = (self._mac_seq + 1) & 0xFF
        return self._mac_seq

    def next_nwk_seq(self) -> int:
        self._nwk_seq = (self._nwk_seq + 1) & 0xFF
        return self._nwk_seq

    def next_aps_counter(self) -> int:
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        return self._aps_counter

    def _next_nwk_frame_counter(self) -> int:
        self.nwk_frame_counter += 1
        return self.nwk_frame_counter

    def _next_aps_frame_counter(self) -> int:
        self.aps_frame_counter += 1
        return self.aps_frame_counter

    # -- MAC transmit --------------------------------------------------------------------------------------

    def mac_source(self) -> int | EUI64:
        return self._nwk if self._nwk is not None else self.eui64

    def transmit(self, frame: MacFrame) -> None:
        if not self._radio_on:
            return
        self.medium.transmit(self, frame.to_bytes())

    def send_mac_data(self, mac_dst: int | EUI64, payload: bytes) -> None:
        """Send a MAC data frame now, or queue it for a sleeping child of ours."""
        child = self._sleeping_child(mac_dst)
        pan = self.pan_id if self.pan_id is not None else BROADCAST_PAN
        source = self.mac_source()
        if child is not None:
            def build(pending: bool, dst: int | EUI64 = mac_dst) -> bytes:
                return MacFrame(MacFrameType.DATA, self.next_mac_seq(), pan, dst, None, source, bytes(payload),
                                ack_request=True, frame_pending=pending, pan_id_compression=True).to_bytes()
            self._queue_indirect(child, build)
            return
        self.transmit(MacFrame.data(self.next_mac_seq(), pan, mac_dst, source, payload))

    def send_mac_command(self, dst_pan: int, mac_dst: int | EUI64, command: MacCommand, *,
                         src_pan: int | None = None, indirect_for: Child | None = None) -> None:
        source = self.mac_source()
        compress = src_pan is None

        def build(pending: bool) -> bytes:
            return MacFrame(MacFrameType.COMMAND, self.next_mac_seq(), dst_pan, mac_dst,
                            None if compress else src_pan, source, command, ack_request=True,
                            frame_pending=pending, pan_id_compression=compress).to_bytes()

        if indirect_for is not None:
            self._queue_indirect(indirect_for, build)
        else:
            if self._radio_on:
                self.medium.transmit(self, build(False))

    def _sleeping_child(self, mac_dst: int | EUI64) -> Child | None:
        for child in self.children.values():
            if not child.rx_on_when_idle and (child.nwk == mac_dst or child.eui64 == mac_dst):
                return child
        return None

    def _queue_indirect(self, child: Child, build: Callable[[bool], bytes]) -> None:
        queue = self._indirect.setdefault(child.eui64, deque())
        queue.append(_Pending(build, self.loop_time + INDIRECT_TRANSMISSION_TIMEOUT))

    def pending_for(self, eui64: EUI64) -> int:
        """Frames waiting in the indirect queue for this child."""
        return len(self._indirect.get(EUI64(eui64), ()))

    def _answer_poll(self, requester: int | EUI64) -> None:
        child = None
        for candidate in self.children.values():
            if candidate.nwk == requester or candidate.eui64 == requester:
                child = candidate
                break
        if child is None:
            return
        queue = self._indirect.get(child.eui64)
        now = self.loop_time
        while queue and queue[0].expires < now:
            queue.popleft()
            self.counters.indirect_expired += 1
        if not queue:
            return
        pending = queue.popleft()
        self.counters.polls_answered += 1
        if self._radio_on:
            self.medium.transmit(self, pending.psdu_for(bool(queue)))

    def send_poll(self) -> None:
        """A MAC data request to our parent (from our short address, or our EUI-64 while joining)."""
        if self.pan_id is None or self.parent_nwk is None:
            return
        self.counters.polls_sent += 1
        self.send_mac_command(self.pan_id, self.parent_nwk, DataRequest())

    # -- NWK transmit --------------------------------------------------------------------------------------

    def _next_hop(self, dst_nwk: int) -> int:
        if is_broadcast_nwk(dst_nwk):
            return BROADCAST_ADDRESS
        if self.role is NodeRole.END_DEVICE and self.parent_nwk is not None:
            return self.parent_nwk
        return dst_nwk

    def send_nwk(self, dst_nwk: int, payload: bytes | NwkCommand, *, secure: bool = True,
                 radius: int = DEFAULT_RADIUS, dst_ieee: EUI64 | None = None) -> None:
        """Build, secure and send one NWK frame (data: `payload` is the APS frame bytes)."""
        if self._nwk is None:
            raise RuntimeError(f"{self.eui64}: no NWK address yet")
        security = None
        key = None
        if secure:
            if self.network_key is None:
                raise SecurityError(f"{self.eui64}: no network key to secure a NWK frame")
            security = SecurityHeader(KeyId.NETWORK, self._next_nwk_frame_counter(), self.eui64,
                                      self.network_key_seq)
            key = self.network_key
        frame_type = NwkFrameType.COMMAND if isinstance(payload, NwkCommand) else NwkFrameType.DATA
        frame = NwkFrame(frame_type, dst_nwk, self._nwk, radius, self.next_nwk_seq(), payload,
                         dst_ieee=dst_ieee, src_ieee=self.eui64, security=security)
        self.send_mac_data(self._next_hop(dst_nwk), frame.to_bytes(key))

    def send_aps_data(self, dst_nwk: int, *, profile_id: int, cluster_id: int, src_ep: int, dst_ep: int,
                      payload: bytes, counter: int | None = None, link_key: KeyData | None = None) -> int:
        """Send an APS data frame (NWK-secured; with `link_key` also APS-secured, key id 0); returns the APS
        counter used."""
        counter = self.next_aps_counter() if counter is None else counter & 0xFF
        mode = DeliveryMode.BROADCAST if is_broadcast_nwk(dst_nwk) else DeliveryMode.UNICAST
        security = None
        if link_key is not None:
            # The extended nonce carries our EUI-64, so a receiver (or a sniffer) needs no address map to open it.
            security = SecurityHeader(KeyId.DATA, self._next_aps_frame_counter(), self.eui64)
        aps = ApsFrame(ApsFrameType.DATA, counter, bytes(payload), mode, dst_endpoint=dst_ep,
                       cluster_id=cluster_id, profile_id=profile_id, src_endpoint=src_ep, security=security)
        self.send_nwk(dst_nwk, aps.to_bytes(link_key))
        return counter

    def send_aps_command_secured(self, dst_nwk: int, command: ApsCommand, link_key: KeyData, *,
                                 key_id: KeyId = KeyId.KEY_TRANSPORT, nwk_secure: bool = False,
                                 dst_ieee: EUI64 | None = None) -> None:
        """An APS command secured with a key derived from `link_key` (e.g. Transport Key under the KTK)."""
        security = SecurityHeader(key_id, self._next_aps_frame_counter(), self.eui64)
        aps = ApsFrame.command(self.next_aps_counter(), command, security=security)
        self.send_nwk(dst_nwk, aps.to_bytes(link_key), secure=nwk_secure, dst_ieee=dst_ieee)

    # -- receive -------------------------------------------------------------------------------------------

    def radio_receive(self, psdu: bytes, lqi: int, rssi: int) -> None:
        self.counters.frames_received += 1
        try:
            frame = MacFrame.from_bytes(psdu)
        except DecodeError as exc:
            if "FCS" in str(exc):
                self.counters.bad_fcs += 1
            else:
                self.counters.undecodable += 1
            return
        if frame.frame_type is MacFrameType.BEACON:
            if isinstance(frame.payload, Beacon):
                self.on_beacon(frame, frame.payload, lqi)
            return
        if not self._mac_accepts(frame):
            return
        if frame.frame_type is MacFrameType.COMMAND:
            self._on_mac_command(frame)
        elif frame.frame_type is MacFrameType.DATA:
            self._on_mac_data(frame, lqi, rssi)

    def _mac_accepts(self, frame: MacFrame) -> bool:
        if frame.dst_pan not in (BROADCAST_PAN, self.pan_id):
            return False
        return frame.dst in (BROADCAST_ADDRESS, self.eui64) or (self._nwk is not None and frame.dst == self._nwk)

    def _on_mac_command(self, frame: MacFrame) -> None:
        command = frame.payload
        if isinstance(command, BeaconRequest):
            self.on_beacon_request()
        elif isinstance(command, AssociationRequest) and isinstance(frame.src, EUI64):
            self.on_association_request(frame.src, command.capability)
        elif isinstance(command, AssociationResponse):
            self.on_association_response(frame, command)
        elif isinstance(command, DataRequest) and frame.src is not None:
            self._answer_poll(frame.src)

    def _on_mac_data(self, mac: MacFrame, lqi: int, rssi: int) -> None:
        try:
            nwk = NwkFrame.from_bytes(bytes(mac.payload))  # type: ignore[arg-type]
        except DecodeError:
            self.counters.undecodable += 1
            return
        if nwk.dst != self._nwk and not self._accepts_broadcast(nwk.dst):
            return
        if nwk.security is not None:
            if self.network_key is None:
                return  # not (yet) holding the network key: cannot read it
            try:
                nwk = nwk.decrypt(self.network_key)
            except (SecurityError, DecodeError):
                self.counters.mic_failures += 1
                return
            sender = nwk.security.source or nwk.src_ieee  # type: ignore[union-attr]
            if sender is not None and not self._fresh(sender, nwk.security.frame_counter):  # type: ignore[union-attr]
                self.counters.replays += 1
                return
        if nwk.src_ieee is not None:
            self.address_map[nwk.src] = nwk.src_ieee
        if isinstance(nwk.payload, NwkCommand):
            if nwk.security is not None:
                self.on_nwk_command(nwk, nwk.payload)
            return
        self._on_aps(nwk, lqi, rssi)

    def _accepts_broadcast(self, dst: int) -> bool:
        if dst == 0xFFFF:
            return True
        if dst == 0xFFFD:
            return self.rx_on_when_idle
        if dst == 0xFFFC:
            return self.role is not NodeRole.END_DEVICE
        return False

    def _fresh(self, sender: EUI64, counter: int) -> bool:
        last = self._incoming_counters.get(sender)
        if last is not None and counter <= last:
            return False
        self._incoming_counters[sender] = counter
        return True

    def forget_counter(self, sender: EUI64) -> None:
        """A device that rejoins starts its counters again (NO_FRAME_COUNTER_RESET aside)."""
        self._incoming_counters.pop(EUI64(sender), None)
        self._incoming_aps_counters.pop(EUI64(sender), None)

    def _on_aps(self, nwk: NwkFrame, lqi: int, rssi: int) -> None:
        try:
            aps = ApsFrame.from_bytes(bytes(nwk.payload))  # type: ignore[arg-type]
        except DecodeError:
            self.counters.undecodable += 1
            return
        src_eui = nwk.src_ieee or self.address_map.get(nwk.src)
        if aps.frame_type is ApsFrameType.COMMAND:
            self.on_aps_command(nwk, aps)
            return
        if nwk.security is None:
            return  # data must come NWK-secured on a secured network
        if aps.frame_type is ApsFrameType.DATA:
            secured = aps.security is not None
            if secured:
                opened = self._open_aps(aps, src_eui)
                if opened is None:
                    return
                aps = opened
            self.on_aps_data(ReceivedAps(nwk.src, src_eui, aps, is_broadcast_nwk(nwk.dst), lqi, rssi, secured))

    def _open_aps(self, aps: ApsFrame, src_eui: EUI64 | None) -> ApsFrame | None:
        """An APS-secured data frame decrypted with the sender's link key; None (counted) if it cannot be."""
        assert aps.security is not None
        sender = aps.security.source or src_eui
        key = self.aps_link_key_for(sender) if aps.security.key_id is KeyId.DATA and sender is not None else None
        if key is None:
            self.counters.aps_no_key += 1
            return None
        try:
            opened = aps.decrypt(key, sender=sender)
        except (SecurityError, DecodeError):
            self.counters.aps_mic_failures += 1
            return None
        assert sender is not None
        last = self._incoming_aps_counters.get(sender)
        if last is not None and aps.security.frame_counter <= last:
            self.counters.replays += 1
            return None
        self._incoming_aps_counters[sender] = aps.security.frame_counter
        return opened

    def aps_link_key_for(self, partner: EUI64) -> KeyData | None:
        """The link key APS data with this partner is secured with (key id 0), if we hold one. Roles override."""
        return None

    # -- hooks for the roles ------------------------------------------------------------------------------

    def on_beacon_request(self) -> None:
        """Coordinators and routers answer with a beacon."""

    def beacon(self, *, association_permit: bool, pan_coordinator: bool) -> MacFrame:
        assert self.pan_id is not None and self._nwk is not None and self.extended_pan_id is not None
        payload = ZigbeeBeaconPayload(
            extended_pan_id=self.extended_pan_id,
            router_capacity=association_permit,
            end_device_capacity=association_permit,
            device_depth=0 if pan_coordinator else 1,
        )
        superframe = SuperframeSpec(pan_coordinator=pan_coordinator, association_permit=association_permit)
        return MacFrame(MacFrameType.BEACON, self.next_mac_seq(), src_pan=self.pan_id, src=self._nwk,
                        payload=Beacon(superframe, payload))

    def on_beacon(self, frame: MacFrame, beacon: Beacon, lqi: int) -> None:
        """A joiner collects beacons while scanning."""

    def on_association_request(self, joiner: EUI64, capability: Capability) -> None:
        """A parent with association permitted admits children."""

    def on_association_response(self, frame: MacFrame, response: AssociationResponse) -> None:
        """A joiner learns its address."""

    def on_nwk_command(self, frame: NwkFrame, command: NwkCommand) -> None:
        """Leave and friends (only NWK-secured commands reach here)."""

    def on_aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        """Transport Key and friends."""

    def on_aps_data(self, received: ReceivedAps) -> None:
        """Application data (ZDO, ZCL)."""

    # -- leave ---------------------------------------------------------------------------------------------

    def send_leave(self, *, rejoin: bool = False) -> None:
        """Announce that this node leaves (NWK Leave broadcast to rx-on-when-idle nodes)."""
        if self._nwk is None or self.network_key is None:
            return
        self.send_nwk(0xFFFD, Leave(rejoin=rejoin), radius=1)

    def drop_child(self, eui64: EUI64) -> Child | None:
        self._indirect.pop(EUI64(eui64), None)
        return self.children.pop(EUI64(eui64), None)
