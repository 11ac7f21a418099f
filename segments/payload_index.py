"""Per-segment payload indexes: they accelerate filters, counts and ``order_by``, never change them.

Each index reads a field's values exactly as the unindexed filter does (``getter`` on the key:
an array at the end of the path is flattened one level) and *captures* those of its type that
it can represent exactly: strings (keyword, uuid, text), ints within int64 (integer), finite
numbers exact as float64 (float), datetime strings as microseconds (datetime), booleans, and
in-range geo points. Conditions keep Qdrant's semantics as ``segments.filters`` implements them:
a point matches if any value matches, and types never mix (``1``, ``1.0`` and ``true`` differ).
Offsets holding values an index cannot decide on are handed back as ``IndexAnswer.rescan`` and
re-checked with the condition's own predicate, so an indexed answer always equals a scan.

Indexes are updated on every write of their segment (``update``); sorted arrays absorb changed
offsets lazily, at the next read. Nothing is persisted: indexes are rebuilt from payloads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from segments.filters import (
    EARTH_RADIUS_M,
    DatetimeRange,
    FieldCondition,
    GeoBoundingBox,
    GeoPolygon,
    GeoRadius,
    MatchAny,
    MatchExcept,
    MatchPhrase,
    MatchText,
    MatchTextAny,
    MatchValue,
    Range,
    _geo_coords,
    _tokens,
    parse_datetime,
)
from segments.payload_path import getter, parse_path

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_NO_OFFSETS = np.zeros(0, dtype=np.int64)
Row = tuple[Any, ...]


@dataclass
class IndexAnswer:
    """An index's answer to a condition: ``mask`` (bool[size]) is exact except at the offsets in
    ``rescan``, which the caller re-checks with the condition's predicate."""

    mask: np.ndarray
    rescan: np.ndarray


def _offsets(items: Iterable[int], count: int) -> np.ndarray:
    """``count`` offsets as an int64 array."""
    return np.fromiter(items, dtype=np.int64, count=count)


def _answer(size: int, *hits: np.ndarray, rescan: np.ndarray = _NO_OFFSETS) -> IndexAnswer:
    """An answer matching the offsets in ``hits`` (duplicates allowed)."""
    mask = np.zeros(size, dtype=bool)
    for offs in hits:
        mask[offs] = True
    return IndexAnswer(mask, rescan)


# --- building blocks ---------------------------------------------------------------------------


class _Postings:
    """Key -> set of offsets, each set's array cached until the set changes."""

    def __init__(self) -> None:
        self.sets: dict[Any, set[int]] = {}
        self._arrays: dict[Any, np.ndarray] = {}

    def add(self, key: Any, offset: int) -> None:
        """Record that ``offset`` holds ``key``."""
        self.sets.setdefault(key, set()).add(offset)
        self._arrays.pop(key, None)

    def discard(self, key: Any, offset: int) -> None:
        """Forget that ``offset`` holds ``key``."""
        found = self.sets.get(key)
        if found is not None:
            found.discard(offset)
            if not found:
                del self.sets[key]
        self._arrays.pop(key, None)

    def count(self, key: Any) -> int:
        """How many offsets hold ``key``."""
        found = self.sets.get(key)
        return 0 if found is None else len(found)

    def array(self, key: Any) -> np.ndarray:
        """The offsets holding ``key`` as an int64 array (unordered)."""
        arr = self._arrays.get(key)
        if arr is None:
            found = self.sets.get(key)
            if not found:
                return _NO_OFFSETS
            arr = self._arrays[key] = _offsets(found, len(found))
        return arr


