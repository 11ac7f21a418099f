"""Qdrant's filter language as JSON, validated into the immutable tree of ``model``.

``parse_filter`` is called once per request stage; anything Qdrant would reject raises a
``FilterError`` that says where (``filter.must[0].range.gt``) and why.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Iterable
from typing import Any

from segments.filter.checks import (
    DatetimeRange,
    Match,
    MatchAny,
    MatchExcept,
    MatchPhrase,
    MatchPrefix,
    MatchText,
    MatchTextAny,
    MatchValue,
    Range,
    ValuesCount,
)
from segments.filter.geo import GeoBoundingBox, GeoPoint, GeoPolygon, GeoRadius
from segments.filter.model import (
    Condition,
    FieldCondition,
    Filter,
    FilterError,
    FilterShapeError,
    HasIdCondition,
    HasVectorCondition,
    MinShould,
    NestedCondition,
    PointId,
    SliceCondition,
)
from segments.filter.values import parse_datetime
from segments.payload_path import Path, parse_path

_MAX_ID = (1 << 64) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_MAX_U32 = (1 << 32) - 1
_FILTER_KEYS = ("must", "should", "must_not", "min_should")
_FIELD_CHECKS = (
    "match",
    "range",
    "geo_bounding_box",
    "geo_radius",
    "geo_polygon",
    "values_count",
    "is_empty",
    "is_null",
)
_MATCH_KINDS = ("value", "text", "text_any", "phrase", "prefix", "any", "except")
_RANGE_KEYS = ("gt", "gte", "lt", "lte")


def parse_filter(obj: Any) -> Filter:
    """Validate a JSON filter (``None``/``{}`` = match all) into a ``Filter``.

    Raises ``FilterError`` saying where and why for anything Qdrant would reject.
    """
    if obj is None:
        return Filter()
    return _parse_filter(obj, "filter", nested=False)


# --- JSON checks -----------------------------------------------------------------------------


def _fail(where: str, message: str) -> FilterError:
    return FilterError(f"{where}: {message}" if where else message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_object(obj: Any, where: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict:
    """Check ``obj`` is a JSON object with only ``allowed`` keys and all ``required`` ones."""
    if not isinstance(obj, dict):
        raise _fail(where, f"expected an object, got {_describe(obj)}")
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise _fail(where, f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")
    for name in required:
        if obj.get(name) is None:
            raise _fail(where, f"missing required field {name!r}")
    return obj


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "an array", dict: "an object"})
    return names.get(type(value), type(value).__name__)


def _number(obj: Any, where: str) -> float:
    if not _is_number(obj) or not math.isfinite(obj):
        got = repr(obj) if _is_number(obj) else _describe(obj)
        raise _fail(where, f"expected a finite number, got {got}")
    return float(obj)


def _uint(obj: Any, where: str, maximum: int = _MAX_ID, minimum: int = 0) -> int:
    if not _is_int(obj) or not minimum <= obj <= maximum:
        raise _fail(where, f"expected an integer in [{minimum}, {maximum}], got {obj!r}")
    return int(obj)


def _string(obj: Any, where: str) -> str:
    if not isinstance(obj, str):
        raise _fail(where, f"expected a string, got {_describe(obj)}")
    return obj


def _path(key: Any, where: str) -> Path:
    text = _string(key, where)
    try:
        return parse_path(text)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None


# --- the tree --------------------------------------------------------------------------------


def _parse_filter(obj: Any, where: str, nested: bool) -> Filter:
    data = _as_object(obj, where, _FILTER_KEYS)

    def clause(name: str) -> tuple[Condition, ...]:
        value = data.get(name)
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(
                _parse_condition(c, f"{where}.{name}[{i}]", nested) for i, c in enumerate(value)
            )
        return (_parse_condition(value, f"{where}.{name}", nested),)

    min_should = None
    if data.get("min_should") is not None:
        at = f"{where}.min_should"
        spec = _as_object(
            data["min_should"], at, ("conditions", "min_count"), ("conditions", "min_count")
        )
        if not isinstance(spec["conditions"], list):
            raise _fail(f"{at}.conditions", "expected an array of conditions")
        conditions = tuple(
            _parse_condition(c, f"{at}.conditions[{i}]", nested)
            for i, c in enumerate(spec["conditions"])
        )
        min_count = spec["min_count"]
        if not _is_int(min_count) or min_count < 1:
            raise _fail(f"{at}.min_count", f"must be an integer >= 1, got {min_count!r}")
        min_should = MinShould(conditions, int(min_count))
    return Filter(clause("must"), clause("should"), clause("must_not"), min_should)


def _parse_condition(obj: Any, where: str, nested: bool) -> Condition:
    if not isinstance(obj, dict):
        raise _fail(where, f"a condition must be an object, got {_describe(obj)}")
    if "key" in obj:
        return _parse_field_condition(obj, where)
    if "is_empty" in obj or "is_null" in obj:
        kind = "is_empty" if "is_empty" in obj else "is_null"
        _as_object(obj, where, (kind,), (kind,))
        spec = _as_object(obj[kind], f"{where}.{kind}", ("key",), ("key",))
        key = spec["key"]
        _path(key, f"{where}.{kind}.key")
        return FieldCondition(key, **{kind: True})
    if "has_id" in obj:
        _as_object(obj, where, ("has_id",), ("has_id",))
        if nested:
            raise _fail(where, "has_id is not allowed inside a nested filter")
        return HasIdCondition(_parse_ids(obj["has_id"], f"{where}.has_id"))
    if "has_vector" in obj:
        _as_object(obj, where, ("has_vector",), ("has_vector",))
        return HasVectorCondition(_string(obj["has_vector"], f"{where}.has_vector"))
    if "nested" in obj:
        _as_object(obj, where, ("nested",), ("nested",))
        at = f"{where}.nested"
        spec = _as_object(obj["nested"], at, ("key", "filter"), ("key", "filter"))
        key = _string(spec["key"], f"{at}.key")
        _path(key[:-2] if len(key) > 2 and key.endswith("[]") else key, f"{at}.key")
        return NestedCondition(key, _parse_filter(spec["filter"], f"{at}.filter", nested=True))
    if "slice" in obj:
        _as_object(obj, where, ("slice",), ("slice",))
        at = f"{where}.slice"
        spec = _as_object(obj["slice"], at, ("total", "index"), ("total", "index"))
        total = _uint(spec["total"], f"{at}.total", _MAX_U32, minimum=1)
        index = _uint(spec["index"], f"{at}.index", _MAX_U32)
        if index >= total:
            raise _fail(f"{at}.index", f"must be in [0, {total - 1}], got {index}")
        return SliceCondition(total, index)
    if set(obj) <= set(_FILTER_KEYS):
        return _parse_filter(obj, where, nested)
    raise _fail(
        where,
        f"unknown condition with fields {sorted(obj)}; expected a field condition (key), "
        "is_empty, is_null, has_id, has_vector, nested, slice or a filter",
    )


def _parse_ids(obj: Any, where: str) -> frozenset[PointId]:
    if not isinstance(obj, list):
        raise _fail(where, f"expected an array of point ids, got {_describe(obj)}")
    ids: set[PointId] = set()
    for i, value in enumerate(obj):
        if _is_int(value) and 0 <= value <= _MAX_ID:
            ids.add(int(value))
        elif isinstance(value, str) and (canonical := _canonical_uuid(value)) is not None:
            ids.add(canonical)
        else:
            raise _fail(
                f"{where}[{i}]", f"point id must be an unsigned integer or a UUID, got {value!r}"
            )
    return frozenset(ids)


def _canonical_uuid(text: str) -> str | None:
    """Canonical lower-case hyphenated form of a UUID in any textual form, else ``None``."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _parse_field_condition(obj: dict, where: str) -> FieldCondition:
    _as_object(obj, where, ("key", *_FIELD_CHECKS))
    key = obj["key"]
    _path(key, f"{where}.key")
    present = [name for name in _FIELD_CHECKS if obj.get(name) is not None]
    if not present:
        raise FilterShapeError(where, "At least one field condition must be specified")
    if len(present) > 1:
        raise _fail(where, f"only one field condition is allowed per key, got {present}")
    kind = present[0]
    at = f"{where}.{kind}"
    spec = obj[kind]
    if kind == "match":
        return FieldCondition(key, match=_parse_match(spec, at))
    if kind == "range":
        return FieldCondition(key, range=_parse_range(spec, at))
    if kind == "geo_bounding_box":
        box = _as_object(spec, at, ("top_left", "bottom_right"), ("top_left", "bottom_right"))
        return FieldCondition(
            key,
            geo_bounding_box=GeoBoundingBox(
                _parse_geo_point(box["top_left"], f"{at}.top_left"),
                _parse_geo_point(box["bottom_right"], f"{at}.bottom_right"),
            ),
        )
    if kind == "geo_radius":
        circle = _as_object(spec, at, ("center", "radius"), ("center", "radius"))
        return FieldCondition(
            key,
            geo_radius=GeoRadius(
                _parse_geo_point(circle["center"], f"{at}.center"),
                _number(circle["radius"], f"{at}.radius"),
            ),
        )
    if kind == "geo_polygon":
        return FieldCondition(key, geo_polygon=_parse_polygon(spec, at))
    if kind == "values_count":
        bounds = _as_object(spec, at, _RANGE_KEYS)
        counts = {
            name: _uint(bounds[name], f"{at}.{name}")
            for name in _RANGE_KEYS
            if bounds.get(name) is not None
        }
        return FieldCondition(key, values_count=ValuesCount(**counts))
    if not isinstance(spec, bool):
        raise _fail(at, f"expected a boolean, got {_describe(spec)}")
    return FieldCondition(key, **{kind: spec})


