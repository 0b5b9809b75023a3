"""MP097 on the bench: new connections whose postcode the SM WAN Coverage Database does not know yet, feeding the
install decision and then the install itself (seed 002, docs/coverage-mp097.md, domain.md §10 item 16).

1. New-build plot: SR 12.1 answers "No premises found" -> Service Management request by latitude/longitude
   (SEC Appendix H 3.3 as amended by MP097) -> resolved with a Region and "not yet, from D" -> proactive install
   and leave (SLC 49.8) -> 8.14.2 with no SM WAN -> 8.11 E20 -> WAN arrives on D -> 8.11, HAN join, 8.1.1.
2. The same request under the SEC text before MP097 is refused, naming the clause; the job is aborted.
3. Reactive install and leave: the database says covered, the hub finds no signal on site -> 8.14.2, the DCC's
   90-day target runs -> WAN restored within it -> commissioned over the radio.
4. The database lag: the postcode appears `database lag` after its Royal Mail release; SR 12.1 then answers and a
   Service Management request is neither needed nor allowed (Appendix H 3.2(b)).

The bench's virtual clock starts on 2026-01-05, so this file gives the bench its own invented coverage data with
dates relative to the bench's today (the shipped fixture is set in 2020, when every estate in it is long loaded
by 2026). The SLC 49.8(c) cutoff of 1 January 2021 is likewise past: the scenarios set one a year ahead, as
docs/coverage-mp097.md tells a lab running present-day dates to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from harness.smets.connectivity import ChState
from harness.smets.coverage import CoverageDatabase, CspRegion, NoPremisesFound, WanMatrix, coverage_db_from_mapping
from harness.smets.duis import (
    ChfInstallSuccessNoSmWan,
    DspWanMatrix,
    RequestWanMatrix,
    ResponseCode,
)
from harness.smets.duis import NoPremisesFound as DuisNoPremisesFound
from harness.smets.install_decision import CoverageCheck, InstallAction, InstallDecision, decide_install
from harness.smets.service_management import (
    CLAUSE_H3_2B,
    CLAUSE_H3_3_MP097,
    CLAUSE_H3_3_PRE,
    DccServiceDesk,
    ServiceManagementRefused,
    ServiceManagementRequest,
    ServiceManagementResolution,
)
from harness.smets.smi import SmiStatus

pytestmark = pytest.mark.timeout(120)

# -- the bench's coverage data (INVENTED: real-looking postcodes, made-up plots, dates and coverage) --------------
DATABASE_LAG = timedelta(days=42)  # Royal Mail release -> in the database (MP097 seed §2 gives no figure: a model)
STAG_MEADOW_RELEASED = timedelta(days=-14)  # released two weeks before the bench's today
STAG_MEADOW_WAN_LIVE = timedelta(days=60)  # the CSP plans the SM WAN on the estate 60 days after today
KINGFISHER_RELEASED = timedelta(days=-7)
CUTOFF_AHEAD = timedelta(days=365)  # SLC 49.8(c) cutoff for a 2026 clock, set by the lab (docs/coverage-mp097.md)
SMETS_VERSION = "SMETS2"


@dataclass(frozen=True)
class Plot:
    """One installation location the supplier holds: address and, for a new build, the site's coordinates."""

    estate: str
    postcode: str
    address_identifier: str
    latitude: float | None = None
    longitude: float | None = None

    def __str__(self) -> str:
        return f"{self.address_identifier}, {self.postcode} ({self.estate})"


# A new-build estate in outcode GU1 (the seed's own example), released but not loaded; WAN planned, not live.
STAG_MEADOW = Plot("Stag Meadow new-build estate", "GU1 9NB", "Plot 3", 51.2480, -0.5650)
# New flats in a postcode the database has long known, with coverage there.
MILLBROOK = Plot("Millbrook Court", "GU1 4RT", "Flat 3, 12 Millbrook Court")
# A second new-build estate, SM WAN live, waiting only for the database to load it.
KINGFISHER = Plot("Kingfisher Fields new-build estate", "GU1 9NX", "Plot 7", 51.2552, -0.5480)

_TELEFONICA = {"csp_region": "South", "wan_technology": "30", "ch_wan_variant": "Telefónica cellular"}