class _Table:
    """Rows ``(offset, *columns)`` of all points, optionally sorted by the first column (ties in
    no particular order); offsets that changed are re-read from ``source`` at the next
    ``current()``, which merges them into the rows kept."""

    def __init__(
        self, dtypes: tuple[Any, ...], source: Callable[[int], Iterable[Row]], ordered: bool
    ) -> None:
        self.dtypes = dtypes
        self.source = source
        self.ordered = ordered
        self.offsets = _NO_OFFSETS
        self.columns = [np.zeros(0, dtype=d) for d in dtypes]
        self.dirty: set[int] = set()

    def touch(self, offset: int) -> None:
        """Mark ``offset``'s rows as changed."""
        self.dirty.add(offset)

    def current(self) -> _Table:
        """Bring the rows up to date (an O(rows) numpy merge) and return the table."""
        if not self.dirty:
            return self
        dirty = _offsets(self.dirty, len(self.dirty))
        top = int(dirty.max()) + 1
        if len(self.offsets):
            top = max(top, int(self.offsets.max()) + 1)
        changed = np.zeros(top, dtype=bool)
        changed[dirty] = True
        keep = ~changed[self.offsets]
        fresh: list[Row] = [(off, *row) for off in dirty.tolist() for row in self.source(off)]
        new_offsets = np.array([r[0] for r in fresh], dtype=np.int64)
        new_columns = [
            np.array([r[i + 1] for r in fresh], dtype=dtype) for i, dtype in enumerate(self.dtypes)
        ]
        kept = [col[keep] for col in self.columns]
        if self.ordered:
            order = np.argsort(new_columns[0], kind="stable")
            at = np.searchsorted(kept[0], new_columns[0][order], side="right")
            self.offsets = np.insert(self.offsets[keep], at, new_offsets[order])
            self.columns = [
                np.insert(old, at, new[order]) for old, new in zip(kept, new_columns, strict=True)
            ]
        else:
            self.offsets = np.concatenate([self.offsets[keep], new_offsets])
            self.columns = [np.concatenate(pair) for pair in zip(kept, new_columns, strict=True)]
        self.dirty.clear()
        return self


def _lower(values: np.ndarray, bound: float, strict: bool) -> int:
    """First position in sorted ``values`` whose value is > ``bound`` (``strict``) or >= it,
    compared exactly as Python compares ints and floats."""
    if values.dtype.kind == "i":
        if isinstance(bound, float):
            target = math.floor(bound) + 1 if strict else math.ceil(bound)
        else:
            target = bound + 1 if strict else bound
        if target > _I64_MAX:
            return len(values)
        if target < _I64_MIN:
            return 0
        return int(np.searchsorted(values, np.int64(target), "left"))
    near = _nearest_float(bound)
    if near is None:
        return len(values) if bound > 0 else 0
    if near == bound:
        return int(np.searchsorted(values, near, "right" if strict else "left"))
    return int(np.searchsorted(values, near, "left" if near > bound else "right"))


def _upper(values: np.ndarray, bound: float, strict: bool) -> int:
    """One past the last position in sorted ``values`` whose value is < ``bound`` (``strict``)
    or <= it, compared exactly."""
    if values.dtype.kind == "i":
        if isinstance(bound, float):
            target = math.ceil(bound) - 1 if strict else math.floor(bound)
        else:
            target = bound - 1 if strict else bound
        if target > _I64_MAX:
            return len(values)
        if target < _I64_MIN:
            return 0
        return int(np.searchsorted(values, np.int64(target), "right"))
    near = _nearest_float(bound)
    if near is None:
        return len(values) if bound > 0 else 0
    if near == bound:
        return int(np.searchsorted(values, near, "left" if strict else "right"))
    return int(np.searchsorted(values, near, "left" if near > bound else "right"))


def _identical(a: Row, b: Row) -> bool:
    """Equal and of the same types (``1`` vs ``1.0``, ``0.0`` vs ``-0.0`` differ)."""
    if a != b:
        return False
    for x, y in zip(a, b, strict=True):
        if x.__class__ is not y.__class__:
            return False
        if x.__class__ is float and math.copysign(1.0, x) != math.copysign(1.0, y):
            return False
    return True


def _nearest_float(bound: float) -> float | None:
    """``bound`` as the nearest float (``None`` if an int too large for any float)."""
    try:
        return float(bound)
    except OverflowError:
        return None


# --- the index types ---------------------------------------------------------------------------


