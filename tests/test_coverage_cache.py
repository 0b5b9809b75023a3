"""The coverage fixture is parsed once per text, not once per bench, without ever serving a stale or shared copy."""

from __future__ import annotations

import pytest

import harness.coverage_file as coverage_file
from harness.bench.bench import COVERAGE_DB
from harness.coverage_file import load_coverage_db
from harness.errors import InputError


@pytest.fixture
def parses(monkeypatch):
    calls: list[str] = []
    real = coverage_file.load_yaml

    def counting(text, where):
        calls.append(where)
        return real(text, where)

    monkeypatch.setattr(coverage_file, "load_yaml", counting)
    monkeypatch.setattr(coverage_file, "_PARSED", {})
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
    load_coverage_db(COVERAGE_DB)
    assert len(seen) == 2 and seen[0] == seen[1] > 0


def test_a_bad_file_is_refused_every_time_naming_it(tmp_path, parses):
    path = tmp_path / "cov.yaml"
    path.write_text("postcodes: [\n")
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            load_coverage_db(path)
        assert str(path) in str(caught.value)
