"""An emulated Comms Hub's HAN side: the PAN coordinator and trust centre of a premises HAN, on the medium.

Topology 2 (design.md): the hub is the device under test and the harness's EZSP stick joins it as the meter. In
CI the hub is this node. It knows nothing of SMETS2: every join decision comes from a `JoinAuthority` (the domain
side implements it, harness/smets/hub_han.py, from the CHF Device Log), and the node only does what a ZigBee PRO
trust centre does with the answer:

    joiner -> beacon request;  hub -> beacon, association permit while the authority permits joining
    joiner -> association request;  hub queues the association response (indirect; the joiner polls)
    response collected -> authority.admit(eui64)
      a key:   APS Transport Key (network key) under the key-transport key of THAT link key; then the hub waits
               `annce_timeout` for the joiner's NWK-secured Device_annce: it arrives -> authority.joined(...);
               it does not (the joiner could not verify the Transport Key: it holds another key) -> recorded
      no key:  nothing is sent, the child is dropped, the authority's reason is recorded
    request_leave(eui64) (the domain removed the device) -> NWK Leave with the request bit; authority.left(...)

Every step is a `HubDecision` in `decisions`, so a test can say why a stick did not get in. After the Device_annce
the hub may run Key Establishment (CBKE) before the device counts as joined: `key_establishment` is the CBKE
server (harness/emulation/hub_cbke.py); the key it establishes is the TC link key the authority records, and a
joiner that fails CBKE is asked to leave (decision `cbke-failed`). Without it the link key the joiner was admitted
with is the TC link key.

Simplifications as in docs/emulated-han.md (one hop, no MAC ACKs, no APS ACKs).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import zigpy.types as zt
import zigpy.zdo.types as zdo_t
from zigpy.types import EUI64, KeyData
from zigpy.zcl import foundation

from harness.emulation.medium import Medium
from harness.emulation.node import Child, NodeRole, ReceivedAps, ZigbeeNode
from harness.emulation.zdo_server import ZDO_PROFILE, parse_zdo_frame
from harness.zigbee.aps import TransportNetworkKey
from harness.zigbee.auxsec import KeyId
from harness.zigbee.mac import ASSOCIATION_SUCCESS, AssociationResponse, Capability, MacFrame, MacFrameType
from harness.zigbee.nwk import Leave, NwkCommand, NwkFrame

__all__ = [
    "JoinVerdict",
    "Verdict",
    "JoinAuthority",
    "KeyEstablishmentServer",
    "HubDecision",
    "EmulatedCommsHub",
    "DEFAULT_ANNCE_TIMEOUT",
]

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109
HUB_ENDPOINT = 1  # the hub's own SE endpoint (ESI, and its Key Establishment server); the meter's is 1 too
KE_CLUSTER = 0x0800
DEFAULT_ANNCE_TIMEOUT = 2.0  # seconds after the Transport Key; a real TC's authentication timeout is of this order
DEFAULT_CHANNEL = 15


@dataclass(frozen=True)
class JoinVerdict:
    """The authority's answer for one joiner: a link key to secure the Transport Key with, or None and why."""

    link_key: bytes | None = field(repr=False)  # a secret
    reason: str
    key_source: str = ""  # e.g. "install-code", "historic-key"


class Verdict(Protocol):
    """Any object with JoinVerdict's fields (the domain returns its own dataclass, without importing this one)."""

    link_key: bytes | None
    reason: str
    key_source: str


@runtime_checkable
class JoinAuthority(Protocol):
    """Who decides joins for the hub node (the domain: the CHF Device Log). EUI-64s are zigpy EUI64."""

    def permits_joining(self) -> bool:
        """Should the hub's beacons say association is permitted now?"""

    def admit(self, eui64: EUI64) -> "Verdict": ...

    def joined(self, eui64: EUI64, link_key: bytes) -> None:
        """The joiner announced itself (and finished key establishment, if any) with this TC link key."""

    def left(self, eui64: EUI64) -> None:
        """The device left the HAN (on its own, or because the hub asked it to)."""


class KeyEstablishmentServer(Protocol):
    """The hub's CBKE server (harness/emulation/hub_cbke.py). `establish` returns the TC link key CBKE
    established, or None if it failed; `receive` gets every Key Establishment frame (cluster 0x0800) a child sends
    to the hub's SE endpoint, which may arrive before `establish` is called."""

    async def establish(self, hub: "EmulatedCommsHub", eui64: EUI64, nwk: int, link_key: bytes) -> bytes | None: ...

    def receive(self, hub: "EmulatedCommsHub", eui64: EUI64, nwk: int, src_ep: int, payload: bytes) -> None: ...