def _parse_match(obj: Any, where: str) -> Match:
    spec = _as_object(obj, where, _MATCH_KINDS)
    kinds = [name for name in _MATCH_KINDS if name in spec]
    if len(kinds) != 1:
        raise _fail(where, f"a match needs exactly one of {list(_MATCH_KINDS)}, got {kinds}")
    kind = kinds[0]
    value = spec[kind]
    at = f"{where}.{kind}"
    if kind == "value":
        if isinstance(value, str | bool) or (_is_int(value) and _I64_MIN <= value <= _I64_MAX):
            return MatchValue(value)
        raise _fail(at, f"expected a string, a 64-bit integer or a boolean, got {value!r}")
    if kind in ("any", "except"):
        items = _parse_any_variants(value, at)
        return MatchAny(items) if kind == "any" else MatchExcept(items)
    text = _string(value, at)
    if kind == "text":
        return MatchText(text)
    if kind == "text_any":
        return MatchTextAny(text)
    if kind == "phrase":
        return MatchPhrase(text)
    return MatchPrefix(text)


def _parse_any_variants(value: Any, where: str) -> tuple[str, ...] | tuple[int, ...]:
    if not isinstance(value, list):
        raise _fail(where, f"expected an array of strings or of integers, got {_describe(value)}")
    if all(isinstance(v, str) for v in value):
        return tuple(dict.fromkeys(value))
    if all(_is_int(v) and _I64_MIN <= v <= _I64_MAX for v in value):
        return tuple(dict.fromkeys(value))
    raise _fail(where, "expected an array of only strings or only 64-bit integers")


