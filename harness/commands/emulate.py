"""`smets2-harness emulate ncp`: serve an emulated EZSP coordinator NCP on tcp:// or a pty until interrupted.

    smets2-harness emulate ncp --listen tcp://127.0.0.1:0 --ezsp 13 --strict \\
        --device esme:00-0D-6F-00-0A-BC-DE-F0:<install code hex> --pcap han.pcap

prints `listening on tcp://127.0.0.1:PORT` (or the pty path with --pty); point bellows/zigpy (or `run --rig`)
at that URL. With --device, emulated Smart Energy devices live on a simulated radio medium behind the NCP and
join when the coordinator permits them with their install-code key. See docs/emulated-ncp.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path

from typing import TYPE_CHECKING

import zigpy.types as zt

from harness.errors import InputError
from harness.zigbee.installcode import CRC_MODES, CrcMode, parse_install_code

if TYPE_CHECKING:  # the emulation (bellows tables, radio) is imported only when the command runs
    from harness.emulation.ncp.nvstate import NvState
    from harness.emulation.network import DeviceSpec

# EZSP versions bellows 1.2.1 has tables for (harness.emulation.ncp.codec.SUPPORTED_VERSIONS).
SUPPORTED_VERSIONS = (4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19)

DEVICE_KINDS = ("esme", "gsme", "ihd")
DEFAULT_COORDINATOR_EUI64 = "00:0D:6F:FF:FE:00:00:01"
_EUI64_THEN_REST = re.compile(r"^((?:[0-9A-Fa-f]{2}[-:]?){7}[0-9A-Fa-f]{2})(?::(.*))?$")
_LISTEN = re.compile(r"^tcp://([^:/]+):(\d{1,5})/?$")


def parse_eui64(text: str, *, where: str) -> zt.EUI64:
    digits = re.sub(r"[-:]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{16}", digits):
        raise InputError(f"EUI-64 {text!r} is not 8 hex bytes (e.g. 00-0D-6F-00-0A-BC-DE-F0)", where=where)
    return zt.EUI64.convert(":".join(digits[i : i + 2] for i in range(0, 16, 2)))


def parse_device_spec(spec: str, *, crc_mode: CrcMode = "append") -> DeviceSpec:
    """KIND:EUI64:INSTALL_CODE, e.g. esme:00-0D-6F-00-0A-BC-DE-F0:83FED3407A939723A5C639B26916D505C3B5.

    The EUI-64 may use '-', ':' or no separators; each part is checked here so an error names it.
    """
    from harness.emulation.network import DeviceSpec
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep:
        raise InputError("expected KIND:EUI64:INSTALL_CODE", where=f"--device {kind or spec!r}")
    if kind not in DEVICE_KINDS:
        raise InputError(f"kind {kind!r} is not one of {', '.join(DEVICE_KINDS)}", where=f"--device {spec.split(':')[0]}")
    match = _EUI64_THEN_REST.match(rest.strip())
    if match is None:
        eui_text = rest.split(":")[0]
        raise InputError(
            f"EUI-64 {eui_text!r} is not 8 hex bytes (e.g. 00-0D-6F-00-0A-BC-DE-F0)", where=f"--device {kind}: EUI-64"
        )
    eui64 = parse_eui64(match.group(1), where=f"--device {kind}: EUI-64")
    code_text = match.group(2)
    if not code_text:
        raise InputError("install code missing (KIND:EUI64:INSTALL_CODE)", where=f"--device {kind} {eui64}")
    parse_install_code(code_text, crc_mode=crc_mode, where=f"--device {kind} {eui64}: install code")
    return DeviceSpec(kind, eui64, code_text.strip(), crc_mode)  # type: ignore[arg-type]


def parse_listen(url: str) -> tuple[str, int]:
    match = _LISTEN.match(url.strip())
    if match is None:
        raise InputError(f"{url!r} is not tcp://HOST:PORT (e.g. tcp://127.0.0.1:0 for a free port)", where="--listen")
    port = int(match.group(2))
    if port > 65535:
        raise InputError(f"port {port} is not 0..65535", where="--listen")
    return match.group(1), port


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "emulate",
        help="run emulated equipment (an EZSP coordinator NCP) for bellows/zigpy to talk to",
        description="Run emulated equipment until interrupted.",
    )
    what = parser.add_subparsers(dest="what", metavar="WHAT")
    ncp = what.add_parser(
        "ncp",
        help="an emulated Silicon Labs EZSP coordinator on tcp:// or a pty",
        description=(
            "Serve an emulated EmberZNet NCP (ASH + EZSP) that unmodified bellows drives like a Silicon Labs "
            "stick. Prints 'listening on URL' and serves until interrupted (Ctrl-C / SIGTERM)."
        ),
    )
    where = ncp.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="tcp://HOST:PORT", help="serve on TCP (port 0 picks a free one)")
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal and print its path")
    ncp.add_argument("--ezsp", type=int, default=13, metavar="N",
                     help=f"EZSP protocol version to speak (bellows supports {', '.join(map(str, SUPPORTED_VERSIONS))})")
    ncp.add_argument("--strict", action="store_true",
                     help="answer commands without an explicit handler with invalidCommand and report them on exit")
    ncp.add_argument("--eui64", default=DEFAULT_COORDINATOR_EUI64, help="the coordinator's EUI-64")
    ncp.add_argument("--device", action="append", default=[], metavar="KIND:EUI64:INSTALL_CODE",
                     help="an emulated device on the simulated radio (kind esme, gsme or ihd); repeatable")
    ncp.add_argument("--crc-mode", choices=CRC_MODES, default="append",
                     help="for 16-byte GB install codes: append the CRC before hashing (default) or not")
    ncp.add_argument("--cbke", action="store_true",
                     help="CBKE suite 2: generate a test CA now and give the NCP and every --device a certificate "
                          "and key from it (as an SE stick and SE meters carry); prints the CA's issuer id")
    ncp.add_argument("--pcap", type=Path, metavar="FILE", help="capture the simulated radio to a pcap (+ key table)")
    ncp.add_argument("--nv", type=Path, metavar="FILE",
                     help="NV state JSON: loaded if it exists, saved on exit (keeps the network between runs)")
    ncp.add_argument("--seed-backup", type=Path, metavar="FILE",
                     help="start on the network of a zigpy/open-coordinator backup JSON")
    ncp.add_argument("--allow-remote", action="store_true",
                     help="allow --listen on an address other than loopback (anyone who reaches it drives the "
                          "coordinator and can read its keys)")
    ncp.add_argument("--ash-ack-delay", type=_seconds, metavar="SECONDS",
                     help="UG101 T_TX_ACK_DELAY: how long an acknowledgement waits to ride in the response's DATA "
                          "frame before an ACK frame is sent (default 0.02, UG101's value; 0 sends an ACK frame for "
                          "every DATA frame at once)")
    ncp.add_argument("--log-level", choices=("debug", "info", "warning"), default="info",
                     help="session events (connects, resets, forms, join decisions) on stderr; default info")
    ncp.add_argument("--control", metavar="tcp://127.0.0.1:PORT",
                     help="serve a control port where an automatic operator presses the emulated devices' join "
                          "buttons and switches their power (harness/emulation/control_port.py)")
    ncp.set_defaults(func=run)
    parser.set_defaults(func=lambda args: _usage(parser))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    # bellows retransmits a frame unacknowledged for T_RX_ACK_MIN (0.4 s) at the least: stay well under it.
    if not 0 <= value <= 0.2:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0..0.2 s (UG101's T_TX_ACK_DELAY is 0.02; a host "
                                         f"retransmits after 0.4 s without an acknowledgement)")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run(args: argparse.Namespace) -> int:
    if args.ezsp < SUPPORTED_VERSIONS[0] or args.ezsp > 255:
        raise InputError(f"EZSP version {args.ezsp} is not one bellows supports", where="--ezsp")
    listen = parse_listen(args.listen) if args.listen else None
    if listen is not None and not args.allow_remote and not _is_loopback(listen[0]):
        raise InputError(
            f"{listen[0]} is not a loopback address: the emulated coordinator has no authentication, so serving "
            "it beyond this machine needs --allow-remote", where="--listen",
        )  # fmt: skip
    _configure_logging(args.log_level)
    devices = [parse_device_spec(spec, crc_mode=args.crc_mode) for spec in args.device]
    eui64 = parse_eui64(args.eui64, where="--eui64")
    nv = _load_nv(args)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args, listen, devices, eui64, nv))
    return 0


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def _configure_logging(level: str) -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("harness.emulation")
    logger.addHandler(handler)
    logger.setLevel(level.upper())


def _load_nv(args: argparse.Namespace) -> NvState:
    from harness.emulation.ncp.nvfile import load_nv, load_seed_backup
    from harness.emulation.ncp.nvstate import NvState

    if args.seed_backup is not None:
        return load_seed_backup(args.seed_backup, where=f"--seed-backup {args.seed_backup}")
    if args.nv is not None and args.nv.exists():
        return load_nv(args.nv, where=f"--nv {args.nv}")
    return NvState()


async def _serve(
    args: argparse.Namespace,
    listen: tuple[str, int] | None,
    devices: list[DeviceSpec],
    eui64: zt.EUI64,
    nv: NvState,
) -> int:
    from harness.emulation.ncp.ncp import EmulatedNcp
    from harness.emulation.ncp.transport import PtyTransport, TcpTransport
    from harness.emulation.network import EmulatedHan

    ca = None
    if args.cbke:
        from harness.zigbee.cbke.certificate import CertificateAuthority

        ca = CertificateAuthority.generate()
        devices = [replace(d, options={**d.options, "cbke": ca.issue(bytes(zt.EUI64(d.eui64))[::-1], valid_from=0)})
                   for d in devices]
    # The simulated HAN (medium, coordinator stack, devices: harness/emulation/network.py) only when asked for.
    try:
        han = EmulatedHan(devices, pcap_path=args.pcap) if (devices or args.pcap) else None
    except OSError as exc:  # the capture file is opened here
        raise InputError(f"cannot write the radio capture: {exc.strerror or exc}", where=f"--pcap {args.pcap}") from exc
    ash = {} if args.ash_ack_delay is None else {"ash_ack_delay": args.ash_ack_delay}
    if han is not None:
        ncp = han.make_ncp(args.ezsp, eui64=eui64, strict=args.strict, nv=nv, **ash)
    else:
        ncp = EmulatedNcp(args.ezsp, eui64=eui64, strict=args.strict, nv=nv, **ash)
    if ca is not None:  # the stick's own suite-2 data, in its manufacturing tokens (certificate subject: its EUI-64)
        ncp.install_cbke_data(ca.issue(bytes(eui64)[::-1], valid_from=0))
    transport: PtyTransport | TcpTransport
    transport = TcpTransport(ncp, host=listen[0], port=listen[1]) if listen else PtyTransport(ncp)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await transport.start()
    except OSError as exc:  # address not local, port in use, no ptys left
        if han is not None:
            await han.close()
        where = f"--listen {args.listen}" if listen else "--pty"
        raise InputError(f"cannot serve there: {exc.strerror or exc}", where=where) from exc
    control = None
    if args.control is not None:
        from harness.emulation.control_port import ControlPort

        host, port = parse_listen(args.control)
        control = ControlPort(han.devices if han is not None else {}, host=host, port=port)
        try:
            await control.start()
        except OSError as exc:
            await transport.close()
            raise InputError(f"cannot serve there: {exc.strerror or exc}", where=f"--control {args.control}") from exc
    try:
        if han is not None:
            han.start()
        print(f"emulated EZSP v{args.ezsp} NCP {eui64} listening on {transport.url}", flush=True)
        for device in devices:
            print(f"  device {device.kind} {device.eui64} on the simulated radio (install code not shown)", flush=True)
        if ca is not None:
            print(f"  CBKE suite 2: test CA issuer {ca.issuer.hex().upper()} (the NCP and every device)", flush=True)
        if args.pcap is not None:
            print(f"  radio capture: {args.pcap}", flush=True)
        if control is not None:
            print(f"  control port (join buttons, power): {control.url}", flush=True)
        await stop.wait()
    finally:
        if control is not None:
            await control.close()
        await transport.close()
        if han is not None:
            await han.close()
        if args.nv is not None:
            from harness.emulation.ncp.nvfile import save_nv

            try:
                save_nv(ncp.nv, args.nv)  # owner-only: it holds the network key
            except OSError as exc:
                raise InputError(f"cannot save the NV state: {exc.strerror or exc}", where=f"--nv {args.nv}") from exc
    print(f"stopped after {ncp.commands_total} EZSP commands", flush=True)
    if args.strict and ncp.unhandled:
        print(f"strict mode: commands without handlers: {', '.join(sorted(set(ncp.unhandled)))}", file=sys.stderr)
        return 1
    return 0
