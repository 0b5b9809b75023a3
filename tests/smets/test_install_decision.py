"""decide_install against the Supply Licence conditions quoted in the MP097 seed (SLC 49.8-49.10), plus reactive
install and leave (SRV 8.14.2 and the DCC 90-day target, domain.md §1.9 / §2.2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from harness.errors import InputError
from harness.smets.coverage import CspRegion, NoPremisesFound, WanMatrix
from harness.smets.install_decision import (
    CoverageCheck,
    InstallAction,
    MeterKind,
    decide_install,
    smets_principal_version,
    within_applicable_date_window,
)

INSTALL = date(2020, 4, 1)
WAN_FROM = date(2020, 9, 1)
NOT_YET = WanMatrix(CspRegion.NORTH, False, "10", "Medium", WAN_FROM)  # database: no WAN on install, WAN later
COVERED = WanMatrix(CspRegion.SOUTH, True, "30", "High")
NO_PLAN = WanMatrix(CspRegion.CENTRAL, False, "30", "Low")
NOT_FOUND = NoPremisesFound("GU1 9NB / Plot 1", "No premises found: postcode GU1 9NB is not in the database")


def decide(**kw):
    args = {"meter_kind": MeterKind.NEW, "smets_version": "SMETS2", "coverage": NOT_YET,
            "installation_date": INSTALL}
    args.update(kw)
    return decide_install(**args)


# ---- SLC 49.8: proactive install and leave ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [MeterKind.NEW, MeterKind.MANDATORY_REPLACEMENT, "mandatory_replacement"])
def test_proactive_install_and_leave_for_new_or_mandatory_replacement_smets2(kind) -> None:
    decision = decide(meter_kind=kind)
    assert decision.action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE
    assert decision.clause == "SLC 49.8"
    assert decision.wan_expected_from == WAN_FROM
    assert any("8.14.2" in step for step in decision.follow_up)
    assert any("49.9" in step for step in decision.follow_up)


def test_other_meters_may_not_be_proactively_installed_and_left() -> None:
    decision = decide(meter_kind=MeterKind.OTHER)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(b)"


@pytest.mark.parametrize("version", ["SMETS1", "1", "1.2", 1])
def test_smets_principal_version_1_is_excluded(version) -> None:
    decision = decide(smets_version=version)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(a)(ii)"


@pytest.mark.parametrize(("version", "principal"), [("SMETS2", 2), ("SMETS2+", 2), ("smets 2", 2), ("2.0", 2),
                                                    (2, 2), ("5.1", 5)])
def test_smets_versions_other_than_principal_1_qualify(version, principal) -> None:
    assert smets_principal_version(version) == principal
    assert decide(smets_version=version).action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE


@pytest.mark.parametrize("bad", ["SMETS", "two", "", True])
def test_bad_smets_version_is_refused(bad) -> None:
    with pytest.raises(InputError, match="smets_version"):
        decide(smets_version=bad)


def test_bad_meter_kind_is_refused() -> None:
    with pytest.raises(InputError, match="meter kind 'prepay'"):
        decide(meter_kind="prepay")


def test_not_installed_by_the_licensee() -> None:
    decision = decide(installed_by_licensee=False)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(a)(i)"


def test_no_date_for_the_wan_means_no_exception() -> None:
    decision = decide(coverage=NO_PLAN)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(c)"


def test_cutoff_is_strictly_before_1_january_2021() -> None:
    # SLC 49.8(c): "available ... on a date that is prior to 1 January 2021"
    last_day = WanMatrix(CspRegion.NORTH, False, "10", "Medium", date(2020, 12, 31))
    cutoff_day = WanMatrix(CspRegion.NORTH, False, "10", "Medium", date(2021, 1, 1))
    assert decide(coverage=last_day).action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE
    decision = decide(coverage=cutoff_day)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(c)"
    assert "2021-01-01" in decision.reason


def test_cutoff_is_configurable() -> None:
    later = WanMatrix(CspRegion.NORTH, False, "10", "Medium", date(2026, 9, 1))
    assert decide(coverage=later, installation_date=date(2026, 4, 1)).action is InstallAction.ABORT
    decision = decide(coverage=later, installation_date=date(2026, 4, 1), cutoff_date=date(2027, 1, 1))
    assert decision.action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE


# ---- SLC 49.9: the exception ends when the database shows the WAN available --------------------------------------

@pytest.mark.parametrize("install", [WAN_FROM, WAN_FROM + timedelta(days=10)])
def test_exception_ends_on_the_wan_date(install) -> None:
    decision = decide(installation_date=install)
    assert decision.action is InstallAction.INSTALL_COMMISSION and decision.clause == "SLC 49.9"


def test_a_later_check_showing_the_wan_available_ends_the_exception() -> None:
    fresh = CoverageCheck(date(2020, 3, 30), WanMatrix(CspRegion.NORTH, True, "10", "High"))
    decision = decide(coverage=fresh)
    assert decision.action is InstallAction.INSTALL_COMMISSION


def test_day_before_the_wan_date_is_still_proactive() -> None:
    assert decide(installation_date=WAN_FROM - timedelta(days=1)).action is InstallAction.PROACTIVE_INSTALL_AND_LEAVE


# ---- covered, and what the hub finds on site ---------------------------------------------------------------------

@pytest.mark.parametrize("signal", [True, None])
def test_covered_with_signal_or_before_the_visit_is_install_and_commission(signal) -> None:
    decision = decide(coverage=COVERED, on_site_signal=signal, meter_kind=MeterKind.OTHER)
    assert decision.action is InstallAction.INSTALL_COMMISSION
    assert decision.clause == "SLC 49.4"
    assert decision.follow_up == ("SRV 8.14.1 (CHF Install Success - SM WAN)",)


def test_covered_but_no_signal_on_site_is_reactive_install_and_leave() -> None:
    decision = decide(coverage=COVERED, on_site_signal=False)
    assert decision.action is InstallAction.REACTIVE_INSTALL_AND_LEAVE
    assert decision.clause == "SEC F7.18"
    assert decision.follow_up == ("SRV 8.14.2 (CHF Install - no SM WAN)", "DCC 90-day target (PM1.2)")
    assert decision.wan_fix_target == INSTALL + timedelta(days=90)


# ---- no premises found --------------------------------------------------------------------------------------------

def test_no_premises_found_aborts_and_points_at_the_service_management_request() -> None:
    decision = decide(coverage=NOT_FOUND)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.8(c)"
    assert "No premises found" in decision.reason
    assert any("SEC Appendix H 3.3" in step for step in decision.follow_up)


# ---- SLC 49.10: the check during the 30 days prior to the Applicable Date -----------------------------------------

APPLICABLE = date(2020, 10, 1)
AVAILABLE_THEN = WanMatrix(CspRegion.NORTH, False, "10", "Medium", WAN_FROM)  # shows WAN available on APPLICABLE


@pytest.mark.parametrize(("days_before", "inside"), [(0, False), (1, True), (29, True), (30, True), (31, False)])
def test_thirty_day_window_boundaries(days_before: int, inside: bool) -> None:
    assert within_applicable_date_window(APPLICABLE - timedelta(days=days_before), APPLICABLE) is inside


@pytest.mark.parametrize(("days_before", "action"),
                         [(29, InstallAction.PROACTIVE_INSTALL_AND_LEAVE),
                          (30, InstallAction.PROACTIVE_INSTALL_AND_LEAVE),
                          (31, InstallAction.ABORT)])
def test_applicable_date_check_day_29_30_31(days_before: int, action: InstallAction) -> None:
    check = CoverageCheck(APPLICABLE - timedelta(days=days_before), AVAILABLE_THEN)
    decision = decide(applicable_date=APPLICABLE, applicable_date_check=check)
    assert decision.action is action
    if action is InstallAction.ABORT:
        assert decision.clause == "SLC 49.10"
        assert "31 days before" in decision.reason
    else:
        assert decision.clause == "SLC 49.8" and "49.10 met" in decision.reason


def test_check_on_the_applicable_date_itself_is_not_prior_to_it() -> None:
    decision = decide(applicable_date=APPLICABLE, applicable_date_check=CoverageCheck(APPLICABLE, AVAILABLE_THEN))
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.10"


def test_applicable_date_without_a_check() -> None:
    decision = decide(applicable_date=APPLICABLE)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.10"


@pytest.mark.parametrize("answer", [NO_PLAN, NOT_FOUND,
                                    WanMatrix(CspRegion.NORTH, False, "10", "Medium", APPLICABLE + timedelta(1))])
def test_check_must_show_the_wan_available_on_the_applicable_date(answer) -> None:
    check = CoverageCheck(APPLICABLE - timedelta(days=10), answer)
    decision = decide(applicable_date=APPLICABLE, applicable_date_check=check)
    assert decision.action is InstallAction.ABORT and decision.clause == "SLC 49.10"


def test_without_an_applicable_date_the_49_10_step_is_a_follow_up() -> None:
    decision = decide()
    assert any(step.startswith("SLC 49.10") for step in decision.follow_up)
