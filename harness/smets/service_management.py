"""SEC Appendix H 3.3: a Service Management Service Request for SM WAN coverage by latitude/longitude.

Seed (MP097, Annex A), Appendix H 3.3: "Where a Party requires SM WAN coverage information for an Installation
Location where there is no associated postcode in DCC Systems, the Party may raise a Service Management Service
Request with the DCC, and in so doing shall provide the geographic latitude and longitude, for the Installation
Location. The DCC shall resolve the Service Management Service Request by providing SM WAN coverage information
for the Installation Location to the Party which raised the matter, and by additionally allocating the
Installation Location to a Region."

MP097 (seed §1, §3) extends who may ask: also "where a postcode has been issued or where a partial postcode exists
but has not been updated in the SM WAN Coverage Checker". The switch `sec_version` lets a lab run both texts:

  pre-MP097   allowed only when DCC Systems hold no postcode for the location: none given, or neither the
              postcode nor its outcode is in the database (seed §2: with a postcode or outcode the DCC answers
              "No premises found" and the Supplier "is unable to raise a Service Management Service Request").
  post-MP097  also allowed when the postcode or outcode is in DCC Systems but the database does not know the
              premises ("No premises found").
  both        refused when the database already knows the premises: SR 12.1 answers it (Appendix H 3.2(b)).

MODEL [U]: the time the DCC takes to resolve the request (DEFAULT_RESOLUTION_TIME) and the answer for a location
no CSP prediction covers; both configurable, see docs/coverage-mp097.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from harness.errors import DomainError, InputError
from harness.smets.clock import Clock, VirtualClock
from harness.smets.coverage import CoverageDatabase, CspRegion, NoPremisesFound, WanMatrix, parse_uprn
from harness.smets.gb_regions import DEFAULT_REGION_MAP, RegionRule, allocate_region, require_great_britain
from harness.smets.postcode import Outcode, Postcode, parse_outcode, parse_postcode

# Seed §6: implementation date of the February 2020 SEC Release that carried MP097.
MP097_EFFECTIVE_DATE = date(2020, 2, 27)
DEFAULT_RESOLUTION_TIME = timedelta(days=5)  # MODEL [U]: no resolution target for this request in our sources

CLAUSE_H3_3 = "SEC Appendix H 3.3"
CLAUSE_H3_3_MP097 = "SEC Appendix H 3.3 (as amended by MP097)"
CLAUSE_H3_3_PRE = "SEC Appendix H 3.3 (before MP097)"
CLAUSE_H3_2B = "SEC Appendix H 3.2(b)"


class SecVersion(StrEnum):
    PRE_MP097 = "pre-MP097"
    POST_MP097 = "post-MP097"
    BY_DATE = "by-date"  # whichever text was in force on the clock's date (MP097_EFFECTIVE_DATE)


def parse_sec_version(value: SecVersion | str | bool) -> SecVersion:
    """`True` means MP097 applies (post-MP097), `False` the text before it."""
    if isinstance(value, bool):
        return SecVersion.POST_MP097 if value else SecVersion.PRE_MP097
    for version in SecVersion:
        if isinstance(value, str) and value.strip().lower() == version.value.lower():
            return version
    raise InputError(f"SEC version {value!r} is not one of {', '.join(v.value for v in SecVersion)}",
                     where="sec_version")


def sec_version_on(day: date) -> SecVersion:
    return SecVersion.POST_MP097 if day >= MP097_EFFECTIVE_DATE else SecVersion.PRE_MP097


@dataclass(frozen=True)
class Eligibility:
    """May this Service Management request be raised, under which clause, and why."""

    allowed: bool
    clause: str
    reason: str
    sec_version: SecVersion


class ServiceManagementRefused(DomainError):
    """The DCC refuses a Service Management request the SEC does not allow; names the clause."""

    def __init__(self, eligibility: Eligibility) -> None:
        self.eligibility = eligibility
        self.clause = eligibility.clause
        super().__init__(f"Service Management request refused under {eligibility.clause} "
                         f"({eligibility.sec_version}): {eligibility.reason}")


class RequestState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class ServiceManagementResolution:
    """The DCC's answer (Appendix H 3.3): SM WAN coverage information plus the Region allocated."""

    reference: str
    resolved_at: datetime
    region: CspRegion
    coverage: WanMatrix  # coverage.csp_region == region
    prediction: str  # which CSP prediction answered, for the lab's evidence
    clause: str = CLAUSE_H3_3

    @property
    def csp(self) -> str:
        return self.region.csp


