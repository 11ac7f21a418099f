"""Geo checks: bounding box, radius and polygon over payload geo points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

from segments.filter.checks import Predicate
from segments.filter.values import EARTH_RADIUS_M, geo_coords


@dataclass(frozen=True)
class GeoPoint:
    """A filter geo point (validated: lon in [-180, 180], lat in [-90, 90])."""

    lon: float
    lat: float


@dataclass(frozen=True)
class GeoBoundingBox:
    """Points strictly inside a lon/lat box; ``top_left.lon > bottom_right.lon`` wraps the
    antimeridian."""

    top_left: GeoPoint
    bottom_right: GeoPoint

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        west, north = self.top_left.lon, self.top_left.lat
        east, south = self.bottom_right.lon, self.bottom_right.lat
        wraps = west > east

        def check(x: Any) -> bool:
            coords = geo_coords(x)
            if coords is None:
                return False
            lon, lat = coords
            if not south < lat < north:
                return False
            return (lon > west or lon < east) if wraps else west < lon < east

        return check


@dataclass(frozen=True)
class GeoRadius:
    """Points closer than ``radius`` meters to ``center`` (haversine)."""

    center: GeoPoint
    radius: float

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        # haversine() with the center's terms hoisted out of the per-value loop
        lon_c, lat_c = math.radians(self.center.lon), math.radians(self.center.lat)
        cos_c, radius, diameter = math.cos(lat_c), self.radius, 2 * EARTH_RADIUS_M
        sin, asin, sqrt, rad = math.sin, math.asin, math.sqrt, math.radians

        def check(x: Any) -> bool:
            coords = geo_coords(x)
            if coords is None:
                return False
            lat = rad(coords[1])
            h = (
                sin((lat_c - lat) / 2) ** 2
                + math.cos(lat) * cos_c * sin((lon_c - rad(coords[0])) / 2) ** 2
            )
            return diameter * asin(sqrt(min(1.0, h))) < radius

        return check


Ring: TypeAlias = tuple[tuple[float, float], ...]


def _orientation(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """Exact sign of the cross product (b - a) x (p - a): >0 if p is left of a->b, 0 if on it.

    Floats decide when the result is clearly away from zero; otherwise it is recomputed with
    exact rationals, so points exactly on an edge are always recognised as such.
    """
    left = (bx - ax) * (py - ay)
    right = (by - ay) * (px - ax)
    det = left - right
    if abs(det) > 1e-14 * (abs(left) + abs(right)):
        return 1 if det > 0 else -1
    exact = (Fraction(bx) - Fraction(ax)) * (Fraction(py) - Fraction(ay)) - (
        Fraction(by) - Fraction(ay)
    ) * (Fraction(px) - Fraction(ax))
    return (exact > 0) - (exact < 0)


def _in_ring(lon: float, lat: float, ring: Ring, on_edge: bool) -> bool:
    """Even-odd ray casting over a ring (closing point dropped); ``on_edge`` is returned for
    points lying exactly on an edge."""
    inside = False
    x0, y0 = ring[-1]
    for x1, y1 in ring:
        side: int | None = None
        if (y0 <= lat <= y1 or y1 <= lat <= y0) and (x0 <= lon <= x1 or x1 <= lon <= x0):
            side = _orientation(x1, y1, x0, y0, lon, lat)
            if side == 0:
                return on_edge
        if (y1 > lat) != (y0 > lat):
            # the edge crosses the horizontal line through the point: is it to the east?
            if side is None:
                side = _orientation(x1, y1, x0, y0, lon, lat)
            if (side > 0) == (y0 > y1):
                inside = not inside
        x0, y0 = x1, y1
    return inside


@dataclass(frozen=True)
class GeoPolygon:
    """Points strictly inside the exterior ring and outside every interior ring (hole)."""

    exterior: tuple[GeoPoint, ...]
    interiors: tuple[tuple[GeoPoint, ...], ...] = ()

    def compile(self) -> Predicate:
        """Predicate over one payload value."""

        def ring(points: tuple[GeoPoint, ...]) -> Ring:
            return tuple((p.lon, p.lat) for p in points[:-1])  # rings are closed: drop the last

        outer = ring(self.exterior)
        holes = [ring(points) for points in self.interiors]
        lons = [p[0] for p in outer]
        lats = [p[1] for p in outer]
        min_lon, max_lon, min_lat, max_lat = min(lons), max(lons), min(lats), max(lats)

        def check(x: Any) -> bool:
            coords = geo_coords(x)
            if coords is None:
                return False
            lon, lat = coords
            if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
                return False
            if not _in_ring(lon, lat, outer, False):
                return False
            return not any(_in_ring(lon, lat, hole, True) for hole in holes)

        return check
