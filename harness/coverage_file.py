"""Coverage database fixture files: read a YAML or JSON file and build the emulated SM WAN Coverage Database.

The file reading lives here, beside the rig-file loader, because `harness/smets/` does no I/O; the database and
its validation (`coverage_db_from_mapping`) stay in `harness.smets.coverage`. Reading goes through
`harness.inputs` (regular files only, a size limit, UTF-8 with the bad byte's offset, a YAML walker with node and
depth budgets, text-only keys); numbers no field needs are refused here, before they overflow a date further in.
"""

from __future__ import annotations

import pickle
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.inputs import COVERAGE_MAX_BYTES, check_numbers, excerpt, load_json, load_yaml, read_text
from harness.smets.clock import Clock
from harness.smets.coverage import CoverageDatabase, coverage_db_from_mapping

MAX_LAG_DAYS = 3650  # the DCC's database lag is days to weeks (docs/coverage-mp097.md); ten years bounds dates


def _check_lags(data: Any, where: str, path: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{key}" if path else key
            if str(key).endswith("lag_days") and isinstance(value, int | float) and not isinstance(value, bool):
                if value > MAX_LAG_DAYS:  # negatives and fractions: the domain validator says so
                    raise InputError(f"{excerpt(value)} is out of range (expected whole days from 0 to {MAX_LAG_DAYS})",
                                     where=f"{where}: {sub}")
            _check_lags(value, where, sub)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_lags(value, where, f"{path}[{i}]")


# Every bench loads the same fixture and the pure-Python YAML loader costs ~55 ms a parse: the text is still read
# (and checked) every time, but a text seen before is not parsed again. Keyed by the text itself, so an edit is
# never missed however quickly it follows (mtime granularity is no guide).
_PARSED: dict[tuple[str, str], bytes] = {}
_PARSED_LIMIT = 8


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Remember `value` under `key`, forgetting the oldest entry past _PARSED_LIMIT."""
    if len(cache) >= _PARSED_LIMIT:
        cache.pop(next(iter(cache)))
    cache[key] = value


def _fixture_text(p: Path) -> str:
    return read_text(p, what="coverage database fixture", max_bytes=COVERAGE_MAX_BYTES,
                     expected="JSON" if p.suffix.lower() == ".json" else "YAML")


def _checked_data(p: Path, text: str) -> Any:
    """The fixture's data parsed from `text` (as read by _fixture_text) and checked, a copy of its own."""
    is_json = p.suffix.lower() == ".json"
    key = (str(p), text)
    if key in _PARSED:
        return pickle.loads(_PARSED[key])
    data = load_json(text, str(p)) if is_json else load_yaml(text, str(p))
    check_numbers(data, str(p))
    _check_lags(data, str(p))
    # Kept pickled, and every caller gets its own copy: no database may change another's data. Unpickling the
    # plain data a fixture holds is several times cheaper than copy.deepcopy of it, and the fleet does it per bench.
    _keep(_PARSED, key, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    return data


# The databases built from those texts, on no clock: validating and indexing the fixture cost ~0.45 ms a bench
# (~0.7 % of a fleet premises' CPU), a copy on the bench's clock 0.01 ms. Same key as _PARSED, with the lag asked for.
_BUILT: dict[tuple[str, str, timedelta | None], CoverageDatabase] = {}


def load_coverage_db(path: str | Path, *, clock: Clock | None = None,
                     database_lag: timedelta | None = None) -> CoverageDatabase:
    """Read a YAML (.yaml/.yml) or JSON fixture and build the database from it."""
    p = Path(path)
    key = (str(p), _fixture_text(p), database_lag)
    built = _BUILT.get(key)
    if built is None:
        data = _checked_data(p, key[1])  # this caller's own copy
        try:
            built = coverage_db_from_mapping(data, source=str(p), database_lag=database_lag)
        except (OverflowError, TypeError, RecursionError) as exc:  # a shape the validator did not foresee
            raise InputError(f"not a coverage database fixture: {type(exc).__name__}: {str(exc)[:60]}",
                             where=str(p)) from None
        _keep(_BUILT, key, built)
    return built.with_clock(clock)