class FieldIndex:
    """The index of one payload field in one segment; subclasses per schema type.

    ``_vals`` holds each offset's distinct captured values (the source of truth every other
    structure derives from); ``_other`` the offsets with some non-null value not captured,
    ``_spill`` those that must be re-checked for the checks the index answers, ``_order_spill``
    those whose ``order_by`` values the index cannot give exactly.
    """

    kind = ""
    orderable = False

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        self.field = field
        self.schema = dict(schema)
        self._get = getter(parse_path(field))
        self._vals: dict[int, Row] = {}
        self._other: set[int] = set()
        self._spill: set[int] = set()
        self._order_spill: set[int] = set()
        self._counts: np.ndarray | None = None

    # --- maintenance --------------------------------------------------------------------
    @property
    def points_count(self) -> int:
        """Points holding at least one value of the index's type."""
        return len(self._vals)

    def build(self, payloads: Sequence[Any]) -> FieldIndex:
        """Index every payload (offset = position); returns ``self``."""
        for offset, payload in enumerate(payloads):
            if payload is not None:
                self.update(offset, payload)
        return self

    def update(self, offset: int, payload: Any) -> None:
        """Re-read the point at ``offset`` whose payload is now ``payload`` (``None``: gone)."""
        captured, other, spill, order_spill = self._capture(self._get(payload))
        old = self._vals.get(offset, ())
        if not _identical(captured, old):
            if old:
                del self._vals[offset]
                self._unindex(offset, old)
            if captured:
                self._vals[offset] = captured
                self._index(offset, captured)
            self._counts = None
        for flags, on in (
            (self._other, other),
            (self._spill, spill),
            (self._order_spill, order_spill),
        ):
            if on:
                flags.add(offset)
            else:
                flags.discard(offset)

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        """(distinct captured values, has other non-null, needs re-check, order spill)."""
        raise NotImplementedError

    def _index(self, offset: int, captured: Row) -> None:
        """Add ``offset``'s captured values to the query structures."""
        raise NotImplementedError

    def _unindex(self, offset: int, captured: Row) -> None:
        """Remove ``offset``'s (former) captured values from the query structures."""
        raise NotImplementedError

    # --- queries ------------------------------------------------------------------------
    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        """The offsets (< ``size``) matching ``cond``, or ``None`` if this index can't tell."""
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        """An upper bound on the points matching ``cond`` (``None``: unknown)."""
        found = self.answer(cond, size)
        if found is None:
            return None
        return int(np.count_nonzero(found.mask)) + len(np.unique(found.rescan))

    def _set_array(self, offsets: set[int]) -> np.ndarray:
        """A set of offsets as an int64 array."""
        return _offsets(offsets, len(offsets))

    def _value_counts(self, size: int) -> np.ndarray:
        """int64[size]: how many distinct captured values each offset holds."""
        if self._counts is None or len(self._counts) != size:
            counts = np.zeros(size, dtype=np.int64)
            n = len(self._vals)
            if n:
                counts[_offsets(self._vals.keys(), n)] = np.fromiter(
                    map(len, self._vals.values()), dtype=np.int64, count=n
                )
            self._counts = counts
        return self._counts

    def _except(self, banned: Iterable[Any], postings: _Postings, size: int) -> IndexAnswer:
        """``match: except``: some captured value is not banned, or some other non-null value
        exists (values of another type are never banned)."""
        counts = self._value_counts(size)
        arrays = [postings.array(key) for key in set(banned)]
        hits = np.concatenate(arrays) if arrays else _NO_OFFSETS
        banned_counts = np.bincount(hits, minlength=size)[:size]
        mask = counts > banned_counts
        mask[self._set_array(self._other)] = True
        return IndexAnswer(mask, _NO_OFFSETS)


class KeywordIndex(FieldIndex):
    """Strings -> offsets: ``match`` value/any/except on strings."""

    kind = "keyword"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._postings = _Postings()

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[Any, None] = {}
        other = False
        for value in values:
            if value.__class__ is str:
                captured[value] = None
            elif value is not None:
                other = True
        return tuple(captured), other, False, False

    def _index(self, offset: int, captured: Row) -> None:
        for key in captured:
            self._postings.add(key, offset)

    def _unindex(self, offset: int, captured: Row) -> None:
        for key in captured:
            self._postings.discard(key, offset)

    _key_type: type = str

    def _lookup(self, cond: FieldCondition) -> tuple[Any, ...] | None:
        """The keys a value/any match looks up (``None`` if not a match of this type)."""
        match = cond.match
        if isinstance(match, MatchValue) and match.value.__class__ is self._key_type:
            return (match.value,)
        if isinstance(match, MatchAny) and all(v.__class__ is self._key_type for v in match.any):
            return match.any
        return None

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        keys = self._lookup(cond)
        if keys is not None:
            return _answer(size, *(self._postings.array(k) for k in keys))
        match = cond.match
        if isinstance(match, MatchExcept) and all(
            v.__class__ is self._key_type for v in match.except_
        ):
            return self._except(match.except_, self._postings, size)
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        keys = self._lookup(cond)
        if keys is not None:
            return sum(self._postings.count(k) for k in set(keys))
        match = cond.match
        if isinstance(match, MatchExcept) and all(
            v.__class__ is self._key_type for v in match.except_
        ):
            return len(self._vals) + len(self._other)
        return None


