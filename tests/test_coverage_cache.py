"""The coverage fixture is parsed and built once per text, not once per bench, without ever serving a stale or shared
copy: each bench gets its own database on its own clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import harness.coverage_file as coverage_file
from harness.bench.bench import COVERAGE_DB
from harness.coverage_file import load_coverage_db
from harness.errors import InputError
from harness.smets.clock import VirtualClock


@pytest.fixture
def parses(monkeypatch):
    calls: list[str] = []
    real = coverage_file.load_yaml

    def counting(text, where):
        calls.append(where)
        return real(text, where)

    monkeypatch.setattr(coverage_file, "load_yaml", counting)
    monkeypatch.setattr(coverage_file, "_PARSED", {})
    monkeypatch.setattr(coverage_file, "_BUILT", {})
    return calls


@pytest.fixture
def builds(monkeypatch):
    calls: list[timedelta | None] = []
    real = coverage_file.coverage_db_from_mapping

    def counting(data, **kwargs):
        calls.append(kwargs.get("database_lag"))
        return real(data, **kwargs)

    monkeypatch.setattr(coverage_file, "coverage_db_from_mapping", counting)
    return calls


def test_the_same_text_is_parsed_once(parses):
    first = load_coverage_db(COVERAGE_DB)
    second = load_coverage_db(COVERAGE_DB)
    assert parses == [str(COVERAGE_DB)]
    assert first is not second and first.source == second.source


def test_an_edit_is_read_at_once_even_at_the_same_size(tmp_path, parses):
    path = tmp_path / "cov.yaml"
    text = COVERAGE_DB.read_text()
    path.write_text(text)
    assert load_coverage_db(path).knows_postcode("GU1 3QF")
    edited = text.replace("postcode: GU1 3QF", "postcode: GU1 3QG", 1)  # same length, same second: mtime could not tell
    assert edited != text and len(edited) == len(text)
    path.write_text(edited)
    db = load_coverage_db(path)
    assert parses == [str(path), str(path)]
    assert db.knows_postcode("GU1 3QG") and not db.knows_postcode("GU1 3QF")


def test_a_database_cannot_change_the_data_the_next_one_is_built_from(monkeypatch, parses):
    real = coverage_file.coverage_db_from_mapping
    seen: list[int] = []

    def spoiling(data, **kwargs):
        seen.append(len(data))
        db = real(data, **kwargs)
        data.clear()  # a builder that consumed its input must not empty the cache
        return db

    monkeypatch.setattr(coverage_file, "coverage_db_from_mapping", spoiling)
    load_coverage_db(COVERAGE_DB)
    load_coverage_db(COVERAGE_DB, database_lag=timedelta(days=7))  # another lag: built again, from the parsed copy
    assert len(seen) == 2 and seen[0] == seen[1] > 0


def test_each_bench_gets_its_own_database_on_its_own_clock_built_once(parses, builds):
    early = VirtualClock(datetime(2020, 3, 2, 12, tzinfo=timezone.utc))
    late = VirtualClock(datetime(2020, 3, 30, 12, tzinfo=timezone.utc))
    a = load_coverage_db(COVERAGE_DB, clock=early)
    b = load_coverage_db(COVERAGE_DB, clock=late)
    assert builds == [None] and parses == [str(COVERAGE_DB)]
    assert a.clock is early and b.clock is late
    # GU1 9NB is released on 2020-02-10 and appears 42 days later: each database answers on its own clock
    assert not a.knows_postcode("GU1 9NB") and b.knows_postcode("GU1 9NB")
    assert a._premises is not b._premises and a._keys is not b._keys and a._by_uprn is not b._by_uprn
    a._premises.clear()
    a._by_uprn.clear()  # what one bench does to its database is not seen by the next
    c = load_coverage_db(COVERAGE_DB, clock=late)
    assert c.knows_postcode("GU1 9NB") and c._premises == b._premises and c._by_uprn == b._by_uprn


def test_a_lag_asked_for_is_built_and_answered_with_its_own_database(parses, builds):
    clock = VirtualClock(datetime(2020, 3, 2, 12, tzinfo=timezone.utc))
    default = load_coverage_db(COVERAGE_DB, clock=clock)
    short = load_coverage_db(COVERAGE_DB, clock=clock, database_lag=timedelta(days=7))
    again = load_coverage_db(COVERAGE_DB, clock=clock, database_lag=timedelta(days=7))
    assert builds == [None, timedelta(days=7)] and parses == [str(COVERAGE_DB)]
    assert default.database_lag == timedelta(days=42) and short.database_lag == again.database_lag == timedelta(days=7)
    assert not default.knows_postcode("GU1 9NB") and short.knows_postcode("GU1 9NB")


def test_a_bad_file_is_refused_every_time_naming_it(tmp_path, parses):
    path = tmp_path / "cov.yaml"
    path.write_text("postcodes: [\n")
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            load_coverage_db(path)
        assert str(path) in str(caught.value)
