"""Where Great Britain is, and which DCC Region a location falls in — both coarse, documented MODELS [U].

SEC Appendix H 3.3 (seed, Annex A): a Service Management request carries "the geographic latitude and
longitude for the Installation Location"; the DCC resolves it with coverage information and "by additionally
allocating the Installation Location to a Region". The DCC's own Region boundaries are not in our sources, so:

* Great Britain = a hand-drawn WGS84 polygon around the mainland (it follows the coast to within roughly
  10-30 km and takes in inshore waters, firths and the Bristol Channel) plus boxes for the inhabited island
  groups listed in GB_ISLANDS. Not GB, and named in errors: Northern Ireland (the DCC and the SEC serve GB),
  the Isle of Man and the Channel Islands (Crown Dependencies), Ireland. Uninhabited outliers (St Kilda,
  Rockall, Lundy) are outside the model. See docs/coverage-mp097.md.
* Regions = latitude bands with one exception for the East of England, first match wins (DEFAULT_REGION_MAP).
  They approximate the published North/Central/South split; they are data, so a lab can pass its own.
  The CSP per Region is domain.md §7: North = Arqiva, Central and South = Telefónica.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import InputError
from harness.smets.coverage import CspRegion

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Area:
    """A named polygon of (latitude, longitude) vertices in WGS84 degrees."""

    name: str
    vertices: tuple[LatLon, ...]

    def contains(self, latitude: float, longitude: float) -> bool:
        # Ray casting along the latitude line; at GB scale a plate carrée polygon is good enough for a coarse model.
        inside = False
        pts = self.vertices
        for (lat1, lon1), (lat2, lon2) in zip(pts, pts[1:] + pts[:1]):
            if (lat1 > latitude) != (lat2 > latitude):
                crossing = lon1 + (latitude - lat1) * (lon2 - lon1) / (lat2 - lat1)
                if longitude < crossing:
                    inside = not inside
        return inside


def box(name: str, south: float, north: float, west: float, east: float) -> Area:
    return Area(name, ((south, west), (north, west), (north, east), (south, east)))


# Clockwise from Land's End; coastal points rounded to ~0.05°. Deliberately generous seawards, never reaching
# Ireland, Northern Ireland, the Isle of Man or France.
GB_MAINLAND = Area(
    "Great Britain (mainland, with Anglesey, Skye, Mull, Islay, Arran and the Isle of Wight)",
    (
        (50.05, -5.75), (50.55, -5.05), (51.02, -4.55), (51.55, -4.35), (51.60, -5.25), (51.90, -5.35),
        (52.05, -5.10), (52.45, -4.15), (52.75, -4.80), (53.30, -4.75), (53.45, -4.40), (53.35, -3.85),
        (53.45, -3.15), (53.85, -3.10), (54.05, -3.30), (54.50, -3.70), (54.90, -3.50), (54.65, -4.35),
        (54.60, -4.90), (54.90, -5.20), (55.25, -4.90), (55.28, -5.80), (55.70, -6.55), (56.30, -6.45),
        (56.75, -6.25), (57.35, -6.65), (57.75, -6.45), (57.95, -5.45), (58.65, -5.05), (58.70, -3.35),
        (58.68, -3.00), (58.45, -3.05), (57.90, -3.75), (57.72, -1.90), (57.50, -1.65), (57.10, -2.00),
        (56.30, -2.55), (55.92, -2.10), (55.75, -1.95), (54.70, -1.10), (54.50, -0.55), (54.12, -0.05),
        (53.60, 0.18), (53.15, 0.40), (52.95, 0.45), (52.95, 1.35), (52.50, 1.80), (52.05, 1.65),
        (51.85, 1.35), (51.40, 1.50), (51.12, 1.42), (50.90, 1.00), (50.72, 0.28), (50.72, -0.80),
        (50.55, -1.30), (50.50, -2.45), (50.20, -3.65), (50.30, -4.20), (49.93, -5.22),
    ),
)

GB_ISLANDS: tuple[Area, ...] = (
    box("Outer Hebrides", 56.75, 58.55, -7.75, -6.10),
    box("Coll and Tiree", 56.45, 56.72, -7.00, -6.40),
    box("Orkney", 58.68, 59.40, -3.45, -2.35),
    box("Shetland and Fair Isle", 59.50, 60.90, -1.80, -0.70),
    box("Isles of Scilly", 49.85, 50.00, -6.45, -6.25),
)

# Checked only after the GB areas, to say why a point is refused.
NOT_GB: tuple[Area, ...] = (
    box("Northern Ireland", 54.00, 55.35, -8.20, -5.40),
    box("the Isle of Man (a Crown Dependency)", 54.03, 54.43, -4.85, -4.30),
    box("the Channel Islands (Crown Dependencies)", 49.15, 49.77, -2.70, -2.00),
    box("Ireland", 51.40, 55.45, -10.70, -5.95),
)


def check_coordinates(latitude: float, longitude: float, *, where: str | None = None) -> tuple[float, float]:
    """WGS84 degrees, finite and in range; returns them as floats."""
    out = []
    for name, value, limit in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{name} {value!r} is not a number (WGS84 decimal degrees)", where=where)
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise InputError(f"{name} {value!r} is out of range (WGS84 decimal degrees, -{limit:g} to {limit:g})",
                             where=where)
        out.append(float(value))
    return out[0], out[1]


def is_in_great_britain(latitude: float, longitude: float) -> bool:
    return GB_MAINLAND.contains(latitude, longitude) or any(a.contains(latitude, longitude) for a in GB_ISLANDS)


def require_great_britain(latitude: float, longitude: float, *, where: str | None = None) -> tuple[float, float]:
    """Validate a WGS84 location and insist it lies in Great Britain (the DCC's area); clear error otherwise."""
    lat, lon = check_coordinates(latitude, longitude, where=where)
    if is_in_great_britain(lat, lon):
        return lat, lon
    named = next((a.name for a in NOT_GB if a.contains(lat, lon)), None)
    place = f"in {named}, " if named else ""
    hint = " (latitude and longitude swapped?)" if is_in_great_britain(lon, lat) else ""
    raise InputError(
        f"location {lat:.5f}, {lon:.5f} is {place}outside Great Britain{hint}; the DCC SM WAN serves Great Britain "
        "only (coarse boundary model, docs/coverage-mp097.md)",
        where=where,
    )


@dataclass(frozen=True)
class RegionRule:
    """Locations inside this latitude/longitude box belong to `region` (first matching rule wins)."""

    region: CspRegion
    south: float = -90.0
    north: float = 90.0
    west: float = -180.0
    east: float = 180.0

    def matches(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude < self.north and self.west <= longitude < self.east


# MODEL [U]: North from the Mersey–Humber line (53.33°N) up; Central from 52.0°N, plus the East of England east of
# 0.6°W down to 51.6°N; South below. domain.md §7 gives the CSPs, not the boundaries.
DEFAULT_REGION_MAP: tuple[RegionRule, ...] = (
    RegionRule(CspRegion.NORTH, south=53.33),
    RegionRule(CspRegion.CENTRAL, south=52.0),
    RegionRule(CspRegion.CENTRAL, south=51.6, west=-0.6),
    RegionRule(CspRegion.SOUTH),
)


def allocate_region(latitude: float, longitude: float,
                    region_map: Sequence[RegionRule] = DEFAULT_REGION_MAP) -> CspRegion:
    for rule in region_map:
        if rule.matches(latitude, longitude):
            return rule.region
    raise InputError(f"the region map has no rule for {latitude:.5f}, {longitude:.5f}", where="region map")
