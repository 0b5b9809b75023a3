"""Issue 5 scenarios at the domain level: the MP097 new-connection story end to end on a virtual clock.

Sources: MP097 seed §1-§3 and Annex A (SEC Appendix H 3.2/3.3), the licence conditions it quotes (SLC 49.8-49.10),
domain.md §7 (North = Arqiva, Central/South = Telefónica) and §10 item 16.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from harness.coverage_file import load_coverage_db
from harness.errors import InputError
from harness.smets.clock import VirtualClock
from harness.smets.coverage import CspRegion, NoPremisesFound, WanMatrix
from harness.smets.install_decision import CoverageCheck, InstallAction, MeterKind, decide_install
from harness.smets.service_management import DccServiceDesk, ServiceManagementRefused

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "coverage_db.yaml"
START = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world():
    clock = VirtualClock(START)
    db = load_coverage_db(FIXTURE, clock=clock)
    return clock, db


def test_new_build_covered_site_reactive_install_after_mp097(world) -> None:
    clock, db = world
    # 1. The Supplier checks coverage before attending site: the new postcode is not in the database yet.
    answer = db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 3")
    assert isinstance(answer, NoPremisesFound)
    first = decide_install(meter_kind=MeterKind.NEW, smets_version="SMETS2", coverage=answer,
                           installation_date=date(2020, 3, 16))
    assert first.action is InstallAction.ABORT  # seed §2: "It must abort the job"
    # 2. After MP097 it raises a Service Management request with the site's latitude/longitude.
    desk = DccServiceDesk(db, clock, sec_version="post-MP097", resolution_time=timedelta(days=3))
    request = desk.raise_request(latitude=51.2479, longitude=-0.5652, postcode="GU1 9NB", address_identifier="Plot 3")
    assert request.eligibility.clause == "SEC Appendix H 3.3 (as amended by MP097)"
    clock.advance(days=3)
    # 3. The DCC answers coverage and allocates the Installation Location to a Region.
    resolution = request.resolution
    assert resolution is not None and resolution.resolved_at == START + timedelta(days=3)
    assert resolution.coverage.coverage_availability is True
    assert resolution.region is CspRegion.SOUTH and resolution.csp == "Telefónica"
    # 4. On the day the hub finds no signal: reactive install and leave, 8.14.2, DCC 90-day target.
    install_day = date(2020, 3, 16)
    decision = decide_install(meter_kind=MeterKind.NEW, smets_version="SMETS2", coverage=resolution,
                              installation_date=install_day, on_site_signal=False)
    assert decision.action is InstallAction.REACTIVE_INSTALL_AND_LEAVE
    assert decision.clause == "SEC F7.18"
    assert "SRV 8.14.2 (CHF Install - no SM WAN)" in decision.follow_up
    assert decision.wan_fix_target == install_day + timedelta(days=90)
    # ...or it finds a signal and commissions.
    assert decide_install(meter_kind=MeterKind.NEW, smets_version="SMETS2", coverage=resolution,
                          installation_date=install_day, on_site_signal=True).action is InstallAction.INSTALL_COMMISSION


def test_new_build_planned_site_proactive_install_after_mp097(world) -> None:
    clock, db = world
    assert isinstance(db.wan_matrix(postcode="EH12 9NB", address_identifier="Plot 1"), NoPremisesFound)
    desk = DccServiceDesk(db, clock, sec_version=True)
    request = desk.raise_request(latitude=55.9431, longitude=-3.3149, outcode="EH12")
    clock.advance(days=5)
    resolution = request.resolution
    assert resolution.region is CspRegion.NORTH and resolution.csp == "Arqiva"
    assert resolution.coverage.coverage_availability is False
    assert resolution.coverage.wan_available_from == date(2020, 9, 1)
    decision = decide_install(meter_kind=MeterKind.NEW, smets_version="SMETS2", coverage=resolution,
                              installation_date=date(2020, 3, 20))
    assert decision.action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE
    assert decision.clause == "SLC 49.8"
    assert decision.wan_expected_from == date(2020, 9, 1)


def test_same_story_before_mp097_is_refused_and_the_job_aborts(world) -> None:
    clock, db = world
    desk = DccServiceDesk(db, clock, sec_version="pre-MP097")
    with pytest.raises(ServiceManagementRefused) as err:
        desk.raise_request(latitude=51.2479, longitude=-0.5652, postcode="GU1 9NB", address_identifier="Plot 3")
    assert err.value.clause == "SEC Appendix H 3.3 (before MP097)"
    assert desk.requests == {}
    # With only the "No premises found" answer, the installation is aborted.
    decision = decide_install(meter_kind=MeterKind.NEW, smets_version="SMETS2",
                              coverage=db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 3"),
                              installation_date=date(2020, 3, 16))
    assert decision.action is InstallAction.ABORT


def test_outcode_only_lookups(world) -> None:
    clock, db = world
    assert {str(p.postcode) for p in db.lookup_outcode("GU1")} == {"GU1 3QF", "GU1 4RT"}
    assert db.lookup_outcode("EH12") == []  # the new-build outcode's only postcode is not loaded yet
    pre = DccServiceDesk(db, clock, sec_version="pre-MP097")
    post = DccServiceDesk(db, clock, sec_version="post-MP097")
    # The seed's own example (GU1): an outcode DCC Systems hold.
    assert not pre.eligibility(latitude=51.248, longitude=-0.565, outcode="GU1").allowed
    assert post.eligibility(latitude=51.248, longitude=-0.565, outcode="GU1").allowed
    # An outcode DCC Systems do not hold: no associated postcode, allowed under both texts.
    assert pre.eligibility(latitude=55.9431, longitude=-3.3149, outcode="EH12").allowed


def test_database_update_lag(world) -> None:
    clock, db = world
    # GU1 9NB released 2020-02-10; the fixture's lag is 42 days -> in the database from 2020-03-23.
    clock.advance_to(datetime(2020, 3, 22, 23, 59, tzinfo=UTC))
    assert isinstance(db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 3"), NoPremisesFound)
    clock.advance(minutes=1)
    answer = db.wan_matrix(postcode="GU1 9NB", address_identifier="Plot 3")
    assert isinstance(answer, WanMatrix) and answer.coverage_availability
    # Now SR 12.1 answers; a Service Management request is no longer the route.
    desk = DccServiceDesk(db, clock)
    result = desk.eligibility(latitude=51.2479, longitude=-0.5652, postcode="GU1 9NB", address_identifier="Plot 3")
    assert not result.allowed and result.clause == "SEC Appendix H 3.2(b)"


@pytest.mark.parametrize(("days_before", "action"), [(29, InstallAction.PROACTIVE_INSTALL_AND_LEAVE),
                                                    (30, InstallAction.PROACTIVE_INSTALL_AND_LEAVE),
                                                    (31, InstallAction.ABORT)])
def test_thirty_day_window_before_the_applicable_date(world, days_before, action) -> None:
    clock, db = world
    applicable = date(2020, 10, 1)
    clock.advance_to(datetime.combine(applicable - timedelta(days=days_before), datetime.min.time(), tzinfo=UTC))
    check = CoverageCheck(clock.today(), db.wan_matrix(postcode="IV1 1QX", address_identifier="14"))
    decision = decide_install(meter_kind=MeterKind.MANDATORY_REPLACEMENT, smets_version="SMETS2",
                              coverage=db.wan_matrix(postcode="IV1 1QX", address_identifier="14", at=START),
                              installation_date=START.date(), applicable_date=applicable,
                              applicable_date_check=check)
    assert decision.action is action
    assert decision.clause == ("SLC 49.10" if action is InstallAction.ABORT else "SLC 49.8")


@pytest.mark.parametrize(("lat", "lon", "named"), [(54.597, -5.93, "Northern Ireland"), (49.18, -2.11, "Channel"),
                                                   (54.15, -4.48, "Isle of Man"), (48.85, 2.35, "outside")])
def test_coordinates_outside_gb(world, lat, lon, named) -> None:
    clock, db = world
    with pytest.raises(InputError, match=named):
        DccServiceDesk(db, clock).raise_request(latitude=lat, longitude=lon)


@pytest.mark.parametrize("bad", ["GU1 1CA", "GU1", "QQ1 1AA", "GU1-1AA", "12345"])
def test_malformed_postcodes(world, bad) -> None:
    clock, db = world
    with pytest.raises(InputError, match="postcode"):
        db.wan_matrix(postcode=bad, address_identifier="1")
    with pytest.raises(InputError, match="postcode"):
        DccServiceDesk(db, clock).raise_request(latitude=51.248, longitude=-0.565, postcode=bad)