def new_build_coverage(today: date) -> dict[str, Any]:
    """The fixture (same format as fixtures/coverage_db.yaml) with dates relative to the bench's today."""
    return {
        "format": "smets2-harness/coverage-db/1",
        "description": "MP097 bench scenarios: outcode GU1 with known premises and two new-build estates.",
        "database_lag_days": DATABASE_LAG.days,
        "postcodes": [
            {"postcode": "GU1 3QF", **_TELEFONICA, "coverage_available": True, "connectivity_likelihood": "High",
             "premises": [{"address_identifier": "1"}, {"address_identifier": "3"}]},
            {"postcode": MILLBROOK.postcode, **_TELEFONICA, "coverage_available": True,
             "connectivity_likelihood": "Medium",
             "premises": [{"address_identifier": f"Flat {n}, 12 Millbrook Court"} for n in (1, 2, 3)]},
            {"postcode": STAG_MEADOW.postcode, **_TELEFONICA, "released_on": today + STAG_MEADOW_RELEASED,
             "wan_available_from": today + STAG_MEADOW_WAN_LIVE, "connectivity_likelihood": "Medium",
             "site": {"name": STAG_MEADOW.estate, "latitude": STAG_MEADOW.latitude,
                      "longitude": STAG_MEADOW.longitude, "radius_m": 400},
             "premises": [{"address_identifier": f"Plot {n}"} for n in (1, 2, 3, 4)]},
            {"postcode": KINGFISHER.postcode, **_TELEFONICA, "released_on": today + KINGFISHER_RELEASED,
             "coverage_available": True, "connectivity_likelihood": "High",
             "premises": [{"address_identifier": f"Plot {n}"} for n in (5, 6, 7, 8)]},
        ],
    }


# -- local scenario helpers (candidates for the Bench; see the module docstring) ----------------------------------
def use_new_build_coverage(bench: Any) -> CoverageDatabase:
    """Give the bench's DCC (SR 12.1) and Service Management desk this file's coverage database."""
    db = coverage_db_from_mapping(new_build_coverage(bench.clock.today()), clock=bench.clock,
                                  source=f"{__name__}.new_build_coverage")
    bench.use_coverage(db)
    bench.evidence.timeline.record(
        "coverage.database", source=db.source, database_lag_days=db.database_lag.days,
        loads={p.postcode: str(db.scheduled_load(p.postcode)) for p in (STAG_MEADOW, KINGFISHER)})
    return db


def note(bench: Any, text: str, **fields: Any) -> None:
    bench.evidence.timeline.record("note", text=text, **fields)


def advance_to(bench: Any, day: date) -> None:
    bench.advance(days=(day - bench.clock.today()).days)


def request_wan_matrix(bench: Any, supplier: Any, plot: Plot) -> WanMatrix | NoPremisesFound:
    """SR 12.1 for the plot, through the supplier; the DUIS answer as the coverage answer decide_install takes."""
    response = supplier.send(RequestWanMatrix(post_code=plot.postcode, address_identifier=plot.address_identifier),
                             bench.dcc.dcc_eui)
    assert response.code is ResponseCode.I0, f"SR 12.1 for {plot}: {response.code} {response.detail}"
    payload = response.payload
    answer: WanMatrix | NoPremisesFound
    if isinstance(payload, DuisNoPremisesFound):
        answer = NoPremisesFound(f"{plot.postcode} / {plot.address_identifier}", payload.detail)
    elif isinstance(payload, DspWanMatrix):
        answer = WanMatrix(CspRegion(payload.csp_region), payload.coverage_availability, payload.wan_technology,
                           payload.connectivity_likelihood)
    else:
        raise AssertionError(f"SR 12.1 for {plot} answered {payload!r}, not a WAN matrix")
    shown = ({"no_premises_found": answer.reason} if isinstance(answer, NoPremisesFound) else
             {"csp_region": str(answer.csp_region), "coverage_availability": answer.coverage_availability,
              "wan_technology": answer.wan_technology, "connectivity_likelihood": answer.connectivity_likelihood})
    bench.evidence.timeline.record("coverage.answer", source="SR 12.1", premises=str(plot), **shown)
    return answer


