"""The EZSP coordinator driver: bellows for real Silicon Labs sticks and for the emulated NCP alike.

Two things bellows 1.2.1 / zigpy 2.4.0 get wrong for Smart Energy, fixed here without patching them:

* zigpy drops every ZCL reply from a Smart Energy (0x0109) endpoint (research/ezsp.md 0.2, 3.3; zigpy#1810):
  `ZigbeeDevice._parse_packet_header` parses ZCL only for the HA and ZLL profiles. `SmartEnergyDevice` parses
  0x0109 too; `HarnessControllerApplication.add_device` creates it, and the app runs with database_path=None
  (devices loaded from a zigpy DB would be built without it).
* bellows' `permit()` starts `pre_permit`, which imports the well-known key "ZigBeeAlliance09" for every EUI-64
  (FF..FF), sets TRUST_CENTER_POLICY = ALLOW_JOINS|ALLOW_UNSECURED_REJOINS and, 2 s later, restores ALLOW_JOINS
  only, undoing an install-code-only policy set meanwhile (ezsp.md 0.3). zigpy calls permit(0) at start-up.
  Here `permit()` skips pre_permit (unless well_known_key_joins=True), and `permit_install_code` never calls
  permit(): it waits out any pre_permit still running, imports the transient key, sets TRUST_CENTER_POLICY =
  ALLOW_JOINS|JOINS_USE_INSTALL_CODE_KEY with raw EZSP, broadcasts Mgmt_Permit_Joining_req, then permitJoining.

Errors from bellows, zigpy, serialx and the OS come out as harness.errors.LinkError (naming the port/URL) or
JoinTimeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import bellows.config as bellows_config
import bellows.types as bt
import bellows.zigbee.application as bellows_app
import voluptuous as vol
import zigpy.config
import zigpy.application
import zigpy.device
import zigpy.exceptions
import zigpy.types as zt
import zigpy.zdo
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation

from harness.drivers.base import CoordinatorInfo, JoinedDevice
from harness.drivers.ezsp_config import ConfigReport, config_in_force
from harness.errors import HarnessError, JoinTimeout, LinkError

__all__ = [
    "SE_PROFILE",
    "SmartEnergyDevice",
    "HarnessControllerApplication",
    "EzspCoordinator",
    "make_config",
]

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109
# The harness's own Smart Energy endpoint on the coordinator (SE device id 0x0500 = ESI would be the hub's; the
# endpoint number follows the GB CHF convention of a dedicated SE endpoint).
SE_ENDPOINT = {
    "endpoint": 10,
    "profile": SE_PROFILE,
    "device_type": 0x0500,
    "device_version": 0,
    "input_clusters": [0x0000, 0x000A, 0x0800],
    "output_clusters": [0x0702],
}


class SmartEnergyDevice(zigpy.device.Device):
    """A zigpy device whose Smart Energy (0x0109) ZCL frames are parsed like HA ones, not dropped."""

    def _parse_packet_header(self, packet: zt.ZigbeePacket) -> Any:
        if packet.profile_id == SE_PROFILE and packet.src_ep != zigpy.zdo.ZDO_ENDPOINT:
            header, _ = foundation.ZCLHeader.deserialize(packet.data.serialize())
            key = zigpy.device.ResponseKey(
                endpoint_id=packet.src_ep,
                cluster_id=packet.cluster_id,
                direction=header.frame_control.direction,
                tsn=header.tsn,
            )
            return header, key
        return super()._parse_packet_header(packet)


# zigpy's schema knows "software", "hardware" and None, and bellows reads None as software; a stick with no flow
# control at all needs "none", which bellows' UART maps to neither XON/XOFF nor RTS/CTS (bellows/uart.py).
FLOW_CONTROLS = ("software", "hardware", "none")
_DEVICE_SCHEMA = zigpy.config.SCHEMA_DEVICE.extend(
    {vol.Optional(zigpy.config.CONF_DEVICE_FLOW_CONTROL, default="software"): vol.In([*FLOW_CONTROLS, None])}
)


class HarnessControllerApplication(bellows_app.ControllerApplication):
    """bellows' application with SE-profile parsing and no well-known-key pre_permit (see module doc)."""

    SCHEMA = bellows_config.CONFIG_SCHEMA.extend({vol.Required(zigpy.config.CONF_DEVICE): _DEVICE_SCHEMA})
    well_known_key_joins = False

    def packet_received(self, packet: zt.ZigbeePacket) -> None:
        # Taps (the CBKE server) take their frames before zigpy, which has no Key Establishment cluster.
        for tap in getattr(self, "packet_taps", ()):
            if tap(packet):
                return
        super().packet_received(packet)

    def add_device(self, ieee: zt.EUI64, nwk: zt.NWK) -> zigpy.device.Device:
        device = SmartEnergyDevice(self, ieee, nwk)
        self.devices[ieee] = device
        return device

    # A GB Comms Hub's HAN runs ZigBee Smart Energy, which has no Green Power; zigpy opens a GP commissioning window
    # with every permit, broadcasting a GP Proxy Commissioning Mode command (endpoint 242, cluster 0x0021) that no
    # Comms Hub sends and every meter on the HAN would receive. True restores zigpy's behaviour.
    green_power_commissioning = False

    async def permit_gp(self, time_s: int) -> None:
        if self.green_power_commissioning:
            await super().permit_gp(time_s)

    async def permit(self, time_s: int = 60, node: zt.EUI64 | None = None) -> None:
        if self.well_known_key_joins:
            await super().permit(time_s, node)
            return
        # zigpy's permit: ZDO broadcast + permitJoining, without bellows' pre_permit.
        await zigpy.application.ControllerApplication.permit(self, time_s, node)


