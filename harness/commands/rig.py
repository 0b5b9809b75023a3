"""`smets2-harness rig check RIG [--json]`: prove a rig is ready before a run.

One PASS/FAIL line per item: the coordinator answers over EZSP (version, stack, EUI-64, channel) and holds
suite-2 CBKE data (who issued its certificate), its port has a name that survives a replug, every device's install code resolves and checks out (never printed: it is a secret),
and power-switch commands exist. Exit 0 when all pass, 1 when any fails, 2 when the rig file does not load.
No other HIL tool has a rig self-test (research/anchors.md A.6 item 1); labgrid's users find out at run time.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.bench.identity import expected_eui64, identity_problems
from harness.drivers.ezsp_config import ConfigReport, not_in_force
from harness.drivers.probe import NcpInfo, is_local_device, local_device_path, probe_ncp
from harness.errors import HarnessError, RigError
from harness.rig import DeviceSpec, Rig, RigFileError, load_rig

EXIT_OK, EXIT_FAILED, EXIT_RIG_FILE = 0, 1, 2
BY_ID_DIR = "/dev/serial/by-id"
# Kernel names handed out in plug order: the same stick can be ttyUSB0 today and ttyUSB1 tomorrow.
_UNSTABLE_NAME = re.compile(r"^/dev/(ttyUSB\d+|ttyACM\d+)$")


@dataclass
class Check:
    """One line of the report."""

    item: str
    ok: bool
    message: str
    severity: Literal["error", "warning"] = "error"
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.item}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "status": "pass" if self.ok else "fail", "severity": self.severity,
                "message": self.message, "details": self.details}


# --- coordinator --------------------------------------------------------------------------------------------------


def _by_id_links() -> list[str]:
    return sorted(glob.glob(os.path.join(BY_ID_DIR, "*")))


def check_port_name(url: str) -> Check:
    """Is the port's name stable across replugs and reboots?"""
    if not is_local_device(url):
        return Check("coordinator.port", True, f"{url} (network serial port)", details={"url": url})
    path = local_device_path(url)
    if path.startswith(BY_ID_DIR + "/"):
        return Check("coordinator.port", True, f"{path} (stable by-id name)", details={"url": url})
    if path.startswith("/dev/pts/"):
        return Check(
            "coordinator.port", False,
            f"{path} is not a stable name (warning): pseudo-terminals are numbered per session, so the name changes "
            f"whenever the program that made it restarts; give it a fixed symlink (e.g. socat's link=) or use tcp://",
            severity="warning", details={"url": url, "by_id": None},
        )
    if _UNSTABLE_NAME.match(path):
        target = os.path.realpath(path) if os.path.exists(path) else None
        alias = next((link for link in _by_id_links() if target and os.path.realpath(link) == target), None)
        hint = f"use {alias}" if alias else f"use its name under {BY_ID_DIR}/ (ls -l {BY_ID_DIR}/)"
        return Check(
            "coordinator.port", False,
            f"{path} is not a stable name (warning): the kernel numbers USB serial ports in plug order, so after a "
            f"replug or reboot it can be another device or none; {BY_ID_DIR}/ names carry the adapter's serial "
            f"number and always mean this stick: {hint}",
            severity="warning", details={"url": url, "by_id": alias},
        )
    # A built-in UART (/dev/ttyS0, /dev/ttyAMA0) or a udev rule's own symlink: stable by construction.
    return Check("coordinator.port", True, f"{path}", details={"url": url})


def _missing_port_hint() -> str:
    links = _by_id_links()
    if not links:
        return f"(nothing under {BY_ID_DIR}/: is the stick plugged in?)"
    return f"(present under {BY_ID_DIR}/: {', '.join(os.path.basename(link) for link in links)})"