def raise_service_management(bench: Any, desk: DccServiceDesk, plot: Plot) -> ServiceManagementRequest:
    """Appendix H 3.3 request by the plot's latitude/longitude; its refusal or resolution goes on the timeline."""
    timeline = bench.evidence.timeline

    def resolved(r: ServiceManagementResolution) -> None:
        timeline.record("service_management.resolved", reference=r.reference, clause=r.clause,
                        region=str(r.region), csp=r.csp, prediction=r.prediction,
                        coverage_availability=r.coverage.coverage_availability,
                        wan_available_from=str(r.coverage.wan_available_from))

    try:
        request = desk.raise_request(latitude=plot.latitude, longitude=plot.longitude, postcode=plot.postcode,
                                     address_identifier=plot.address_identifier, on_resolved=resolved)
    except ServiceManagementRefused as refused:
        timeline.record("service_management.refused", premises=str(plot), sec_version=str(desk.version_now()),
                        clause=refused.clause, reason=refused.eligibility.reason)
        raise
    timeline.record("service_management.raised", reference=request.reference, premises=str(plot),
                    latitude=request.latitude, longitude=request.longitude, sec_version=str(desk.version_now()),
                    clause=request.eligibility.clause, reason=request.eligibility.reason,
                    due=request.due_at.isoformat())
    return request


def decide(bench: Any, **inputs: Any) -> InstallDecision:
    """decide_install for a new electricity meter (SMETS2, installed by the licensee); the decision is evidence."""
    decision = decide_install(meter_kind="new", smets_version=SMETS_VERSION, **inputs)
    bench.evidence.timeline.record(
        "install.decision", action=str(decision.action), clause=decision.clause, reason=decision.reason,
        follow_up=list(decision.follow_up), installation_date=str(inputs["installation_date"]),
        wan_expected_from=str(decision.wan_expected_from), wan_fix_target=str(decision.wan_fix_target))
    return decision


def install_without_wan(bench: Any, supplier: Any, esme: Any) -> None:
    """SRV 8.14.2 with the SM WAN down, then 8.11 Add: it cannot reach the CH, so the ESME stays stranded."""
    bench.wan.cut()
    installed = supplier.send(ChfInstallSuccessNoSmWan(bench.chf, esme.mpxn), bench.dcc.dcc_eui)
    assert installed.code is ResponseCode.I0, installed.detail
    assert bench.dcc.ch_state(bench.chf) is ChState.INSTALLED_NO_WAN
    assert bench.dcc.ch_first_installed(bench.chf) == bench.clock.now()

    stranded = supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
    assert stranded.code is ResponseCode.E20, f"8.11 with the SM WAN down answered {stranded.code}"
    assert esme.eui64 not in bench.hub.device_log  # the CHF never heard of it: no key, no join
    assert bench.status(esme) is SmiStatus.PENDING


def record_first_connectivity(bench: Any) -> Any:
    """PM1.2 first-time SM WAN connectivity (90-day target) since the CH First Time Installed Date."""
    measure = bench.dcc.first_connectivity(bench.chf)
    assert measure is not None and measure.elapsed is not None, "the CH has not reached the DCC over the SM WAN"
    bench.evidence.record.measure("first_sm_wan_connectivity", measure.elapsed / timedelta(days=1), "virtual_days",
                                  target=measure.target / timedelta(days=1), key=True)
    return measure


async def commission_over_han(bench: Any, supplier: Any, esme: Any) -> None:
    """8.11 Add -> the ESME joins over the coordinator with its install-code key -> 8.1.1 -> Commissioned."""
    add = supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
    assert add.code is ResponseCode.I0, add.detail
    assert bench.status(esme) is SmiStatus.WHITELISTED

    joined = await bench.wait_for_join(esme)
    assert 0x0109 in joined.profiles  # Smart Energy endpoint interviewed
    assert bench.hub.alerts[-1].hash_of(esme.eui64) not in (None, b"")
    assert bench.status(esme) is SmiStatus.INSTALLED_NOT_COMMISSIONED

    commission = supplier.commission(esme.eui64)  # CV 4 Pre-Command, CV 5 signed: I99, then the device's I0
    assert commission.code is ResponseCode.I0, commission.detail
    assert bench.status(esme) is SmiStatus.COMMISSIONED