def _parse_range(obj: Any, where: str) -> Range | DatetimeRange:
    spec = _as_object(obj, where, _RANGE_KEYS)
    bounds = {name: spec[name] for name in _RANGE_KEYS if spec.get(name) is not None}
    if all(_is_number(v) for v in bounds.values()):
        return Range(**{name: _number(v, f"{where}.{name}") for name, v in bounds.items()})
    if all(isinstance(v, str) for v in bounds.values()):
        for name, v in bounds.items():
            if parse_datetime(v) is None:
                raise _fail(f"{where}.{name}", f"not a valid datetime: {v!r}")
        return DatetimeRange(**bounds)
    raise _fail(where, "range bounds must be all numbers or all datetime strings")


def _parse_geo_point(obj: Any, where: str) -> GeoPoint:
    spec = _as_object(obj, where, ("lon", "lat"), ("lon", "lat"))
    lon = _number(spec["lon"], f"{where}.lon")
    lat = _number(spec["lat"], f"{where}.lat")
    if not -180.0 <= lon <= 180.0:
        raise _fail(f"{where}.lon", f"longitude must be in [-180, 180], got {lon}")
    if not -90.0 <= lat <= 90.0:
        raise _fail(f"{where}.lat", f"latitude must be in [-90, 90], got {lat}")
    return GeoPoint(lon, lat)


def _parse_ring(obj: Any, where: str) -> tuple[GeoPoint, ...]:
    spec = _as_object(obj, where, ("points",), ("points",))
    if not isinstance(spec["points"], list):
        raise _fail(f"{where}.points", "expected an array of geo points")
    points = tuple(
        _parse_geo_point(p, f"{where}.points[{i}]") for i, p in enumerate(spec["points"])
    )
    if len(points) < 4:
        raise _fail(where, f"a polygon ring needs at least 4 points, got {len(points)}")
    first, last = points[0], points[-1]
    eps = sys.float_info.epsilon
    if abs(first.lon - last.lon) > eps or abs(first.lat - last.lat) > eps:
        raise _fail(where, "a polygon ring must be closed: the first and last points must be equal")
    return points


def _parse_polygon(obj: Any, where: str) -> GeoPolygon:
    spec = _as_object(obj, where, ("exterior", "interiors"), ("exterior",))
    exterior = _parse_ring(spec["exterior"], f"{where}.exterior")
    interiors: tuple[tuple[GeoPoint, ...], ...] = ()
    if spec.get("interiors") is not None:
        if not isinstance(spec["interiors"], list):
            raise _fail(f"{where}.interiors", "expected an array of rings")
        interiors = tuple(
            _parse_ring(r, f"{where}.interiors[{i}]") for i, r in enumerate(spec["interiors"])
        )
    return GeoPolygon(exterior, interiors)