class UuidIndex(KeywordIndex):
    """Like a keyword index: ``match`` compares the strings exactly, as without an index."""

    kind = "uuid"


class BoolIndex(KeywordIndex):
    """``true``/``false`` -> offsets: ``match: value`` on booleans."""

    kind = "bool"
    _key_type = bool

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[Any, None] = {}
        for value in values:
            if value.__class__ is bool:
                captured[value] = None
        return tuple(captured), False, False, False

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        match = cond.match
        if isinstance(match, MatchValue) and match.value.__class__ is bool:
            return _answer(size, self._postings.array(match.value))
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        match = cond.match
        if isinstance(match, MatchValue) and match.value.__class__ is bool:
            return self._postings.count(match.value)
        return None


class _SortedIndex(FieldIndex):
    """Values kept as sorted ``(value, offset)`` rows: ranges by binary search, and order_by."""

    orderable = True
    dtype: Any = np.int64

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._rows = _Table((self.dtype, bool), self._rows_of, ordered=True)

    def _rows_of(self, offset: int) -> list[Row]:
        """(value, is an int) rows of one offset."""
        return [(v, v.__class__ is int) for v in self._vals.get(offset, ())]

    def _index(self, offset: int, captured: Row) -> None:
        self._rows.touch(offset)

    def _unindex(self, offset: int, captured: Row) -> None:
        self._rows.touch(offset)

    def sorted_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values ascending, their offsets, whether each value came from a JSON integer):
        one row per distinct value of a point; equal values in no particular order."""
        table = self._rows.current()
        return table.columns[0], table.offsets, table.columns[1]

    def rows_from(
        self, start: float | None, descending: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``sorted_rows`` restricted to what ``order_by`` keeps from ``start`` on (values <=
        ``start`` when descending, >= it otherwise; ``None``: all), compared exactly."""
        values, offsets, from_int = self.sorted_rows()
        if start is None:
            return values, offsets, from_int
        if descending:
            cut = slice(0, _upper(values, start, strict=False))
        else:
            cut = slice(_lower(values, start, strict=False), len(values))
        return values[cut], offsets[cut], from_int[cut]

    def order_spill(self) -> np.ndarray:
        """Offsets whose ``order_by`` values must be read from the payload."""
        return self._set_array(self._order_spill)

    def _span(self, bounds: Sequence[tuple[Any, bool, bool]]) -> tuple[np.ndarray, np.ndarray]:
        """(offsets of the rows within the bounds, offsets to re-check); each bound is
        (value or ``None`` for none, is a lower bound, is strict)."""
        values, offsets, _ = self.sorted_rows()
        lo, hi = 0, len(values)
        for bound, lower, strict in bounds:
            if bound is None:
                continue
            if lower:
                lo = max(lo, _lower(values, bound, strict))
            else:
                hi = min(hi, _upper(values, bound, strict))
        return (offsets[lo:hi] if lo < hi else _NO_OFFSETS), self._set_array(self._spill)

    def _range(self, cond: FieldCondition) -> tuple[np.ndarray, np.ndarray] | None:
        """(matching offsets, offsets to re-check) of a range this index answers, else None."""
        rng = cond.range
        if not isinstance(rng, Range):
            return None
        return self._span(
            [(rng.gt, True, True), (rng.gte, True, False), (rng.lt, False, True),
             (rng.lte, False, False)]
        )

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        found = self._range(cond)
        if found is None:
            return None
        return _answer(size, found[0], rescan=found[1])

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        found = self._range(cond)
        if found is None:
            return None
        return len(found[0]) + len(found[1])


