"""Rig files for topology 2, the hub under test: the `hub:` section of an emulated or a real hub, and the checks
that tie it to the stick and the meter it plays (docs/hub-dut.md, docs/rigs.md).

    hub:
      kind: emulated                 # an emulated Comms Hub on the simulated radio (CI)
      eui64: 00-DB-12-34-56-78-90-A2 # its CHF ID (the HAN's Extended PAN ID)
      channel: 15
    hub:
      kind: real                     # a real hub on a lab bench
      eui64: ...                     # CHF ID, as printed on the hub / in the SMI
      gpf: ...                       # GPF ID (optional)
      firmware: "vendor 4.5.6"       # for the evidence record
      wan: {kind: operator, cut: "...", restore: "..."}  |  {kind: power, on: CMD, off: CMD, settle: 30}
      dcc: {kind: duis-http, url: https://dcc-test.example/duis, api_key_env: DCC_API_KEY}
      power: {kind: manual}  |  {kind: command, on: CMD, off: CMD}

The meter the stick plays is a device with `kind: stick` (exactly one; an ESME: the stick joins as a router).
Called from harness/rig.py; uses its YAML helpers so messages name the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.rig import CoordinatorSpec, DeviceSpec, HubSpec, _Doc

__all__ = ["parse_hub_under_test", "check_topology"]

WAN_KINDS = ("operator", "power")
STICK_ROLES = ("esme",)


def _text(doc: _Doc, raw: Mapping[str, Any], key: str, field_path: str, *, required: bool = False) -> str | None:
    from harness.rig import _optional_text, _required

    if required:
        _required(doc, raw, key, field_path)
    value = _optional_text(doc, raw, key, field_path)
    if required and not (value or "").strip():
        raise doc.error(f"{field_path}.{key}", "empty")
    return value.strip() if value is not None else None


def _wan(doc: _Doc, raw: Any) -> Any:
    from harness.rig import WanSpec, _choice, _mapping, _only, _positive_number, _required

    fp = "hub.wan"
    w = _mapping(doc, raw, fp)
    kind = _choice(doc, _required(doc, w, "kind", fp), f"{fp}.kind", WAN_KINDS)
    if kind == "operator":
        _only(doc, w, fp, ("kind", "cut", "restore"))
        return WanSpec(kind="operator", cut=_text(doc, w, "cut", fp), restore=_text(doc, w, "restore", fp))
    _only(doc, w, fp, ("kind", "on", "off", "settle"))
    on = _text(doc, w, "on", fp, required=True)
    off = _text(doc, w, "off", fp, required=True)
    settle = _positive_number(doc, w["settle"], f"{fp}.settle") if "settle" in w else 0.0
    return WanSpec(kind="power", on=on, off=off, settle=settle)


def _dcc(doc: _Doc, raw: Any) -> Any:
    from harness.rig import DccSpec, _choice, _mapping, _only, _positive_number, _required

    fp = "hub.dcc"
    d = _mapping(doc, raw, fp)
    _only(doc, d, fp, ("kind", "url", "api_key_env", "api_key_header", "timeout"))
    _choice(doc, _required(doc, d, "kind", fp), f"{fp}.kind", ("duis-http",))
    url = _text(doc, d, "url", fp, required=True) or ""
    if not url.startswith(("http://", "https://")):
        raise doc.error(f"{fp}.url", f"{url!r} is not an http(s):// URL of the DCC test system's DUIS endpoint")
    timeout = _positive_number(doc, d["timeout"], f"{fp}.timeout") if "timeout" in d else 30.0
    return DccSpec(url=url, api_key_env=_text(doc, d, "api_key_env", fp),
                   api_key_header=_text(doc, d, "api_key_header", fp) or "X-Api-Key", timeout=timeout)


def parse_hub_under_test(doc: _Doc, h: Mapping[str, Any], kind: str) -> HubSpec:
    from harness.rig import HubSpec, _eui64, _only, _power, _required

    if kind == "emulated":
        _only(doc, h, "hub", ("kind", "eui64", "channel", "wan", "cbke"))
        channel = h.get("channel", 15)
        if isinstance(channel, bool) or not isinstance(channel, int) or not 11 <= channel <= 26:
            raise doc.error("hub.channel", f"{channel!r} is not a 2.4 GHz ZigBee channel (11..26)")
        if h.get("wan", "emulated") != "emulated":
            raise doc.error("hub.wan", f"{h.get('wan')!r}: an emulated hub has an emulated WAN (remove the field)")
        cbke = h.get("cbke", True)  # on by default, as topology 1 runs CBKE whenever the coordinator is emulated
        if not isinstance(cbke, bool):
            raise doc.error("hub.cbke", f"{cbke!r} is not true or false")
        return HubSpec(kind="emulated", eui64=_eui64(doc, h.get("eui64", "00-DB-12-34-56-78-90-A2"), "hub.eui64"),
                       wan="emulated", channel=channel, cbke=cbke)
    _only(doc, h, "hub", ("kind", "eui64", "gpf", "firmware", "wan", "dcc", "power"))
    eui = _eui64(doc, _required(doc, h, "eui64", "hub"), "hub.eui64")
    gpf = _eui64(doc, h["gpf"], "hub.gpf") if h.get("gpf") is not None else None
    wan = _wan(doc, _required(doc, h, "wan", "hub"))
    dcc = _dcc(doc, _required(doc, h, "dcc", "hub"))
    power = _power(doc, h.get("power"), "hub.power", "real")
    return HubSpec(kind="real", eui64=eui, wan=wan.kind, gpf=gpf, firmware=_text(doc, h, "firmware", "hub"),
                   wan_link=wan, dcc=dcc, power=power)


def check_topology(doc: _Doc, hub: HubSpec, coordinator: CoordinatorSpec, devices: dict[str, DeviceSpec]) -> None:
    """The rules that tie the hub, the stick (`coordinator:`) and the devices together."""
    sticks = [role for role, d in devices.items() if d.kind == "stick"]
    if hub.kind == "harness":
        if sticks:
            raise doc.error(f"devices.{sticks[0]}.kind", "'stick' plays a meter for a hub under test; with "
                                                         "hub.kind: harness the stick is the hub (use emulated or real)")
        return
    if len(sticks) != 1:
        raise doc.error("devices", f"a hub under test needs exactly one device of kind 'stick' (the meter the "
                                   f"harness's stick plays), found {len(sticks)}")
    role = sticks[0]
    if role not in STICK_ROLES:
        raise doc.error(f"devices.{role}", f"the stick joins as a router, so it can play an ESME only, not a "
                                           f"{role.upper()}")
    others = [r for r in devices if r != role]
    if others:
        raise doc.error(f"devices.{others[0]}", "a hub-under-test rig has only the meter the stick plays (one stick "
                                                "is one node on the HAN)")
    if devices[role].power.kind != "emulated":
        raise doc.error(f"devices.{role}.power", "the stick is powered with the harness; remove this field")
    if hub.kind == "emulated" and coordinator.kind != "emulated":
        raise doc.error("coordinator.kind", "an emulated hub lives on the simulated radio, which only the emulated "
                                            "NCP reaches (use kind: emulated, or hub.kind: real)")
    if hub.kind == "emulated" and devices[role].install_code.kind != "inline":
        raise doc.error(f"devices.{role}.install_code", "an emulated bench needs the install code inline (hex)")
    if hub.kind == "real" and coordinator.kind != "serial":
        raise doc.error("coordinator.kind", "a real hub is joined over the air by a real EZSP stick "
                                            "(coordinator.kind: serial)")
    if coordinator.kind == "emulated" and coordinator.ezsp_version < 13:
        raise doc.error("coordinator.ezsp_version", f"{coordinator.ezsp_version}: the stick's joining side is "
                                                    "emulated for EZSP 13 and later")
