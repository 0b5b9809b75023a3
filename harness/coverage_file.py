"""Coverage database fixture files: read a YAML or JSON file and build the emulated SM WAN Coverage Database.

The file reading lives here, beside the rig-file loader, because `harness/smets/` does no I/O; the database and
its validation (`coverage_db_from_mapping`) stay in `harness.smets.coverage`.
"""

from __future__ import annotations

import copy
import functools
import json
from datetime import timedelta
from pathlib import Path

import yaml

from harness.errors import InputError
from harness.smets.clock import Clock
from harness.smets.coverage import CoverageDatabase, coverage_db_from_mapping


def load_coverage_db(path: str | Path, *, clock: Clock | None = None,
                     database_lag: timedelta | None = None) -> CoverageDatabase:
    """Read a YAML (.yaml/.yml) or JSON fixture and build the database from it."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError as exc:
        raise InputError(f"cannot read coverage database fixture: {exc.strerror or exc}", where=str(p)) from exc
    # Every bench loads the same fixture; parsing it (pure-Python YAML) cost ~65 ms a bench. Parsed once per
    # version of the file, copied so no database can change another's data.
    data = copy.deepcopy(_parse(str(p), stat.st_mtime_ns, stat.st_size))
    return coverage_db_from_mapping(data, source=str(p), clock=clock, database_lag=database_lag)


@functools.lru_cache(maxsize=8)
def _parse(path: str, _mtime_ns: int, _size: int) -> object:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read coverage database fixture: {exc.strerror or exc}", where=str(p)) from exc
    is_json = p.suffix.lower() == ".json"
    try:
        return json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:  # json.JSONDecodeError is a ValueError
        raise InputError(f"not valid {'JSON' if is_json else 'YAML'}: {exc}", where=str(p)) from exc
