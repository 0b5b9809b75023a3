"""The harness's EZSP stick as the meter: it joins the hub's HAN as a router with its install-code key (topology 2).

zigpy's ControllerApplication is coordinator-only (research/ezsp.md 0.4), so this driver talks raw EZSP through
bellows' own `EZSP` object, the same on a real Silicon Labs stick and on the emulated NCP (pty or tcp://):

    EZSP.connect (RST, version, XNCP probe) -> write_config -> addEndpoint(1, SE profile, Metering device)
    networkInit: NETWORK_UP means the stick is still on a network from NV (a meter resumes; `rejoin` below)
    setInitialSecurityState(HAVE_PRECONFIGURED_KEY | REQUIRE_ENCRYPTED_KEY, key = AES-MMO(install code))
    startScan(ACTIVE_SCAN) -> networkFoundHandler... -> joinNetwork(ROUTER, that network) -> stackStatusHandler

and then serves endpoint 1 like an ESME: every incomingMessageHandler for it is answered (Basic, Metering with
zigpy's attribute definitions, through harness/emulation/zcl_server.py's ZclEndpoint, the same server the emulated
meters run) with sendUnicast. The stick's own stack answers the ZDO descriptors. A NETWORK_DOWN (the hub asked
the meter to leave, or `leave()`) is recorded in `leaves`.

Never reads GET_PRECONFIGURED_KEY_FROM_INSTALL_CODE: on a real stick that reads the write-once MFG token
(research/ezsp.md 4.2 note); the key is derived here and passed in.

Key Establishment (CBKE): `key_establishment` is the KE client (meter_stick_cbke.py, crypto in the stick); when
given, endpoint 1 lists cluster 0x0800 as a client (output) cluster, the client runs after NETWORK_UP and the
join counts only once it returns True (JoinTimeout otherwise; the stick stays until the hub asks it to leave).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import bellows.ezsp
import bellows.types as bt
import zigpy.types as zt

from harness.drivers.ezsp import _DEVICE_SCHEMA, SE_PROFILE
from harness.drivers.ezsp_config import ConfigReport, write_and_read_back
from harness.emulation.devices._clusters import add_basic, add_metering
from harness.emulation.zcl_server import ZclEndpoint
from harness.errors import HarnessError, JoinTimeout, LinkError

__all__ = ["MeterStick", "FoundHan", "StickJoin", "KeyEstablishmentClient", "METER_ENDPOINT"]

LOGGER = logging.getLogger(__name__)

METER_ENDPOINT = 1
KE_CLUSTER = 0x0800
SE_DEVICE_METERING = 0x0502
ALL_CHANNELS = tuple(range(11, 27))
# HAVE_PRECONFIGURED_KEY (0x0100) | REQUIRE_ENCRYPTED_KEY (0x0800): join with our own link key and accept the
# network key only if it comes encrypted under it (EmberInitialSecurityBitmask, bellows.types.named).
JOIN_SECURITY = bt.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY | bt.EmberInitialSecurityBitmask.REQUIRE_ENCRYPTED_KEY


class KeyEstablishmentClient(Protocol):
    """The stick's KE client (harness/drivers/meter_stick_cbke.py): `receive` gets every Key Establishment frame
    (cluster 0x0800) for the meter endpoint; `establish` runs one exchange after NETWORK_UP."""

    async def establish(self, stick: MeterStick) -> bool: ...

    def receive(self, sender: int, payload: bytes) -> None: ...


@dataclass(frozen=True)
class FoundHan:
    channel: int
    pan_id: int
    extended_pan_id: zt.EUI64
    allowing_join: bool
    nwk_update_id: int


@dataclass(frozen=True)
class StickJoin:
    nwk: int
    pan_id: int
    channel: int
    extended_pan_id: zt.EUI64
    attempts: int
    latency_s: float


class MeterStick:
    """An EZSP stick (URL: serial path, tcp://, rfc2217://) that joins a HAN as a meter and serves endpoint 1."""

    def __init__(self, port: str, link_key: bytes, *, baudrate: int = 115200, flow_control: str | None = None,
                 channels: Iterable[int] = ALL_CHANNELS, scan_duration: int = 2, timeout: float = 10.0,
                 extended_pan_id: zt.EUI64 | None = None, key_establishment: KeyEstablishmentClient | None = None,
                 summation: int = 0, ezsp_config: Mapping[str, int | None] | None = None) -> None:
        self.port = port
        self.ezsp_config = dict(ezsp_config or {})  # the rig's coordinator.ezsp_config, over bellows' defaults
        self.ezsp_config_report: ConfigReport = {}  # as the NCP took it (ezsp_config.py)
        self._link_key = zt.KeyData(bytes(link_key))
        self.device_config = _DEVICE_SCHEMA({"path": port, "baudrate": baudrate, "flow_control": flow_control})
        self.channels = tuple(channels)
        self.scan_duration = scan_duration
        self.timeout = timeout
        self.extended_pan_id = extended_pan_id
        self.key_establishment = key_establishment
        self.ezsp: bellows.ezsp.EZSP | None = None
        self.eui64: zt.EUI64 | None = None
        self.endpoint = ZclEndpoint(METER_ENDPOINT, SE_PROFILE, SE_DEVICE_METERING)
        add_basic(self.endpoint, manufacturer="smets2-harness", model="Meter stick ESME", mains_powered=True)
        add_metering(self.endpoint, gas=False, summation=summation)
        self.joined_to: StickJoin | None = None
        self.attempts: list[str] = []  # why each join attempt did not succeed
        self.leaves: list[float] = []  # loop time of each NETWORK_DOWN while joined
        self.answered: list[tuple[int, int]] = []  # (cluster, source NWK) of each request answered
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._status: asyncio.Queue[bt.sl_Status] = asyncio.Queue()
        self._tag = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:  # the link key is a secret
        return f"MeterStick({self.port}, eui64={self.eui64})"

    # -- errors --------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _link(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except (HarnessError, asyncio.CancelledError):
            raise
        except (TimeoutError, asyncio.TimeoutError, ConnectionError, OSError, EOFError) as exc:
            raise LinkError(f"{what} on {self.port} failed: {exc or type(exc).__name__}") from exc
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("bellows", "serialx", "zigpy", "serial"):
                raise LinkError(f"{what} on {self.port} failed: {type(exc).__name__}: {exc}") from exc
            raise

    def _require(self) -> bellows.ezsp.EZSP:
        if self.ezsp is None:
            raise LinkError(f"meter stick on {self.port} is not connected")
        return self.ezsp

    @staticmethod
    def _ok(status: Any, what: str) -> None:
        if bt.sl_Status.from_ember_status(status) != bt.sl_Status.OK:
            raise LinkError(f"{what}: status {status!r}")

    # -- connect -------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        async def start() -> None:
            ezsp = bellows.ezsp.EZSP(self.device_config)
            self.ezsp = ezsp
            await ezsp.connect(use_thread=False)
            self.ezsp_config_report = await write_and_read_back(ezsp, self.ezsp_config)
            ezsp.add_callback(self._callback)
            outputs = [KE_CLUSTER] if self.key_establishment is not None else []
            (status,) = await ezsp.addEndpoint(
                endpoint=METER_ENDPOINT, profileId=SE_PROFILE, deviceId=SE_DEVICE_METERING, deviceVersion=0,
                inputClusterCount=len(self.endpoint.input_clusters), outputClusterCount=len(outputs),
                inputClusterList=list(self.endpoint.input_clusters), outputClusterList=outputs,
            )  # fmt: skip
            self._ok(status, "addEndpoint")
            (eui64,) = await ezsp.getEui64()
            self.eui64 = zt.EUI64(eui64)

        async with self._link("connect"):
            await asyncio.wait_for(start(), self.timeout)

    def info(self) -> dict[str, Any]:
        ezsp = self._require()
        return {"port": self.port, "ezsp_protocol_version": int(ezsp.ezsp_version), "eui64": str(self.eui64),
                **({"ezsp_config": self.ezsp_config_report} if self.ezsp_config_report else {})}

    async def close(self) -> None:
        ezsp, self.ezsp = self.ezsp, None
        for task in list(self._tasks):
            task.cancel()
        if ezsp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ezsp.disconnect(), 5)

    # -- joining -------------------------------------------------------------------------------------------

    async def resume(self) -> bool:
        """networkInit: True if the stick came back up on the network it holds in NV."""
        ezsp = self._require()
        async with self._link("networkInit"):
            with ezsp.wait_for_stack_status(bt.sl_Status.NETWORK_UP) as up:
                status = await ezsp.initialize_network()
                if status != bt.sl_Status.OK:
                    return False
                await asyncio.wait_for(up, self.timeout)
        await self._network_up(attempts=0, started=time.monotonic(), establish_key=False)
        return True

    async def rejoin(self) -> StickJoin:
        """findAndRejoinNetwork with the network key the stick holds (a meter back after a hub outage)."""
        ezsp = self._require()
        fields: dict[str, Any] = {"haveCurrentNetworkKey": True, "channelMask": 0}
        if "reason" in ezsp._protocol.COMMANDS["findAndRejoinNetwork"][1]:  # v14+: why, and as what
            fields.update(reason=0, nodeType=bt.EmberNodeType.ROUTER)
        started = time.monotonic()
        async with self._link("findAndRejoinNetwork"):
            with ezsp.wait_for_stack_status(bt.sl_Status.NETWORK_UP) as up:
                (status,) = await ezsp.findAndRejoinNetwork(**fields)
                self._ok(status, "findAndRejoinNetwork")
                try:
                    await asyncio.wait_for(up, self.timeout)
                except asyncio.TimeoutError:
                    raise JoinTimeout(f"meter stick {self.eui64} did not rejoin within {self.timeout:g} s") from None
        return await self._network_up(attempts=1, started=started, establish_key=False)

    async def scan(self) -> list[FoundHan]:
        ezsp = self._require()
        mask = bt.Channels.from_channel_list(self.channels)
        async with self._link("active scan"):
            results = await asyncio.wait_for(
                ezsp.startScan(scanType=bt.EzspNetworkScanType.ACTIVE_SCAN, channelMask=mask,
                               duration=self.scan_duration), self.timeout + 16 * 2)
        found = []
        for network, _lqi, _rssi in results:
            found.append(FoundHan(int(network.channel), int(network.panId), zt.EUI64(network.extendedPanId),
                                  bool(network.allowingJoin), int(network.nwkUpdateId)))
        return found

    async def join(self, timeout: float, *, retry_interval: float = 0.3) -> StickJoin:
        """Scan and join as a router until joined or `timeout` (s) passes; JoinTimeout says why it did not."""
        ezsp = self._require()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            reason = await self._attempt(ezsp)
            if reason is None:
                return await self._network_up(attempts, started)
            self.attempts.append(reason)
            if loop.time() + retry_interval >= deadline:
                raise JoinTimeout(f"meter stick {self.eui64} on {self.port} did not join within {timeout:g} s "
                                  f"({attempts} attempts); last: {reason}")
            await asyncio.sleep(retry_interval)

    async def _attempt(self, ezsp: bellows.ezsp.EZSP) -> str | None:
        """One scan + join. None when NETWORK_UP, else why not."""
        security = bt.EmberInitialSecurityState(
            bitmask=JOIN_SECURITY, preconfiguredKey=self._link_key, networkKey=zt.KeyData(b"\x00" * 16),
            networkKeySequenceNumber=0, preconfiguredTrustCenterEui64=zt.EUI64(b"\x00" * 8),
        )  # fmt: skip
        async with self._link("setInitialSecurityState"):
            (status,) = await ezsp.setInitialSecurityState(state=security)
        self._ok(status, "setInitialSecurityState")
        networks = [n for n in await self.scan() if n.allowing_join
                    and (self.extended_pan_id is None or n.extended_pan_id == self.extended_pan_id)]
        if not networks:
            return "no HAN permitting joining heard in the active scan"
        han = networks[0]
        params = bt.EmberNetworkParameters(
            extendedPanId=bt.ExtendedPanId(han.extended_pan_id), panId=han.pan_id, radioTxPower=8,
            radioChannel=han.channel, joinMethod=bt.EmberJoinMethod.USE_MAC_ASSOCIATION, nwkManagerId=0x0000,
            nwkUpdateId=han.nwk_update_id, channels=bt.Channels.from_channel_list([han.channel]),
        )  # fmt: skip
        while not self._status.empty():
            self._status.get_nowait()
        async with self._link("joinNetwork"):
            (status,) = await ezsp.joinNetwork(nodeType=bt.EmberNodeType.ROUTER, parameters=params)
            if bt.sl_Status.from_ember_status(status) != bt.sl_Status.OK:
                return f"joinNetwork refused: {status!r}"
            try:
                outcome = await asyncio.wait_for(self._status.get(), self.timeout)
            except asyncio.TimeoutError:
                return f"no stackStatusHandler within {self.timeout:g} s of joinNetwork"
        if outcome == bt.sl_Status.NETWORK_UP:
            return None
        return (f"stackStatusHandler {outcome.name} after joinNetwork on PAN 0x{han.pan_id:04X} channel "
                f"{han.channel} (refused, or the Transport Key did not verify under our key)")

    async def _network_up(self, attempts: int, started: float, *, establish_key: bool = True) -> StickJoin:
        """Joined; a fresh join runs Key Establishment (a resumed or rejoined meter keeps its TC link key)."""
        ezsp = self._require()
        async with self._link("getNetworkParameters"):
            _status, _type, params = await ezsp.getNetworkParameters()
            (nwk,) = await ezsp.getNodeId()
        self.joined_to = StickJoin(int(nwk), int(params.panId), int(params.radioChannel),
                                   zt.EUI64(params.extendedPanId), attempts, time.monotonic() - started)
        if establish_key and self.key_establishment is not None and not await self.key_establishment.establish(self):
            raise JoinTimeout(f"meter stick {self.eui64}: Key Establishment with the hub failed")
        return self.joined_to

    async def leave(self) -> None:
        ezsp = self._require()
        async with self._link("leaveNetwork"):
            await ezsp.leaveNetwork(timeout=self.timeout)

    async def wait_left(self, timeout: float) -> None:
        """Wait for NETWORK_DOWN (the hub asked us to leave)."""
        try:
            await asyncio.wait_for(self._down.wait(), timeout)
        except asyncio.TimeoutError:
            raise JoinTimeout(f"meter stick {self.eui64} was not asked to leave within {timeout:g} s") from None

    @property
    def is_joined(self) -> bool:
        return self._up.is_set()

    # -- callbacks: stack status and the ESME endpoint -----------------------------------------------------

    def _callback(self, name: str, args: list[Any]) -> None:
        if name == "stackStatusHandler":
            status = bt.sl_Status.from_ember_status(args[0])
            self._status.put_nowait(status)
            if status == bt.sl_Status.NETWORK_UP:
                self._down.clear()
                self._up.set()
            elif self._up.is_set():
                self._up.clear()
                self.joined_to = None
                self.leaves.append(asyncio.get_running_loop().time())
                self._down.set()
        elif name == "incomingMessageHandler" and self.ezsp is not None:
            fields = dict(zip(self.ezsp._protocol.COMMANDS[name][2], args, strict=False))
            self._incoming(fields)

    def _incoming(self, fields: dict[str, Any]) -> None:
        aps: bt.EmberApsFrame = fields.get("aps_frame", fields.get("apsFrame"))
        sender = int(fields.get("nwk", fields.get("sender", 0xFFFE)))
        payload = bytes(fields.get("message", fields.get("messageContents", b"")))
        if aps is None or int(aps.destinationEndpoint) != METER_ENDPOINT:
            return
        if int(aps.profileId) not in (SE_PROFILE, 0x0104):
            return
        if int(aps.clusterId) == KE_CLUSTER and self.key_establishment is not None:
            self.key_establishment.receive(sender, payload)
            return
        reply = self.endpoint.handle(int(aps.clusterId), payload)
        if reply is None:
            return
        self.answered.append((int(aps.clusterId), sender))
        frame = bt.EmberApsFrame(
            profileId=int(aps.profileId), clusterId=int(aps.clusterId), sourceEndpoint=METER_ENDPOINT,
            destinationEndpoint=int(aps.sourceEndpoint),
            options=bt.EmberApsOption.APS_OPTION_ENABLE_ROUTE_DISCOVERY, groupId=0, sequence=0,
        )  # fmt: skip
        self._tag = (self._tag + 1) & 0xFF
        task = asyncio.get_running_loop().create_task(self._send(sender, frame, reply, self._tag))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, nwk: int, frame: bt.EmberApsFrame, data: bytes, tag: int) -> None:
        ezsp = self.ezsp
        if ezsp is None:
            return
        try:
            status, _seq = await ezsp.send_unicast(nwk=bt.NWK(nwk), aps_frame=frame, message_tag=tag, data=data)
            if status != bt.sl_Status.OK:
                LOGGER.warning("meter stick: reply to 0x%04X not sent: %r", nwk, status)
        except Exception:  # a lost reply must not kill the callback loop; the requester times out and says so
            LOGGER.exception("meter stick: sending a reply to 0x%04X failed", nwk)

    def set_attribute(self, cluster_id: int, attribute: int | str, value: Any) -> None:
        self.endpoint.set_attribute(cluster_id, attribute, value)
