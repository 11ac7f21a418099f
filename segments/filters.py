"""Qdrant's filter language: JSON is validated into an immutable tree, evaluated with numpy.

``parse_filter`` builds the tree once per request; every payload condition is compiled into a
plain predicate then (parsed paths, sets, datetime bounds), and ``Filter.mask`` evaluates the
tree over all offsets of a segment, narrowing the offsets still undecided as it goes.
"""

from __future__ import annotations

import math
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np

from segments.payload_path import Path, getter, parse_path

if TYPE_CHECKING:
    from segments.payload_index import FieldIndex

PointId: TypeAlias = int | str
Predicate: TypeAlias = Callable[[Any], bool]

_MAX_ID = (1 << 64) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_MAX_U32 = (1 << 32) - 1


class FilterError(ValueError):
    """A filter (or part of one) that Qdrant would reject; the message says where and why."""


class FilterContext(Protocol):
    """What a segment exposes so a filter can be evaluated over all of its offsets."""

    size: int

    def payloads(self) -> Sequence[dict[str, Any] | None]:
        """Payload per offset (``None`` = no payload)."""
        ...

    def offsets_of(self, ids: Iterable[PointId]) -> np.ndarray:
        """int64 offsets of those (normalised) external ids present in this segment."""
        ...

    def vector_mask(self, name: str) -> np.ndarray | None:
        """bool[size]: offsets holding vector ``name``; ``None`` if the name is unknown."""
        ...


class IndexedContext(FilterContext, Protocol):
    """Optional extension: payload indexes that field conditions may use instead of a scan."""

    def payload_index(self, key: str) -> FieldIndex | None:
        """The index of payload field ``key``, if the context has one."""
        ...


class PointIdContext(FilterContext, Protocol):
    """Optional extension needed only by the ``slice`` condition: the id at each offset."""

    def point_ids(self, offsets: np.ndarray) -> Sequence[PointId]:
        """External ids (int or canonical UUID str) of the given offsets."""
        ...


# --- helpers for JSON validation ---------------------------------------------------------------


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


# --- datetimes ---------------------------------------------------------------------------------

_DATETIME = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{1,2})"  # a time needs hours and minutes ...
    r"(?::(\d{1,2})(?:\.(\d+))?"  # ... and seconds before it may carry a fraction or a zone
    r"(?: ?(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)| UTC)?"
    r")?)?",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> int | None:
    """Microseconds since the epoch of a Qdrant datetime string, or ``None`` if not one.

    Accepts RFC 3339 and the relaxed forms Qdrant takes: space instead of ``T``, no seconds,
    date only, ``Z``/``+HH``/``+HHMM``/``+HH:MM``/`` UTC`` zones; no zone means UTC.
    """
    m = _DATETIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac = m.groups()[:7]
    zone = m.group("zone")
    offset = 0
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(timedelta(minutes=offset)),
        )
    except ValueError:
        return None
    return (moment - _EPOCH) // _MICROSECOND


# --- value checks: one JSON value (an element of the field's values) -> bool --------------------


@dataclass(frozen=True)
class MatchValue:
    """Exact match of a keyword, integer or bool (``1`` never matches ``1.0`` or ``true``)."""

    value: str | int | bool

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        want = self.value
        if isinstance(want, bool):
            return lambda x: x is want
        kind = type(want)
        return lambda x: x.__class__ is kind and x == want


@dataclass(frozen=True)
class MatchAny:
    """Exact match of any of a list of keywords or integers."""

    any: tuple[str, ...] | tuple[int, ...]

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        wanted = frozenset(self.any)
        if not wanted:
            return lambda x: False
        kind = type(next(iter(wanted)))
        return lambda x: x.__class__ is kind and x in wanted


@dataclass(frozen=True)
class MatchExcept:
    """Any non-null value that is not one of a list of keywords or integers."""

    except_: tuple[str, ...] | tuple[int, ...]

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        banned = frozenset(self.except_)
        if not banned:
            return lambda x: x is not None
        kind = type(next(iter(banned)))
        return lambda x: x is not None and not (x.__class__ is kind and x in banned)


_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    """Qdrant's default word tokenizer used on fields without a text index (cached)."""
    return tuple(word.lower() for word in _WORD.findall(text))


