"""Rig files: what backs each role on a bench, loaded from YAML and validated.

An error names the file, the line, the field and the value, and what was expected:

    rigs/lab.yaml:14: devices.esme.eui64: '00-0D-6F' is not an EUI-64 (expected 8 bytes of hex, e.g. 00-0D-6F-00-0A-BC-DE-F0)

The schema is checked by hand rather than with a schema library so that every message can say exactly that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from yaml.constructor import SafeConstructor

from harness.errors import InputError, RigError
from harness.inputs import MAX_DEPTH, MAX_NODES, RIG_MAX_BYTES, read_text

if TYPE_CHECKING:
    from harness.zigbee.installcode import InstallCode

DEVICE_ROLES = ("esme", "gsme", "ihd", "ppmid")
CRC_MODES = ("append", "none")
FLOW_CONTROLS = ("software", "hardware", "none")
EZSP_VERSIONS = (8, 13, 14, 18)
TIMEOUT_NAMES = ("connect", "ash_ack", "join", "cbke", "commissioning", "operator")
# Seconds. `join` is the real time the bench waits for a device to appear after permitting it.
DEFAULT_TIMEOUTS = {"connect": 20.0, "ash_ack": 3.2, "join": 30.0, "cbke": 60.0, "commissioning": 900.0,
                    "operator": 120.0}  # operator: how long a prompt (other than a join) waits for its answer
# Before each scenario the bench clears the coordinator's tables, or re-forms the network (bench/clean_state.py).
CLEAN_STATE_MODES = ("clear", "reform")
SNIFFER_KINDS = ("emulated", "pcap", "tshark", "command")


class RigFileError(RigError):
    """A rig file is malformed. Carries the file, the field path and the line."""

    def __init__(self, path: str, field_path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.field_path = field_path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field_path}: {message}" if field_path else f"{where}: {message}")


@dataclass(frozen=True)
class SerialPort:
    """A real coordinator's port: a device path, tcp://host:port or rfc2217://host:port."""

    url: str
    baudrate: int = 115200
    flow_control: Literal["software", "hardware", "none"] = "software"

    @property
    def is_local_device(self) -> bool:
        return "://" not in self.url or self.url.startswith("device://")

    @property
    def device_path(self) -> str:
        return self.url.removeprefix("device://")


@dataclass(frozen=True)
class LabgridPlaceSpec:
    """A coordinator stick in a labgrid place: acquired through the labgrid coordinator (docs/labgrid.md)."""

    place: str
    coordinator: str | None = None  # host:port of the labgrid coordinator; None: $LG_COORDINATOR or labgrid's default
    baudrate: int = 115200
    flow_control: Literal["software", "hardware", "none"] = "software"


@dataclass(frozen=True)
class CoordinatorSpec:
    kind: Literal["emulated", "serial", "labgrid"]
    ezsp_version: int = 13
    transport: Literal["pty", "tcp", "loop"] = "pty"
    strict: bool = True
    port: SerialPort | None = None
    labgrid: LabgridPlaceSpec | None = None
    # Identity of the HAN the coordinator runs (its EUI-64 is hub.eui64): formed with these on an emulated or
    # re-formed coordinator, checked against a real stick's stored network. None: whatever the stick has / picks.
    pan_id: int | None = None
    channel: int | None = None
    clean_state: Literal["clear", "reform"] = "clear"
    # Emulated coordinator, topology 1: who issues the suite-2 CBKE credentials of the NCP and the emulated meters.
    # per-run-ca: a test CA generated per bench; se-test-vectors: the SE spec's Annex C certificates (the hub and
    # each emulated meter must carry one of their subjects as its EUI-64; harness/zigbee/cbke/se_vectors.py).
    cbke_credentials: Literal["per-run-ca", "se-test-vectors"] = "per-run-ca"
    # EZSP configuration values bellows writes at every start (setConfigurationValue), over its own defaults:
    # (EzspConfigId name, value), or value None for "leave the NCP's own value" (docs/rigs.md).
    ezsp_config: tuple[tuple[str, int | None], ...] = ()

    @property
    def ezsp_config_overrides(self) -> dict[str, int | None]:
        """bellows' `ezsp_config` setting (bellows/ezsp/__init__.py write_config): name -> value or None."""
        return dict(self.ezsp_config)