async def check_coordinator(rig: Rig) -> Check:
    """Open the coordinator with bellows and read its versions, EUI-64 and network, within timeouts.connect."""
    timeout = rig.timeout("connect")
    coordinator = rig.coordinator
    try:
        if coordinator.kind == "emulated":
            info, where = await _probe_emulated(rig, timeout)
        else:
            assert coordinator.port is not None
            port = coordinator.port
            info = await probe_ncp(port.url, baudrate=port.baudrate, flow_control=port.flow_control, timeout=timeout,
                                   ezsp_config=coordinator.ezsp_config_overrides)
            where = port.url
    except RigError as exc:  # the probe's only RigError: the local port is not there
        return Check("coordinator", False, f"{exc} {_missing_port_hint()}")
    except HarnessError as exc:
        return Check("coordinator", False, str(exc))
    except Exception as exc:  # only the in-process emulator can get here (probe_ncp translates its own errors)
        if coordinator.kind != "emulated":
            raise
        return Check("coordinator", False, f"the emulated NCP failed: {type(exc).__name__}: {exc}")
    network = info.network
    problems = identity_problems(rig, eui64=info.eui64, channel=network.channel if network else None,
                                 pan_id=int(network.pan_id, 16) if network else None)
    if problems:
        return Check("coordinator", False, f"{'; '.join(problems)} ({info.summary()}, {where})",
                     details={**info.as_dict(), "expected_eui64": expected_eui64(rig)[0], "problems": problems})
    return Check("coordinator", True, f"{info.summary()} ({where})", details=info.as_dict())


async def _probe_emulated(rig: Rig, timeout: float) -> tuple[NcpInfo, str]:
    """Start the emulated NCP in-process and probe it through bellows over a pty or tcp://, like a real stick."""
    from harness.emulation.ncp import EmulatedNcp, serve_ncp  # emulation is only needed for emulated rigs

    c = rig.coordinator
    # Topology 1: the coordinator is the hub's HAN radio, so the emulated NCP carries the hub's EUI-64; in
    # topology 2 the stick plays the meter and carries the meter's.
    played = [d.eui64 for d in rig.devices.values() if d.kind == "stick"]
    eui64 = (played[0] if played else rig.hub.eui64).replace("-", ":")
    ncp = EmulatedNcp(c.ezsp_version, eui64=eui64, strict=c.strict)
    async with serve_ncp(ncp, c.transport) as url:
        info = await probe_ncp(str(url), timeout=timeout, ezsp_config=c.ezsp_config_overrides)
    ncp.check()  # strict: a command the emulator had no handler for fails the check, as it would fail a run
    return info, f"emulated NCP over {c.transport} {url}"


def check_ezsp_config(report: ConfigReport) -> Check:
    """coordinator.ezsp_config as the NCP took it: each value the rig asks for must be in force (a 7.x NCP refuses
    to raise a table above its build, and bellows only logs that at DEBUG)."""
    problems = not_in_force(report)
    if problems:
        return Check("coordinator.ezsp_config", False, "; ".join(problems) + " (lower it in the rig, or use firmware "
                     "built with more: EmberZNet 7.x cannot raise a table at run time; docs/rigs.md)", details=report)
    own = " (the NCP's own)"
    shown = ", ".join(f"{name} {entry['in_force']}{own if entry['requested'] is None else ''}"
                      for name, entry in report.items())
    return Check("coordinator.ezsp_config", True, f"in force as the rig asks: {shown}", details=report)


# --- CBKE ---------------------------------------------------------------------------------------------------------


