"""The per-test JSON record: verdict, SEC references, named measurements, provenance and the bundle's files."""

from __future__ import annotations

import copy
import functools
import json
import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from harness import __version__
from harness.evidence.deferred_write import DeferredWrite


@dataclass
class Measurement:
    name: str  # e.g. "join_latency", "srv_response_time.8.11", "commissioning_duration"
    value: float
    unit: str  # "s" (wall), "virtual_s", "days", ...
    target: float | None = None  # e.g. a DUIS target response time
    met: bool | None = None
    key: bool = False  # the one shown in the run's summary table


@dataclass
class TestRecord:
    test_id: str
    sec_refs: list[str] = field(default_factory=list)
    outcome: str = "unknown"  # incomplete (still running, or the process died) | passed | failed | error | skipped
    message: str = ""
    measurements: list[Measurement] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    topology: str = ""  # "harness-as-hub" or "hub-under-test": which bench the result came from (rig.topology)
    secret_files: list[str] = field(default_factory=list)  # hold keys on purpose (Wireshark): owner-only
    reveal_secrets: bool = field(default=False, repr=False)
    _path: Path | None = field(default=None, repr=False, compare=False)
    _saves: DeferredWrite | None = field(default=None, repr=False, compare=False)
    _before_write: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def autosave(self, path: Path, *, interval: float | None = None,
                 before_write: Callable[[], None] | None = None) -> None:
        """Write the record now and after every change (measure, attach, close). `interval`: inside a running
        event loop, changes are gathered and written together (harness/evidence/deferred_write.py): 0 at the end
        of the loop iteration, a number of seconds at most that long after the first unwritten change (the fleet:
        a premises makes ~15 changes). `flush` writes at once. `before_write` runs before each write."""
        self._path = path
        self._saves = DeferredWrite(self.flush, interval)
        self._before_write = before_write
        self.write(path)

    def save(self) -> None:
        if self._saves is not None:
            self._saves.changed()

    @property
    def coalesced(self) -> bool:
        return self._saves is not None and self._saves.interval is not None

    @property
    def save_pending(self) -> bool:
        return self._saves is not None and self._saves.pending

    def cancel_saves(self) -> None:
        """Forget the changes not yet written (the bundle is being deleted); later changes are saved as before."""
        if self._saves is not None:
            self._saves.written()

    def flush(self) -> None:
        """Write the record now (pending coalesced changes included)."""
        if self._saves is not None:
            self._saves.written()
        if self._path is not None:
            self.write(self._path)

    def measure(
        self, name: str, value: float, unit: str, *, target: float | None = None, key: bool = False
    ) -> Measurement:
        met = None if target is None else value <= target
        m = Measurement(name, value, unit, target, met, key)
        self.measurements.append(m)
        self.save()
        return m

    def measurement(self, name: str) -> Measurement | None:
        return next((m for m in self.measurements if m.name == name), None)

    def key_measurement(self) -> Measurement | None:
        return next((m for m in self.measurements if m.key), self.measurements[0] if self.measurements else None)

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data: its public fields (not the save policy, not the reveal switch), copied."""
        return self._json_fields(copy.deepcopy)

    def _json_fields(self, take: Callable[[Any], Any]) -> dict[str, Any]:
        return {f.name: [asdict(m) for m in self.measurements] if f.name == "measurements"
                else take(getattr(self, f.name))
                for f in fields(self) if not f.name.startswith("_") and f.name != "reveal_secrets"}

    def write(self, path: Path) -> None:
        """Atomically (a crash mid-write leaves the previous version), through the run's redaction."""
        from harness.evidence.redaction import redact_text

        if self._before_write is not None:
            self._before_write()
        # serialised at once: the fields need no deep copy first (to_json's was an eighth of each rewrite)
        data = self._json_fields(lambda value: value)
        text = redact_text(json.dumps(data, indent=2, default=str), reveal=self.reveal_secrets) + "\n"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


@functools.lru_cache(maxsize=8)  # one `git rev-parse` per process, not per bench (the fleet starts thousands)
def git_sha(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def base_provenance() -> dict[str, Any]:
    """What every record says it ran on; a fresh dict each time (callers add to it)."""
    return dict(_process_provenance())


@functools.lru_cache(maxsize=1)  # looked up once per process: reading package metadata cost ~1 ms a bench
def _process_provenance() -> tuple[tuple[str, Any], ...]:
    from importlib.metadata import PackageNotFoundError, version

    def dist_version(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return (
        ("harness_version", __version__),
        ("git_sha", git_sha(Path(__file__).resolve().parent)),
        ("python", platform.python_version()),
        ("bellows", dist_version("bellows")),
        ("zigpy", dist_version("zigpy")),
        ("host", platform.node()),
    )
