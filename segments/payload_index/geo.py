"""The geo index: lon/lat arrays for vectorised bounding box and radius checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from segments.filter.context import IndexAnswer
from segments.filter.geo import GeoBoundingBox, GeoPolygon, GeoRadius
from segments.filter.model import FieldCondition
from segments.filter.values import EARTH_RADIUS_M, geo_coords
from segments.payload_index.base import FieldIndex, Row, Table, answer_of

_RADIUS_SLACK_M = 1.0
"""Points this close to a radius's edge are re-checked exactly (vectorised trig may differ from
``math`` by an ulp, which near-antipodal distances magnify to centimetres)."""


class GeoIndex(FieldIndex):
    """Geo points as lon/lat arrays (one row per point value) for vectorised box/radius checks;
    polygons use the rows only to pick candidates. Out-of-range points are re-checked."""

    kind = "geo"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._rows = Table((np.float64, np.float64), self._rows_of, ordered=False,
                           every=self._vals.keys)

    def _rows_of(self, offset: int) -> list[Row]:
        return list(self._vals.get(offset, ()))

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[tuple[float, float], None] = {}
        spill = False
        for value in values:
            coords = geo_coords(value)
            if coords is None:
                continue
            if -180.0 <= coords[0] <= 180.0 and -90.0 <= coords[1] <= 90.0:
                captured[coords] = None
            else:
                spill = True
        return tuple(captured), False, spill, False

    def _index(self, offset: int, captured: Row) -> None:
        self._rows.touch(offset)

    def _unindex(self, offset: int, captured: Row) -> None:
        self._rows.touch(offset)

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        check = cond.geo_bounding_box or cond.geo_radius or cond.geo_polygon
        if check is None:
            return None
        table = self._rows.current()
        lon, lat = table.columns
        offsets = table.offsets
        spill = self._set_array(self._spill)
        if isinstance(check, GeoBoundingBox):
            west, north = check.top_left.lon, check.top_left.lat
            east, south = check.bottom_right.lon, check.bottom_right.lat
            inside = (south < lat) & (lat < north)
            if west > east:
                inside &= (lon > west) | (lon < east)
            else:
                inside &= (west < lon) & (lon < east)
            return answer_of(size, offsets[inside], rescan=spill)
        if isinstance(check, GeoRadius):
            lon_c, lat_c = math.radians(check.center.lon), math.radians(check.center.lat)
            phi = np.radians(lat)
            h = (
                np.sin((lat_c - phi) / 2) ** 2
                + np.cos(phi) * math.cos(lat_c) * np.sin((lon_c - np.radians(lon)) / 2) ** 2
            )
            dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, h)))
            slack = _RADIUS_SLACK_M + 1e-9 * check.radius
            inside = dist < check.radius - slack
            unsure = ~inside & ~(dist > check.radius + slack)  # includes NaN
            rescan = np.concatenate([offsets[unsure], spill])
            return answer_of(size, offsets[inside], rescan=rescan)
        assert isinstance(check, GeoPolygon)
        lons = [p.lon for p in check.exterior[:-1]]
        lats = [p.lat for p in check.exterior[:-1]]
        near = (
            (min(lons) <= lon) & (lon <= max(lons)) & (min(lats) <= lat) & (lat <= max(lats))
        )
        return answer_of(size, rescan=np.concatenate([offsets[near], spill]))