def check_cbke(rig: Rig, cbke: dict[str, Any] | None, stick_eui64: str | None, *,
               now: float | None = None) -> Check:
    """Does the stick hold suite-2 CBKE data, and who issued its certificate? (docs/cbke.md)

    A real SMETS2 meter runs CBKE with the trust centre after joining and leaves if it fails, so a real meter on
    a stick without CBKE data is a failed check; with only emulated devices, or when the stick plays the meter
    (topology 2), the line only informs."""
    item = "coordinator.cbke"
    if rig.coordinator.kind == "emulated":
        if rig.coordinator.cbke_credentials == "se-test-vectors":
            return Check(item, True, "emulated NCP: suite-2 CBKE data from the SE test vectors (Annex C, issuer "
                                     "1112131415161718) for the hub and every emulated meter",
                         details={"emulated": True, "credentials": "se-test-vectors"})
        return Check(item, True, "emulated NCP: each bench run installs suite-2 CBKE data from a per-run test CA "
                                 "(its issuer is in the evidence record, provenance.cbke_ca)",
                     details={"emulated": True, "credentials": "per-run-ca"})
    details = dict(cbke or {})
    present = bool(details.get("present"))
    real_meters = [role for role, d in rig.devices.items() if d.kind == "real"]
    if not present:
        reason = str(details.get("reason") or "no answer to getCertificate283k1")
        if rig.hub.under_test or not real_meters:
            return Check(item, True, f"{reason} (no real meter here needs it)", details=details)
        return Check(item, False, f"{reason}: {', '.join(real_meters)} will run CBKE after joining and leave when it "
                                  "fails; the bench runs without CBKE on this stick (warning)",
                     severity="warning", details=details)
    summary = (f"suite-2 (sect283k1) CBKE data: certificate issuer {details.get('issuer')}, "
               f"subject {details.get('subject')}")
    expires = details.get("expires")
    problems = []
    subject = str(details.get("subject") or "")
    if stick_eui64 and subject != stick_eui64.replace("-", "").upper():
        problems.append(f"the certificate's subject {subject} is not this stick's EUI-64 {stick_eui64}: a meter "
                        "checks that the trust centre's certificate names it")
    when = time.time() if now is None else now
    if isinstance(expires, int) and expires < when:
        problems.append(f"the certificate expired at {expires} (Unix time)")
    if isinstance(details.get("valid_from"), int) and details["valid_from"] > when:
        problems.append(f"the certificate is not valid before {details['valid_from']} (Unix time)")
    if problems:
        return Check(item, False, f"{summary}; {'; '.join(problems)}", details=details)
    return Check(item, True, f"{summary}, {'no expiry' if expires is None else f'expires {expires} (Unix time)'}",
                 details=details)


# --- devices ------------------------------------------------------------------------------------------------------


def _install_code_text(rig: Rig, role: str) -> tuple[bool, str]:
    source = rig.devices[role].install_code
    try:
        code = rig.install_code(role)
    except RigError as exc:
        # The message names the file, field and source; strip the file prefix, the item already says which device.
        reason = str(exc).split(f"devices.{role}.install_code ({source.describe()}): ", 1)[-1]
        return False, f"install code from {source.describe()}: {reason}"
    size = f"{len(code.code)} bytes + CRC" if code.crc_mode == "append" else f"{len(code.code)} bytes, no CRC"
    return True, f"install code OK ({size}, source {source.describe()})"


def _power_text(device: DeviceSpec) -> tuple[bool, str]:
    power = device.power
    if power.kind == "emulated":
        return True, ""
    if power.kind == "manual":
        return True, "power manual (the operator switches it)"
    missing = []
    for name, command in (("on", power.on), ("off", power.off)):
        try:
            program = shlex.split(command or "")[0]
        except (ValueError, IndexError):
            missing.append(f"power.{name}: {command!r} is not a command line")
            continue
        if shutil.which(program) is None:
            missing.append(f"power.{name}: program {program!r} not found on PATH")
    if missing:
        return False, "; ".join(missing)
    return True, "power by command"


def check_device(rig: Rig, role: str) -> Check:
    device = rig.devices[role]
    code_ok, code_text = _install_code_text(rig, role)
    power_ok, power_text = _power_text(device)
    parts = [code_text, power_text] if power_text else [code_text]
    return Check(role, code_ok and power_ok, f"{device.kind} {role.upper()}, EUI-64 {device.eui64}: {'; '.join(parts)}",
                 details={"kind": device.kind, "eui64": device.eui64, "install_code_ok": code_ok,
                          "install_code_source": device.install_code.describe(), "power": device.power.kind,
                          "power_ok": power_ok})


