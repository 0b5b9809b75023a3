"""Install, install-and-leave or abort: the Supply Licence conditions the MP097 seed quotes (SLC 49.8-49.10).

Quoted in the seed (§2, "Proactive Install and Leave"):
  49.8  The 49.4 obligations do not apply where (a)(i) the licensee installs or arranges the Smart Metering
        System and (a)(ii) it meets a SMETS Version whose Principal Version number is not 1; (b) the meter is
        (i) a New Electricity Meter or (ii) a Mandatory Replacement Electricity Meter; and (c) the SM WAN Coverage
        Database indicates that the SM WAN is not (or will not be) available on the Installation Date but will be
        available on a date prior to 1 January 2021.
  49.9  The 49.8 exception applies only until the date from which the SM WAN is available (per the database).
  49.10 Where 49.8 applies, the licensee shall not take the 49.4(c) steps unless it ascertains, at any time
        during the 30 days prior to the Applicable Date, that the database indicates the SM WAN is (or will be)
        available on the Applicable Date.
Reactive install and leave (WAN expected, none on site): the Supplier checked coverage (SEC F7.18, seed §2), sends
SRV 8.14.2 and the DCC's 90-day WAN-fix target runs (domain.md §1.9, §2.2; [MP121], [PM] PM1.2).

Not in our sources, so MODELS [U] (docs/coverage-mp097.md): the text of 49.4 and of "the Applicable Date"; the
harness treats the proactive install as the "49.4(c) steps" that 49.10 gates, and takes the Applicable Date as an
input. The 1 January 2021 cutoff is configurable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from harness.errors import InputError
from harness.smets.coverage import NoPremisesFound, WanMatrix
from harness.smets.service_management import ServiceManagementResolution

DEFAULT_CUTOFF_DATE = date(2021, 1, 1)  # SLC 49.8(c): "a date that is prior to 1 January 2021"
APPLICABLE_DATE_WINDOW_DAYS = 30  # SLC 49.10: "at any time during the 30 days prior to the Applicable Date"
REACTIVE_WAN_FIX_TARGET = timedelta(days=90)  # domain.md §2.2: DCC target for reactive install and leave

CLAUSE_REACTIVE = "SEC F7.18"  # seed §2: the coverage check that lets the Supplier invoke the 90-day SLA


class MeterKind(StrEnum):
    NEW = "new"  # a New Electricity Meter, e.g. a new connection (SLC 49.8(b)(i))
    MANDATORY_REPLACEMENT = "mandatory_replacement"  # SLC 49.8(b)(ii)
    OTHER = "other"


class InstallAction(StrEnum):
    PROACTIVE_INSTALL_AND_LEAVE = "proactive_install_and_leave"
    REACTIVE_INSTALL_AND_LEAVE = "reactive_install_and_leave"
    INSTALL_COMMISSION = "install_commission"
    ABORT = "abort"


@dataclass(frozen=True)
class CoverageCheck:
    """What the database said, and when the Supplier asked (SR 12.1, SSI or an Appendix H 3.3 request)."""

    checked_on: date
    answer: WanMatrix | NoPremisesFound
    source: str = "SR 12.1 Request WAN Matrix"


@dataclass(frozen=True)
class InstallDecision:
    action: InstallAction
    clause: str
    reason: str
    follow_up: tuple[str, ...] = ()
    wan_expected_from: date | None = None
    wan_fix_target: date | None = None  # reactive: installation date + 90 days


def smets_principal_version(value: str | int | float) -> int:
    """'SMETS2', 'SMETS2+', '2.0', 2 → 2; the Principal Version number SLC 49.8(a)(ii) turns on."""
    text = str(value).strip()
    match = re.fullmatch(r"(?i)(?:SMETS\s*)?v?(\d+)(?:\.\d+)*\+?", text)
    if isinstance(value, bool) or not match:
        raise InputError(f"SMETS version {value!r} is not a version such as 'SMETS2', '2' or '2.0'",
                         where="smets_version")
    return int(match.group(1))


def within_applicable_date_window(checked_on: date, applicable_date: date) -> bool:
    """SLC 49.10: was the check made "at any time during the 30 days prior to the Applicable Date"?

    Read as the 30 calendar days D-30 .. D-1: 30 days before counts, 31 does not, and the Applicable Date itself
    is not "prior to" it.
    """
    days_before = (applicable_date - checked_on).days
    return 1 <= days_before <= APPLICABLE_DATE_WINDOW_DAYS


def _as_check(coverage: WanMatrix | NoPremisesFound | CoverageCheck | ServiceManagementResolution,
              installation_date: date) -> CoverageCheck:
    if isinstance(coverage, CoverageCheck):
        return coverage
    if isinstance(coverage, ServiceManagementResolution):
        return CoverageCheck(coverage.resolved_at.date(), coverage.coverage,
                             f"Service Management request {coverage.reference} ({coverage.clause})")
    if isinstance(coverage, (WanMatrix, NoPremisesFound)):
        return CoverageCheck(installation_date, coverage)
    raise InputError(f"coverage {coverage!r} is not a coverage database answer", where="coverage")


def decide_install(
    *,
    meter_kind: MeterKind | str,
    smets_version: str | int | float,
    coverage: WanMatrix | NoPremisesFound | CoverageCheck | ServiceManagementResolution,
    installation_date: date,
    on_site_signal: bool | None = None,
    cutoff_date: date = DEFAULT_CUTOFF_DATE,
    applicable_date: date | None = None,
    applicable_date_check: CoverageCheck | None = None,
    installed_by_licensee: bool = True,
) -> InstallDecision:
    """Decide what the installer may do at the premises and name the clause that justifies it.

    `coverage` is what the database said for the Installation Date. `on_site_signal` is what the CH found on
    site (None: not yet known, i.e. the pre-visit decision). `applicable_date` (+ `applicable_date_check`) turns
    on the SLC 49.10 gate for proactive install and leave.
    """
    try:
        kind = MeterKind(meter_kind)
    except ValueError:
        raise InputError(f"meter kind {meter_kind!r} is not one of {', '.join(k.value for k in MeterKind)}",
                         where="meter_kind") from None
    principal = smets_principal_version(smets_version)
    check = _as_check(coverage, installation_date)
    answer = check.answer

    if isinstance(answer, NoPremisesFound):
        # Seed §2: with "No premises found" the DCC cannot tell the Supplier there is WAN, so the job is aborted;
        # MP097 lets the Supplier ask by latitude/longitude instead.
        return InstallDecision(
            InstallAction.ABORT, "SLC 49.8(c)",
            f"the SM WAN Coverage Database gave no answer for the premises ({answer.reason}), so it indicates "
            "neither SM WAN availability on the Installation Date nor a date it will be available; the coverage "
            "check (SEC F7.18) is not met",
            ("raise a Service Management request with latitude/longitude (SEC Appendix H 3.3, as amended by MP097)",),
        )

    if answer.available_on(installation_date):
        exception_ended = answer.wan_available_from is not None
        clause = "SLC 49.9" if exception_ended else "SLC 49.4"
        why = (f"the database shows the SM WAN available from {answer.wan_available_from}, on or before the "
               f"Installation Date {installation_date}, so the 49.8 exception no longer applies (49.9)"
               if exception_ended else "the database shows the SM WAN available on the Installation Date, so the "
                                       "49.8 exception does not apply")
        if on_site_signal is False:
            return InstallDecision(
                InstallAction.REACTIVE_INSTALL_AND_LEAVE, CLAUSE_REACTIVE,
                f"{why}, but the Communications Hub finds no SM WAN signal on site: reactive install and leave; "
                f"coverage was checked first ({check.source}, {check.checked_on}), so the DCC's 90-day WAN-fix "
                "target applies",
                ("SRV 8.14.2 (CHF Install - no SM WAN)", "DCC 90-day target (PM1.2)"),
                wan_fix_target=installation_date + REACTIVE_WAN_FIX_TARGET,
            )
        note = "" if on_site_signal else (" (if the hub then finds no signal on site, it becomes reactive install "
                                          "and leave)")
        return InstallDecision(
            InstallAction.INSTALL_COMMISSION, clause,
            f"{why}: install and commission{note}",
            ("SRV 8.14.1 (CHF Install Success - SM WAN)",),
            wan_expected_from=answer.wan_available_from,
        )

    # The database says: no SM WAN on the Installation Date. Only SLC 49.8 allows installing anyway.
    def abort(clause: str, why: str) -> InstallDecision:
        return InstallDecision(InstallAction.ABORT, clause,
                               f"{why}; the database shows no SM WAN on the Installation Date {installation_date}, "
                               "so proactive install and leave is not allowed", ())

    if not installed_by_licensee:
        return abort("SLC 49.8(a)(i)", "the Smart Metering System is not installed or arranged by the licensee")
    if principal == 1:
        return abort("SLC 49.8(a)(ii)", f"SMETS version {smets_version!r} has Principal Version number 1")
    if kind is MeterKind.OTHER:
        return abort("SLC 49.8(b)", "the meter is neither a New nor a Mandatory Replacement Electricity Meter")
    if answer.wan_available_from is None:
        return abort("SLC 49.8(c)", "the database gives no date from which the SM WAN will be available")
    if not answer.wan_available_from < cutoff_date:
        return abort("SLC 49.8(c)", f"the database shows the SM WAN available only from {answer.wan_available_from}, "
                                    f"not before the cutoff {cutoff_date}")

    follow_up = ["SRV 8.14.2 (CHF Install - no SM WAN)",
                 f"commission when the SM WAN arrives ({answer.wan_available_from}); the exception ends then "
                 "(SLC 49.9)",
                 "proactive WAN-fix may take longer than the DCC 90-day target"]
    gate = ""
    if applicable_date is not None:
        if applicable_date_check is None:
            return InstallDecision(InstallAction.ABORT, "SLC 49.10",
                                   f"no coverage check during the {APPLICABLE_DATE_WINDOW_DAYS} days prior to the "
                                   f"Applicable Date {applicable_date}")
        days_before = (applicable_date - applicable_date_check.checked_on).days
        if not within_applicable_date_window(applicable_date_check.checked_on, applicable_date):
            return InstallDecision(
                InstallAction.ABORT, "SLC 49.10",
                f"the coverage check on {applicable_date_check.checked_on} is {days_before} days before the "
                f"Applicable Date {applicable_date}, not during the {APPLICABLE_DATE_WINDOW_DAYS} days prior to it")
        later = applicable_date_check.answer
        if isinstance(later, NoPremisesFound) or not later.available_on(applicable_date):
            return InstallDecision(
                InstallAction.ABORT, "SLC 49.10",
                f"the coverage check on {applicable_date_check.checked_on} does not indicate the SM WAN available on "
                f"the Applicable Date {applicable_date}")
        gate = (f"; SLC 49.10 met: the check on {applicable_date_check.checked_on} ({days_before} days before the "
                f"Applicable Date {applicable_date}) shows the SM WAN available then")
    else:
        follow_up.append(f"SLC 49.10: before the 49.4(c) steps, confirm coverage during the "
                         f"{APPLICABLE_DATE_WINDOW_DAYS} days prior to the Applicable Date")
    signal = " (the hub found a signal on site anyway: commission once it reaches the DCC)" if on_site_signal else ""
    return InstallDecision(
        InstallAction.PROACTIVE_INSTALL_AND_LEAVE, "SLC 49.8",
        f"SMETS{principal} {kind.value} meter installed by the licensee; the database shows the SM WAN not available "
        f"on the Installation Date {installation_date} but available from {answer.wan_available_from}, before "
        f"{cutoff_date}{gate}{signal}",
        tuple(follow_up),
        wan_expected_from=answer.wan_available_from,
    )
