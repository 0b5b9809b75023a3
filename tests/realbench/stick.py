"""A persistent emulated stick in its own process, as a lab would run one: `smets2-harness emulate ncp --listen
tcp:// --nv FILE --control tcp://`, with the emulated meters on its radio standing in for real ones, and a rig file
that sees only a `kind: serial` coordinator and `kind: real` devices."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("smets2-harness"))
HUB_EUI64 = "00-DB-12-34-56-78-90-A2"
DEVICES = {  # role: (EUI-64, install code) -- the same identities as rigs/emulated.yaml
    "esme": ("00-DB-12-34-56-78-90-A0", "83FED3407A939723A5C639B26916D505"),
    "gsme": ("00-DB-12-34-56-78-90-B1", "30313233343536373839414243444546"),
    "ihd": ("00-DB-12-34-56-78-90-C2", "0F1E2D3C4B5A69788796A5B4C3D2E1F0"),
}


@dataclass
class Stick:
    process: subprocess.Popen[str]
    url: str
    control: str | None
    output: list[str]

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C would: the emulator saves its NV file and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.output.append(out or "")
        return self.process.returncode


def start_stick(nv: Path, *, eui64: str = HUB_EUI64, control: bool = True, devices: dict | None = None,
                pcap: Path | None = None, extra: tuple[str, ...] = ()) -> Stick:
    cmd = [CLI, "emulate", "ncp", "--listen", "tcp://127.0.0.1:0", "--nv", str(nv), "--eui64", eui64, "--strict",
           *extra]
    if control:
        cmd += ["--control", "tcp://127.0.0.1:0"]
    if pcap is not None:  # the emulator's radio capture: what a sniffer stick's tool would be writing
        cmd += ["--pcap", str(pcap)]
    for role, (eui, code) in (DEVICES if devices is None else devices).items():
        cmd += ["--device", f"{role}:{eui}:{code}"]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    assert process.stdout is not None
    lines: list[str] = []
    url = control_url = None
    watchdog = threading.Timer(30, process.kill)  # a stick that never says where it listens is killed
    watchdog.start()
    try:
        while url is None or (control and control_url is None):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := re.search(r"listening on (tcp://\S+)", line):
                url = match.group(1)
            if match := re.search(r"control port .*: (tcp://\S+)", line):
                control_url = match.group(1)
    finally:
        watchdog.cancel()
    if url is None or (control and control_url is None):
        process.kill()
        raise AssertionError(f"the emulated stick did not start: {''.join(lines)}")
    return Stick(process, url, control_url, lines)


def real_style_rig(path: Path, stick: Stick, *, operator: str | None = None, roles: tuple[str, ...] = ("esme", "gsme", "ihd"),
                   hub_eui64: str = HUB_EUI64, extra: str = "") -> Path:
    lines = [
        "name: real-style",
        "description: the emulated NCP over tcp:// stands in for a stick; its emulated meters stand in for real ones",
        "coordinator:",
        "  kind: serial",
        f"  port: {stick.url}",
        "  flow_control: none",
        "hub:",
        "  kind: harness",
        f"  eui64: {hub_eui64}",
        "timeouts:",
        "  join: 30",
        "  operator: 30",
    ]
    if operator:
        lines.append(f"operator: {operator}")
    lines.append("devices:")
    for role in roles:
        eui, code = DEVICES[role]
        lines += [f"  {role}:", "    kind: real", f"    eui64: {eui}", f"    install_code: {code}"]
        if role == "esme":
            lines.append("    operator: PRESS THE ESME JOIN BUTTON NOW")
    path.write_text("\n".join(lines) + "\n" + extra)
    return path