def check_hub(rig: Rig) -> Check:
    hub = rig.hub
    if hub.under_test:  # topology 2: harness/commands/rig_hub.py
        from harness.commands.rig_hub import check_hub_under_test

        return check_hub_under_test(rig)
    return Check("hub", True, f"the harness plays the Comms Hub (topology 1), EUI-64 {hub.eui64}, WAN {hub.wan}",
                 details={"kind": hub.kind, "eui64": hub.eui64, "wan": hub.wan})


async def check_rig(rig: Rig) -> list[Check]:
    """Every check, in the order a person reads them: port, coordinator, hub, devices."""
    checks: list[Check] = []
    if rig.coordinator.kind == "serial":
        assert rig.coordinator.port is not None
        checks.append(check_port_name(rig.coordinator.port.url))
    coordinator = await check_coordinator(rig)
    checks.append(coordinator)
    if "cbke" in coordinator.details:
        checks.append(check_cbke(rig, coordinator.details["cbke"], coordinator.details.get("eui64")))
    if coordinator.details.get("ezsp_config"):
        checks.append(check_ezsp_config(coordinator.details["ezsp_config"]))
    checks.append(check_hub(rig))
    checks.extend(check_device(rig, role) for role in rig.devices)
    if rig.sniffer is not None:
        checks.append(check_sniffer(rig))
    return checks


def check_sniffer(rig: Rig) -> Check:
    from harness.bench.preflight import sniffer_problems

    spec = rig.sniffer
    assert spec is not None
    source = {"emulated": "the emulated radio", "pcap": f"pcap file {spec.path}",
              "tshark": f"tshark -i {spec.interface}", "command": f"command {spec.command}"}[spec.kind]
    problems = [p.split(": ", 1)[-1] for p in sniffer_problems(rig)]
    return Check("sniffer", not problems, f"{source}: {'; '.join(problems)}" if problems else source,
                 details={"kind": spec.kind, "channel": spec.channel})


# --- command line -------------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rig", help="work with rig files (rig check)",
                                   description="Rig files say what backs each role on a bench (docs/rigs.md).")
    actions = parser.add_subparsers(dest="rig_action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="open the coordinator and check every device's install code and the port names",
        description=(
            "Load RIG, open its coordinator with bellows (an emulated rig's NCP is started in-process) and report "
            "the EZSP protocol version, stack version, EUI-64 and channel; check that serial ports exist and have "
            "stable names, that every install code resolves (inline, env or file) and has a valid length and CRC, "
            "and that power commands exist. Install codes are never printed. Exit status: 0 all passed, "
            "1 a check failed, 2 the rig file does not load."
        ),
    )
    check.add_argument("rig", metavar="RIG", help="rig file, e.g. rigs/emulated.yaml")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of PASS/FAIL lines")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    try:
        rig = load_rig(args.rig)
    except RigFileError as exc:
        if not args.json:
            raise  # the dispatcher prints it and exits 2
        print(json.dumps({"rig": args.rig, "ok": False, "error": str(exc), "checks": []}, indent=2))
        print(f"smets2-harness rig: error: {exc}", file=sys.stderr)
        return EXIT_RIG_FILE
    checks = asyncio.run(check_rig(rig))
    ok = all(c.ok for c in checks)
    failed = sum(not c.ok for c in checks)
    if args.json:
        print(json.dumps({"rig": rig.path, "name": rig.name, "ok": ok, "checks": [c.as_dict() for c in checks]},
                         indent=2))
    else:
        print(f"rig {rig.name} ({rig.path})")
        for c in checks:
            print(c.line())
        print(f"{len(checks) - failed} passed, {failed} failed")
    return EXIT_OK if ok else EXIT_FAILED