@dataclass(frozen=True)
class HubDecision:
    """One entry of the hub's decision log. `outcome`: denied, key-sent, joined, no-annce, cbke-failed, left,
    leave-requested."""

    time: float
    eui64: EUI64
    outcome: str
    reason: str
    key_source: str = ""


class EmulatedCommsHub(ZigbeeNode):
    """Coordinator + trust centre whose decisions come from a JoinAuthority. `power_on()` forms the network."""

    def __init__(
        self,
        medium: Medium,
        eui64: EUI64 | str,
        authority: JoinAuthority,
        *,
        channel: int = DEFAULT_CHANNEL,
        pan_id: int | None = None,
        extended_pan_id: EUI64 | str | None = None,
        network_key: bytes | None = None,
        seed: int = 0,
        annce_timeout: float = DEFAULT_ANNCE_TIMEOUT,
        key_establishment: KeyEstablishmentServer | None = None,
    ) -> None:
        eui = EUI64.convert(eui64) if isinstance(eui64, str) else EUI64(eui64)
        super().__init__(medium, eui, role=NodeRole.COORDINATOR, channel=channel)
        self.authority = authority
        self._rng = random.Random(seed)
        self.pan_id = pan_id if pan_id is not None else self._rng.randrange(0x0001, 0xFFF0)
        if extended_pan_id is None:
            self.extended_pan_id = eui  # GBCS: the Extended PAN ID is the CH's HAN IEEE address (hub.py)
        else:
            self.extended_pan_id = EUI64.convert(extended_pan_id) if isinstance(extended_pan_id, str) else EUI64(
                extended_pan_id)
        self.network_key = KeyData(network_key if network_key is not None else os.urandom(16))
        self.nwk = 0x0000
        self.annce_timeout = annce_timeout
        self.key_establishment = key_establishment
        self.decisions: list[HubDecision] = []
        self.on_decision: list[Callable[[HubDecision], None]] = []
        self._admitted_keys: dict[EUI64, bytes] = {}
        self._awaiting_cbke: set[EUI64] = set()  # admitted, CBKE not finished: KE frames from them are taken
        self._annce_timers: dict[EUI64, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._zcl_tsn = 0
        self._zcl_waiters: dict[tuple[int, int], asyncio.Future[bytes]] = {}
        self.powered = False

    # -- power ---------------------------------------------------------------------------------------------

    def power_on(self) -> None:
        self.powered = True
        self.radio_up()

    async def power_off(self) -> None:
        self.powered = False
        self.radio_down()
        for timer in self._annce_timers.values():
            timer.cancel()
        self._annce_timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- decision log --------------------------------------------------------------------------------------

    def _decide(self, eui64: EUI64, outcome: str, reason: str, key_source: str = "") -> HubDecision:
        decision = HubDecision(self.loop_time, EUI64(eui64), outcome, reason, key_source)
        self.decisions.append(decision)
        LOGGER.debug("hub %s: %s %s (%s)", self.eui64, eui64, outcome, reason)
        for observer in list(self.on_decision):
            observer(decision)
        return decision

    def decisions_for(self, eui64: EUI64 | str) -> list[HubDecision]:
        eui = EUI64.convert(eui64) if isinstance(eui64, str) else EUI64(eui64)
        return [d for d in self.decisions if d.eui64 == eui]

    def is_joined(self, eui64: EUI64) -> bool:
        child = self.children.get(EUI64(eui64))
        return child is not None and child.authorised and EUI64(eui64) not in self._annce_timers

    # -- MAC: beacons and association ----------------------------------------------------------------------

    def on_beacon_request(self) -> None:
        self.transmit(self.beacon(association_permit=self.authority.permits_joining(), pan_coordinator=True))

    def on_association_request(self, joiner: EUI64, capability: Capability) -> None:
        if not self.authority.permits_joining():
            return  # macAssociationPermit is false: the request is ignored, as on a real coordinator
        pending = self._annce_timers.pop(joiner, None)
        if pending is not None:  # back before announcing itself: the last Transport Key did not work for it
            pending.cancel()
            self._admitted_keys.pop(joiner, None)
            self._decide(joiner, "no-annce", "associated again without a Device_annce after the Transport Key: "
                                             "the joiner could not verify it, so it holds a different link key "
                                             "(wrong install code?)")
        child = self.children.get(joiner)
        if child is None:
            used = {c.nwk for c in self.children.values()} | {0x0000}
            nwk = self._rng.randrange(0x0001, 0xFFF8)
            while nwk in used:
                nwk = self._rng.randrange(0x0001, 0xFFF8)
            child = Child(joiner, nwk, capability)
            self.children[joiner] = child
        else:
            child.capability = capability
            child.authorised = False
        self._indirect.pop(joiner, None)
        response = AssociationResponse(child.nwk, ASSOCIATION_SUCCESS)
        pan = self.pan_id
        assert pan is not None

        def build(pending: bool) -> bytes:
            asyncio.get_running_loop().call_soon(self._authenticate, joiner)
            return MacFrame(MacFrameType.COMMAND, self.next_mac_seq(), pan, joiner, None, self.eui64, response,
                            ack_request=True, frame_pending=pending, pan_id_compression=True).to_bytes()

        self._queue_indirect(child, build)

    def _sleeping_child(self, mac_dst: int | EUI64) -> Child | None:
        # A joiner not yet authorised polls for its key: treat it as asleep until then (as stack.py does).
        for child in self.children.values():
            if child.nwk == mac_dst or child.eui64 == mac_dst:
                if not child.rx_on_when_idle or not child.authorised:
                    return child
        return None

    # -- trust centre --------------------------------------------------------------------------------------

    def _authenticate(self, joiner: EUI64) -> None:
        child = self.children.get(joiner)
        if child is None or self.network_key is None:
            return
        verdict = self.authority.admit(joiner)
        if verdict.link_key is None:
            self.drop_child(joiner)
            self._decide(joiner, "denied", verdict.reason)
            return
        self.forget_counter(joiner)
        command = TransportNetworkKey(KeyData(self.network_key), self.network_key_seq, joiner, self.eui64)
        self.send_aps_command_secured(child.nwk, command, KeyData(verdict.link_key), key_id=KeyId.KEY_TRANSPORT,
                                      nwk_secure=False, dst_ieee=joiner)
        child.authorised = True
        self.address_map[child.nwk] = joiner
        self._admitted_keys[joiner] = bytes(verdict.link_key)
        if self.key_establishment is not None:
            self._awaiting_cbke.add(joiner)
        self._decide(joiner, "key-sent", f"Transport Key sent: {verdict.reason}", verdict.key_source)
        self._annce_timers[joiner] = asyncio.get_running_loop().call_later(
            self.annce_timeout, self._no_annce, joiner)

    def _no_annce(self, joiner: EUI64) -> None:
        self._annce_timers.pop(joiner, None)
        self._admitted_keys.pop(joiner, None)
        self._awaiting_cbke.discard(joiner)
        self.drop_child(joiner)
        self._decide(joiner, "no-annce",
                     f"no Device_annce within {self.annce_timeout:g} s of the Transport Key: the joiner could not "
                     "verify it, so it holds a different link key (wrong install code?)")

    def _announced(self, eui64: EUI64, nwk: int) -> None:
        timer = self._annce_timers.pop(eui64, None)
        if timer is None:
            return  # a re-announcement of a device already joined, or one we did not admit
        timer.cancel()
        link_key = self._admitted_keys.get(eui64)
        if link_key is None:
            return
        if self.key_establishment is None:
            self._joined(eui64, link_key, "Device_annce received; no CBKE server configured, the admitting key is "
                                          "the TC link key")
            return
        task = asyncio.get_running_loop().create_task(self._run_cbke(eui64, nwk, link_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_cbke(self, eui64: EUI64, nwk: int, link_key: bytes) -> None:
        assert self.key_establishment is not None
        try:
            established = await self.key_establishment.establish(self, eui64, nwk, link_key)
        finally:
            self._awaiting_cbke.discard(eui64)
        if eui64 not in self.children:
            return  # it left (or was removed) during the exchange
        if established is None:
            last = getattr(self.key_establishment, "last_result", None)
            result = last(eui64) if callable(last) else None
            why = f": {result.outcome.reason}" if result is not None else ""
            self._decide(eui64, "cbke-failed", f"Key Establishment failed{why}; the device is asked to leave")
            self.request_leave(eui64, why="CBKE failed")
            return
        self._joined(eui64, established, "Device_annce received and CBKE completed; the CBKE key is the TC link key")

    def _joined(self, eui64: EUI64, link_key: bytes, reason: str) -> None:
        self._decide(eui64, "joined", reason)
        self.authority.joined(eui64, link_key)

    def request_leave(self, eui64: EUI64 | str, *, why: str = "removed by the hub") -> bool:
        """Ask a child to leave (NWK Leave, request bit) and forget it. False if it is not on this HAN."""
        eui = EUI64.convert(eui64) if isinstance(eui64, str) else EUI64(eui64)
        child = self.children.get(eui)
        timer = self._annce_timers.pop(eui, None)
        if timer is not None:
            timer.cancel()
        self._admitted_keys.pop(eui, None)
        self._awaiting_cbke.discard(eui)
        if child is None:
            return False
        if child.authorised and self._radio_on:
            self.send_nwk(child.nwk, Leave(request=True), dst_ieee=eui)
        self.drop_child(eui)
        self.address_map.pop(child.nwk, None)
        self._decide(eui, "leave-requested", why)
        self.authority.left(eui)
        return True

    # -- NWK and APS up-calls ------------------------------------------------------------------------------

    def on_nwk_command(self, frame: NwkFrame, command: NwkCommand) -> None:
        if not isinstance(command, Leave) or command.request:
            return
        eui64 = frame.src_ieee or self.address_map.get(frame.src)
        if eui64 is None or eui64 not in self.children:
            return
        self.drop_child(eui64)
        self.address_map.pop(frame.src, None)
        self._admitted_keys.pop(eui64, None)
        self._decide(eui64, "left", "the device announced a NWK Leave")
        self.authority.left(eui64)

    def on_aps_data(self, received: ReceivedAps) -> None:
        aps = received.frame
        payload = bytes(aps.payload)  # type: ignore[arg-type]
        if aps.profile_id == ZDO_PROFILE and aps.cluster_id == zdo_t.ZDOCmd.Device_annce:
            try:
                _, (nwk, ieee, _caps) = parse_zdo_frame(zdo_t.ZDOCmd.Device_annce, payload)
            except (ValueError, KeyError):
                return
            self._announced(EUI64(ieee), int(nwk))  # type: ignore[arg-type]
            return
        if (aps.profile_id == SE_PROFILE and aps.cluster_id == KE_CLUSTER and aps.dst_endpoint == HUB_ENDPOINT
                and self.key_establishment is not None):
            eui64 = received.src_eui64 or self.address_map.get(received.src_nwk)
            child = self.children.get(EUI64(eui64)) if eui64 is not None else None
            # only from a joiner between its Transport Key and the end of its CBKE (a device already joined
            # keeps its TC link key: a re-keying exchange is not modelled); broadcast KE frames are ignored
            if child is not None and child.eui64 in self._awaiting_cbke and not received.broadcast:
                self.key_establishment.receive(self, child.eui64, child.nwk, aps.src_endpoint or 0, payload)
            return
        if aps.profile_id in (SE_PROFILE, 0x0104) and len(payload) >= 3:
            header, _ = foundation.ZCLHeader.deserialize(payload)
            waiter = self._zcl_waiters.pop((received.src_nwk, int(header.tsn)), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(payload)

    # -- the hub as a client of the meter ------------------------------------------------------------------

    async def read_attributes(self, eui64: EUI64 | str, cluster_id: int, attribute_ids: list[int], *,
                              endpoint: int = 1, timeout: float = 5.0) -> dict[int, Any]:
        """ZCL Read Attributes to a joined meter on the SE profile (what a CH does to an ESME)."""
        eui = EUI64.convert(eui64) if isinstance(eui64, str) else EUI64(eui64)
        child = self.children.get(eui)
        if child is None or not child.authorised:
            raise LookupError(f"{eui} is not on this hub's HAN")
        self._zcl_tsn = (self._zcl_tsn + 1) & 0xFF
        tsn = self._zcl_tsn
        header = foundation.ZCLHeader.general(tsn, foundation.GeneralCommand.Read_Attributes)
        body = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes].schema(
            attribute_ids=[zt.uint16_t(a) for a in attribute_ids])
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._zcl_waiters[(child.nwk, tsn)] = future
        self.send_aps_data(child.nwk, profile_id=SE_PROFILE, cluster_id=cluster_id, src_ep=HUB_ENDPOINT,
                           dst_ep=endpoint, payload=header.serialize() + body.serialize())
        try:
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._zcl_waiters.pop((child.nwk, tsn), None)
        _, rest = foundation.ZCLHeader.deserialize(reply)
        records, _ = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp].schema.deserialize(
            rest)
        return {int(r.attrid): r.value.value for r in records.status_records
                if r.status == foundation.Status.SUCCESS}
