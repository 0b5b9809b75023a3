"""Open an EZSP coordinator with bellows and read what it is: protocol and stack version, EUI-64, network.

`rig check` uses this to prove a rig's coordinator answers before a run, and the bench records the answer as
provenance. It talks to the NCP with bellows' own `EZSP` class, the same code path a run uses, so a stick that
passes here speaks to the bench (research/ezsp.md 1.1-1.3).

It also asks for the stick's CBKE suite-2 certificate (getCertificate283k1; never the private key), so `rig check`
can say whether a real SMETS2 meter will stay joined (it runs CBKE after joining and leaves if that fails).

Reading the channel needs the stored network resumed (`networkInit`, what bellows' own `info` command does after a
reset); the probe never forms, leaves or changes a network. Failures come back as the harness's own errors, each
naming the port: RigError when the port isn't there, LinkError when it is there but no NCP answers properly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import bellows.ezsp
import bellows.types as t
import zigpy.config
from bellows.exception import EzspError, InvalidCommandError

from harness.drivers.cbke_server import StickCbkeData, read_stick_cbke
from harness.drivers.ezsp_config import ConfigReport, write_and_read_back
from harness.errors import LinkError, RigError

FLOW_CONTROLS = ("software", "hardware", "none")

# How long a closing port may take before we stop waiting (the check's verdict is already known by then).
_DISCONNECT_GRACE_S = 2.0


@dataclass(frozen=True)
class NetworkSummary:
    """The network the NCP has stored (and resumed for the probe)."""

    channel: int
    pan_id: str  # 0x1A2B
    extended_pan_id: str  # as zigpy prints it, aa:bb:...
    node_type: str  # COORDINATOR for topology 1


@dataclass(frozen=True)
class NcpInfo:
    """What a coordinator said about itself."""

    port: str
    ezsp_version: int
    stack_type: int
    stack_version: str  # "7.4.3.0 build 0" from VALUE_VERSION_INFO, else "7.4.3.0" from the version response
    eui64: str  # DCC form, 00-0D-6F-00-0A-BC-DE-F0
    network: NetworkSummary | None  # None: the NCP has no stored network
    cbke: StickCbkeData | None = None  # CBKE suite 2: the stick's certificate (issuer, subject), or why none
    # the rig's coordinator.ezsp_config, written as bellows writes it and read back (drivers/ezsp_config.py)
    ezsp_config: ConfigReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for a person: `EZSP 13, stack 7.4.3.0 build 0, EUI-64 ..., channel 15`."""
        net = f"channel {self.network.channel}" if self.network else "no network"
        return f"EZSP {self.ezsp_version}, stack {self.stack_version}, EUI-64 {self.eui64}, {net}"


def is_local_device(url: str) -> bool:
    return "://" not in url or url.startswith("device://")


def local_device_path(url: str) -> str:
    return url.removeprefix("device://")


def eui64_dcc(eui: Any) -> str:
    """bellows/zigpy print an EUI-64 as 00:0d:6f:...; the DCC and our rig files write 00-0D-6F-..."""
    return str(eui).upper().replace(":", "-")


def _stack_version_from_u16(value: int) -> str:
    # The version response carries the stack version as four BCD-like nibbles: 0x7430 is 7.4.3.0 (EZSP UG100).
    return ".".join(str((value >> shift) & 0xF) for shift in (12, 8, 4, 0))


@dataclass(frozen=True)
class _Port:
    url: str
    baudrate: int
    flow_control: str

    def bellows_config(self) -> dict[str, Any]:
        # bellows reads flow_control None or "software" as XON/XOFF and "hardware" as RTS/CTS; anything else is
        # neither, which is what a rig's `none` means (zigpy's own schema has no spelling for it).
        return {
            zigpy.config.CONF_DEVICE_PATH: self.url,
            zigpy.config.CONF_DEVICE_BAUDRATE: self.baudrate,
            zigpy.config.CONF_DEVICE_FLOW_CONTROL: self.flow_control,
        }


def _no_answer(port: _Port, timeout: float) -> LinkError:
    return LinkError(
        f"no EZSP answer from {port.url} within {timeout:g} s: the NCP did not complete the ASH reset and version "
        f"exchange (check that this is the stick's port, that it runs EmberZNet NCP firmware, and that its baud rate "
        f"({port.baudrate}) and flow control ({port.flow_control}) match the firmware)"
    )


def _translate(exc: BaseException, port: _Port, timeout: float, stage: str) -> Exception:
    """bellows/serialx errors -> the harness's own, each naming the port."""
    url = port.url
    if isinstance(exc, TimeoutError):
        if stage == _CONNECTING:
            return _no_answer(port, timeout)
        return LinkError(f"the NCP on {url} answered the reset but not {stage} within {timeout:g} s")
    if isinstance(exc, FileNotFoundError):
        return RigError(f"port {url} does not exist")
    if isinstance(exc, PermissionError):
        if "locked" in str(exc) or exc.errno == errno.EBUSY:
            return LinkError(f"port {url} is in use by another program (it is locked); close it and try again")
        return LinkError(f"no permission to open {url} (on Linux, add your user to the 'dialout' group)")
    if isinstance(exc, ConnectionRefusedError):
        return LinkError(f"cannot connect to {url}: connection refused (is the serial bridge running on that port?)")
    if isinstance(exc, OSError):
        return LinkError(f"cannot open {url}: {exc.strerror or exc}")
    if isinstance(exc, InvalidCommandError | EzspError):
        return LinkError(f"EZSP error from the NCP on {url}: {exc}")
    return LinkError(f"EZSP exchange with {url} failed: {type(exc).__name__}: {exc}")


