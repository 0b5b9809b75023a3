"""Shared helpers for the emulated-NCP tests: an unmodified bellows ControllerApplication on a given port."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bellows.zigbee.application import ControllerApplication

COORDINATOR_EUI64 = "00:0d:6f:00:00:00:aa:01"
CLI = str(Path(sys.executable).with_name("smets2-harness"))


async def start_emulator(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """`smets2-harness emulate ncp ARGS` as a separate process; returns it and the URL/path it listens on.

    Its stderr (the INFO session log) goes to a temporary file, never to an undrained pipe that could fill up.
    """
    log = tempfile.TemporaryFile()
    proc = await asyncio.create_subprocess_exec(
        CLI, "emulate", "ncp", *args, stdout=asyncio.subprocess.PIPE, stderr=log
    )
    proc.session_log = log  # type: ignore[attr-defined]
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    match = re.search(r"listening on (\S+)", line)
    assert match, f"no 'listening on' line: {line!r}"
    return proc, match.group(1)


async def stop_emulator(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    """SIGTERM, then its exit code and the rest of its output (stdout, then its stderr session log)."""
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    log = getattr(proc, "session_log", None)  # absent when the caller sent stderr elsewhere
    err = ""
    if log is not None:
        log.seek(0)
        err = log.read().decode(errors="replace")
        log.close()
    return proc.returncode, out.decode() + err


def bellows_config(path: str, *, use_thread: bool = False, **overrides: Any) -> dict[str, Any]:
    """The zigpy/bellows config the harness uses (research/ezsp.md 2.1): fixed channel, no DB, no backups."""
    config: dict[str, Any] = {
        "device": {"path": path},
        "database_path": None,
        "use_thread": use_thread,
        "network": {"channel": 15},
        "backup_enabled": False,
        "topology_scan_enabled": False,
        "ota": {"enabled": False},
    }
    config.update(overrides)
    return config


@contextlib.asynccontextmanager
async def bellows_app(path: str, *, auto_form: bool = True, **config: Any) -> AsyncIterator[ControllerApplication]:
    """Start bellows on `path` and always shut it down (its watchdog and pre_permit tasks must not leak)."""
    app = await ControllerApplication.new(bellows_config(path, **config), auto_form=auto_form)
    try:
        yield app
    finally:
        await app.shutdown()


class EzspHost:
    """Drives an EmulatedNcp at the EZSP layer (no ASH): for tables that pin each answer's bytes.

    Frames the NCP sends are captured instead of being ASH-framed; ASH has its own tests (test_ash*.py).
    """

    def __init__(self, ncp: Any, *, negotiate: bool = True) -> None:
        self.ncp = ncp
        self.sent: list[bytes] = []
        ncp.ash.send = self.sent.append
        self._seq = 0
        if negotiate:  # the NCP accepts nothing before a version command for its own protocol (UG100)
            self.response("version", desiredProtocolVersion=ncp.version)

    def raw(self, frame: bytes) -> list[bytes]:
        self.sent.clear()
        self.ncp._frame_received(frame)
        return list(self.sent)

    def command(self, name: str, **params: Any) -> tuple[bytes, list[bytes]]:
        """Send `name` with bellows' own tx serialisation; return (response parameter bytes, callback frames)."""
        import bellows.types as t

        frame_id, tx_schema, _ = self.ncp.codec.commands[name]
        if isinstance(tx_schema, dict):
            body = t.serialize_dict((), params, tx_schema)
        else:
            body = tx_schema(**params).serialize()
        self._seq = (self._seq + 1) & 0xFF
        header = self.ncp.codec._header(self._seq, 0x00, name, self.ncp.codec.native_header)
        frames = self.raw(header + body)
        assert frames, f"no answer to {name}"
        hdr = len(header)
        return frames[0][hdr:], [f for f in frames[1:]]

    def response(self, name: str, **params: Any) -> dict[str, Any]:
        """The response to `name`, parsed with bellows' own rx schema (trailing bytes are an error)."""
        import bellows.types as t

        body, _ = self.command(name, **params)
        _, _, rx_schema = self.ncp.codec.commands[name]
        if isinstance(rx_schema, dict):
            values, rest = t.deserialize_dict(body, rx_schema)
        else:
            value, rest = rx_schema.deserialize(body)
            values = value.as_dict()
        assert rest == b"", f"{name}: {len(rest)} trailing bytes {rest.hex()}"
        return values