@dataclass(frozen=True)
class InstallCodeSource:
    """Where a device's install code comes from. `inline` codes sit in the rig file; `env` and `file` keep secrets out."""

    kind: Literal["inline", "env", "file"]
    value: str | None = field(default=None, repr=False)  # inline; a secret, so kept out of repr (and logs)
    variable: str | None = None  # env
    path: str | None = None  # file: one code per file, hex; as written in the rig file
    base_dir: str | None = field(default=None, repr=False)  # a relative `path` is relative to the rig file's folder

    @property
    def file_path(self) -> Path | None:
        """The file a `file` source reads, resolved against the rig file's folder."""
        if self.path is None:
            return None
        p = Path(self.path).expanduser()
        return p if p.is_absolute() or self.base_dir is None else Path(self.base_dir) / p

    def resolve(self) -> str:
        """The install code's text. Raises RigError naming the variable or file when it is not there."""
        if self.kind == "inline":
            assert self.value is not None
            return self.value
        if self.kind == "env":
            assert self.variable is not None
            value = os.environ.get(self.variable)
            if value is None:
                raise RigError(f"install code: environment variable {self.variable} is not set")
            return value
        path = self.file_path
        assert path is not None
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise RigError(f"install code: cannot read {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise RigError(f"install code: {path} is not text (expected one install code in hex)") from exc

    def describe(self) -> str:
        return {"inline": "inline", "env": f"env:{self.variable}", "file": f"file:{self.path}"}[self.kind]


@dataclass(frozen=True)
class PowerSpec:
    """How the bench powers a device: emulated devices directly, real ones manually or by a command."""

    kind: Literal["emulated", "manual", "command", "labgrid"]
    on: str | None = None
    off: str | None = None
    resource: str | None = None  # labgrid: the power resource's name in the coordinator's place


@dataclass(frozen=True)
class DeviceSpec:
    role: str
    kind: Literal["emulated", "real", "stick"]  # stick: the harness's EZSP stick plays it (hub under test)
    eui64: str  # DCC form, upper case
    install_code: InstallCodeSource
    power: PowerSpec
    operator: str | None = None  # instruction for a person at the bench, e.g. "hold the join button for 1 s"
    firmware: str | None = None


@dataclass(frozen=True)
class WanSpec:
    """How the bench cuts a real hub's SM WAN (harness/drivers/wan.py): a person, or a power switch on its path."""

    kind: Literal["operator", "power"]
    cut: str | None = None  # operator instructions (defaults in drivers/wan.py)
    restore: str | None = None
    on: str | None = None  # power commands
    off: str | None = None
    settle: float = 0.0


@dataclass(frozen=True)
class DccSpec:
    """The DCC test system a real hub's SRVs go to: DUIS over HTTP(S). The API key comes from the environment."""

    url: str
    api_key_env: str | None = None
    api_key_header: str = "X-Api-Key"
    timeout: float = 30.0


@dataclass(frozen=True)
class SnifferSpec:
    """An optional radio capture beside the coordinator (drivers/sniffer.py): the emulated medium, a pcap file a
    capture tool writes, `tshark -i INTERFACE`, or any command that writes pcap to its stdout."""

    kind: Literal["emulated", "pcap", "tshark", "command"]
    path: str | None = None  # pcap: the file, resolved against the rig file's folder
    interface: str | None = None  # tshark
    command: str | None = None  # command
    channel: int | None = None  # the channel the capture device listens on, recorded as provenance


@dataclass(frozen=True)
class HubSpec:
    """`harness`: the harness plays the hub (topology 1). `emulated` / `real`: the hub is under test (topology 2,
    harness/rig_hub.py), the harness's stick plays the meter."""

    kind: Literal["harness", "emulated", "real"]
    eui64: str
    wan: str = "emulated"
    channel: int = 15  # emulated hub's HAN channel
    gpf: str | None = None
    firmware: str | None = None
    wan_link: WanSpec | None = None
    dcc: DccSpec | None = None
    power: PowerSpec | None = None
    cbke: bool = False  # topology 2: the emulated hub runs the KE server and the stick the KE client (hub.cbke)

    @property
    def under_test(self) -> bool:
        return self.kind != "harness"


@dataclass(frozen=True)
class Rig:
    path: str
    name: str
    coordinator: CoordinatorSpec
    hub: HubSpec
    devices: dict[str, DeviceSpec]
    install_code_crc_mode: Literal["append", "none"] = "append"
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    description: str = ""
    operator: str | None = None  # the operator channel (drivers/operator.py), e.g. "web:8765"; --operator wins
    sniffer: SnifferSpec | None = None

    @property
    def is_emulated(self) -> bool:
        return (self.coordinator.kind == "emulated" and self.hub.kind != "real"
                and all(d.kind in ("emulated", "stick") for d in self.devices.values()))

    @property
    def topology(self) -> str:
        """'harness-as-hub' (topology 1) or 'hub-under-test' (topology 2), as the evidence report names them."""
        return "hub-under-test" if self.hub.under_test else "harness-as-hub"

    def timeout(self, name: str) -> float:
        return self.timeouts[name]

    def install_code(self, role: str) -> InstallCode:
        """The device's install code, resolved from its source and checked (CRC, length) in the rig's CRC mode.

        Raises RigError naming the rig file, the field and the source (never the code itself).
        """
        from harness.zigbee.installcode import parse_install_code

        source = self.devices[role].install_code
        where = f"{self.path}: devices.{role}.install_code ({source.describe()})"
        try:
            text = source.resolve()
        except RigError as exc:
            raise RigError(f"{where}: {str(exc).removeprefix('install code: ')}") from exc
        try:
            return parse_install_code(text, crc_mode=self.install_code_crc_mode)
        except InputError as exc:
            raise RigError(f"{where}: {exc}") from exc


# --- loading --------------------------------------------------------------------------------------------------


class _Doc:
    """A YAML document with the line of every field, so errors can point at it.

    `lines` maps a field path to the line of its key (the line a person looks at); `raw` keeps each scalar's text
    as written, because YAML turns an unquoted all-digit hex string (an EUI-64 or install code) into a number.
    """

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise RigFileError(path, "", f"not valid YAML: {problem}", line) from exc
        except RecursionError:  # `[[[[...`: PyYAML's composer recurses once per level
            raise RigFileError(path, "", f"not valid YAML: nested too deeply (at most {MAX_DEPTH} levels)") from None
        if node is None:
            raise RigFileError(path, "", "the file is empty (expected a mapping with coordinator, hub, devices)")
        self.lines: dict[str, int] = {}
        self.raw: dict[str, str] = {}
        self._nodes_left = MAX_NODES
        self.data = self._walk(node, "", node.start_mark.line + 1)

    def _walk(self, node: yaml.Node, path: str, line: int, depth: int = 0) -> Any:
        # Budgets: an alias is walked each time it is used, so a billion-laughs bomb or a recursive anchor ends
        # here with a message instead of eating the memory or the stack.
        self._nodes_left -= 1
        if self._nodes_left < 0:
            raise RigFileError(self.path, path, f"more than {MAX_NODES} values with aliases expanded (an alias bomb?)",
                               line)
        if depth > MAX_DEPTH:
            raise RigFileError(self.path, path, f"nested more than {MAX_DEPTH} levels (a recursive anchor?)", line)
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise RigFileError(self.path, path, "a field name must be text, not a list or mapping", key_line)
                key = str(key_node.value)
                sub = f"{path}.{key}" if path else key
                if key in out:
                    raise RigFileError(self.path, sub, f"given twice (first on line {self.lines[sub]})", key_line)
                out[key] = self._walk(value_node, sub, key_line, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._walk(v, f"{path}[{i}]", v.start_mark.line + 1, depth + 1) for i, v in enumerate(node.value)]
        self.raw[path] = str(node.value)
        try:
            return SafeConstructor().construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. 2020-13-45 looks like a date but is not
            raise RigFileError(self.path, path, f"{_brief(node.value)} is not a valid value: "
                               f"{str(exc).splitlines()[0][:60]}", line) from exc

    def text(self, field_path: str, value: Any) -> str:
        """A scalar as the user wrote it (for hex fields YAML may have read as a number)."""
        if isinstance(value, str):
            return value
        return self.raw.get(field_path, "" if value is None else str(value))

    def error(self, field_path: str, message: str) -> RigFileError:
        return RigFileError(self.path, field_path, message, self.lines.get(field_path))


def _brief(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut short: a whole wrong file must not be echoed back."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({type(value).__name__} of {len(str(value))} chars)"


def _mapping(doc: _Doc, value: Any, field_path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise doc.error(field_path, f"expected a mapping, got {_brief(value)}")
    return value


def _only(doc: _Doc, value: Mapping[str, Any], field_path: str, allowed: tuple[str, ...]) -> None:
    for key in value:
        if key not in allowed:
            sub = f"{field_path}.{key}" if field_path else key
            raise doc.error(sub, f"unknown field (expected one of: {', '.join(allowed)})")


def _choice(doc: _Doc, value: Any, field_path: str, choices: tuple[Any, ...]) -> Any:
    if value not in choices:
        raise doc.error(field_path, f"{_brief(value)} is not one of {', '.join(map(str, choices))}")
    return value


def _required(doc: _Doc, value: Mapping[str, Any], key: str, field_path: str) -> Any:
    if key not in value:
        sub = f"{field_path}.{key}" if field_path else key
        raise RigFileError(doc.path, sub, "missing (required)", doc.lines.get(field_path))
    return value[key]


def _eui64(doc: _Doc, value: Any, field_path: str) -> str:
    text = doc.text(field_path, value).strip()
    hex_digits = "".join(ch for ch in text if ch not in "-: ")
    if len(hex_digits) != 16 or any(ch not in "0123456789abcdefABCDEF" for ch in hex_digits):
        raise doc.error(
            field_path, f"{_brief(text)} is not an EUI-64 (expected 8 bytes of hex, e.g. 00-0D-6F-00-0A-BC-DE-F0)"
        )
    upper = hex_digits.upper()
    return "-".join(upper[i : i + 2] for i in range(0, 16, 2))


MAX_TIMEOUT = 30 * 86400.0  # seconds; longer than any bench step, short enough for asyncio and float


def _positive_number(doc: _Doc, value: Any, field_path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value <= MAX_TIMEOUT):
        raise doc.error(field_path, f"{_brief(value)} is not a positive number of seconds "
                        f"(expected above 0, at most {MAX_TIMEOUT:.0f} = 30 days)")
    return float(value)


NETWORK_SCHEMES = ("tcp", "rfc2217", "socket")


def _port_url(doc: _Doc, value: Any) -> str:
    """A device path, device://path, or tcp/rfc2217/socket://host:port (the URL forms bellows' serialx opens)."""
    fp = "coordinator.port"
    if not isinstance(value, str) or not value.strip():
        raise doc.error(
            fp, f"{_brief(value)} is not a port (expected /dev/serial/by-id/..., tcp://host:port or rfc2217://host:port)"
        )
    url = value.strip()
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    if scheme == "device":
        if not rest:
            raise doc.error(fp, f"{_brief(url)} has no device path")
        return url
    if scheme not in NETWORK_SCHEMES:
        raise doc.error(fp, f"{_brief(url)}: scheme not supported (use a device path, tcp://, rfc2217://)")
    host, _, port = rest.partition("/")[0].rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise doc.error(fp, f"{_brief(url)} is not {scheme}://host:port (port 1-65535)")
    return url


def _optional_text(doc: _Doc, raw: Mapping[str, Any], key: str, field_path: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, Mapping | list):
        raise doc.error(f"{field_path}.{key}", f"{_brief(value)} is not text")
    return doc.text(f"{field_path}.{key}", value)


def _coordinator(doc: _Doc, raw: Any) -> CoordinatorSpec:
    c = _mapping(doc, raw, "coordinator")
    kind = _choice(doc, _required(doc, c, "kind", "coordinator"), "coordinator.kind",
                   ("emulated", "serial", "labgrid"))
    ezsp_config = _ezsp_config(doc, c.get("ezsp_config"), c.get("ezsp_version", 13) if kind == "emulated" else None)
    if kind == "labgrid":
        _only(doc, c, "coordinator", ("kind", "place", "coordinator", "baudrate", "flow_control", "ezsp_config"))
        place = _optional_text(doc, c, "place", "coordinator") if "place" in c else None
        if not place:
            raise doc.error("coordinator.place", "missing (expected the labgrid place holding the coordinator stick)")
        address = _optional_text(doc, c, "coordinator", "coordinator") if "coordinator" in c else None
        baud = c.get("baudrate", 115200)
        if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
            raise doc.error("coordinator.baudrate", f"{baud!r} is not a baud rate")
        flow = _choice(doc, c.get("flow_control", "software"), "coordinator.flow_control", FLOW_CONTROLS)
        return CoordinatorSpec(kind="labgrid", labgrid=LabgridPlaceSpec(place, address, baud, flow),
                               ezsp_config=ezsp_config)
    identity = _coordinator_identity(doc, c)
    if kind == "emulated":
        _only(doc, c, "coordinator", ("kind", "ezsp_version", "transport", "strict", "cbke_credentials",
                                      "ezsp_config", *IDENTITY_FIELDS))
        version = c.get("ezsp_version", 13)
        if isinstance(version, bool) or not isinstance(version, int):  # 13.0 or "13" would slip through _choice
            raise doc.error("coordinator.ezsp_version",
                            f"{version!r} is not one of {', '.join(map(str, EZSP_VERSIONS))} (a whole number)")
        _choice(doc, version, "coordinator.ezsp_version", EZSP_VERSIONS)
        transport = _choice(doc, c.get("transport", "pty"), "coordinator.transport", ("pty", "tcp", "loop"))
        strict = c.get("strict", True)
        if not isinstance(strict, bool):
            raise doc.error("coordinator.strict", f"{strict!r} is not true or false")
        credentials = _choice(doc, c.get("cbke_credentials", "per-run-ca"), "coordinator.cbke_credentials",
                              CBKE_CREDENTIALS)
        return CoordinatorSpec(kind="emulated", ezsp_version=version, transport=transport, strict=strict,
                               cbke_credentials=credentials, ezsp_config=ezsp_config, **identity)
    _only(doc, c, "coordinator", ("kind", "port", "baudrate", "flow_control", "ezsp_config", *IDENTITY_FIELDS))
    url = _port_url(doc, _required(doc, c, "port", "coordinator"))
    baud = c.get("baudrate", 115200)
    if isinstance(baud, bool) or not isinstance(baud, int) or not 0 < baud <= 10_000_000:
        raise doc.error("coordinator.baudrate", f"{_brief(baud)} is not a baud rate (expected e.g. 115200)")
    flow = _choice(doc, c.get("flow_control", "software"), "coordinator.flow_control", FLOW_CONTROLS)
    return CoordinatorSpec(kind="serial", port=SerialPort(url=url, baudrate=baud, flow_control=flow),
                           ezsp_config=ezsp_config, **identity)


CBKE_CREDENTIALS = ("per-run-ca", "se-test-vectors")
EZSP_CONFIG_MAX = 0xFFFF  # setConfigurationValue's value is a uint16_t (UG100)


def _ezsp_config(doc: _Doc, raw: Any, version: Any = None) -> tuple[tuple[str, int | None], ...]:
    """coordinator.ezsp_config: EzspConfigId names (as UG100 and bellows spell them) to uint16 values or null,
    each also one that bellows' own schema takes for `version` (an emulated coordinator's), or for every EZSP
    version bellows speaks (a stick's, known only once it answers): bellows checks them when it connects, and a
    refusal there would name no file or field."""
    if raw is None:
        return ()
    entries = _mapping(doc, raw, "coordinator.ezsp_config")
    import difflib

    import bellows.types as bt  # only for a rig that has the field: `--help` and `rig check` stay light otherwise
    from bellows.ezsp import EZSP
    from bellows.ezsp.config import DEFAULT_CONFIG, RuntimeConfig

    protocols = {v: p for v, p in EZSP._BY_VERSION.items() if version not in EZSP._BY_VERSION or v == version}

    known = [member.name for member in bt.EzspConfigId]
    # null removes one of bellows' own defaults (it raises KeyError for any other name): those it writes on every
    # EZSP version
    defaults = set.intersection(*({cfg.config_id.name for cfg in cfgs if isinstance(cfg, RuntimeConfig)}
                                  for cfgs in DEFAULT_CONFIG.values()))
    out = []
    for name, value in entries.items():
        field_path = f"coordinator.ezsp_config.{name}"
        if name not in known:
            near = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]}?)" if near else " (an EzspConfigId name, e.g. CONFIG_MULTICAST_TABLE_SIZE)"
            raise doc.error(field_path, f"{_brief(name)} is not an EZSP configuration value{hint}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= EZSP_CONFIG_MAX):
            raise doc.error(field_path, f"{_brief(value)} is not a configuration value "
                                        f"(a whole number 0-{EZSP_CONFIG_MAX}, or null to keep the NCP's own)")
        if value is None and name not in defaults:
            raise doc.error(field_path, f"null (keep the NCP's own value) applies only to a value bellows writes by "
                                        f"default ({', '.join(sorted(defaults))}); give a number")
        unknown = [v for v, protocol in protocols.items() if name not in _schema(protocol).schema]
        refused = [v for v, protocol in protocols.items() if v not in unknown and not _schema_takes(protocol, name,
                                                                                                   value)]
        on = ", ".join(f"v{v}" for v in unknown or refused)
        if unknown:
            raise doc.error(field_path, f"bellows does not write {name} on EZSP {on}"
                                        f"{'' if len(protocols) == 1 else ' (a stick may speak any of them)'}")
        if refused:
            raise doc.error(field_path, f"bellows refuses {_brief(value)} for {name} on EZSP {on} (its range is in "
                                        f"EZSP_SCHEMA of bellows/ezsp/v{refused[0]}/config.py)")
        out.append((str(name), value))
    return tuple(out)


def _schema(protocol: Any) -> Any:
    from bellows.config import CONF_EZSP_CONFIG

    return protocol.SCHEMAS[CONF_EZSP_CONFIG]


def _schema_takes(protocol: Any, name: str, value: int | None) -> bool:
    import voluptuous as vol

    try:
        _schema(protocol)({name: value})
    except vol.Invalid:
        return False
    return True


IDENTITY_FIELDS = ("pan_id", "channel", "clean_state")


def _coordinator_identity(doc: _Doc, c: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pan = c.get("pan_id")
    if pan is not None:
        if isinstance(pan, str):
            try:
                pan = int(pan, 16) if pan.lower().startswith("0x") else int(pan)
            except ValueError:
                pan = None
        if isinstance(pan, bool) or not isinstance(pan, int) or not 0x0001 <= pan <= 0xFFFE:
            raise doc.error("coordinator.pan_id", f"{c.get('pan_id')!r} is not a PAN ID (0x0001-0xFFFE, e.g. 0x1A2B)")
        out["pan_id"] = pan
    channel = c.get("channel")
    if channel is not None:
        if isinstance(channel, bool) or not isinstance(channel, int) or not 11 <= channel <= 26:
            raise doc.error("coordinator.channel", f"{channel!r} is not a 2.4 GHz ZigBee channel (11-26)")
        out["channel"] = channel
    if "clean_state" in c:
        out["clean_state"] = _choice(doc, c["clean_state"], "coordinator.clean_state", CLEAN_STATE_MODES)
    return out


def _sniffer(doc: _Doc, raw: Any) -> SnifferSpec | None:
    if raw is None:
        return None
    s = _mapping(doc, raw, "sniffer")
    kind = _choice(doc, _required(doc, s, "kind", "sniffer"), "sniffer.kind", SNIFFER_KINDS)
    needs = {"emulated": (), "pcap": ("path",), "tshark": ("interface",), "command": ("command",)}[kind]
    _only(doc, s, "sniffer", ("kind", "channel", *needs))
    fields: dict[str, Any] = {}
    for key in needs:
        value = (_optional_text(doc, s, key, "sniffer") or "").strip() if key in s else ""
        if not value:
            raise RigFileError(doc.path, f"sniffer.{key}", f"missing (a {kind} sniffer needs {key})",
                               doc.lines.get(f"sniffer.{key}", doc.lines.get("sniffer")))
        fields[key] = value
    if "path" in fields:
        p = Path(fields["path"]).expanduser()
        fields["path"] = str(p if p.is_absolute() else Path(doc.path).parent / p)
    channel = s.get("channel")
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or not 11 <= channel <= 26):
        raise doc.error("sniffer.channel", f"{channel!r} is not a 2.4 GHz ZigBee channel (11-26)")
    return SnifferSpec(kind=kind, channel=channel, **fields)


_SOURCE_HELP = "expected hex, {env: VARIABLE} or {file: PATH}"


def _install_code(doc: _Doc, raw: Any, field_path: str, crc_mode: str) -> InstallCodeSource:
    if isinstance(raw, Mapping):
        _only(doc, raw, field_path, ("env", "file"))
        if len(raw) != 1:
            raise doc.error(field_path, f"give exactly one source ({_SOURCE_HELP}), got {_brief(dict(raw))}")
        (kind, value), = raw.items()
        if not isinstance(value, str) or not value.strip():
            what = "an environment variable name" if kind == "env" else "a file path"
            raise doc.error(f"{field_path}.{kind}", f"{_brief(value)} is not {what}")
        if kind == "env":
            return InstallCodeSource(kind="env", variable=value.strip())
        return InstallCodeSource(kind="file", path=value.strip(), base_dir=str(Path(doc.path).parent))
    if raw is None or isinstance(raw, list | bool):  # the value itself is not shown: a list may hold the code
        raise doc.error(field_path, f"a {type(raw).__name__} is not an install code ({_SOURCE_HELP})")
    source = InstallCodeSource(kind="inline", value=doc.text(field_path, raw))
    _validate_install_code(doc, source.value or "", field_path, crc_mode)
    return source


def _validate_install_code(doc: _Doc, text: str, field_path: str, crc_mode: str) -> None:
    from harness.zigbee.installcode import parse_install_code

    try:
        parse_install_code(text, crc_mode=crc_mode)  # type: ignore[arg-type]
    except ValueError as exc:
        raise doc.error(field_path, str(exc)) from exc


def _power(doc: _Doc, raw: Any, field_path: str, kind: str) -> PowerSpec:
    if raw is None:
        return PowerSpec(kind="emulated" if kind == "emulated" else "manual")
    p = _mapping(doc, raw, field_path)
    _only(doc, p, field_path, ("kind", "on", "off", "resource"))
    pkind = _choice(doc, _required(doc, p, "kind", field_path), f"{field_path}.kind", ("manual", "command", "labgrid"))
    if pkind == "labgrid":  # a power resource of the coordinator's labgrid place (NetworkPowerPort, ...)
        name = _optional_text(doc, p, "resource", field_path) if "resource" in p else None
        if not name:
            raise doc.error(f"{field_path}.resource", "missing (expected the power resource's name in the place)")
        return PowerSpec(kind="labgrid", resource=name)
    if pkind == "command":
        commands = {}
        for key in ("on", "off"):
            _required(doc, p, key, field_path)
            commands[key] = (_optional_text(doc, p, key, field_path) or "").strip()
            if not commands[key]:
                raise doc.error(f"{field_path}.{key}", "empty (expected a shell command, e.g. \"relayctl 3 on\")")
        return PowerSpec(kind="command", on=commands["on"], off=commands["off"])
    for key in ("on", "off"):
        if key in p:
            raise doc.error(f"{field_path}.{key}", "only a 'command' power switch has on/off commands")
    return PowerSpec(kind="manual")


def _device(doc: _Doc, role: str, raw: Any, crc_mode: str) -> DeviceSpec:
    fp = f"devices.{role}"
    d = _mapping(doc, raw, fp)
    _only(doc, d, fp, ("kind", "eui64", "install_code", "power", "operator", "firmware"))
    kind = _choice(doc, _required(doc, d, "kind", fp), f"{fp}.kind", ("emulated", "real", "stick"))
    eui = _eui64(doc, _required(doc, d, "eui64", fp), f"{fp}.eui64")
    code = _install_code(doc, _required(doc, d, "install_code", fp), f"{fp}.install_code", crc_mode)
    if kind == "emulated" and code.kind != "inline":
        raise doc.error(f"{fp}.install_code", "an emulated device needs its install code inline (hex)")
    power = _power(doc, d.get("power"), f"{fp}.power", "emulated" if kind == "stick" else kind)
    if kind == "emulated" and power.kind != "emulated":
        raise doc.error(f"{fp}.power", "emulated devices are powered by the harness; remove this field")
    return DeviceSpec(role=role, kind=kind, eui64=eui, install_code=code, power=power,
                      operator=_optional_text(doc, d, "operator", fp), firmware=_optional_text(doc, d, "firmware", fp))


def _check_test_vector_subjects(doc: _Doc, hub: HubSpec, devices: dict[str, DeviceSpec]) -> None:
    """With the SE test-vector credentials only their four subjects can run CBKE (the CA's private key is not
    published, so nothing else can be issued): the hub and every emulated meter must be one of them."""
    from harness.zigbee.cbke import se_vectors

    if hub.kind != "harness":
        raise doc.error("coordinator.cbke_credentials", "se-test-vectors applies to topology 1 (hub.kind: harness)")
    named = [("hub.eui64", hub.eui64)] + [(f"devices.{role}.eui64", d.eui64) for role, d in devices.items()
                                          if d.kind == "emulated" and role in ("esme", "gsme", "ihd")]
    allowed = ", ".join("-".join(s[i:i + 2] for i in range(0, 16, 2)) for s in se_vectors.subjects())
    for field_path, eui64 in named:
        if se_vectors.credentials_for(eui64) is None:
            raise doc.error(field_path, f"{eui64} has no SE test-vector certificate "
                                        f"(coordinator.cbke_credentials: se-test-vectors; one of {allowed})")


def parse_rig(text: str, path: str = "<rig>") -> Rig:
    doc = _Doc(path, text)
    top = _mapping(doc, doc.data, "")
    _only(doc, top, "", ("name", "description", "coordinator", "hub", "devices", "install_code_crc_mode", "timeouts",
                         "operator", "sniffer"))
    crc_mode = _choice(doc, top.get("install_code_crc_mode", "append"), "install_code_crc_mode", CRC_MODES)
    coordinator = _coordinator(doc, _required(doc, top, "coordinator", ""))

    h = _mapping(doc, _required(doc, top, "hub", ""), "hub")
    hub_kind = _choice(doc, _required(doc, h, "kind", "hub"), "hub.kind", ("harness", "real", "emulated"))
    if hub_kind == "harness":
        _only(doc, h, "hub", ("kind", "eui64", "wan"))
        hub = HubSpec(kind=hub_kind, eui64=_eui64(doc, h.get("eui64", "00-DB-12-34-56-78-90-A2"), "hub.eui64"),
                      wan=_choice(doc, h.get("wan", "emulated"), "hub.wan", ("emulated",)))
    else:  # the hub under test (topology 2)
        from harness.rig_hub import parse_hub_under_test

        hub = parse_hub_under_test(doc, h, hub_kind)

    devices_raw = _mapping(doc, _required(doc, top, "devices", ""), "devices")
    devices: dict[str, DeviceSpec] = {}
    for role, raw in devices_raw.items():
        _choice(doc, role, f"devices.{role}", DEVICE_ROLES)
        devices[role] = _device(doc, role, raw, crc_mode)
    if not devices:
        raise doc.error("devices", "no devices (expected at least one of esme, gsme, ihd, ppmid)")
    seen = {hub.eui64: "hub.eui64"}
    for role, spec in devices.items():
        first = seen.setdefault(spec.eui64, f"devices.{role}.eui64")
        if first != f"devices.{role}.eui64":
            raise doc.error(
                f"devices.{role}.eui64", f"{spec.eui64} is already used by {first} (every EUI-64 must be unique)"
            )
    from harness.rig_hub import check_topology

    check_topology(doc, hub, coordinator, devices)
    if coordinator.kind == "emulated" and any(d.kind == "real" for d in devices.values()):
        bad = next(r for r, d in devices.items() if d.kind == "real")
        raise doc.error(f"devices.{bad}.kind", "a real device needs a real coordinator (coordinator.kind: serial)")

    if coordinator.cbke_credentials == "se-test-vectors":
        _check_test_vector_subjects(doc, hub, devices)

    timeouts = dict(DEFAULT_TIMEOUTS)
    t = _mapping(doc, top.get("timeouts", {}), "timeouts")
    _only(doc, t, "timeouts", TIMEOUT_NAMES)
    for name, value in t.items():
        timeouts[name] = _positive_number(doc, value, f"timeouts.{name}")

    operator = None
    if top.get("operator") is not None:
        from harness.drivers.operator import parse_operator_channel

        operator = doc.text("operator", top["operator"])
        try:
            parse_operator_channel(operator, where="operator")
        except InputError as exc:
            raise doc.error("operator", str(exc).removeprefix("operator: ")) from None
    sniffer = _sniffer(doc, top.get("sniffer"))
    if sniffer is not None and sniffer.kind == "emulated" and coordinator.kind != "emulated":
        raise doc.error("sniffer.kind", "'emulated' captures the emulated radio; it needs coordinator.kind: emulated")

    name = str(top.get("name", Path(path).stem))
    return Rig(path=path, name=name, coordinator=coordinator, hub=hub, devices=devices,
               install_code_crc_mode=crc_mode, timeouts=timeouts, description=str(top.get("description", "")),
               operator=operator, sniffer=sniffer)


def load_rig(path: str | os.PathLike[str]) -> Rig:
    p = Path(path)
    if not os.path.lexists(p):
        raise RigFileError(str(p), "", "no such rig file")
    try:  # a regular file only (a FIFO would hang), at most RIG_MAX_BYTES, UTF-8 with the bad byte's offset named
        text = read_text(p, what="rig file", max_bytes=RIG_MAX_BYTES, expected="a YAML rig file")
    except InputError as exc:
        raise RigFileError(str(p), "", str(exc).removeprefix(f"{p}: ")) from None
    return parse_rig(text, str(p))
