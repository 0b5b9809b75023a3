"""zigbee-herdsman as the second, independent EZSP host (the `ember` adapter under Zigbee2MQTT).

`make herdsman` (a dependency of `make test`) installs the version pinned by tests/interop/package-lock.json into
.cache/herdsman/. Without it (or without node) the interop tests skip and say why; with SMETS2_REQUIRE_HERDSMAN=1
(.ci/run) they fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HERDSMAN_DIR = REPO / ".cache" / "herdsman"
DRIVER = Path(__file__).with_name("herdsman_host.js")
REQUIRE_ENV = "SMETS2_REQUIRE_HERDSMAN"
PINNED_VERSION = json.loads(Path(__file__).with_name("package.json").read_text())["dependencies"]["zigbee-herdsman"]


def require_herdsman() -> str:
    """The node executable, with the pinned herdsman installed (skip, or fail under SMETS2_REQUIRE_HERDSMAN=1)."""
    node = shutil.which("node")
    installed = HERDSMAN_DIR / "node_modules" / "zigbee-herdsman" / "package.json"
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not installed.exists():
        problem = f"zigbee-herdsman is not installed in {HERDSMAN_DIR} (run `make herdsman`)"
    elif json.loads(installed.read_text())["version"] != PINNED_VERSION:
        problem = f"{installed} is not the pinned zigbee-herdsman {PINNED_VERSION} (run `make herdsman`)"
    if problem is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    assert node is not None
    return node


async def run_herdsman_host(
    node: str, port: str, work_dir: Path, *, eui64: str, install_code: str, expect: str, wait_s: float
) -> list[dict[str, Any]]:
    """Run tests/interop/herdsman_host.js against `port`; its JSON events (its log is kept in work_dir)."""
    log = work_dir / "herdsman.log"
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            node, str(DRIVER), str(HERDSMAN_DIR), port, str(work_dir), eui64, install_code, expect, str(wait_s),
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), wait_s + 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    errors = [e for e in events if e["event"] == "error"]
    assert proc.returncode == 0 and not errors, f"herdsman failed ({proc.returncode}): {errors}; log {log}"
    return events


def event(events: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((e for e in events if e["event"] == name), None)
