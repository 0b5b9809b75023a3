"""SEC Appendix H 3.3 Service Management requests by latitude/longitude, before and after MP097 (seed, Annex A)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from harness.coverage_file import load_coverage_db
from harness.errors import DomainError, InputError
from harness.smets.clock import VirtualClock
from harness.smets.coverage import CoverageDatabase, CspRegion
from harness.smets.gb_regions import RegionRule, allocate_region, is_in_great_britain, require_great_britain
from harness.smets.service_management import (
    DccServiceDesk,
    RequestState,
    SecVersion,
    ServiceManagementRefused,
    parse_sec_version,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "coverage_db.yaml"
START = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)  # after MP097 took effect, before the new-build is loaded
STAG_MEADOW = (51.2480, -0.5650)  # the GU1 9NB new-build site in the fixture (covered)
GOGAR_RISE = (55.9430, -3.3150)  # the EH12 9NB new-build site (SM WAN from 2020-09-01)
KINGSMOOR = (51.7520, 0.0900)  # a site with no postcode yet


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def db(clock: VirtualClock) -> CoverageDatabase:
    return load_coverage_db(FIXTURE, clock=clock)


def desk(db: CoverageDatabase, clock: VirtualClock, version: object = "post-MP097", **kw: object) -> DccServiceDesk:
    return DccServiceDesk(db, clock, sec_version=version, **kw)  # type: ignore[arg-type]


# ---- who may ask: the pre/post MP097 difference -------------------------------------------------------------------

@pytest.mark.parametrize("version", ["pre-MP097", "post-MP097"])
def test_location_with_no_postcode_is_allowed_under_both_texts(db, clock, version) -> None:
    request = desk(db, clock, version).raise_request(latitude=KINGSMOOR[0], longitude=KINGSMOOR[1])
    assert request.eligibility.allowed and request.eligibility.clause == "SEC Appendix H 3.3"
    assert request.state is RequestState.OPEN


def test_new_build_postcode_with_known_outcode_is_refused_before_mp097(db, clock) -> None:
    with pytest.raises(ServiceManagementRefused) as err:
        desk(db, clock, "pre-MP097").raise_request(latitude=STAG_MEADOW[0], longitude=STAG_MEADOW[1],
                                                   postcode="GU1 9NB", address_identifier="Plot 1")
    assert isinstance(err.value, DomainError)
    assert err.value.clause == "SEC Appendix H 3.3 (before MP097)"
    assert "outcode GU1" in str(err.value) and "No premises found" in str(err.value)


def test_new_build_postcode_with_known_outcode_is_allowed_after_mp097(db, clock) -> None:
    request = desk(db, clock).raise_request(latitude=STAG_MEADOW[0], longitude=STAG_MEADOW[1],
                                            postcode="GU1 9NB", address_identifier="Plot 1")
    assert request.eligibility.clause == "SEC Appendix H 3.3 (as amended by MP097)"
    assert request.outcode is not None and str(request.outcode) == "GU1"


@pytest.mark.parametrize(("version", "allowed"), [("pre-MP097", False), ("post-MP097", True)])
def test_outcode_only(db, clock, version, allowed) -> None:
    result = desk(db, clock, version).eligibility(latitude=STAG_MEADOW[0], longitude=STAG_MEADOW[1], outcode="GU1")
    assert result.allowed is allowed


@pytest.mark.parametrize(("version", "allowed"), [("pre-MP097", False), ("post-MP097", True)])
def test_new_address_in_a_postcode_the_database_knows(db, clock, version, allowed) -> None:
    result = desk(db, clock, version).eligibility(latitude=53.7990, longitude=-1.5470, postcode="LS1 4AP",
                                                  address_identifier="Unit 7")
    assert result.allowed is allowed
    assert "postcode LS1 4AP" in result.reason


@pytest.mark.parametrize("version", ["pre-MP097", "post-MP097"])
def test_postcode_and_outcode_unknown_to_dcc_systems_is_allowed_under_both(db, clock, version) -> None:
    result = desk(db, clock, version).eligibility(latitude=50.5900, longitude=-3.7500, postcode="TQ13 9XY")
    assert result.allowed and result.clause == "SEC Appendix H 3.3"
    assert "no associated postcode in DCC Systems" in result.reason


@pytest.mark.parametrize("version", ["pre-MP097", "post-MP097"])
def test_premises_the_database_knows_go_to_sr12_1(db, clock, version) -> None:
    d = desk(db, clock, version)
    for context in ({"postcode": "GU1 3QF", "address_identifier": "1"}, {"uprn": "100061000003"},
                    {"postcode": "GU1 3QF"}):
        result = d.eligibility(latitude=51.2380, longitude=-0.5700, **context)
        assert not result.allowed and result.clause == "SEC Appendix H 3.2(b)", context
        assert "SR 12.1" in result.reason


def test_once_the_database_catches_up_the_request_is_no_longer_needed(db, clock) -> None:
    d = desk(db, clock)
    assert d.eligibility(latitude=STAG_MEADOW[0], longitude=STAG_MEADOW[1], postcode="GU1 9NB",
                         address_identifier="Plot 1").allowed
    clock.advance(days=21)  # 2020-03-23: release + 42-day lag
    result = d.eligibility(latitude=STAG_MEADOW[0], longitude=STAG_MEADOW[1], postcode="GU1 9NB",
                           address_identifier="Plot 1")
    assert not result.allowed and result.clause == "SEC Appendix H 3.2(b)"


def test_sec_version_switch_forms(db, clock) -> None:
    assert parse_sec_version(True) is SecVersion.POST_MP097
    assert parse_sec_version(False) is SecVersion.PRE_MP097
    assert parse_sec_version("PRE-mp097") is SecVersion.PRE_MP097
    with pytest.raises(InputError, match="'MP097'"):
        parse_sec_version("MP097")
    assert not desk(db, clock, False).eligibility(latitude=51.248, longitude=-0.565, outcode="GU1").allowed


def test_by_date_follows_the_february_2020_release(db) -> None:
    # Seed §6: MP097 implemented 27 February 2020.
    before = VirtualClock(datetime(2020, 2, 26, 12, tzinfo=UTC))
    d = DccServiceDesk(load_coverage_db(FIXTURE, clock=before), before, sec_version="by-date")
    assert d.version_now() is SecVersion.PRE_MP097
    assert not d.eligibility(latitude=51.248, longitude=-0.565, outcode="GU1").allowed
    before.advance(days=1)
    assert d.version_now() is SecVersion.POST_MP097
    assert d.eligibility(latitude=51.248, longitude=-0.565, outcode="GU1").allowed


def test_mismatched_context_is_bad_input(db, clock) -> None:
    with pytest.raises(InputError, match="outcode GU2 does not match postcode GU1 9NB"):
        desk(db, clock).eligibility(latitude=51.248, longitude=-0.565, postcode="GU1 9NB", outcode="GU2")
    with pytest.raises(InputError, match="postcode 'GU1 1CA'"):
        desk(db, clock).eligibility(latitude=51.248, longitude=-0.565, postcode="GU1 1CA")


# ---- resolution: coverage + Region after the configured time -------------------------------------------------------

def test_request_resolves_after_the_configured_time_with_coverage_and_region(db, clock) -> None:
    seen = []
    request = desk(db, clock, resolution_time=timedelta(days=2)).raise_request(
        latitude=STAG_MEADOW[0], longitude=STAG_MEADOW[1], postcode="GU1 9NB", on_resolved=seen.append)
    clock.advance(days=1, hours=23, minutes=59)
    assert request.state is RequestState.OPEN and seen == []
    clock.advance(minutes=1)
    assert request.state is RequestState.RESOLVED
    resolution = request.resolution
    assert seen == [resolution]
    assert resolution.resolved_at == START + timedelta(days=2)
    assert resolution.region is CspRegion.SOUTH and resolution.csp == "Telefónica"
    assert resolution.coverage.coverage_availability is True
    assert resolution.coverage.csp_region is CspRegion.SOUTH
    assert resolution.prediction == "Stag Meadow new-build estate"


def test_default_resolution_time_is_five_days(db, clock) -> None:
    request = desk(db, clock).raise_request(latitude=KINGSMOOR[0], longitude=KINGSMOOR[1])
    assert request.due_at - request.raised_at == timedelta(days=5)
    clock.advance(days=5)
    assert request.resolution.region is CspRegion.CENTRAL
    assert desk(db, clock).requests == {}  # each desk keeps its own requests
    with pytest.raises(InputError, match="SM-999999"):
        desk(db, clock).request("SM-999999")


def test_planned_coverage_is_reported_with_its_date(db, clock) -> None:
    request = desk(db, clock, resolution_time=timedelta(0)).raise_request(
        latitude=GOGAR_RISE[0], longitude=GOGAR_RISE[1], postcode="EH12 9NB")
    clock.advance(seconds=0)
    assert request.resolution.region is CspRegion.NORTH and request.resolution.csp == "Arqiva"
    assert request.resolution.coverage.coverage_availability is False
    assert request.resolution.coverage.wan_available_from == date(2020, 9, 1)


def test_location_without_a_prediction_is_answered_not_available(db, clock) -> None:
    request = desk(db, clock, resolution_time=timedelta(0)).raise_request(latitude=57.0, longitude=-4.0)
    clock.advance(seconds=0)
    assert request.resolution.coverage.coverage_availability is False
    assert request.resolution.coverage.connectivity_likelihood == "Unknown"
    assert request.resolution.region is CspRegion.NORTH


def test_region_map_is_data(db, clock) -> None:
    everything_central = (RegionRule(CspRegion.CENTRAL),)
    request = desk(db, clock, resolution_time=timedelta(0), region_map=everything_central).raise_request(
        latitude=GOGAR_RISE[0], longitude=GOGAR_RISE[1])
    clock.advance(seconds=0)
    assert request.resolution.region is CspRegion.CENTRAL


@pytest.mark.parametrize(
    ("place", "lat", "lon", "region"),
    [("London", 51.5074, -0.1278, CspRegion.SOUTH), ("Cardiff", 51.4816, -3.1791, CspRegion.SOUTH),
     ("Birmingham", 52.4862, -1.8904, CspRegion.CENTRAL), ("Norwich", 52.6309, 1.2974, CspRegion.CENTRAL),
     ("Leeds", 53.8008, -1.5491, CspRegion.NORTH), ("Edinburgh", 55.9533, -3.1883, CspRegion.NORTH),
     ("Lerwick", 60.1546, -1.1494, CspRegion.NORTH)],
)
def test_default_region_model(place: str, lat: float, lon: float, region: CspRegion) -> None:
    assert allocate_region(lat, lon) is region, place


# ---- coordinates must lie in Great Britain ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("place", "lat", "lon"),
    [("Land's End", 50.066, -5.714), ("John o' Groats", 58.64, -3.07), ("Stornoway", 58.21, -6.39),
     ("Kirkwall", 58.98, -2.96), ("Lerwick", 60.155, -1.145), ("St Mary's, Scilly", 49.915, -6.31),
     ("Newport, Isle of Wight", 50.70, -1.29), ("Holyhead", 53.31, -4.63), ("Portree", 57.41, -6.19),
     ("Stranraer", 54.90, -5.02), ("Lowestoft", 52.48, 1.75), ("Dover", 51.13, 1.31)],
)
def test_places_in_great_britain_are_accepted(place: str, lat: float, lon: float) -> None:
    assert is_in_great_britain(lat, lon), place
    assert require_great_britain(lat, lon) == (lat, lon)


@pytest.mark.parametrize(
    ("place", "lat", "lon", "named"),
    [("Belfast", 54.597, -5.93, "Northern Ireland"), ("Derry", 55.0, -7.32, "Northern Ireland"),
     ("Douglas", 54.15, -4.48, "Isle of Man"), ("St Helier", 49.18, -2.11, "Channel Islands"),
     ("Dublin", 53.35, -6.26, "Ireland"), ("Paris", 48.85, 2.35, "outside Great Britain"),
     ("North Sea", 55.0, 3.0, "outside Great Britain"), ("Rockall", 57.6, -13.69, "outside Great Britain")],
)
def test_coordinates_outside_gb_are_refused_with_a_clear_error(db, clock, place, lat, lon, named) -> None:
    with pytest.raises(InputError) as err:
        desk(db, clock).raise_request(latitude=lat, longitude=lon)
    message = str(err.value)
    assert message.startswith("Installation Location: ") and named in message and "outside Great Britain" in message
    assert f"{lat:.5f}" in message


@pytest.mark.parametrize(("lat", "lon", "complaint"),
                         [(95.0, 0.0, "latitude 95.0 is out of range"), (51.0, 181.0, "longitude 181.0"),
                          (math.nan, 0.0, "latitude nan"), ("51.2", -0.5, "not a number"),
                          (-0.1278, 51.5074, "swapped")])
def test_bad_coordinates(db, clock, lat, lon, complaint) -> None:
    with pytest.raises(InputError, match=complaint):
        desk(db, clock).raise_request(latitude=lat, longitude=lon)