# -- scenarios -----------------------------------------------------------------------------------------------------
@pytest.mark.sec("MP097", "SEC Appendix H 3.3 (as amended by MP097)")
@pytest.mark.sec("MP097", "SLC 49.8")
async def test_new_build_plot_gets_coverage_by_service_management_then_proactive_install_and_leave(bench):
    esme = bench.device("esme")
    supplier = bench.supplier_for(esme)
    use_new_build_coverage(bench)
    today = bench.clock.today()
    cutoff = today + CUTOFF_AHEAD
    install_day = today + timedelta(days=7)

    # The coverage check the licence requires before the visit: the new plot is not in the database yet.
    answer = request_wan_matrix(bench, supplier, STAG_MEADOW)
    assert isinstance(answer, NoPremisesFound)
    blocked = decide(bench, coverage=answer, installation_date=install_day, cutoff_date=cutoff)
    assert blocked.action is InstallAction.ABORT and blocked.clause == "SLC 49.8(c)"
    assert any("Appendix H 3.3" in step for step in blocked.follow_up)

    # MP097: the postcode's outcode is in DCC Systems, yet the supplier may now ask by latitude/longitude.
    desk = bench.service_desk()
    request = raise_service_management(bench, desk, STAG_MEADOW)
    assert request.eligibility.clause == CLAUSE_H3_3_MP097
    bench.advance(days=desk.resolution_time.days - 1)
    assert request.resolution is None, "resolved before the configured resolution time"
    bench.advance(days=1)
    resolution = request.resolution
    assert resolution is not None, f"not resolved {desk.resolution_time} after it was raised"
    assert resolution.region is CspRegion.SOUTH and resolution.csp == "Telefónica"
    assert resolution.coverage.coverage_availability is False  # not yet ...
    wan_live = today + STAG_MEADOW_WAN_LIVE
    assert resolution.coverage.wan_available_from == wan_live  # ... but from this date, before the cutoff
    bench.evidence.record.measure("service_management_resolution",
                                  (resolution.resolved_at - request.raised_at) / timedelta(days=1), "virtual_days")

    decision = decide(bench, coverage=resolution, installation_date=install_day, cutoff_date=cutoff)
    assert decision.action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE, decision.reason
    assert decision.clause == "SLC 49.8"
    assert decision.wan_expected_from == wan_live
    assert any("8.14.2" in step for step in decision.follow_up)

    advance_to(bench, install_day)
    note(bench, "installer on site: CH and ESME fitted, no SM WAN yet (proactive install and leave)")
    install_without_wan(bench, supplier, esme)

    advance_to(bench, wan_live)
    bench.wan.restore()
    note(bench, "the CSP's SM WAN reaches the estate on the date the database gave", day=str(wan_live))
    # SLC 49.9: from the date the database gave, the exception has ended; the supplier commissions.
    ended = decide(bench, coverage=resolution.coverage, installation_date=wan_live, cutoff_date=cutoff)
    assert ended.action is InstallAction.INSTALL_COMMISSION and ended.clause == "SLC 49.9"

    measure = record_first_connectivity(bench)
    assert measure.elapsed == wan_live - install_day
    assert measure.met is True  # within the 90 days, although a proactive WAN fix may take longer

    await commission_over_han(bench, supplier, esme)
    bench.evidence.record.measure("installed_to_commissioned", (bench.clock.today() - install_day).days,
                                  "virtual_days")


@pytest.mark.sec("MP097", "SEC Appendix H 3.3 (before MP097)")
async def test_before_mp097_the_service_management_request_is_refused_and_the_job_aborts(bench):
    esme = bench.device("esme")
    supplier = bench.supplier_for(esme)
    use_new_build_coverage(bench)
    today = bench.clock.today()
    install_day = today + timedelta(days=7)

    answer = request_wan_matrix(bench, supplier, STAG_MEADOW)
    assert isinstance(answer, NoPremisesFound)

    desk = bench.service_desk(sec_version="pre-MP097")
    with pytest.raises(ServiceManagementRefused) as refused:
        raise_service_management(bench, desk, STAG_MEADOW)
    assert refused.value.clause == CLAUSE_H3_3_PRE
    assert f"outcode {STAG_MEADOW.postcode.split()[0]}" in refused.value.eligibility.reason
    assert desk.requests == {}

    # With no coverage answer the supplier cannot meet the check: the decision stays abort, naming why.
    decision = decide(bench, coverage=answer, installation_date=install_day, cutoff_date=today + CUTOFF_AHEAD)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(c)"
    note(bench, "job aborted: SR 12.1 says 'No premises found' and, before MP097, Appendix H 3.3 allows a "
                "Service Management request only where DCC Systems hold no postcode for the location",
         clause=refused.value.clause, decision_clause=decision.clause)
    assert bench.dcc.ch_first_installed(bench.chf) is None  # no 8.14.x: nobody went to site
    assert bench.status(esme) is SmiStatus.PENDING

    # The same request under the amended text would have been allowed: this is what MP097 changed.
    after = bench.service_desk().eligibility(latitude=STAG_MEADOW.latitude, longitude=STAG_MEADOW.longitude,
                                             postcode=STAG_MEADOW.postcode,
                                             address_identifier=STAG_MEADOW.address_identifier)
    assert after.allowed and after.clause == CLAUSE_H3_3_MP097
    note(bench, "the same request under the text as amended by MP097 is allowed", clause=after.clause)
    bench.evidence.record.measure("install_visits_aborted", 1, "count", key=True)


