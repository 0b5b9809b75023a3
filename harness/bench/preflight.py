"""Pre-flight: everything a run needs, checked before any scenario starts, one line per problem.

`smets2-harness run` prints the lines and exits 2 instead of starting fifteen scenarios that would each fail on the
same unset variable; the pytest plugin stops the session the same way. What is checked: every device's install code
(variable set, file readable, length and CRC), power commands on PATH, the coordinator's port (a local device
exists; a network bridge accepts a connection), the sniffer's source, the operator channel, the report folder and
the scenarios. It opens no EZSP session (that is `rig check`'s job) and changes nothing on the bench.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import socket
import tempfile
from pathlib import Path

from harness.errors import HarnessError
from harness.rig import Rig

# File systems whose contents are the kernel's, not files: a report written there is lost or refused.
_PSEUDO_FS = ("/proc", "/sys", "/dev")
_CONNECT_TIMEOUT_S = 3.0


def _program_problem(where: str, command: str | None) -> str | None:
    try:
        program = shlex.split(command or "")[0]
    except (ValueError, IndexError):
        return f"{where}: {command!r} is not a command line"
    if shutil.which(program) is None:
        return f"{where}: program {program!r} not found on PATH"
    return None


def _tcp_problem(where: str, url: str) -> str | None:
    host, _, port = url.split("://", 1)[1].partition("/")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_S):
            return None
    except OSError as exc:
        return f"{where}: cannot connect to {url}: {exc.strerror or exc}"


def rig_problems(rig: Rig) -> list[str]:
    """What in the rig (beyond its file's syntax, checked when it loads) would stop a run."""
    problems: list[str] = []
    for role, spec in rig.devices.items():
        try:
            rig.install_code(role)
        except HarnessError as exc:
            problems.append(str(exc))
        if spec.power.kind == "command":
            for name, command in (("on", spec.power.on), ("off", spec.power.off)):
                problem = _program_problem(f"{rig.path}: devices.{role}.power.{name}", command)
                if problem:
                    problems.append(problem)
    port = rig.coordinator.port
    if port is not None:
        if port.is_local_device:
            if not os.path.exists(port.device_path):
                problems.append(f"{rig.path}: coordinator.port: {port.device_path} does not exist "
                                "(is the stick plugged in? `ls -l /dev/serial/by-id/`)")
        elif port.url.startswith(("tcp://", "socket://", "rfc2217://")):
            problem = _tcp_problem(f"{rig.path}: coordinator.port", port.url)
            if problem:
                problems.append(problem)
    problems += sniffer_problems(rig)
    return problems


def sniffer_problems(rig: Rig) -> list[str]:
    sniffer = rig.sniffer
    problems: list[str] = []
    if sniffer is None:
        return problems
    if sniffer.kind == "pcap" and sniffer.path and not Path(sniffer.path).parent.is_dir():
        problems.append(f"{rig.path}: sniffer.path: folder {Path(sniffer.path).parent} does not exist")
    elif sniffer.kind == "tshark" and shutil.which("tshark") is None:
        problems.append(f"{rig.path}: sniffer: tshark not found on PATH")
    elif sniffer.kind == "command":
        problem = _program_problem(f"{rig.path}: sniffer.command", sniffer.command)
        if problem:
            problems.append(problem)
    return problems


def report_dir_problem(report_dir: str | os.PathLike[str]) -> str | None:
    """None when a run folder can be made and written under `report_dir`."""
    path = Path(report_dir)
    resolved = path.expanduser().resolve()
    if any(resolved == Path(fs) or Path(fs) in resolved.parents for fs in _PSEUDO_FS):
        return f"--report-dir {report_dir}: under {resolved.parts[0]}{resolved.parts[1]}, a kernel file system, " \
               "not a place for reports"
    existing = next((p for p in (resolved, *resolved.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"--report-dir {report_dir}: {existing} is a file, not a folder"
    try:  # write where the run folder would go, and leave nothing behind
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".smets2-preflight-"))
    except OSError as exc:
        reason = "no permission" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
        return f"--report-dir {report_dir}: cannot write there ({reason})"
    return None


def operator_problem(spec: str | None, rig: Rig) -> str | None:
    """Can the chosen operator channel reach someone? (Only asked when the rig has real devices.)"""
    from harness.drivers.operator import TerminalOperator, parse_operator_channel

    where = "--operator" if spec is not None else f"{rig.path}: operator"
    text = spec if spec is not None else rig.operator
    if text is None:
        return None
    try:
        channel = parse_operator_channel(text, where=where)
    except HarnessError as exc:
        return str(exc)
    if all(d.kind == "emulated" for d in rig.devices.values()):
        return None
    if channel.kind == "terminal":
        why = TerminalOperator().available()
        return f"{where} terminal: {why}; use file:PATH or web" if why else None
    if channel.kind == "file":
        folder = Path(channel.path or "").expanduser().resolve().parent
        if not folder.is_dir():
            return f"{where} {text}: folder {folder} does not exist"
        return None
    if channel.kind == "web":
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", channel.port or 0))
            except OSError as exc:
                return f"{where} {text}: cannot listen on 127.0.0.1:{channel.port}: {exc.strerror or exc}"
        return None
    if channel.kind == "emulated" and channel.url:
        return _tcp_problem(f"{where} {text}", channel.url)
    return None


def coordinator_problems(rig: Rig) -> list[str]:
    """A real coordinator is asked what it is (bellows, as `rig check` does) and compared with the rig: the wrong
    stick is one line before the run, not an error in every scenario."""
    import asyncio

    from harness.bench.identity import identity_problems
    from harness.drivers.probe import probe_ncp

    port = rig.coordinator.port
    if port is None:
        return []  # an emulated coordinator is made from the rig
    try:
        info = asyncio.run(probe_ncp(port.url, baudrate=port.baudrate, flow_control=port.flow_control,
                                     timeout=rig.timeout("connect")))
    except HarnessError as exc:
        return [f"{rig.path}: coordinator: {exc}"]
    network = info.network
    return [f"{rig.path}: coordinator: {problem}" for problem in identity_problems(
        rig, eui64=info.eui64, channel=network.channel if network else None,
        pan_id=int(network.pan_id, 16) if network else None)]


def run_problems(rig: Rig, *, report_dir: str, tests: str, operator: str | None) -> list[str]:
    """Every problem `smets2-harness run` would hit, in the order a person fixes them."""
    problems = rig_problems(rig)
    if not any("coordinator.port" in problem for problem in problems):  # the port is there: ask who answers
        problems += coordinator_problems(rig)
    problem = operator_problem(operator, rig)
    if problem:
        problems.append(problem)
    if not Path(tests).exists():
        problems.append(f"--tests {tests}: no such file or folder (run from the project's top folder, or pass --tests)")
    problem = report_dir_problem(report_dir)
    if problem:
        problems.append(problem)
    return problems
