"""`smets2-harness coverage lookup ...`: ask the emulated SM WAN Coverage Database (MP097, issue 5).

By postcode (+ address identifier), outcode or UPRN it answers like SR 12.1 / the SSI; by latitude/longitude it
raises a SEC Appendix H 3.3 Service Management request and resolves it at once on a virtual clock.
Exit codes: 0 an answer, 1 "no premises found" or a refused request, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import harness
from harness.coverage_file import load_coverage_db
from harness.errors import InputError
from harness.smets.clock import VirtualClock
from harness.smets.coverage import (
    CoverageDatabase,
    NoPremisesFound,
    PremisesCoverage,
    WanMatrix,
    normalise_address_identifier,
)
from harness.smets.postcode import parse_outcode, parse_postcode
from harness.smets.service_management import (
    DccServiceDesk,
    SecVersion,
    ServiceManagementRefused,
    parse_sec_version,
)

DEFAULT_DB = Path(harness.__file__).resolve().parent.parent / "fixtures" / "coverage_db.yaml"
EXIT_NOT_FOUND = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("coverage", help="SM WAN Coverage Database lookups (SR 12.1, SEC Appendix H 3.3)")
    sub = parser.add_subparsers(dest="coverage_command", metavar="ACTION", required=True)
    lookup = sub.add_parser(
        "lookup",
        help="look a premises, postcode, outcode or UPRN up, or ask by latitude/longitude",
        description=(
            "Query the emulated SM WAN Coverage Database as it stood on --date. Give exactly one of --postcode, "
            "--outcode, --uprn, or --lat with --lon. With --lat/--lon a Service Management request (SEC Appendix "
            "H 3.3) is raised and resolved at once; --postcode/--outcode then say which postcode the Supplier holds "
            "for the site (this decides, under --sec-version, whether the request is allowed). "
            "Exit 0: an answer; 1: no premises found or request refused; 2: bad input."
        ),
    )
    lookup.add_argument("--postcode", metavar="P", help="full postcode, e.g. 'GU1 3QF'")
    lookup.add_argument("--address-id", metavar="A",
                        help="address identifier within --postcode (SR 12.1 AddressIdentifier)")
    lookup.add_argument("--outcode", metavar="O", help="outward code only, e.g. GU1")
    lookup.add_argument("--uprn", metavar="U", help="Unique Property Reference Number")
    lookup.add_argument("--lat", type=float, metavar="X", help="latitude, WGS84 decimal degrees (with --lon)")
    lookup.add_argument("--lon", type=float, metavar="Y", help="longitude, WGS84 decimal degrees (with --lat)")
    lookup.add_argument("--db", type=Path, default=DEFAULT_DB, metavar="FILE",
                        help="coverage database fixture, YAML or JSON (default: the shipped fixtures/coverage_db.yaml)")
    lookup.add_argument("--date", metavar="YYYY-MM-DD",
                        help="ask about the database as it stood on this day (default: the fixture's reference_date)")
    lookup.add_argument("--sec-version", default=SecVersion.POST_MP097.value,
                        choices=[v.value for v in SecVersion],
                        help="SEC Appendix H 3.3 text for --lat/--lon requests (default: post-MP097)")
    lookup.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    lookup.set_defaults(func=run_lookup)


def _matrix_json(m: WanMatrix) -> dict[str, Any]:
    return {
        "csp_region": m.csp_region.value, "csp": m.csp_region.csp, "coverage_availability": m.coverage_availability,
        "wan_technology": m.wan_technology, "ch_wan_variant": m.ch_wan_variant,
        "connectivity_likelihood": m.connectivity_likelihood,
        "wan_available_from": m.wan_available_from.isoformat() if m.wan_available_from else None,
    }


def _matrix_text(m: WanMatrix) -> str:
    cover = "SM WAN available" if m.coverage_availability else "no SM WAN"
    if m.wan_available_from and not m.coverage_availability:
        cover += f" (available from {m.wan_available_from})"
    variant = f", CH WAN variant {m.ch_wan_variant}" if m.ch_wan_variant else ""
    return (f"{m.csp_region.value} region ({m.csp_region.csp}): {cover}; WAN technology {m.wan_technology or '-'}"
            f"{variant}; connectivity likelihood {m.connectivity_likelihood}")


def _premises_json(p: PremisesCoverage) -> dict[str, Any]:
    return {"postcode": str(p.postcode), "address_identifier": p.address_identifier, "uprn": p.uprn,
            **_matrix_json(p.matrix)}


def _day(args: argparse.Namespace, db: CoverageDatabase) -> date:
    if args.date is None:
        return db.reference_date or datetime.now(UTC).date()
    try:
        return date.fromisoformat(args.date)
    except ValueError:
        raise InputError(f"{args.date!r} is not a date YYYY-MM-DD", where="--date") from None


def _not_found(args: argparse.Namespace, found: NoPremisesFound, hint: str | None = None) -> int:
    if args.json:
        print(json.dumps({"result": "no_premises_found", "query": found.query, "reason": found.reason,
                          "hint": hint}))
    else:
        print(f"{found.query}: {found.reason}")
        if hint:
            print(hint)
    return EXIT_NOT_FOUND


def run_lookup(args: argparse.Namespace) -> int:
    keys = [k for k in ("postcode", "outcode", "uprn") if getattr(args, k) is not None]
    by_location = args.lat is not None or args.lon is not None
    if by_location and (args.lat is None or args.lon is None):
        raise InputError("--lat and --lon go together", where="--lat/--lon")
    if not by_location and len(keys) != 1:
        raise InputError("give exactly one of --postcode, --outcode, --uprn, or --lat with --lon",
                         where="coverage lookup")
    if args.address_id is not None and args.postcode is None:
        raise InputError("--address-id needs --postcode", where="--address-id")
    db = load_coverage_db(args.db)
    day = _day(args, db)
    at = datetime.combine(day, time(9, 0), tzinfo=UTC)
    if by_location:
        return _by_location(args, db, at)
    hint = ("MP097: a Supplier may now raise a Service Management request with latitude/longitude "
            "(SEC Appendix H 3.3); try --lat/--lon")
    if args.uprn is not None:
        found = db.lookup_uprn(args.uprn, at=at)
        if isinstance(found, NoPremisesFound):
            return _not_found(args, found, hint)
        return _print_premises(args, [found])
    if args.outcode is not None:
        outcode = parse_outcode(args.outcode, where="--outcode")
        premises = db.lookup_outcode(outcode, at=at)
        if not premises:
            return _not_found(args, NoPremisesFound(str(outcode), f"No premises found in outcode {outcode}"), hint)
        return _print_premises(args, premises)
    postcode = parse_postcode(args.postcode, where="--postcode")
    if args.address_id is not None:
        answer = db.wan_matrix(postcode=str(postcode), address_identifier=args.address_id, at=at)
        if isinstance(answer, NoPremisesFound):
            return _not_found(args, answer, hint)
        wanted = normalise_address_identifier(args.address_id)
        premises = [p for p in db.lookup_postcode(postcode, at=at)
                    if normalise_address_identifier(p.address_identifier) == wanted]
        return _print_premises(args, premises)
    premises = db.lookup_postcode(postcode, at=at)
    if not premises:
        found = db.wan_matrix(postcode=str(postcode), at=at)
        assert isinstance(found, NoPremisesFound)
        return _not_found(args, found, hint)
    return _print_premises(args, premises)


def _print_premises(args: argparse.Namespace, premises: list[PremisesCoverage]) -> int:
    if args.json:
        print(json.dumps({"result": "premises", "premises": [_premises_json(p) for p in premises]}))
        return 0
    for p in premises:
        uprn = f" (UPRN {p.uprn})" if p.uprn else ""
        print(f"{p.postcode} / {p.address_identifier}{uprn}: {_matrix_text(p.matrix)}")
    return 0


def _by_location(args: argparse.Namespace, db: CoverageDatabase, at: datetime) -> int:
    clock = VirtualClock(at)
    desk = DccServiceDesk(db, clock, sec_version=parse_sec_version(args.sec_version))
    try:
        request = desk.raise_request(latitude=args.lat, longitude=args.lon, postcode=args.postcode,
                                     outcode=args.outcode, uprn=args.uprn, address_identifier=args.address_id)
    except ServiceManagementRefused as refused:
        if args.json:
            print(json.dumps({"result": "refused", "clause": refused.clause,
                              "sec_version": refused.eligibility.sec_version.value,
                              "reason": refused.eligibility.reason}))
        else:
            print(f"refused under {refused.clause} ({refused.eligibility.sec_version.value}): "
                  f"{refused.eligibility.reason}")
        return EXIT_NOT_FOUND
    clock.advance_to(request.due_at)  # resolve at once: the lab does not wait the modelled resolution time
    resolution = request.resolution
    assert resolution is not None
    if args.json:
        print(json.dumps({
            "result": "resolved", "reference": request.reference, "allowed_under": request.eligibility.clause,
            "sec_version": request.eligibility.sec_version.value, "region": resolution.region.value,
            "resolved_at": resolution.resolved_at.isoformat(), "prediction": resolution.prediction,
            **_matrix_json(resolution.coverage),
        }))
        return 0
    print(f"Service Management request {request.reference} ({request.eligibility.clause}; "
          f"{request.eligibility.sec_version.value}) resolved {resolution.resolved_at:%Y-%m-%d}")
    print(f"Installation Location {request.latitude:.5f}, {request.longitude:.5f} allocated to the "
          f"{resolution.region.value} region ({resolution.csp})")
    print(f"coverage: {_matrix_text(resolution.coverage)} [{resolution.prediction}]")
    return 0
