"""An emulated Smart Energy device: joins with its own install-code key, then serves ZDO and ZCL.

Like a real SE device, when powered and not on a network it scans, and tries to join a network that permits
joining. It joins only if the APS Transport Key decrypts (MIC verified) under the key-transport key of the
link key derived from ITS install code; otherwise it records why in `join_attempts` and tries again after
`scan_interval`. A sleepy device (GSME) polls its parent every `poll_interval` for queued frames.

Simplifications (docs/emulated-han.md): the scan stops at the first channel with a permitting beacon; power
off keeps the network state (NV) and power on resumes on the same network without a rejoin exchange.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import zigpy.zdo.types as zdo_t
from zigpy.types import EUI64, KeyData

from harness.emulation.devices.key_establishment_client import KeyEstablishmentClient
from harness.emulation.medium import Medium
from harness.emulation.node import NodeRole, ReceivedAps, ZigbeeNode
from harness.emulation.zcl_server import SE_PROFILE, ZclEndpoint
from harness.emulation.zdo_server import ZDO_PROFILE, ZdoServer, node_descriptor
from harness.errors import DecodeError, JoinTimeout, SecurityError
from harness.zigbee.aps import ApsFrame, TransportNetworkKey
from harness.zigbee.auxsec import KeyId
from harness.zigbee.cbke.certificate import DeviceCredentials
from harness.zigbee.key_establishment import CLUSTER_ID as KEY_ESTABLISHMENT_CLUSTER
from harness.zigbee.key_establishment import KeConfig, KeOutcome
from harness.zigbee.installcode import CrcMode, InstallCode, parse_install_code
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

__all__ = ["JoinAttempt", "EmulatedDevice", "ALL_CHANNELS"]

LOGGER = logging.getLogger(__name__)

ALL_CHANNELS = tuple(range(11, 27))
ZIGBEE_PRO_STACK_PROFILE = 2


@dataclass(frozen=True)
class JoinAttempt:
    """One try to join: when (loop time), where, and what came of it (`joined` True, or the reason why not)."""

    time: float
    joined: bool
    reason: str
    channel: int | None = None
    pan_id: int | None = None


@dataclass(frozen=True)
class _Found:
    channel: int
    pan_id: int
    parent: int
    extended_pan_id: EUI64


class EmulatedDevice(ZigbeeNode):
    """Base of the ESME, GSME and IHD. Subclasses set the role, endpoints and ZCL attributes."""

    kind = "device"
    logical_type = zdo_t.LogicalType.EndDevice
    manufacturer_code = 0x1234

    def __init__(
        self,
        medium: Medium,
        eui64: EUI64 | str,
        install_code: InstallCode | str,
        *,
        crc_mode: CrcMode = "append",
        role: NodeRole,
        rx_on_when_idle: bool,
        mains_powered: bool,
        scan_interval: float = 0.2,
        scan_dwell: float = 0.01,
        channels: tuple[int, ...] = ALL_CHANNELS,
        poll_interval: float = 0.1,
        association_timeout: float = 0.5,
        key_timeout: float = 1.0,
        join_poll_interval: float = 0.02,
        rejoin_after_leave: bool = True,
        cbke: DeviceCredentials | None = None,
        cbke_unix_time: Callable[[], float] | None = None,
        cbke_config: KeConfig | None = None,
    ) -> None:
        super().__init__(medium, EUI64.convert(eui64) if isinstance(eui64, str) else eui64, role=role,
                         rx_on_when_idle=rx_on_when_idle, mains_powered=mains_powered, channel=channels[0])
        if isinstance(install_code, str):
            install_code = parse_install_code(install_code, crc_mode=crc_mode, where=f"{self.kind} {self.eui64}")
        self.install_code = install_code
        self.link_key = KeyData(install_code.link_key())
        self.trust_centre_eui64: EUI64 | None = None  # from the Transport Key: whom our link key is with
        self.scan_interval = scan_interval
        self.scan_dwell = scan_dwell
        self.channels = tuple(channels)
        self.poll_interval = poll_interval
        self.association_timeout = association_timeout
        self.key_timeout = key_timeout
        self.join_poll_interval = join_poll_interval
        self.rejoin_after_leave = rejoin_after_leave
        self.join_attempts: list[JoinAttempt] = []
        self.leaves: list[tuple[float, str]] = []
        self.endpoints: dict[int, ZclEndpoint] = {}
        self.zdo = ZdoServer(lambda: self.nwk or 0xFFFE, lambda: self.eui64,
                             node_descriptor(self.logical_type, self.capability, self.manufacturer_code),
                             self.endpoints, on_leave=self._leave_requested)
        self.powered = False
        self._task: asyncio.Task[None] | None = None
        self._joined = asyncio.Event()
        self._left = asyncio.Event()
        self._beacons: list[_Found] = []
        self._association: asyncio.Future[AssociationResponse] | None = None
        self._key_outcome: asyncio.Future[str | None] | None = None
        self._zdo_tsn = 0
        self.setup_endpoints()
        # CBKE (suite 2) after the join, when the device carries a certificate (key_establishment_client.py)
        self.cbke: KeyEstablishmentClient | None = None
        self.on_key_established: list[Callable[[EmulatedDevice, bytes], None]] = []
        if cbke is not None and self.endpoints:
            options: dict[str, Any] = {"unix_time": cbke_unix_time} if cbke_unix_time is not None else {}
            self.cbke = KeyEstablishmentClient(self, cbke, endpoint=min(self.endpoints), config=cbke_config,
                                               **options)

    # -- identity ------------------------------------------------------------------------------------------

    @property
    def capability(self) -> Capability:
        caps = Capability.AllocateAddress
        if self.role is NodeRole.ROUTER:
            caps |= Capability.FullFunctionDevice
        if self.mains_powered:
            caps |= Capability.MainsPowered
        if self.rx_on_when_idle:
            caps |= Capability.RxOnWhenIdle
        return caps

    def setup_endpoints(self) -> None:
        """Subclasses add their endpoints and attributes."""

    def add_endpoint(self, endpoint: ZclEndpoint) -> ZclEndpoint:
        self.endpoints[endpoint.endpoint] = endpoint
        return endpoint

    def set_attribute(self, cluster_id: int, attribute: int | str, value: Any, *, endpoint: int = 1) -> None:
        """Set a ZCL attribute the coordinator can read (e.g. Metering current_summ_delivered)."""
        self.endpoints[endpoint].set_attribute(cluster_id, attribute, value)

    def get_attribute(self, cluster_id: int, attribute: int | str, *, endpoint: int = 1) -> Any:
        return self.endpoints[endpoint].get_attribute(cluster_id, attribute)

    # -- power ---------------------------------------------------------------------------------------------

    def power_on(self) -> None:
        """Switch on: the radio comes up and the device joins (or resumes its network)."""
        if self.powered:
            return
        self.powered = True
        self.radio_up()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.kind} {self.eui64}")

    async def power_off(self) -> None:
        """Switch off: the radio goes silent. Network state survives, as in a meter's NV."""
        self.powered = False
        self.radio_down()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    @property
    def joined(self) -> bool:
        return self.network_key is not None and self.nwk is not None

    async def wait_joined(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._joined.wait(), timeout)
        except asyncio.TimeoutError:
            last = self.join_attempts[-1].reason if self.join_attempts else "no join attempt made"
            raise JoinTimeout(f"{self.kind} {self.eui64} did not join within {timeout} s; last attempt: {last}") from None

    async def wait_left(self, timeout: float) -> None:
        await asyncio.wait_for(self._left.wait(), timeout)

    # -- the device's life ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        while self.powered:
            if not self.joined:
                if self.leaves and not self.rejoin_after_leave:
                    return
                if not await self._try_join():
                    await asyncio.sleep(self.scan_interval)
            elif not self.rx_on_when_idle:
                self.send_poll()
                await asyncio.sleep(self.poll_interval)
            else:
                self._left.clear()
                await self._left.wait()
                await asyncio.sleep(self.scan_interval)

    def _record(self, joined: bool, reason: str, found: _Found | None = None) -> bool:
        attempt = JoinAttempt(self.loop_time, joined, reason, found.channel if found else None,
                              found.pan_id if found else None)
        self.join_attempts.append(attempt)
        LOGGER.debug("%s %s join attempt: %s", self.kind, self.eui64, reason)
        return joined

    def _reset_network(self) -> None:
        self.nwk = None
        self.pan_id = None
        self.extended_pan_id = None
        self.parent_nwk = None
        self.network_key = None
        self.trust_centre_eui64 = None
        self._joined.clear()

    async def _try_join(self) -> bool:
        self._reset_network()
        found = await self._scan()
        if found is None:
            channels = f"{self.channels[0]}-{self.channels[-1]}" if len(self.channels) > 1 else str(self.channels[0])
            return self._record(False, f"no network permitting joining heard on channel(s) {channels}")
        self.channel = found.channel
        self.pan_id = found.pan_id
        self.parent_nwk = found.parent
        self.extended_pan_id = found.extended_pan_id
        loop = asyncio.get_running_loop()
        # 1. Association: request, then poll for the (indirect) response.
        self._association = loop.create_future()
        self.send_mac_command(found.pan_id, found.parent, AssociationRequest(self.capability), src_pan=BROADCAST_PAN)
        response = await self._poll_until(self._association, self.association_timeout)
        self._association = None
        if response is None:
            self._reset_network()
            return self._record(False, f"no association response from 0x{found.parent:04X} within "
                                       f"{self.association_timeout} s", found)
        if response.status != ASSOCIATION_SUCCESS:
            self._reset_network()
            return self._record(False, f"association refused with status 0x{response.status:02X}", found)
        self.nwk = response.short_address
        # 2. Authentication: wait (polling) for the Transport Key under our install-code key.
        self._key_outcome = loop.create_future()
        outcome = await self._poll_until(self._key_outcome, self.key_timeout)
        self._key_outcome = None
        if outcome is None:
            self._reset_network()
            return self._record(False, f"no Transport Key from the trust centre within {self.key_timeout} s "
                                       "(join denied or key lost)", found)
        if outcome:
            self._reset_network()
            return self._record(False, outcome, found)
        # 3. Joined: announce ourselves.
        self._joined.set()
        self._announce()
        if self.cbke is not None:
            self.cbke.start()
        return self._record(True, f"joined PAN 0x{found.pan_id:04X} as 0x{self.nwk:04X}", found)

    async def _scan(self) -> _Found | None:
        for channel in self.channels:
            self.channel = channel
            self._beacons = []
            self.transmit(MacFrame.beacon_request(self.next_mac_seq()))
            await asyncio.sleep(self.scan_dwell)
            if self._beacons:
                return self._beacons[0]
        return None

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
        annce = self.zdo.device_annce(self._zdo_tsn, self.capability)
        self.send_aps_data(0xFFFD, profile_id=ZDO_PROFILE, cluster_id=annce.cluster_id, src_ep=0, dst_ep=0,
                           payload=annce.payload)

    # -- MAC/NWK/APS hooks ---------------------------------------------------------------------------------

    def on_beacon_request(self) -> None:
        # Routers answer, but emulated routers do not accept children (one-hop topology).
        if self.role is NodeRole.ROUTER and self.joined:
            self.transmit(self.beacon(association_permit=False, pan_coordinator=False))

    def on_beacon(self, frame: MacFrame, beacon: Beacon, lqi: int) -> None:
        payload = beacon.payload
        if self.joined or not isinstance(payload, ZigbeeBeaconPayload):
            return
        if not beacon.superframe.association_permit or payload.stack_profile != ZIGBEE_PRO_STACK_PROFILE:
            return
        if frame.src_pan is None or not isinstance(frame.src, int):
            return
        self._beacons.append(_Found(self.channel, frame.src_pan, frame.src, payload.extended_pan_id))

    def on_association_response(self, frame: MacFrame, response: AssociationResponse) -> None:
        if self._association is not None and not self._association.done():
            self._association.set_result(response)

    def on_aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        if self._key_outcome is None or self._key_outcome.done() or aps.security is None:
            return
        if aps.security.key_id is not KeyId.KEY_TRANSPORT:
            return
        sender = aps.security.source or nwk.src_ieee
        try:
            command = aps.decrypt(self.link_key, sender=sender).payload
        except SecurityError:
            self._key_outcome.set_result(
                f"Transport Key from {sender} did not verify under the key-transport key of the link key from "
                "my install code (MIC check failed): the trust centre used a different key"
            )
            return
        except DecodeError as exc:
            self._key_outcome.set_result(f"Transport Key from {sender} did not decode: {exc}")
            return
        if not isinstance(command, TransportNetworkKey) or command.destination != self.eui64:
            return
        self.network_key = KeyData(command.key)
        self.network_key_seq = command.key_seq
        self.trust_centre_eui64 = EUI64(command.source)
        self._key_outcome.set_result("")

    def on_nwk_command(self, frame: NwkFrame, command: NwkCommand) -> None:
        if isinstance(command, Leave) and command.request and frame.dst == self.nwk:
            self._leave(rejoin=command.rejoin, why=f"NWK Leave request from 0x{frame.src:04X}")

    def on_aps_data(self, received: ReceivedAps) -> None:
        aps = received.frame
        payload = bytes(aps.payload)  # type: ignore[arg-type]
        if aps.profile_id == ZDO_PROFILE and aps.dst_endpoint == 0:
            reply = self.zdo.handle(aps.cluster_id or 0, payload, broadcast=received.broadcast)
            if reply is not None:
                self.send_aps_data(received.src_nwk, profile_id=ZDO_PROFILE, cluster_id=reply.cluster_id,
                                   src_ep=0, dst_ep=0, payload=reply.payload)
            return
        endpoint = self.endpoints.get(aps.dst_endpoint or -1)
        if endpoint is None or received.broadcast:
            return
        if aps.cluster_id == KEY_ESTABLISHMENT_CLUSTER and self.cbke is not None and received.src_nwk == 0x0000:
            self.cbke.receive(payload)
            return
        if aps.profile_id not in (endpoint.profile_id, 0x0104):  # HA-profile requests reach SE endpoints too
            return
        reply_payload = endpoint.handle(aps.cluster_id or 0, payload)
        if reply_payload is not None:
            # A request that came APS-secured with our TC link key (SE traffic after CBKE) is answered so too.
            self.send_aps_data(received.src_nwk, profile_id=aps.profile_id or SE_PROFILE,
                               cluster_id=aps.cluster_id or 0, src_ep=endpoint.endpoint,
                               dst_ep=aps.src_endpoint or 1, payload=reply_payload,
                               link_key=self.link_key if received.aps_secured else None)

    def aps_link_key_for(self, partner: EUI64) -> KeyData | None:
        """A device holds one link key, with the trust centre: the install-code key, then KeyData after CBKE."""
        if self.trust_centre_eui64 is not None and EUI64(partner) == self.trust_centre_eui64:
            return self.link_key
        return None

    # -- key establishment ---------------------------------------------------------------------------------

    def key_established(self, key_data: bytes, outcome: KeOutcome) -> None:
        """CBKE done: KeyData becomes the TC link key (the install-code key is no longer used)."""
        self.link_key = KeyData(key_data)
        LOGGER.debug("%s %s: CBKE done in %.3f s", self.kind, self.eui64, outcome.duration)
        for observer in self.on_key_established:
            observer(self, key_data)

    def key_establishment_failed(self, outcome: KeOutcome) -> None:
        """SE: a device that cannot establish a key with the trust centre leaves the network."""
        self._leave(rejoin=False, why=f"CBKE failed: {outcome.reason}")

    @property
    def key_established_ok(self) -> bool:
        return self.cbke is not None and self.cbke.established.is_set()

    # -- leave ---------------------------------------------------------------------------------------------

    def _leave_requested(self, rejoin: bool) -> None:
        # Leave after the Mgmt_Leave_rsp has gone out (the ZDO reply is sent right after this returns).
        asyncio.get_running_loop().call_later(0.005, self._leave, rejoin, "Mgmt_Leave_req")

    def _leave(self, rejoin: bool, why: str) -> None:
        if not self.joined:
            return
        self.send_leave(rejoin=rejoin)
        if self.cbke is not None:
            self.cbke.stop()
            self.link_key = KeyData(self.install_code.link_key())  # a fresh join starts from the install code
        self.leaves.append((self.loop_time, why))
        self._reset_network()
        self._left.set()