@dataclass
class ServiceManagementRequest:
    reference: str
    latitude: float
    longitude: float
    raised_at: datetime
    due_at: datetime
    eligibility: Eligibility
    postcode: Postcode | None = None
    outcode: Outcode | None = None
    address_identifier: str | None = None
    uprn: str | None = None
    resolution: ServiceManagementResolution | None = None
    _callbacks: list[Callable[[ServiceManagementResolution], None]] = field(default_factory=list, repr=False)

    @property
    def state(self) -> RequestState:
        return RequestState.OPEN if self.resolution is None else RequestState.RESOLVED


@dataclass(frozen=True)
class NoPrediction:
    """The answer for a location no CSP prediction covers (MODEL [U]): not available, likelihood unknown."""

    wan_technology: str = ""
    connectivity_likelihood: str = "Unknown"


class DccServiceDesk:
    """The DCC side of Appendix H 3.3 requests, on an injected clock."""

    def __init__(
        self,
        coverage_db: CoverageDatabase,
        clock: Clock | VirtualClock,
        *,
        sec_version: SecVersion | str | bool = SecVersion.POST_MP097,
        resolution_time: timedelta = DEFAULT_RESOLUTION_TIME,
        region_map: Sequence[RegionRule] = DEFAULT_REGION_MAP,
        no_prediction: NoPrediction = NoPrediction(),
    ) -> None:
        if resolution_time < timedelta(0):
            raise InputError(f"resolution time {resolution_time} is negative", where="resolution_time")
        if not hasattr(clock, "call_at"):
            raise InputError("the service desk needs a clock with timers (VirtualClock)", where="clock")
        self.coverage_db = coverage_db
        self.clock = clock
        self.sec_version = parse_sec_version(sec_version)
        self.resolution_time = resolution_time
        self.region_map = tuple(region_map)
        self.no_prediction = no_prediction
        self.requests: dict[str, ServiceManagementRequest] = {}
        self._next = 1

    def version_now(self) -> SecVersion:
        if self.sec_version is SecVersion.BY_DATE:
            return sec_version_on(self.clock.now().date())
        return self.sec_version

    # ---- may it be raised? ----------------------------------------------------------------------------------
    def eligibility(
        self,
        *,
        latitude: float,
        longitude: float,
        postcode: str | None = None,
        outcode: str | None = None,
        address_identifier: str | None = None,
        uprn: str | int | None = None,
    ) -> Eligibility:
        require_great_britain(latitude, longitude, where="Installation Location")
        pc, oc, uprn_key = _context(postcode, outcode, uprn)
        return self._eligibility(pc, oc, address_identifier, uprn_key)

    def _eligibility(self, pc: Postcode | None, oc: Outcode | None, address_identifier: str | None,
                     uprn: str | None) -> Eligibility:
        version = self.version_now()
        db, now = self.coverage_db, self.clock.now()

        def ok(clause: str, reason: str) -> Eligibility:
            return Eligibility(True, clause, reason, version)

        def no(clause: str, reason: str) -> Eligibility:
            return Eligibility(False, clause, reason, version)

        # Both texts: a premises the database knows is answered by SR 12.1, not by Service Management (H 3.2(b)).
        if uprn is not None and not isinstance(db.lookup_uprn(uprn, at=now), NoPremisesFound):
            return no(CLAUSE_H3_2B, f"the SM WAN Coverage Database knows UPRN {uprn}: use SR 12.1 Request WAN Matrix")
        if pc is not None:
            if address_identifier is not None:
                answer = db.wan_matrix(postcode=str(pc), address_identifier=address_identifier, at=now)
                if isinstance(answer, WanMatrix):
                    return no(CLAUSE_H3_2B, f"the SM WAN Coverage Database knows {address_identifier!r}, {pc}: "
                                            "use SR 12.1 Request WAN Matrix")
            elif db.knows_postcode(pc, at=now):
                return no(CLAUSE_H3_2B, f"postcode {pc} is in the SM WAN Coverage Database: use SR 12.1 Request "
                                        "WAN Matrix with the address identifier (none was given)")
            oc = pc.outcode
        if pc is None and oc is None:
            return ok(CLAUSE_H3_3, "no postcode is associated with the Installation Location")
        held = []
        if pc is not None and db.knows_postcode(pc, at=now):
            held.append(f"postcode {pc}")
        if oc is not None and db.knows_outcode(oc, at=now):
            held.append(f"outcode {oc}")
        if not held:
            code = pc if pc is not None else oc
            return ok(CLAUSE_H3_3, f"there is no associated postcode in DCC Systems ({code} and its outcode are "
                                   "unknown to the SM WAN Coverage Database)")
        # The MP097 case (seed §2): DCC Systems hold the postcode or outcode, the premises answer "No premises found".
        if version is SecVersion.PRE_MP097:
            return no(CLAUSE_H3_3_PRE, f"DCC Systems hold {' and '.join(held)}, so the location has an associated "
                                       "postcode; the coverage database answers 'No premises found' but before "
                                       "MP097 a Service Management request is only for a location with no "
                                       "postcode in DCC Systems")
        return ok(CLAUSE_H3_3_MP097, f"DCC Systems hold {' and '.join(held)} but the SM WAN Coverage Database does "
                                     "not know the premises ('No premises found')")

    # ---- raise and resolve ----------------------------------------------------------------------------------
    def raise_request(
        self,
        *,
        latitude: float,
        longitude: float,
        postcode: str | None = None,
        outcode: str | None = None,
        address_identifier: str | None = None,
        uprn: str | int | None = None,
        on_resolved: Callable[[ServiceManagementResolution], None] | None = None,
    ) -> ServiceManagementRequest:
        """Raise the request; it resolves `resolution_time` later on the clock. Refusal raises
        ServiceManagementRefused (a DomainError naming the clause)."""
        lat, lon = require_great_britain(latitude, longitude, where="Installation Location")
        pc, oc, uprn_key = _context(postcode, outcode, uprn)
        eligibility = self._eligibility(pc, oc, address_identifier, uprn_key)
        if not eligibility.allowed:
            raise ServiceManagementRefused(eligibility)
        now = self.clock.now()
        reference = f"SM-{self._next:06d}"
        self._next += 1
        request = ServiceManagementRequest(
            reference=reference, latitude=lat, longitude=lon, raised_at=now, due_at=now + self.resolution_time,
            eligibility=eligibility, postcode=pc, outcode=oc if pc is None else pc.outcode,
            address_identifier=address_identifier, uprn=uprn_key,
        )
        if on_resolved is not None:
            request._callbacks.append(on_resolved)
        self.requests[reference] = request
        self.clock.call_at(request.due_at, lambda: self._resolve(request))  # type: ignore[union-attr]
        return request

    def request(self, reference: str) -> ServiceManagementRequest:
        try:
            return self.requests[reference]
        except KeyError:
            raise InputError(f"no Service Management request {reference!r}", where="reference") from None

    def _resolve(self, request: ServiceManagementRequest) -> None:
        day = self.clock.now().date()
        region = allocate_region(request.latitude, request.longitude, self.region_map)
        area = self.coverage_db.area_prediction(request.latitude, request.longitude)
        if area is None:
            coverage = WanMatrix(region, False, self.no_prediction.wan_technology,
                                 self.no_prediction.connectivity_likelihood)
            prediction = "no CSP prediction covers this location"
        else:
            available = area.coverage_available if area.wan_available_from is None else day >= area.wan_available_from
            coverage = WanMatrix(region, available, area.wan_technology, area.connectivity_likelihood,
                                 area.wan_available_from, area.ch_wan_variant)
            prediction = area.name
        request.resolution = ServiceManagementResolution(request.reference, self.clock.now(), region, coverage,
                                                         prediction)
        for callback in request._callbacks:
            callback(request.resolution)


def _context(postcode: str | None, outcode: str | None,
             uprn: str | int | None) -> tuple[Postcode | None, Outcode | None, str | None]:
    pc = parse_postcode(postcode, where="postcode") if postcode is not None else None
    oc = parse_outcode(outcode, where="outcode") if outcode is not None else None
    if pc is not None and oc is not None and pc.outward != oc.code:
        raise InputError(f"outcode {oc} does not match postcode {pc}", where="outcode")
    for code in (pc, oc):
        if code is not None and not code.is_great_britain:
            raise InputError(f"{code} is outside Great Britain; the DCC SM WAN serves Great Britain only",
                             where="postcode")
    return pc, oc, (parse_uprn(uprn, where="UPRN") if uprn is not None else None)
