"""The emulated SM WAN Coverage Database (domain.md §7, §9.1 CoverageDB; MP097 seed §2 for the release lag)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from harness.coverage_file import load_coverage_db
from harness.errors import InputError
from harness.smets.clock import VirtualClock
from harness.smets.coverage import (
    CoverageDatabase,
    CspRegion,
    NoPremisesFound,
    PremisesCoverage,
    WanMatrix,
    coverage_db_from_mapping,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "coverage_db.yaml"
REFERENCE = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)  # the fixture's reference_date


def at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).replace(hour=9)


@pytest.fixture(scope="module")
def db() -> CoverageDatabase:
    return load_coverage_db(FIXTURE)


def test_sr12_1_answer_by_postcode_and_address_identifier(db: CoverageDatabase) -> None:
    answer = db.wan_matrix(postcode="GU1 3QF", address_identifier="3", at=REFERENCE)
    assert answer == WanMatrix(CspRegion.SOUTH, True, "30", "High", None, "Telefónica cellular")


def test_address_identifiers_match_case_and_spacing_insensitively(db: CoverageDatabase) -> None:
    answer = db.wan_matrix(postcode="gu14rt", address_identifier="flat 2,  12 millbrook court", at=REFERENCE)
    assert isinstance(answer, WanMatrix) and answer.connectivity_likelihood == "Medium"


def test_csp_per_region_follows_domain_section_7() -> None:
    # domain.md §7: North = Arqiva; Central and South = Telefónica.
    assert CspRegion.NORTH.csp == "Arqiva"
    assert CspRegion.CENTRAL.csp == "Telefónica"
    assert CspRegion.SOUTH.csp == "Telefónica"
    assert [r.value for r in CspRegion] == ["North", "Central", "South"]


def test_lookup_by_uprn(db: CoverageDatabase) -> None:
    found = db.lookup_uprn("906700000008", at=REFERENCE)
    assert isinstance(found, PremisesCoverage)
    assert (str(found.postcode), found.address_identifier) == ("EH1 2NG", "8")
    assert found.matrix.csp_region is CspRegion.NORTH
    assert db.wan_matrix(uprn="906700000008", at=REFERENCE) == found.matrix


def test_unknown_uprn_is_no_premises_found(db: CoverageDatabase) -> None:
    found = db.lookup_uprn(123456789, at=REFERENCE)
    assert isinstance(found, NoPremisesFound)
    assert "123456789" in found.query and "No premises found" in found.reason


@pytest.mark.parametrize("bad", ["ABC", "0", "1234567890123", "-5", "12.5"])
def test_malformed_uprn_is_refused(db: CoverageDatabase, bad: str) -> None:
    with pytest.raises(InputError, match="is not a UPRN"):
        db.lookup_uprn(bad)


def test_outcode_lookup_lists_known_premises_only(db: CoverageDatabase) -> None:
    premises = db.lookup_outcode("gu1", at=REFERENCE)
    assert {str(p.postcode) for p in premises} == {"GU1 3QF", "GU1 4RT"}  # not the new-build GU1 9NB yet
    assert len(premises) == 5
    assert db.knows_outcode("GU1", at=REFERENCE)


def test_unknown_outcode_is_empty(db: CoverageDatabase) -> None:
    assert db.lookup_outcode("GU35", at=REFERENCE) == []
    assert not db.knows_outcode("GU35", at=REFERENCE)


def test_new_build_postcode_answers_no_premises_found_until_release_plus_lag(db: CoverageDatabase) -> None:
    # Fixture: GU1 9NB released 2020-02-10, database lag 42 days -> appears 2020-03-23 (MP097 seed §2).
    assert db.scheduled_load("GU1 9NB") == date(2020, 3, 23)
    for day in ("2020-02-10", "2020-03-02", "2020-03-22"):
        answer = db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 1", at=at(day))
        assert isinstance(answer, NoPremisesFound), day
        assert answer.query == "GU1 9NB / Plot 1"
        assert not db.knows_postcode("GU1 9NB", at=at(day))
    answer = db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 1", at=at("2020-03-23"))
    assert isinstance(answer, WanMatrix) and answer.csp_region is CspRegion.SOUTH
    assert len(db.lookup_outcode("GU1", at=at("2020-03-23"))) == 9
    assert isinstance(db.lookup_uprn("100061900001", at=at("2020-03-23")), PremisesCoverage)
    assert isinstance(db.lookup_uprn("100061900001", at=at("2020-03-22")), NoPremisesFound)


def test_database_lag_is_configurable() -> None:
    no_lag = load_coverage_db(FIXTURE, database_lag=timedelta(0))
    assert isinstance(no_lag.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 1", at=at("2020-02-10")),
                      WanMatrix)
    assert isinstance(no_lag.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 1", at=at("2020-02-09")),
                      NoPremisesFound)
    long_lag = load_coverage_db(FIXTURE, database_lag=timedelta(days=90))
    assert long_lag.scheduled_load("GU1 9NB") == date(2020, 5, 10)


def test_per_postcode_lag_override() -> None:
    data = _minimal(released_on="2020-01-01", lag_days=3)
    data["database_lag_days"] = 60
    db = coverage_db_from_mapping(data)
    assert db.scheduled_load("GU1 3QF") == date(2020, 1, 4)


def test_lookups_default_to_the_injected_clock() -> None:
    clock = VirtualClock(REFERENCE)
    db = load_coverage_db(FIXTURE, clock=clock)
    assert isinstance(db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 2"), NoPremisesFound)
    clock.advance(days=21)  # 2020-03-23
    assert isinstance(db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 2"), WanMatrix)


def test_new_address_in_a_known_postcode(db: CoverageDatabase) -> None:
    # LS1 4AP is in the database; its "Unit 7" was released 2020-02-20 and loads 42 days later.
    assert db.knows_postcode("LS1 4AP", at=REFERENCE)
    answer = db.wan_matrix(postcode="LS1 4AP", address_identifier="Unit 7", at=REFERENCE)
    assert isinstance(answer, NoPremisesFound)
    assert "Unit 7" in answer.reason and "LS1 4AP" in answer.reason
    assert isinstance(db.wan_matrix(postcode="LS1 4AP", address_identifier="Unit 7", at=at("2020-04-02")), WanMatrix)


def test_planned_coverage_reports_the_date_it_becomes_available(db: CoverageDatabase) -> None:
    before = db.wan_matrix(postcode="IV1 1QX", address_identifier="14", at=REFERENCE)
    assert isinstance(before, WanMatrix)
    assert before.coverage_availability is False and before.wan_available_from == date(2020, 6, 1)
    assert before.available_on(date(2020, 6, 1)) and not before.available_on(date(2020, 5, 31))
    after = db.wan_matrix(postcode="IV1 1QX", address_identifier="14", at=at("2020-06-01"))
    assert isinstance(after, WanMatrix) and after.coverage_availability is True


def test_postcode_without_address_identifier(db: CoverageDatabase) -> None:
    same = db.wan_matrix(postcode="GU1 4RT", at=REFERENCE)  # both flats share one answer
    assert isinstance(same, WanMatrix) and same.ch_wan_variant == "Telefónica cellular with mesh"
    with pytest.raises(InputError, match="give an address identifier"):
        db.wan_matrix(postcode="GU1 3QF", at=REFERENCE)  # no. 5 differs


def test_northern_ireland_postcode_is_refused_as_outside_gb(db: CoverageDatabase) -> None:
    with pytest.raises(InputError, match="Northern Ireland"):
        db.wan_matrix(postcode="BT1 1AA", at=REFERENCE)
    with pytest.raises(InputError, match="Isle of Man"):
        db.lookup_outcode("IM1")


def test_malformed_postcode_in_a_request(db: CoverageDatabase) -> None:
    with pytest.raises(InputError, match="PostCode: postcode 'GU1 1CA'"):
        db.wan_matrix(postcode="GU1 1CA")
    with pytest.raises(InputError, match="needs a postcode or a UPRN"):
        db.wan_matrix()
    with pytest.raises(InputError, match="not both"):
        db.wan_matrix(postcode="GU1 3QF", uprn="1")


# ---- fixture errors name the file, the entry and the value ---------------------------------------------------------

def _minimal(**block: object) -> dict:
    entry = {"postcode": "GU1 3QF", "csp_region": "South", "coverage_available": True, "wan_technology": "30",
             "connectivity_likelihood": "High", "premises": [{"address_identifier": "1", "uprn": 1}]}
    entry.update(block)
    return {"postcodes": [entry]}


def _write(tmp_path: Path, data: object, name: str = "cov.yaml") -> Path:
    import yaml

    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "where", "value"),
    [
        ({"csp_region": "Midlands"}, "postcodes[0].premises[0].csp_region", "'Midlands'"),
        ({"postcode": "GU1 1CA"}, "postcodes[0].postcode", "'GU1 1CA'"),
        ({"postcode": "BT1 1AA"}, "postcodes[0].postcode", "BT1 1AA"),
        ({"wan_available_from": "soon"}, "postcodes[0].premises[0].wan_available_from", "'soon'"),
        ({"coverage_available": "yes"}, "postcodes[0].premises[0].coverage_available", "'yes'"),
        ({"wan_available_from": "2020-06-01"}, "postcodes[0].premises[0].wan_available_from", "not both"),
        ({"premises": [{"address_identifier": "1", "uprn": "12ab"}]}, "postcodes[0].premises[0].uprn", "'12ab'"),
        ({"premises": [{"address_identifier": "1", "uprn": 7}, {"address_identifier": "2", "uprn": 7}]},
         "postcodes[0].premises[1]", "UPRN 7"),
        ({"premises": [{"address_identifier": "1"}, {"address_identifier": " 1 "}]}, "postcodes[0].premises[1]",
         "listed twice"),
        ({"colour": "blue"}, "postcodes[0].colour", "unknown field"),
        ({"lag_days": -1}, "postcodes[0].premises[0].lag_days", "-1"),
        ({"site": {"latitude": 95, "longitude": 0}}, "postcodes[0].site.latitude", "95"),
    ],
)
def test_bad_fixture_names_file_entry_field_and_value(tmp_path: Path, change: dict, where: str, value: str) -> None:
    path = _write(tmp_path, _minimal(**change))
    with pytest.raises(InputError) as err:
        load_coverage_db(path)
    message = str(err.value)
    assert str(path) in message and where in message and value in message


def test_missing_coverage_statement_is_refused(tmp_path: Path) -> None:
    data = _minimal()
    del data["postcodes"][0]["coverage_available"]
    with pytest.raises(InputError, match=r"postcodes\[0\]\.premises\[0\]: needs coverage_available"):
        load_coverage_db(_write(tmp_path, data))


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_coverage_db(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("postcodes: [\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"{bad}: not valid YAML"):
        load_coverage_db(bad)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_coverage_db(bad_json)
    top = _write(tmp_path, ["not", "a", "mapping"], "list.yaml")
    with pytest.raises(InputError, match="top level: expected a mapping"):
        load_coverage_db(top)


def test_json_fixture_works(tmp_path: Path) -> None:
    db = load_coverage_db(_write(tmp_path, _minimal(), "cov.json"))
    answer = db.wan_matrix(postcode="GU1 3QF", address_identifier="1")
    assert isinstance(answer, WanMatrix)
    # The JSON's own values come back, not defaults.
    assert answer.csp_region is CspRegion.SOUTH and answer.coverage_availability is True


def test_shipped_fixture_has_every_region_and_a_pending_new_build(db: CoverageDatabase) -> None:
    regions = {p.matrix.csp_region for oc in ("GU1", "BS1", "B1", "NG1", "EH1", "LS1")
               for p in db.lookup_outcode(oc, at=REFERENCE)}
    assert regions == set(CspRegion)
    assert db.reference_date == date(2020, 3, 2)
    assert not db.knows_postcode("GU1 9NB", at=REFERENCE) and db.scheduled_load("GU1 9NB") is not None


def test_site_outside_great_britain_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _minimal(site={"name": "Belfast plot", "latitude": 54.597, "longitude": -5.93}))
    with pytest.raises(InputError, match=r"coverage area 'Belfast plot'.*Northern Ireland"):
        load_coverage_db(path)


def test_unknown_site_field_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _minimal(site={"latitude": 51.2, "longitude": -0.5, "radius": 3}))
    with pytest.raises(InputError, match=r"postcodes\[0\]\.site\.radius: unknown field"):
        load_coverage_db(path)