@pytest.mark.sec("MP097", "SEC F7.18")
@pytest.mark.sec("DCC", "PM1.2 90-day first SM WAN connectivity")
async def test_reactive_install_and_leave_commissions_when_the_wan_is_fixed_within_90_days(bench):
    esme = bench.device("esme")
    supplier = bench.supplier_for(esme)
    use_new_build_coverage(bench)
    today = bench.clock.today()
    install_day = today + timedelta(days=2)
    wan_fixed_after = timedelta(days=40)

    answer = request_wan_matrix(bench, supplier, MILLBROOK)
    assert isinstance(answer, WanMatrix) and answer.coverage_availability
    check = CoverageCheck(today, answer)
    planned = decide(bench, coverage=check, installation_date=install_day)
    assert planned.action is InstallAction.INSTALL_COMMISSION

    advance_to(bench, install_day)
    note(bench, "on site the CH finds no SM WAN signal although the database says covered")
    on_site = decide(bench, coverage=check, installation_date=install_day, on_site_signal=False)
    assert on_site.action is InstallAction.REACTIVE_INSTALL_AND_LEAVE and on_site.clause == "SEC F7.18"
    assert on_site.wan_fix_target == install_day + timedelta(days=90)
    install_without_wan(bench, supplier, esme)

    bench.advance(days=wan_fixed_after.days)
    bench.wan.restore()
    note(bench, "the CSP fixes the SM WAN at the premises", after_days=wan_fixed_after.days)
    assert bench.clock.today() <= on_site.wan_fix_target

    measure = record_first_connectivity(bench)
    assert measure.elapsed == wan_fixed_after
    assert measure.met is True

    await commission_over_han(bench, supplier, esme)


@pytest.mark.sec("MP097", "SEC Appendix H 3.2(b)")
async def test_new_postcode_appears_after_the_database_lag_and_sr_12_1_answers(bench):
    supplier = bench.installing_supplier  # no device needed: this is the pre-visit check alone
    db = use_new_build_coverage(bench)
    today = bench.clock.today()
    released = today + KINGFISHER_RELEASED
    loads = db.scheduled_load(KINGFISHER.postcode)
    assert loads == released + DATABASE_LAG

    assert isinstance(request_wan_matrix(bench, supplier, KINGFISHER), NoPremisesFound)
    advance_to(bench, loads - timedelta(days=1))
    assert isinstance(request_wan_matrix(bench, supplier, KINGFISHER), NoPremisesFound), "loaded before the lag"

    bench.advance(days=1)
    note(bench, "the coverage database loads the new postcode", released=str(released), lag_days=DATABASE_LAG.days)
    answer = request_wan_matrix(bench, supplier, KINGFISHER)
    assert isinstance(answer, WanMatrix)
    assert answer.coverage_availability and answer.csp_region is CspRegion.SOUTH

    # SR 12.1 now answers, so a Service Management request is neither needed nor allowed.
    eligibility = bench.service_desk().eligibility(
        latitude=KINGFISHER.latitude, longitude=KINGFISHER.longitude, postcode=KINGFISHER.postcode,
        address_identifier=KINGFISHER.address_identifier)
    assert not eligibility.allowed and eligibility.clause == CLAUSE_H3_2B
    note(bench, "no Service Management request needed: SR 12.1 answers for the premises", clause=eligibility.clause,
         reason=eligibility.reason)

    decision = decide(bench, coverage=answer, installation_date=bench.clock.today() + timedelta(days=2))
    assert decision.action is InstallAction.INSTALL_COMMISSION and decision.clause == "SLC 49.4"
    bench.evidence.record.measure("release_to_sr_12_1_answer", (bench.clock.today() - released).days,
                                  "virtual_days", key=True)
