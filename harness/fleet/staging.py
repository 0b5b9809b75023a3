"""Where a fleet premises' evidence is written while it runs: a staging folder in memory (tmpfs), not the output disk.

Why: a premises' bundle (record, timeline, capture, key table, DUIS alerts) is written as it runs so that a worker
that dies still leaves it, but 99 % of bundles (passing, not sampled) are deleted a second later. On a disk file
system each premises then costs two folders and about ten files created and removed: about 3 ms of kernel time
per premises on ext4 (measured, docs/performance.md), 5 % of the CPU a premises may take at the 33/s target.

On tmpfs the same writes cost little, and a staged folder outlives the worker process that wrote it (it lives
until the machine reboots), so nothing is lost: a kept bundle is moved to `<out>/premises/` when its premises ends,
and when the workers are done the parent moves whatever is left in the staging folder (the bundles of premises a
dead worker never finished) to the same place before removing it. Only a crash of the parent itself leaves a
`smets2-fleet-*` folder behind in the staging location, with those bundles in it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

DEFAULT_LOCATION = Path("/dev/shm")  # tmpfs on Linux
# A worker's premises in flight hold a few MiB of evidence between them; "auto" writes in place where /dev/shm has
# less free (a container's is often 64 MiB in all).
MIN_FREE_BYTES = 64 * 2**20
_PREMISES = re.compile(r"^premises-(\d+)-")
LOGGER = logging.getLogger(__name__)


class StagingError(ValueError):
    """The staging location asked for cannot be used."""


def choose(setting: str) -> Path | None:
    """The folder to stage under, from `--staging`: "auto" (tmpfs where the machine has a usable one, else none),
    "off" (write in place), or a folder (which must exist and be writable)."""
    if setting == "off":
        return None
    if setting == "auto":
        return DEFAULT_LOCATION if _usable(DEFAULT_LOCATION) else None
    location = Path(setting)
    if not location.is_dir() or not os.access(location, os.W_OK | os.X_OK):
        raise StagingError(f"not a writable folder: {setting}")
    return location


def _usable(location: Path) -> bool:
    try:
        stats = os.statvfs(location)
    except OSError:
        return False
    return os.access(location, os.W_OK | os.X_OK) and stats.f_bavail * stats.f_frsize >= MIN_FREE_BYTES


def open_stage(location: Path | None) -> Path | None:
    """A fresh staging folder for one run under `location` (None: no staging)."""
    return None if location is None else Path(tempfile.mkdtemp(prefix="smets2-fleet-", dir=location))


def keep(bundle: Path, premises_root: Path) -> Path:
    """Move a finished premises' bundle from the stage to the run's premises folder, replacing a bundle of the same
    name from an earlier run into the same folder. Across devices the move is a copy: it goes to a hidden name
    first and is renamed into place only when complete, so a copy cut short never poses as the bundle."""
    target = premises_root / bundle.name
    partial = premises_root / f".{bundle.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # what an earlier move cut short left
    shutil.move(str(bundle), str(partial))
    if target.exists():
        shutil.rmtree(target)
    os.rename(partial, target)
    return target


def recover(stage: Path | None, premises_root: Path) -> dict[int, str]:
    """Move every bundle still staged (premises that never finished) to the premises folder, remove the stage,
    and say which premises index each moved bundle belongs to. A bundle that cannot be moved stays staged, and so
    does the stage, with a warning naming it: never deleted."""
    if stage is None or not stage.exists():
        return {}
    moved: dict[int, str] = {}
    left: list[str] = []
    for bundle in sorted(stage.iterdir()):
        if not bundle.is_dir():
            continue
        try:
            keep(bundle, premises_root)
        except (OSError, shutil.Error) as exc:
            left.append(f"{bundle.name} ({type(exc).__name__}: {exc})")
            continue
        match = _PREMISES.match(bundle.name)
        if match:
            moved[int(match.group(1))] = bundle.name
    if left:
        LOGGER.warning("fleet: %d staged bundle(s) could not be moved to %s and stay in %s: %s", len(left),
                       premises_root, stage, "; ".join(left))
    else:
        shutil.rmtree(stage, ignore_errors=True)
    return moved


__all__ = ["StagingError", "choose", "keep", "open_stage", "recover"]