@dataclass(frozen=True)
class MatchText:
    """Full-text match (no index): every query word appears as a word of the value."""

    text: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        query = frozenset(_tokens(self.text))
        if not query:
            return lambda x: False
        return lambda x: x.__class__ is str and query.issubset(_tokens(x))


@dataclass(frozen=True)
class MatchTextAny:
    """Full-text match (no index): at least one query word appears as a word of the value."""

    text_any: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        query = frozenset(_tokens(self.text_any))
        return lambda x: x.__class__ is str and not query.isdisjoint(_tokens(x))


@dataclass(frozen=True)
class MatchPhrase:
    """Phrase match (no index): the query words appear consecutively in the value."""

    phrase: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        query = _tokens(self.phrase)
        n = len(query)
        if not n:
            return lambda x: False

        def check(x: Any) -> bool:
            if x.__class__ is not str:
                return False
            words = _tokens(x)
            return any(words[i : i + n] == query for i in range(len(words) - n + 1))

        return check


@dataclass(frozen=True)
class MatchPrefix:
    """Case-sensitive prefix match of keyword values."""

    prefix: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        prefix = self.prefix
        return lambda x: x.__class__ is str and x.startswith(prefix)


Match: TypeAlias = (
    MatchValue | MatchAny | MatchExcept | MatchText | MatchTextAny | MatchPhrase | MatchPrefix
)


def _tighter(
    a: float | None, a_strict: bool, b: float | None, b_strict: bool, upper: bool
) -> tuple[float | None, bool]:
    """The tighter of two optional bounds (at equal values the strict one)."""
    if a is None:
        return b, b_strict
    if b is None or a == b:
        return a, a_strict or (b is not None and b_strict)
    return (a, a_strict) if (a < b) == upper else (b, b_strict)


def _bounds_check(
    gt: float | None, gte: float | None, lt: float | None, lte: float | None
) -> Callable[[Any], bool]:
    """One comparison closure testing a comparable value against optional bounds."""
    lo, lo_strict = _tighter(gt, True, gte, False, upper=False)
    hi, hi_strict = _tighter(lt, True, lte, False, upper=True)
    if lo is None and hi is None:
        return lambda v: True
    if hi is None:
        return (lambda v: v > lo) if lo_strict else (lambda v: v >= lo)
    if lo is None:
        return (lambda v: v < hi) if hi_strict else (lambda v: v <= hi)
    if lo_strict:
        return (lambda v: lo < v < hi) if hi_strict else (lambda v: lo < v <= hi)
    return (lambda v: lo <= v < hi) if hi_strict else (lambda v: lo <= v <= hi)


