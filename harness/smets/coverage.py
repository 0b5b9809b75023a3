"""The SM WAN Coverage Database, emulated from a fixture (read by harness/coverage_file.py; no I/O here).

What the real one is (domain.md §7, [PM] p.22, SEC H8.16): a CSP-run database stating, per installation
location, whether an SM WAN signal is available at the CH installation point and which CH WAN Variant to
install. The DCC makes it available through the Self Service Interface and SR 12.1 Request WAN Matrix (seed,
Annex A, SEC Appendix H 3.2). SR 12.1 answers `DSPWANMatrix{CSPRegion, CoverageAvailability, WANTechnology,
ConnectivityLikelihood}` (domain.md §1.10); the code lists are [U], so they are free text here.

The MP097 situation (seed §2): "There can be a time delay from the release of a postcode from the Royal Mail,
and the change of data in the Coverage Database", so a new-build postcode or outcode answers "No premises
found". Modelled as: a postcode (or a single premises) with a Royal Mail `released_on` date appears in the
database `database_lag` later (configurable; the sources give no figure, so the default is a model value).

Time: every lookup is "as the database stood at `at`". `at` defaults to the injected clock's now(), else to the
fixture's reference date, else to "every scheduled load done".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from harness.errors import InputError
from harness.smets.clock import Clock
from harness.smets.postcode import NON_GB_AREAS, Outcode, Postcode, parse_outcode, parse_postcode

# Model value, not from a source (seed §2 names the lag but not its length). Configurable per database and per
# postcode; docs/coverage-mp097.md.
DEFAULT_DATABASE_LAG = timedelta(days=28)

UPRN_MAX_DIGITS = 12  # a UPRN is a positive integer of up to 12 digits (GeoPlace/Ordnance Survey AddressBase) [S]


class CspRegion(StrEnum):
    """DCC Regions; the CSP serving each is from domain.md §7 ([WANAS] §5, 2016)."""

    NORTH = "North"
    CENTRAL = "Central"
    SOUTH = "South"

    @property
    def csp(self) -> str:
        # domain.md §7: North = Arqiva (long-range radio); Central and South = Telefónica (cellular plus mesh).
        return "Arqiva" if self is CspRegion.NORTH else "Telefónica"


@dataclass(frozen=True)
class WanMatrix:
    """One SR 12.1 answer (DSPWANMatrix, domain.md §1.10), as the database stood at the time asked.

    `coverage_availability` is whether the SM WAN is available at that time; `wan_available_from` is the date the
    database says it is (or will be) available from, when it gives one (licence 49.8(c)/49.9 turn on that date).
    """

    csp_region: CspRegion
    coverage_availability: bool
    wan_technology: str
    connectivity_likelihood: str
    wan_available_from: date | None = None
    ch_wan_variant: str = ""

    def available_on(self, day: date) -> bool:
        """Does this answer indicate that the SM WAN is (or will be) available on `day`?"""
        if self.wan_available_from is not None:
            return day >= self.wan_available_from
        return self.coverage_availability


@dataclass(frozen=True)
class NoPremisesFound:
    """The database does not know the premises (seed §2: "No premises found")."""

    query: str
    reason: str


@dataclass(frozen=True)
class PremisesCoverage:
    """One premises the database knows, with its answer."""

    postcode: Postcode
    address_identifier: str
    uprn: str | None
    matrix: WanMatrix


@dataclass(frozen=True)
class CoverageArea:
    """The CSPs' prediction for a place that has no premises record (used to resolve Appendix H 3.3 requests).

    A circle is a model: the real CSP propagation/survey data is not public.
    """

    name: str
    latitude: float
    longitude: float
    radius_m: float
    coverage_available: bool
    wan_available_from: date | None
    wan_technology: str
    connectivity_likelihood: str
    ch_wan_variant: str = ""

    def contains(self, latitude: float, longitude: float) -> bool:
        return distance_m(self.latitude, self.longitude, latitude, longitude) <= self.radius_m


@dataclass(frozen=True)
class _Premises:
    postcode: Postcode
    address_identifier: str  # as written in the fixture
    uprn: str | None
    csp_region: CspRegion
    coverage_available: bool
    wan_available_from: date | None
    wan_technology: str
    connectivity_likelihood: str
    ch_wan_variant: str
    released_on: date | None  # Royal Mail release of the postcode/address; None = in the database from the start
    lag: timedelta | None  # per-entry override of the database lag

    def matrix(self, day: date) -> WanMatrix:
        available = self.coverage_available if self.wan_available_from is None else day >= self.wan_available_from
        return WanMatrix(
            csp_region=self.csp_region,
            coverage_availability=available,
            wan_technology=self.wan_technology,
            connectivity_likelihood=self.connectivity_likelihood,
            wan_available_from=self.wan_available_from,
            ch_wan_variant=self.ch_wan_variant,
        )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius) — ample for a coarse coverage model."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def normalise_address_identifier(text: str) -> str:
    """Address identifiers match case-insensitively with runs of spaces collapsed ("Plot 3" == "plot  3")."""
    return " ".join(text.split()).upper()


def parse_uprn(value: object, *, where: str | None = None) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not text.isdigit() or not 1 <= len(text) <= UPRN_MAX_DIGITS or int(text) == 0:
        raise InputError(f"UPRN {value!r} is not a UPRN (a positive whole number of 1 to {UPRN_MAX_DIGITS} digits)",
                         where=where)
    return str(int(text))


class CoverageDatabase:
    """The SM WAN Coverage Database as the DCC would query it (SR 12.1, SSI, Service Management)."""

    def __init__(
        self,
        premises: Iterable[_Premises] = (),
        coverage_areas: Iterable[CoverageArea] = (),
        *,
        database_lag: timedelta = DEFAULT_DATABASE_LAG,
        clock: Clock | None = None,
        reference_date: date | None = None,
        source: str = "<coverage database>",
    ) -> None:
        if database_lag < timedelta(0):
            raise InputError(f"database lag {database_lag} is negative", where=source)
        self.database_lag = database_lag
        self.clock = clock
        self.reference_date = reference_date
        self.source = source
        self.coverage_areas: tuple[CoverageArea, ...] = tuple(coverage_areas)
        self._premises: list[_Premises] = []
        self._keys: set[tuple[str, str]] = set()
        self._by_uprn: dict[str, _Premises] = {}
        for entry in premises:
            self._add(entry)

    def with_clock(self, clock: Clock | None) -> CoverageDatabase:
        """The same database on another clock: the entries (frozen) are shared, the indexes are its own."""
        return CoverageDatabase(self._premises, self.coverage_areas, database_lag=self.database_lag, clock=clock,
                                reference_date=self.reference_date, source=self.source)

    # ---- building -------------------------------------------------------------------------------------------
    def _add(self, entry: _Premises, where: str | None = None) -> None:
        where = where or self.source
        key = (str(entry.postcode), normalise_address_identifier(entry.address_identifier))
        if key in self._keys:
            raise InputError(f"premises {entry.address_identifier!r} in postcode {key[0]} is listed twice",
                             where=where)
        if entry.uprn is not None:
            if entry.uprn in self._by_uprn:
                raise InputError(f"UPRN {entry.uprn} is listed twice", where=where)
            self._by_uprn[entry.uprn] = entry
        self._keys.add(key)
        self._premises.append(entry)

    # ---- time -----------------------------------------------------------------------------------------------
    def _day(self, at: datetime | date | None) -> date:
        if isinstance(at, datetime):
            return at.astimezone(UTC).date() if at.tzinfo else at.date()
        if isinstance(at, date):
            return at
        if self.clock is not None:
            return self.clock.now().astimezone(UTC).date()
        if self.reference_date is not None:
            return self.reference_date
        return date.max

    def loads_on(self, entry: _Premises) -> date | None:
        """The day a premises appears in the database: Royal Mail release + lag (None: always there)."""
        if entry.released_on is None:
            return None
        lag = self.database_lag if entry.lag is None else entry.lag
        return entry.released_on + lag

    def _visible(self, entry: _Premises, day: date) -> bool:
        loads = self.loads_on(entry)
        return loads is None or day >= loads

    def _visible_premises(self, day: date) -> list[_Premises]:
        return [p for p in self._premises if self._visible(p, day)]

    # ---- what DCC Systems know (SEC Appendix H 3.3 turns on this) -------------------------------------------
    def knows_postcode(self, postcode: str | Postcode, at: datetime | date | None = None) -> bool:
        pc = postcode if isinstance(postcode, Postcode) else parse_postcode(postcode)
        day = self._day(at)
        return any(p.postcode == pc for p in self._visible_premises(day))

    def knows_outcode(self, outcode: str | Outcode, at: datetime | date | None = None) -> bool:
        oc = outcode if isinstance(outcode, Outcode) else parse_outcode(outcode)
        day = self._day(at)
        return any(p.postcode.outward == oc.code for p in self._visible_premises(day))

    def scheduled_load(self, postcode: str | Postcode) -> date | None:
        """For a lab: the first day premises in a released postcode appear (None if it has no release date)."""
        pc = postcode if isinstance(postcode, Postcode) else parse_postcode(postcode)
        days = [d for p in self._premises if p.postcode == pc and (d := self.loads_on(p)) is not None]
        return min(days) if days else None

    # ---- lookups --------------------------------------------------------------------------------------------
    def wan_matrix(
        self,
        *,
        postcode: str | None = None,
        address_identifier: str | None = None,
        uprn: str | None = None,
        at: datetime | None = None,
    ) -> WanMatrix | NoPremisesFound:
        """SR 12.1 Request WAN Matrix: by UPRN, or by PartialAddress{PostCode, AddressIdentifier} (domain.md §1.10).

        Without an address identifier the postcode's answer is given when all its premises agree; when they
        differ an InputError asks for one (a model choice: the DCC rule for a bare postcode is not public).
        """
        day = self._day(at)
        if uprn is not None:
            if postcode is not None or address_identifier is not None:
                raise InputError("give either a UPRN or a postcode (+ address identifier), not both",
                                 where="RequestWANMatrix")
            found = self.lookup_uprn(uprn, at=day)
            return found if isinstance(found, NoPremisesFound) else found.matrix
        if postcode is None:
            raise InputError("a WAN matrix request needs a postcode or a UPRN", where="RequestWANMatrix")
        pc = parse_postcode(postcode, where="PostCode")
        _require_gb(pc, "PostCode")
        in_postcode = [p for p in self._visible_premises(day) if p.postcode == pc]
        query = str(pc) if address_identifier is None else f"{pc} / {address_identifier}"
        if not in_postcode:
            return NoPremisesFound(query, f"No premises found: postcode {pc} is not in the SM WAN Coverage Database")
        if address_identifier is not None:
            wanted = normalise_address_identifier(address_identifier)
            for p in in_postcode:
                if normalise_address_identifier(p.address_identifier) == wanted:
                    return p.matrix(day)
            return NoPremisesFound(
                query,
                f"No premises found: address {address_identifier!r} is not in the SM WAN Coverage Database "
                f"for postcode {pc}",
            )
        answers = {p.matrix(day) for p in in_postcode}
        if len(answers) == 1:
            return answers.pop()
        names = ", ".join(repr(p.address_identifier) for p in in_postcode)
        raise InputError(
            f"premises in postcode {pc} have different coverage; give an address identifier (one of {names})",
            where="RequestWANMatrix",
        )

    def lookup_postcode(self, postcode: str | Postcode, at: datetime | date | None = None) -> list[PremisesCoverage]:
        pc = postcode if isinstance(postcode, Postcode) else parse_postcode(postcode)
        _require_gb(pc, "postcode")
        day = self._day(at)
        return [_public(p, day) for p in self._visible_premises(day) if p.postcode == pc]

    def lookup_outcode(self, outcode: str | Outcode, at: datetime | date | None = None) -> list[PremisesCoverage]:
        """Every premises the database knows in an outcode (e.g. ``GU1``); empty = "no premises found"."""
        oc = outcode if isinstance(outcode, Outcode) else parse_outcode(outcode)
        _require_gb(oc, "outcode")
        day = self._day(at)
        return [_public(p, day) for p in self._visible_premises(day) if p.postcode.outward == oc.code]

    def lookup_uprn(self, uprn: str | int, at: datetime | date | None = None) -> PremisesCoverage | NoPremisesFound:
        key = parse_uprn(uprn, where="UPRN")
        day = self._day(at)
        entry = self._by_uprn.get(key)
        if entry is None or not self._visible(entry, day):
            return NoPremisesFound(f"UPRN {key}", f"No premises found: UPRN {key} is not in the SM WAN Coverage "
                                                  "Database")
        return _public(entry, day)

    def area_prediction(self, latitude: float, longitude: float) -> CoverageArea | None:
        """The smallest coverage area containing a point (the CSP prediction for an unlisted location)."""
        hits = [a for a in self.coverage_areas if a.contains(latitude, longitude)]
        return min(hits, key=lambda a: a.radius_m) if hits else None


def _public(entry: _Premises, day: date) -> PremisesCoverage:
    return PremisesCoverage(entry.postcode, entry.address_identifier, entry.uprn, entry.matrix(day))


def _require_gb(code: Postcode | Outcode, where: str) -> None:
    area = code.area
    if area in NON_GB_AREAS:
        raise InputError(
            f"{code} is in {NON_GB_AREAS[area]}, outside Great Britain; the DCC SM WAN serves Great Britain only",
            where=where,
        )


# ---- fixture loading --------------------------------------------------------------------------------------------

_WAN_FIELDS = ("csp_region", "coverage_available", "wan_available_from", "wan_technology",
               "connectivity_likelihood", "ch_wan_variant", "released_on", "lag_days")


def _brief(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut short: a whole wrong file must not be echoed back."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({type(value).__name__} of {len(str(value))} chars)"


@dataclass
class _FixtureReader:
    source: str

    def fail(self, where: str, message: str) -> InputError:
        return InputError(message, where=f"{self.source}: {where}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping, got {_brief(value)}")
        return value

    def sequence(self, value: Any, where: str) -> Sequence[Any]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {_brief(value)}")
        return value

    def text(self, value: Any, where: str, *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise self.fail(where, f"expected non-empty text, got {_brief(value)}")
        return str(value).strip()

    def day(self, value: Any, where: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(where, f"expected a date YYYY-MM-DD, got {_brief(value)}")

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {_brief(value)}")
        return value

    def number(self, value: Any, where: str, *, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
            raise self.fail(where, f"expected a number from {low} to {high}, got {_brief(value)}")
        return float(value)

    def region(self, value: Any, where: str) -> CspRegion:
        for region in CspRegion:
            if isinstance(value, str) and value.strip().lower() == region.value.lower():
                return region
        raise self.fail(where, f"expected one of North, Central, South, got {_brief(value)}")

    def lag(self, value: Any, where: str) -> timedelta | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, f"expected a whole number of days >= 0, got {_brief(value)}")
        return timedelta(days=value)

    def coverage(self, spec: Mapping[str, Any], where: str) -> tuple[bool, date | None]:
        """coverage_available and wan_available_from: give one of them (a date implies 'not yet, then yes')."""
        avail_from = self.day(spec.get("wan_available_from"), f"{where}.wan_available_from")
        if "coverage_available" in spec:
            available = self.boolean(spec["coverage_available"], f"{where}.coverage_available")
            if available and avail_from is not None:
                raise self.fail(f"{where}.wan_available_from",
                                "give coverage_available: true or a wan_available_from date, not both")
            return available, avail_from
        if avail_from is None:
            raise self.fail(where, "needs coverage_available (true/false) or wan_available_from (a date)")
        return False, avail_from

    def wan_answer(self, spec: Mapping[str, Any], where: str, coverage: tuple[bool, date | None]) -> dict[str, Any]:
        """The WAN fields a premises or a coverage area answers with; `coverage` is what coverage() read."""
        available, avail_from = coverage
        return {
            "coverage_available": available,
            "wan_available_from": avail_from,
            "wan_technology": self.text(spec.get("wan_technology"), f"{where}.wan_technology"),
            "connectivity_likelihood": self.text(spec.get("connectivity_likelihood"),
                                                 f"{where}.connectivity_likelihood"),
            "ch_wan_variant": self.text(spec.get("ch_wan_variant"), f"{where}.ch_wan_variant", required=False),
        }


def coverage_db_from_mapping(data: Any, *, source: str = "<coverage fixture>", clock: Clock | None = None,
                             database_lag: timedelta | None = None) -> CoverageDatabase:
    """Build a database from parsed fixture data (see fixtures/coverage_db.yaml for the format)."""
    r = _FixtureReader(source)
    top = r.mapping(data, "top level")
    unknown = set(top) - {"format", "description", "reference_date", "database_lag_days", "postcodes",
                          "coverage_areas"}
    if unknown:
        raise r.fail(sorted(unknown)[0], "unknown top-level field")
    lag = database_lag
    if lag is None:
        lag = r.lag(top.get("database_lag_days"), "database_lag_days")
    if lag is None:
        lag = DEFAULT_DATABASE_LAG
    premises: list[tuple[str, _Premises]] = []
    areas: list[CoverageArea] = []
    for i, block in enumerate(r.sequence(top.get("postcodes"), "postcodes")):
        where = f"postcodes[{i}]"
        block = r.mapping(block, where)
        extra = set(block) - {"postcode", "premises", "site", *_WAN_FIELDS}
        if extra:
            raise r.fail(f"{where}.{sorted(extra)[0]}", "unknown field")
        pc = parse_postcode(r.text(block.get("postcode"), f"{where}.postcode"), where=f"{source}: {where}.postcode")
        if not pc.is_great_britain:
            raise r.fail(f"{where}.postcode", f"{pc} is outside Great Britain; the DCC serves GB premises only")
        for j, item in enumerate(r.sequence(block.get("premises"), f"{where}.premises")):
            pwhere = f"{where}.premises[{j}]"
            item = r.mapping(item, pwhere)
            extra = set(item) - {"address_identifier", "uprn", *_WAN_FIELDS}
            if extra:
                raise r.fail(f"{pwhere}.{sorted(extra)[0]}", "unknown field")
            inherited = {k: v for k, v in block.items() if k in _WAN_FIELDS}
            if "coverage_available" in item or "wan_available_from" in item:
                # a premises-level coverage statement replaces the postcode's, it does not merge with it
                inherited.pop("coverage_available", None)
                inherited.pop("wan_available_from", None)
            merged = {**inherited, **item}
            coverage = r.coverage(merged, pwhere)
            uprn = None
            if item.get("uprn") is not None:
                uprn = parse_uprn(item["uprn"], where=f"{source}: {pwhere}.uprn")
            premises.append((pwhere, _Premises(
                postcode=pc,
                address_identifier=r.text(item.get("address_identifier"), f"{pwhere}.address_identifier"),
                uprn=uprn,
                csp_region=r.region(merged.get("csp_region"), f"{pwhere}.csp_region"),
                **r.wan_answer(merged, pwhere, coverage),
                released_on=r.day(merged.get("released_on"), f"{pwhere}.released_on"),
                lag=r.lag(merged.get("lag_days"), f"{pwhere}.lag_days"),
            )))
        if block.get("site") is not None:
            site = r.mapping(block["site"], f"{where}.site")
            extra = set(site) - {"name", "latitude", "longitude", "radius_m"}
            if extra:
                raise r.fail(f"{where}.site.{sorted(extra)[0]}", "unknown field")
            coverage = r.coverage(block, where)
            areas.append(CoverageArea(
                name=str(site.get("name") or f"site of {pc}"),
                latitude=r.number(site.get("latitude"), f"{where}.site.latitude", low=-90, high=90),
                longitude=r.number(site.get("longitude"), f"{where}.site.longitude", low=-180, high=180),
                radius_m=r.number(site.get("radius_m", 500), f"{where}.site.radius_m", low=1, high=50_000),
                **r.wan_answer(block, where, coverage),
            ))
    for i, spec in enumerate(r.sequence(top.get("coverage_areas"), "coverage_areas")):
        where = f"coverage_areas[{i}]"
        spec = r.mapping(spec, where)
        extra = set(spec) - {"name", "latitude", "longitude", "radius_m", "coverage_available", "wan_available_from",
                             "wan_technology", "connectivity_likelihood", "ch_wan_variant"}
        if extra:
            raise r.fail(f"{where}.{sorted(extra)[0]}", "unknown field")
        coverage = r.coverage(spec, where)
        areas.append(CoverageArea(
            name=r.text(spec.get("name"), f"{where}.name"),
            latitude=r.number(spec.get("latitude"), f"{where}.latitude", low=-90, high=90),
            longitude=r.number(spec.get("longitude"), f"{where}.longitude", low=-180, high=180),
            radius_m=r.number(spec.get("radius_m"), f"{where}.radius_m", low=1, high=500_000),
            **r.wan_answer(spec, where, coverage),
        ))
    from harness.smets.gb_regions import require_great_britain  # gb_regions imports this module

    for area in areas:
        require_great_britain(area.latitude, area.longitude, where=f"{source}: coverage area {area.name!r}")
    db = CoverageDatabase(
        coverage_areas=areas,
        database_lag=lag,
        clock=clock,
        reference_date=r.day(top.get("reference_date"), "reference_date"),
        source=source,
    )
    for pwhere, entry in premises:
        db._add(entry, where=f"{source}: {pwhere}")
    return db