async def _stack_version(ezsp: bellows.ezsp.EZSP, fallback: int) -> str:
    """The full stack version from VALUE_VERSION_INFO (build u16, major, minor, patch, special, type)."""
    try:
        status, raw = await ezsp.getValue(valueId=t.EzspValueId.VALUE_VERSION_INFO)
    except (InvalidCommandError, EzspError):
        return _stack_version_from_u16(fallback)
    if t.sl_Status.from_ember_status(status) != t.sl_Status.OK or len(raw) < 6:
        return _stack_version_from_u16(fallback)
    build = int.from_bytes(raw[0:2], "little")
    major, minor, patch, special = raw[2], raw[3], raw[4], raw[5]
    return f"{major}.{minor}.{patch}.{special} build {build}"


async def _network(ezsp: bellows.ezsp.EZSP, url: str) -> NetworkSummary | None:
    (state,) = await ezsp.networkState()
    if state != t.EmberNetworkStatus.JOINED_NETWORK:
        with ezsp.wait_for_stack_status(t.sl_Status.NETWORK_UP) as network_up:
            init_status = await ezsp.initialize_network()
            if init_status == t.sl_Status.NOT_JOINED:
                return None
            if init_status != t.sl_Status.OK:
                raise LinkError(f"the NCP on {url} could not resume its stored network: {init_status.name}")
            await network_up
    status, node_type, params = await ezsp.getNetworkParameters()
    if t.sl_Status.from_ember_status(status) != t.sl_Status.OK:
        return None
    return NetworkSummary(
        channel=int(params.radioChannel),
        pan_id=f"0x{int(params.panId):04X}",
        extended_pan_id=str(params.extendedPanId),
        node_type=getattr(node_type, "name", str(node_type)),
    )


_CONNECTING = "the reset and version exchange"


async def _query(ezsp: bellows.ezsp.EZSP, port: _Port, stage: list[str],
                 ezsp_config: Mapping[str, int | None] | None = None) -> NcpInfo:
    # One event loop (no bellows thread): the emulated NCP may be serving on this same loop.
    stage[0] = _CONNECTING
    await ezsp.connect(use_thread=False)  # RST/RSTACK, then version negotiation (bellows switches tables itself)
    stage[0] = "the version, value and EUI-64 queries"
    version, stack_type, stack_u16 = await _version(ezsp)
    stack = await _stack_version(ezsp, stack_u16)
    (eui,) = await ezsp.getEui64()
    stage[0] = "the CBKE certificate query (getCertificate283k1)"
    cbke = await read_stick_cbke(ezsp)
    config = None
    if ezsp_config:  # RAM only, as bellows writes it at every start: the firmware's answer is what matters here
        stage[0] = "writing coordinator.ezsp_config and reading it back"
        config = await write_and_read_back(ezsp, ezsp_config)
    stage[0] = "resuming its stored network (networkInit, then NETWORK_UP)"
    network = await _network(ezsp, port.url)
    return NcpInfo(port=port.url, ezsp_version=int(version), stack_type=int(stack_type), stack_version=stack,
                   eui64=eui64_dcc(eui), network=network, cbke=cbke, ezsp_config=config)


async def _version(ezsp: bellows.ezsp.EZSP) -> tuple[int, int, int]:
    # bellows keeps the negotiated protocol version but drops the stack version, so ask again in the negotiated
    # version (harmless: it is what bellows itself sends after switching tables). `EZSP.version` is bellows'
    # negotiation routine, hence the command by name.
    ver, stack_type, stack_version = await ezsp._command("version", desiredProtocolVersion=ezsp.ezsp_version)
    return int(ver), int(stack_type), int(stack_version)


async def probe_ncp(
    url: str, *, baudrate: int = 115200, flow_control: str = "software", timeout: float = 20.0,
    ezsp_config: Mapping[str, int | None] | None = None,
) -> NcpInfo:
    """Open the coordinator at `url` (device path, tcp://host:port, rfc2217://...), read what it is and close it,
    all within `timeout` seconds (a rig's `timeouts.connect`).

    Raises RigError if a local port does not exist, LinkError if the port is there but the NCP does not answer.
    """
    if flow_control not in FLOW_CONTROLS:
        raise ValueError(f"flow_control {flow_control!r} not one of {', '.join(FLOW_CONTROLS)}")
    port = _Port(url, baudrate, flow_control)
    if is_local_device(url) and not os.path.exists(local_device_path(url)):
        raise RigError(f"port {url} does not exist")
    ezsp = bellows.ezsp.EZSP(port.bellows_config())
    stage = [_CONNECTING]  # how far we got, so a timeout can say what hung
    try:
        async with asyncio.timeout(timeout):
            return await _query(ezsp, port, stage, ezsp_config)
    except (LinkError, RigError):
        raise
    except Exception as exc:  # bellows, serialx and the OS raise many types; the user needs one, naming the port
        raise _translate(exc, port, timeout, stage[0]) from exc
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_DISCONNECT_GRACE_S):
                await ezsp.disconnect()
