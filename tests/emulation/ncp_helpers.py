"""Shared helpers for the emulated-NCP tests: an unmodified bellows ControllerApplication on a given port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bellows.zigbee.application import ControllerApplication

COORDINATOR_EUI64 = "00:0d:6f:00:00:00:aa:01"


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