class IntegerIndex(_SortedIndex, KeywordIndex):
    """Integers (int64): value -> offsets for ``match``, sorted rows for ``range`` and order_by.

    A range also matches floats, so offsets holding floats (or ints beyond int64) are re-checked.
    """

    kind = "integer"
    _key_type = int

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[Any, None] = {}
        other = spill = order_spill = False
        for value in values:
            kind = value.__class__
            if kind is int:
                if _I64_MIN <= value <= _I64_MAX:
                    captured[value] = None
                else:
                    other = spill = order_spill = True
            elif value is None:
                continue
            else:
                other = True
                if kind is float:
                    spill = order_spill = True
                elif kind is str and parse_datetime(value) is not None:
                    order_spill = True
        return tuple(captured), other, spill, order_spill

    def _index(self, offset: int, captured: Row) -> None:
        KeywordIndex._index(self, offset, captured)
        self._rows.touch(offset)

    def _unindex(self, offset: int, captured: Row) -> None:
        KeywordIndex._unindex(self, offset, captured)
        self._rows.touch(offset)

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        found = KeywordIndex.answer(self, cond, size)
        return found if found is not None else _SortedIndex.answer(self, cond, size)

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        found = KeywordIndex.estimate(self, cond, size)
        return found if found is not None else _SortedIndex.estimate(self, cond, size)


class FloatIndex(_SortedIndex):
    """Numbers (ints exact as float64, finite floats): sorted rows for ``range`` and order_by."""

    kind = "float"
    dtype = np.float64

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        seen: dict[float, Any] = {}
        spill = order_spill = False
        for value in values:
            kind = value.__class__
            if kind is int:
                as_float = _nearest_float(value)
                if as_float is None or as_float != value:
                    spill = order_spill = True
                    continue
            elif kind is float:
                if not math.isfinite(value):
                    spill = order_spill = True
                    continue
                as_float = value
            else:
                if kind is str and parse_datetime(value) is not None:
                    order_spill = True
                continue
            first = seen.setdefault(as_float, value)
            if first.__class__ is not kind:
                order_spill = True  # 1 and 1.0 in one point: which one orders depends on order
        return tuple(seen.values()), False, spill, order_spill

    def _rows_of(self, offset: int) -> list[Row]:
        return [(float(v), v.__class__ is int) for v in self._vals.get(offset, ())]


class DatetimeIndex(_SortedIndex):
    """Datetime strings as microseconds since the epoch: sorted rows for ``range``, order_by."""

    kind = "datetime"

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[int, None] = {}
        order_spill = False
        for value in values:
            kind = value.__class__
            if kind is str:
                moment = parse_datetime(value)
                if moment is not None:
                    captured[moment] = None
            elif kind is int or kind is float:
                order_spill = True
        return tuple(captured), False, False, order_spill

    def _range(self, cond: FieldCondition) -> tuple[np.ndarray, np.ndarray] | None:
        rng = cond.range
        if not isinstance(rng, DatetimeRange):
            return None

        def moment(text: str | None) -> int | None:
            return None if text is None else parse_datetime(text)

        return self._span(
            [(moment(rng.gt), True, True), (moment(rng.gte), True, False),
             (moment(rng.lt), False, True), (moment(rng.lte), False, False)]
        )


_RADIUS_SLACK_M = 1.0
"""Points this close to a radius's edge are re-checked exactly (vectorised trig may differ from
``math`` by an ulp, which near-antipodal distances magnify to centimetres)."""


class GeoIndex(FieldIndex):
    """Geo points as lon/lat arrays (one row per point value) for vectorised box/radius checks;
    polygons use the rows only to pick candidates. Out-of-range points are re-checked."""

    kind = "geo"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._rows = _Table((np.float64, np.float64), self._rows_of, ordered=False)

    def _rows_of(self, offset: int) -> list[Row]:
        return list(self._vals.get(offset, ()))

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[tuple[float, float], None] = {}
        spill = False
        for value in values:
            coords = _geo_coords(value)
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
            return _answer(size, offsets[inside], rescan=spill)
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
            return _answer(size, offsets[inside], rescan=rescan)
        assert isinstance(check, GeoPolygon)
        lons = [p.lon for p in check.exterior[:-1]]
        lats = [p.lat for p in check.exterior[:-1]]
        near = (
            (min(lons) <= lon) & (lon <= max(lons)) & (min(lats) <= lat) & (lat <= max(lats))
        )
        return _answer(size, rescan=np.concatenate([offsets[near], spill]))