def make_config(port: str, *, baudrate: int = 115200, flow_control: str | None = None,
                channel: int | None = None, use_thread: bool = False,
                ezsp_config: Mapping[str, int | None] | None = None) -> dict[str, Any]:
    """zigpy/bellows configuration for the harness: no DB, no backups/OTA/topology scans, an SE endpoint, and the
    rig's EZSP configuration values (coordinator.ezsp_config) over bellows' defaults."""
    config: dict[str, Any] = {
        "device": {"path": port, "baudrate": baudrate, "flow_control": flow_control},
        "database_path": None,
        "backup_enabled": False,
        "topology_scan_enabled": False,
        "ota": {"enabled": False, "broadcast_enabled": False},
        "use_thread": use_thread,
        "additional_endpoints": [dict(SE_ENDPOINT)],
    }
    if channel is not None:
        config["network"] = {"channel": channel, "channels": [channel]}
    if ezsp_config:
        config["ezsp_config"] = dict(ezsp_config)
    return config


_LINK_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    asyncio.TimeoutError,
    ConnectionError,
    OSError,
    EOFError,
    zigpy.exceptions.ZigbeeException,
)


JOIN_RECHECK_S = 0.5


class EzspCoordinator:
    """The Coordinator protocol over bellows. `port` is a serial path, tcp://host:port or rfc2217://..."""

    def __init__(self, port: str, *, baudrate: int = 115200, flow_control: str | None = None,
                 channel: int | None = None, timeout: float = 10.0, use_thread: bool = False,
                 ezsp_config: Mapping[str, int | None] | None = None) -> None:
        self.port = port
        self.timeout = timeout
        self.config = make_config(port, baudrate=baudrate, flow_control=flow_control, channel=channel,
                                  use_thread=use_thread, ezsp_config=ezsp_config)
        self.app: HarnessControllerApplication | None = None
        self._permits: dict[zt.EUI64, tuple[zt.KeyData, float]] = {}
        self._lost: BaseException | None = None
        self._news: asyncio.Event | None = None  # set (and replaced) when a device initialises or the link goes

    # -- error translation ---------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _link(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except HarnessError:
            raise
        except asyncio.CancelledError:
            raise
        except _LINK_ERRORS as exc:
            detail = str(exc) or type(exc).__name__
            raise LinkError(f"{what} on {self.port} failed: {detail}") from exc
        except Exception as exc:  # bellows/serialx raise their own types (ControllerError, EzspError, ...)
            if type(exc).__module__.split(".")[0] in ("bellows", "serialx", "zigpy", "serial"):
                raise LinkError(f"{what} on {self.port} failed: {type(exc).__name__}: {exc}") from exc
            raise

    async def _run(self, what: str, coroutine: Any, timeout: float | None = None) -> Any:
        async with self._link(what):
            try:
                return await asyncio.wait_for(coroutine, timeout or self.timeout)
            except (asyncio.TimeoutError, TimeoutError) as exc:
                raise LinkError(f"{what} on {self.port}: no answer within {timeout or self.timeout} s") from exc

    def _require_app(self) -> HarnessControllerApplication:
        if self.app is None:
            raise LinkError(f"coordinator on {self.port} is not connected")
        if self._lost is not None:
            raise LinkError(f"connection to the coordinator on {self.port} was lost: {self._lost}")
        return self.app

    # -- Coordinator protocol ------------------------------------------------------------------------------

    async def connect(self) -> None:
        async def start() -> HarnessControllerApplication:
            app = await HarnessControllerApplication.new(self.config, auto_form=False, start_radio=False)
            self.app = app  # so close() can clean up a half-open connection
            app.add_listener(self)
            await app.connect()
            return app

        await self._run("connect", start())

    def connection_lost(self, exc: BaseException | None) -> None:
        """zigpy listener event: the radio link went away."""
        self._lost = exc or ConnectionError("link closed")
        self._announce()

    def device_initialized(self, device: zigpy.device.Device) -> None:
        """zigpy listener event: a device's interview completed."""
        self._announce()

    def _announce(self) -> None:
        news, self._news = self._news, None
        if news is not None:
            news.set()

    async def _news_or_timeout(self, seconds: float) -> None:
        """Until zigpy reports a device initialised or the link lost, or `seconds` pass."""
        if self._news is None:
            self._news = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news.wait(), max(0.0, seconds))

    async def form(self) -> None:
        app = self._require_app()
        await self._run("form/start network", app.initialize(auto_form=True), max(self.timeout, 30.0))

    async def _after_pre_permit(self) -> None:
        app = self._require_app()
        pending = [task for task in getattr(app, "_tasks", ()) if task.get_name() == "pre_permit" and not task.done()]
        if pending:
            await asyncio.wait(pending)

    async def permit_install_code(self, eui64: zt.EUI64, link_key: bytes, seconds: int) -> None:
        if not 1 <= seconds <= 254:
            raise ValueError(f"permit duration {seconds} s out of range 1..254")
        app = self._require_app()
        eui64 = zt.EUI64(eui64)
        key = zt.KeyData(bytes(link_key))

        async def permit() -> None:
            await self._after_pre_permit()
            ezsp = app._ezsp
            status = await ezsp.add_transient_link_key(eui64, key)
            if bt.sl_Status.from_ember_status(status) != bt.sl_Status.OK:
                raise LinkError(f"importing the transient key for {eui64} on {self.port}: status {status!r}")
            await self._set_install_code_policy()
            await zigpy.zdo.broadcast(app, zdo_t.ZDOCmd.Mgmt_Permit_Joining_req, 0x0000, 0x00, seconds, 0,
                                      broadcast_address=zt.BroadcastAddress.ALL_ROUTERS_AND_COORDINATOR)
            await ezsp.permitJoining(seconds)

        await self._run(f"permit {eui64} to join", permit())
        self._permits[eui64] = (key, asyncio.get_running_loop().time() + seconds)

    async def _set_install_code_policy(self) -> None:
        ezsp = self._require_app()._ezsp
        if ezsp.ezsp_version < 8:
            return  # no TRUST_CENTER_POLICY bitmask before v8 (ezsp.md 2.4)
        (status,) = await ezsp.setPolicy(
            policyId=bt.EzspPolicyId.TRUST_CENTER_POLICY,
            decisionId=bt.EzspDecisionBitmask.ALLOW_JOINS | bt.EzspDecisionBitmask.JOINS_USE_INSTALL_CODE_KEY,
        )
        if bt.sl_Status.from_ember_status(status) != bt.sl_Status.OK:
            raise LinkError(f"setting TRUST_CENTER_POLICY on {self.port}: status {status!r}")

    async def revoke(self, eui64: zt.EUI64) -> None:
        app = self._require_app()
        eui64 = zt.EUI64(eui64)
        self._permits.pop(eui64, None)
        now = asyncio.get_running_loop().time()
        remaining = {eui: (key, until) for eui, (key, until) in self._permits.items() if until > now}
        self._permits = remaining

        async def revoke() -> None:
            ezsp = app._ezsp
            # EZSP can only clear the whole transient table: clear it and re-import the permits still open.
            await ezsp.clearTransientLinkKeys()
            for eui, (key, _until) in remaining.items():
                await ezsp.add_transient_link_key(eui, key)
            if not remaining:
                await ezsp.permitJoining(0)

        await self._run(f"revoke {eui64}", revoke())

    async def wait_joined(self, eui64: zt.EUI64, timeout: float) -> JoinedDevice:
        app = self._require_app()
        eui64 = zt.EUI64(eui64)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            self._require_app()
            device = app.devices.get(eui64)
            if device is not None and device.is_initialized:
                endpoints = tuple(sorted(ep for ep in device.endpoints if ep != 0))
                profiles = tuple(sorted({device.endpoints[ep].profile_id for ep in endpoints}))
                return JoinedDevice(eui64, int(device.nwk), endpoints, profiles)
            # Woken by zigpy's device_initialized (no polling delay on the join latency measured), and at least
            # every JOIN_RECHECK_S in case a device becomes initialised without that event.
            await self._news_or_timeout(min(JOIN_RECHECK_S, deadline - loop.time()))
        device = app.devices.get(eui64)
        state = "not seen" if device is None else f"seen as 0x{int(device.nwk):04X}, interview incomplete"
        raise JoinTimeout(f"{eui64} did not join via {self.port} within {timeout} s ({state})")

    async def read_attributes(self, eui64: zt.EUI64, endpoint: int, cluster_id: int,
                              attributes: Sequence[int | str]) -> dict[int | str, Any]:
        app = self._require_app()
        try:
            device = app.get_device(ieee=zt.EUI64(eui64))
            cluster = device.endpoints[endpoint].in_clusters[cluster_id]
        except KeyError:
            raise LinkError(f"{eui64} endpoint {endpoint} cluster 0x{cluster_id:04X} is not known on {self.port}") \
                from None
        if device.endpoints[endpoint].profile_id == SE_PROFILE and self.aps_secured(eui64):
            # SE: after CBKE, application traffic goes APS-secured under the key it produced (the stick encrypts
            # with its key-table entry for the meter; the meter answers the same way).
            cluster.aps_encryption = True
        success, _failure = await self._run(
            f"read cluster 0x{cluster_id:04X} of {eui64}", cluster.read_attributes(list(attributes), allow_cache=False)
        )
        return dict(success)

    async def remove(self, eui64: zt.EUI64) -> None:
        app = self._require_app()
        eui64 = zt.EUI64(eui64)
        self._permits.pop(eui64, None)
        if eui64 not in app.devices:
            return

        async def remove() -> None:
            # zigpy sends Mgmt_Leave_req in a task and forgets the device once it answered (or timed out).
            await app.remove(eui64)
            while eui64 in app.devices:
                await asyncio.sleep(0.02)

        await self._run(f"remove {eui64}", remove())

    # -- CBKE (harness/drivers/cbke_server.py) -------------------------------------------------------------

    async def enable_cbke(self, **options: Any) -> Any:
        """Answer meters' Key Establishment on the SE endpoint with the stick's CBKE crypto."""
        from harness.drivers.cbke_server import CbkeServer

        app = self._require_app()
        server = CbkeServer(app, endpoint=int(SE_ENDPOINT["endpoint"]), **options)
        await self._run("read the stick's CBKE certificate", server.load_certificate())
        app.packet_taps = [*getattr(app, "packet_taps", []), server.tap]  # type: ignore[attr-defined]
        self.cbke = server
        return server

    async def stick_cbke(self) -> Any:
        """The stick's suite-2 CBKE data (StickCbkeData: certificate issuer and subject, or why there is none)."""
        from harness.drivers.cbke_server import read_stick_cbke

        app = self._require_app()
        return await self._run("ask the stick for its CBKE certificate", read_stick_cbke(app._ezsp))

    async def wait_key_established(self, eui64: zt.EUI64, timeout: float, *, after: int = 0) -> Any:
        """The CbkeResult of the meter's key establishment (success or not); JoinTimeout if none within timeout."""
        server = getattr(self, "cbke", None)
        if server is None:
            raise LinkError(f"CBKE is not enabled on the coordinator on {self.port}")
        try:
            return await server.wait_result(zt.EUI64(eui64), timeout, after=after)
        except asyncio.TimeoutError:
            raise JoinTimeout(f"{eui64} joined but did not complete key establishment (CBKE) within {timeout} s") \
                from None

    def aps_secured(self, eui64: zt.EUI64) -> bool:
        """Whether ZCL to this device goes APS-secured: its last key establishment succeeded."""
        server = getattr(self, "cbke", None)
        results = server.results.get(zt.EUI64(eui64), []) if server is not None else []
        return bool(results) and results[-1].outcome.success

    async def ezsp_config_in_force(self, requested: Mapping[str, int | None]) -> ConfigReport:
        """The rig's EZSP configuration values as the NCP holds them now (harness/drivers/ezsp_config.py)."""
        app = self._require_app()
        return await self._run("read back the EZSP configuration", config_in_force(app._ezsp, requested))

    def info(self) -> CoordinatorInfo:
        app = self._require_app()
        node, network = app.state.node_info, app.state.network_info
        return CoordinatorInfo(
            protocol_version=int(app._ezsp.ezsp_version),
            stack_version=str(node.version or ""),
            eui64=zt.EUI64(node.ieee),
            channel=int(network.channel or 0),
            pan_id=int(network.pan_id or 0),
        )

    async def close(self) -> None:
        server = getattr(self, "cbke", None)
        if server is not None:
            await server.close()
        app, self.app = self.app, None
        if app is None:
            return
        try:
            await asyncio.wait_for(app.shutdown(db=False), 10)
        except Exception:  # closing a broken link must not hide the test's real failure
            LOGGER.debug("shutdown of the coordinator on %s failed", self.port, exc_info=True)