@dataclass(frozen=True)
class Range:
    """Numeric range: matches int/float payload values (never bools or datetime strings)."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        inside = _bounds_check(self.gt, self.gte, self.lt, self.lte)
        return lambda x: (x.__class__ is int or x.__class__ is float) and inside(x)


@dataclass(frozen=True)
class DatetimeRange:
    """Datetime range: matches string payload values that parse as datetimes, as instants."""

    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        bounds = [
            None if b is None else parse_datetime(b) for b in (self.gt, self.gte, self.lt, self.lte)
        ]
        inside = _bounds_check(*bounds)  # type: ignore[arg-type]

        def check(x: Any) -> bool:
            if x.__class__ is not str:
                return False
            moment = parse_datetime(x)
            return moment is not None and inside(moment)

        return check


def _geo_coords(x: Any) -> tuple[float, float] | None:
    """(lon, lat) of a payload geo point ``{"lon": .., "lat": ..}``, else ``None``."""
    if not isinstance(x, dict):
        return None
    lon, lat = x.get("lon"), x.get("lat")
    if lon.__class__ not in (int, float) or lat.__class__ not in (int, float):
        return None
    try:
        if not (math.isfinite(lon) and math.isfinite(lat)):  # type: ignore[arg-type]
            return None
    except OverflowError:  # an int too large for a float
        return None
    return float(lon), float(lat)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GeoPoint:
    """A filter geo point (validated: lon in [-180, 180], lat in [-90, 90])."""

    lon: float
    lat: float


EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius (IUGG) Qdrant uses for haversine distances, in meters."""


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in meters between two (lon, lat) points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2) - math.radians(lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


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
            coords = _geo_coords(x)
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
            coords = _geo_coords(x)
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
            coords = _geo_coords(x)
            if coords is None:
                return False
            lon, lat = coords
            if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
                return False
            if not _in_ring(lon, lat, outer, False):
                return False
            return not any(_in_ring(lon, lat, hole, True) for hole in holes)

        return check


@dataclass(frozen=True)
class ValuesCount:
    """Bounds on the number of values of a field (an array counts its elements, null is 0)."""

    lt: int | None = None
    gt: int | None = None
    gte: int | None = None
    lte: int | None = None

    def compile(self) -> Callable[[Sequence[Any]], bool]:
        """Predicate over the unflattened values found at the key."""
        inside = _bounds_check(self.gt, self.gte, self.lt, self.lte)

        def check(values: Sequence[Any]) -> bool:
            if all(v is None for v in values):
                return inside(0)
            return any(
                inside(0 if v is None else len(v) if isinstance(v, list) else 1) for v in values
            )

        return check


# --- conditions --------------------------------------------------------------------------------


class _Eval:
    """Per-call evaluation state: the context and its payloads, fetched once."""

    def __init__(self, ctx: FilterContext) -> None:
        self.ctx = ctx
        self.size = int(ctx.size)
        self._payloads: Sequence[Any] | None = None
        self._indexes: dict[str, FieldIndex | None] = {}

    @property
    def payloads(self) -> Sequence[Any]:
        if self._payloads is None:
            self._payloads = self.ctx.payloads()
        return self._payloads

    def index(self, key: str) -> FieldIndex | None:
        """The payload index the context offers for ``key`` (see ``IndexedContext``)."""
        if key not in self._indexes:
            lookup = getattr(self.ctx, "payload_index", None)
            self._indexes[key] = None if lookup is None else lookup(key)
        return self._indexes[key]


def _select(full: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """Entries of a bool[size] mask at ``idx`` (``None`` = all)."""
    return full if idx is None else full[idx]


def _narrow(idx: np.ndarray | None, pos: np.ndarray) -> np.ndarray:
    """Offsets at positions ``pos`` of the offset list ``idx`` (``None`` = all offsets)."""
    return pos if idx is None else idx[pos]


def _payload_mask(pred: Predicate, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
    """Evaluate a payload predicate over the offsets ``idx`` (``None`` = all) in one pass."""
    payloads = ev.payloads
    if idx is None:
        return np.fromiter(map(pred, islice(payloads, ev.size)), dtype=bool, count=ev.size)
    return np.fromiter((pred(payloads[i]) for i in idx.tolist()), dtype=bool, count=len(idx))


def _is_empty_value(value: Any) -> bool:
    return value is None or (isinstance(value, list) and not value)


def _is_null_value(value: Any) -> bool:
    return value is None or (isinstance(value, list) and any(v is None for v in value))


@dataclass(frozen=True)
class FieldCondition:
    """A condition on the payload values at ``key``; exactly one check is set.

    ``is_empty``: no values, or only nulls/empty arrays. ``is_null``: some value is null or an
    array holding a null. Match/range/geo: some (array-flattened) value passes.
    """

    key: str
    match: Match | None = None
    range: Range | DatetimeRange | None = None
    geo_bounding_box: GeoBoundingBox | None = None
    geo_radius: GeoRadius | None = None
    geo_polygon: GeoPolygon | None = None
    values_count: ValuesCount | None = None
    is_empty: bool | None = None
    is_null: bool | None = None
    _pred: Predicate = field(init=False, repr=False, compare=False)

    cost = 2

    def __post_init__(self) -> None:
        checks = (
            self.match,
            self.range,
            self.geo_bounding_box,
            self.geo_radius,
            self.geo_polygon,
            self.values_count,
            self.is_empty,
            self.is_null,
        )
        if sum(check is not None for check in checks) != 1:
            raise FilterError(f"field condition on {self.key!r} needs exactly one check")
        object.__setattr__(self, "_pred", self._compile())

    def _compile(self) -> Predicate:
        path = parse_path(self.key)
        if self.values_count is not None:
            get_all = getter(path, flat=False)
            count_ok = self.values_count.compile()
            return lambda p: count_ok(get_all(p))
        if self.is_empty is not None:
            get_all, want = getter(path, flat=False), self.is_empty
            return lambda p: all(map(_is_empty_value, get_all(p))) is want
        if self.is_null is not None:
            get_all, want = getter(path, flat=False), self.is_null
            return lambda p: any(map(_is_null_value, get_all(p))) is want
        spec = self.match or self.range or self.geo_bounding_box or self.geo_radius
        check = (spec or self.geo_polygon).compile()  # type: ignore[union-attr]
        get = getter(path)
        return lambda p: any(map(check, get(p)))

    def _eval(self, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
        index = ev.index(self.key)
        found = None if index is None else index.answer(self, ev.size)
        if found is None:
            return _payload_mask(self._pred, ev, idx)
        mask = found.mask
        if len(found.rescan):
            rescan = np.unique(found.rescan)
            mask[rescan] = _payload_mask(self._pred, ev, rescan)
        return _select(mask, idx)

    def _test(self, payload: Any) -> bool:
        return self._pred(payload)


@dataclass(frozen=True)
class HasIdCondition:
    """Points whose external id is one of ``ids`` (ints or canonical UUID strings)."""

    ids: frozenset[PointId]

    cost = 0

    def _eval(self, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
        full = np.zeros(ev.size, dtype=bool)
        offsets = np.asarray(ev.ctx.offsets_of(self.ids), dtype=np.int64)
        full[offsets[offsets < ev.size]] = True
        return _select(full, idx)

    def _test(self, payload: Any) -> bool:
        return False  # has_id is rejected inside nested filters, the only payload-only context


@dataclass(frozen=True)
class HasVectorCondition:
    """Points holding the named vector (``""`` = the default one); unknown names match none."""

    has_vector: str

    cost = 0

    def _eval(self, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
        full = np.zeros(ev.size, dtype=bool)
        present = ev.ctx.vector_mask(self.has_vector)
        if present is not None:
            present = np.asarray(present, dtype=bool)[: ev.size]
            full[: len(present)] = present
        return _select(full, idx)

    def _test(self, payload: Any) -> bool:
        return False  # array elements in a nested filter have no vectors


_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def _rotl(x: np.ndarray, bits: int) -> np.ndarray:
    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


def siphash24_words(words: Sequence[np.ndarray]) -> np.ndarray:
    """SipHash-2-4 with a zero key of messages made of 8-byte little-endian words, vectorised:
    ``words[k][i]`` is word ``k`` of message ``i``; all messages are ``8 * len(words)`` long."""
    n = len(words[0]) if words else 0
    v0, v1, v2, v3 = (np.full(n, c, dtype=np.uint64) for c in _SIP_INIT)

    def sip_round() -> None:
        nonlocal v0, v1, v2, v3
        v0 = v0 + v1
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = v2 + v3
        v3 = _rotl(v3, 16) ^ v2
        v0 = v0 + v3
        v3 = _rotl(v3, 21) ^ v0
        v2 = v2 + v1
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)

    last = np.full(n, (8 * len(words) & 0xFF) << 56, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for block in [*words, last]:
            v3 = v3 ^ block
            sip_round()
            sip_round()
            v0 = v0 ^ block
        v2 = v2 ^ np.uint64(0xFF)
        for _ in range(4):
            sip_round()
    return v0 ^ v1 ^ v2 ^ v3


def id_slices(ids: Sequence[PointId], total: int) -> np.ndarray:
    """Slice index (``siphash(id bytes) % total``) of each id: 8 LE bytes for ints, the 16
    RFC 4122 bytes for UUIDs."""
    out = np.zeros(len(ids), dtype=np.int64)
    num_pos = [i for i, pid in enumerate(ids) if isinstance(pid, int)]
    uuid_pos = [i for i, pid in enumerate(ids) if not isinstance(pid, int)]
    if num_pos:
        nums = np.array([ids[i] for i in num_pos], dtype=np.uint64)
        out[num_pos] = (siphash24_words([nums]) % np.uint64(total)).astype(np.int64)
    if uuid_pos:
        raw = b"".join(uuid.UUID(str(ids[i])).bytes for i in uuid_pos)
        halves = np.frombuffer(raw, dtype="<u8").reshape(-1, 2).astype(np.uint64)
        hashed = siphash24_words([halves[:, 0].copy(), halves[:, 1].copy()])
        out[uuid_pos] = (hashed % np.uint64(total)).astype(np.int64)
    return out


@dataclass(frozen=True)
class SliceCondition:
    """Points in slice ``index`` of ``total`` deterministic slices of the id space.

    Needs a context with ``point_ids`` (see ``PointIdContext``); never matches inside nested.
    """

    total: int
    index: int

    cost = 1

    def _eval(self, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
        point_ids = getattr(ev.ctx, "point_ids", None)
        if point_ids is None:
            raise FilterError("the slice condition is not supported here: ids are unavailable")
        offsets = np.arange(ev.size, dtype=np.int64) if idx is None else idx
        if len(offsets) == 0:
            return np.zeros(0, dtype=bool)
        return id_slices(list(point_ids(offsets)), self.total) == self.index  # type: ignore[no-any-return]

    def _test(self, payload: Any) -> bool:
        return False


@dataclass(frozen=True)
class NestedCondition:
    """Points where some object element of the array at ``key`` satisfies ``filter`` alone."""

    key: str
    filter: Filter
    _pred: Predicate = field(init=False, repr=False, compare=False)

    cost = 3

    def __post_init__(self) -> None:
        key = self.key[:-2] if len(self.key) > 2 and self.key.endswith("[]") else self.key
        get_all = getter(parse_path(key), flat=False)
        inner = self.filter._pred

        def pred(payload: Any) -> bool:
            for value in get_all(payload):
                if isinstance(value, list):
                    for element in value:
                        if isinstance(element, dict) and inner(element):
                            return True
            return False

        object.__setattr__(self, "_pred", pred)

    def _eval(self, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
        return _payload_mask(self._pred, ev, idx)

    def _test(self, payload: Any) -> bool:
        return self._pred(payload)


@dataclass(frozen=True)
class MinShould:
    """At least ``min_count`` of ``conditions`` must match."""

    conditions: tuple[Condition, ...]
    min_count: int


@dataclass(frozen=True)
class Filter:
    """A boolean combination of conditions; the empty filter matches every point.

    ``must``: all match; ``must_not``: none matches; ``should``: at least one matches (when
    non-empty); ``min_should``: at least ``min_count`` match. Empty lists impose nothing.
    """

    must: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()
    min_should: MinShould | None = None
    _pred: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pred", self._compile())

    def _compile(self) -> Predicate:
        """The payload-only evaluation as one closure (used per array element by nested)."""
        must = tuple(c._test for c in self.must)
        must_not = tuple(c._test for c in self.must_not)
        should = tuple(c._test for c in self.should)
        min_tests = tuple(c._test for c in self.min_should.conditions) if self.min_should else ()
        min_count = self.min_should.min_count if self.min_should else 0
        if len(must) == 1 and not (must_not or should or self.min_should):
            return must[0]

        def pred(payload: Any) -> bool:
            for test in must:
                if not test(payload):
                    return False
            for test in must_not:
                if test(payload):
                    return False
            if should and not any(test(payload) for test in should):
                return False
            if min_count and sum(1 for test in min_tests if test(payload)) < min_count:
                return False
            return True

        return pred

    @property
    def cost(self) -> int:
        """Rough evaluation cost, used to run cheap conditions (ids, vectors) first."""
        children = [*self.must, *self.should, *self.must_not]
        if self.min_should is not None:
            children.extend(self.min_should.conditions)
        return max((c.cost for c in children), default=0)

    def field_keys(self) -> set[str]:
        """Payload keys the filter's field conditions look at (nested ones as ``a[].b``), so
        the collection can notice keys filtered on often without an index."""
        keys: set[str] = set()
        children = [*self.must, *self.should, *self.must_not]
        if self.min_should is not None:
            children.extend(self.min_should.conditions)
        for cond in children:
            if isinstance(cond, FieldCondition):
                keys.add(cond.key)
            elif isinstance(cond, Filter):
                keys |= cond.field_keys()
            elif isinstance(cond, NestedCondition):
                base = cond.key if cond.key.endswith("[]") else cond.key + "[]"
                keys |= {f"{base}.{k}" for k in cond.filter.field_keys()}
        return keys

    @property
    def is_empty(self) -> bool:
        """True if the filter has no conditions at all (it matches everything)."""
        return not (self.must or self.should or self.must_not or self.min_should)

    def mask(self, ctx: FilterContext) -> np.ndarray:
        """bool[ctx.size]: which offsets match (deleted points are the caller's business)."""
        ev = _Eval(ctx)
        if self.is_empty:
            return np.ones(ev.size, dtype=bool)
        return self._eval(ev, None)

    def estimate(self, ctx: FilterContext) -> int:
        """An upper estimate of the offsets that match, from the context's payload indexes
        (``ctx.size`` where nothing is known); deleted points are the caller's business."""
        return _estimate(self, _Eval(ctx))

    def matches_payload(self, payload: dict[str, Any] | None) -> bool:
        """Evaluate against a lone payload (id/vector/slice conditions never match)."""
        return self._test(payload)

    def _eval(self, ev: _Eval, idx: np.ndarray | None) -> np.ndarray:
        n = ev.size if idx is None else len(idx)
        result = np.ones(n, dtype=bool)

        def alive() -> np.ndarray | None:
            pos = np.flatnonzero(result)
            return pos if len(pos) else None

        for cond in _by_cost(self.must):
            pos = alive()
            if pos is None:
                return result
            if len(pos) == n:
                result &= cond._eval(ev, idx)
            else:
                result[pos] = cond._eval(ev, _narrow(idx, pos))
        for cond in _by_cost(self.must_not):
            pos = alive()
            if pos is None:
                return result
            result[pos] = ~cond._eval(ev, _narrow(idx, pos))
        if self.should:
            pos = alive()
            if pos is None:
                return result
            found = np.zeros(len(pos), dtype=bool)
            for cond in _by_cost(self.should):
                rest = np.flatnonzero(~found)
                if not len(rest):
                    break
                found[rest] = cond._eval(ev, _narrow(idx, pos[rest]))
            result[pos] = found
        if self.min_should is not None:
            pos = alive()
            if pos is None:
                return result
            need = self.min_should.min_count
            conds = _by_cost(self.min_should.conditions)
            counts = np.zeros(len(pos), dtype=np.int64)
            for left, cond in zip(range(len(conds), 0, -1), conds, strict=True):
                undecided = np.flatnonzero((counts < need) & (counts + left >= need))
                if not len(undecided):
                    break
                counts[undecided] += cond._eval(ev, _narrow(idx, pos[undecided]))
            result[pos] = counts >= need
        return result

    def _test(self, payload: Any) -> bool:
        return self._pred(payload)


Condition: TypeAlias = (
    FieldCondition | HasIdCondition | HasVectorCondition | SliceCondition | NestedCondition | Filter
)


def _estimate(cond: Condition, ev: _Eval) -> int:
    """Upper bound on the offsets ``cond`` matches (see ``Filter.estimate``)."""
    size = ev.size
    if isinstance(cond, FieldCondition):
        index = ev.index(cond.key)
        found = None if index is None else index.estimate(cond, size)
        return size if found is None else min(size, found)
    if isinstance(cond, HasIdCondition):
        return min(size, len(ev.ctx.offsets_of(cond.ids)))
    if isinstance(cond, HasVectorCondition):
        present = ev.ctx.vector_mask(cond.has_vector)
        return 0 if present is None else int(np.count_nonzero(np.asarray(present)[:size]))
    if not isinstance(cond, Filter):
        return size  # slice and nested conditions: unknown
    bound = size
    for sub in cond.must:
        bound = min(bound, _estimate(sub, ev))
    if cond.should:
        bound = min(bound, sum(_estimate(sub, ev) for sub in cond.should))
    if cond.min_should is not None:
        # every match is counted by at least min_count of the conditions' own estimates
        total = sum(_estimate(sub, ev) for sub in cond.min_should.conditions)
        bound = min(bound, total // cond.min_should.min_count)
    return bound


def _by_cost(conditions: tuple[Condition, ...]) -> list[Condition]:
    """Cheapest conditions first (stable), so id/vector checks narrow the payload scans."""
    return sorted(conditions, key=lambda c: c.cost)


# --- parsing -----------------------------------------------------------------------------------

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
        raise _fail(where, f"at least one field condition must be specified: {list(_FIELD_CHECKS)}")
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