class TextIndex(FieldIndex):
    """Full text: token -> ids of the string values holding it (a match needs every query word
    in one value, as without an index). Tokens are the unindexed matcher's own."""

    kind = "text"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._tokens: dict[str, set[int]] = {}
        self._value_offset: list[int] = []
        self._value_array: np.ndarray | None = None
        self._value_ids: dict[int, list[int]] = {}
        self._live_values = 0

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured = {v: None for v in values if v.__class__ is str}
        return tuple(captured), False, False, False

    def _index(self, offset: int, captured: Row) -> None:
        ids = []
        for text in captured:
            vid = len(self._value_offset)
            self._value_offset.append(offset)
            ids.append(vid)
            for token in set(_tokens(text)):
                self._tokens.setdefault(token, set()).add(vid)
        self._value_ids[offset] = ids
        self._value_array = None
        self._live_values += len(ids)

    def _unindex(self, offset: int, captured: Row) -> None:
        ids = self._value_ids.pop(offset)
        for vid, text in zip(ids, captured, strict=True):
            for token in set(_tokens(text)):
                holders = self._tokens[token]
                holders.discard(vid)
                if not holders:
                    del self._tokens[token]
        self._live_values -= len(ids)
        if len(self._value_offset) > 2 * self._live_values + 1024:
            self._renumber()

    def _renumber(self) -> None:
        """Drop the ids of values rewritten since (they are never reused otherwise)."""
        self._tokens, self._value_offset, self._value_ids = {}, [], {}
        self._live_values = 0
        for offset, captured in self._vals.items():
            self._index(offset, captured)

    def _values(self, ids: set[int]) -> np.ndarray:
        """The offsets holding the values with these ids."""
        if self._value_array is None:
            self._value_array = np.asarray(self._value_offset, dtype=np.int64)
        return self._value_array[_offsets(ids, len(ids))]

    def _holding_all(self, words: Iterable[str]) -> set[int]:
        """Ids of the values holding every word (no words: none)."""
        sets = sorted((self._tokens.get(w, set()) for w in set(words)), key=len)
        return set.intersection(*sets) if sets else set()

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        match = cond.match
        if isinstance(match, MatchText):
            return _answer(size, self._values(self._holding_all(_tokens(match.text))))
        if isinstance(match, MatchTextAny):
            ids: set[int] = set()
            for word in set(_tokens(match.text_any)):
                ids |= self._tokens.get(word, set())
            return _answer(size, self._values(ids))
        if isinstance(match, MatchPhrase):
            candidates = self._values(self._holding_all(_tokens(match.phrase)))
            return _answer(size, rescan=candidates)
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        match = cond.match
        if isinstance(match, MatchText | MatchPhrase):
            words = set(_tokens(match.text if isinstance(match, MatchText) else match.phrase))
            return min((len(self._tokens.get(w, ())) for w in words), default=0)
        if isinstance(match, MatchTextAny):
            return sum(len(self._tokens.get(w, ())) for w in set(_tokens(match.text_any)))
        return None


INDEX_TYPES: dict[str, type[FieldIndex]] = {
    cls.kind: cls
    for cls in (
        KeywordIndex, UuidIndex, IntegerIndex, FloatIndex, BoolIndex, GeoIndex, TextIndex,
        DatetimeIndex,
    )
}


def build_index(field: str, schema: dict[str, Any], payloads: Sequence[Any]) -> FieldIndex | None:
    """An index of ``field`` over ``payloads`` (offset = position) for a payload schema
    ``{"type": ..., **params}``; ``None`` for a type without an index here."""
    cls = INDEX_TYPES.get(str(schema.get("type")))
    return None if cls is None else cls(field, schema).build(payloads)


__all__ = ["INDEX_TYPES", "FieldIndex", "IndexAnswer", "build_index"]
