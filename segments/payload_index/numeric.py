"""Ordered indexes: integer, float and datetime values as sorted rows, for ranges and order_by."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from segments.filter.checks import DatetimeRange, Range
from segments.filter.context import IndexAnswer
from segments.filter.model import FieldCondition
from segments.filter.values import parse_datetime
from segments.payload_index.base import NO_OFFSETS, FieldIndex, Row, Table, answer_of
from segments.payload_index.keyword import KeywordIndex

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def lower_bound(values: np.ndarray, bound: float, strict: bool) -> int:
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
    near = nearest_float(bound)
    if near is None:
        return len(values) if bound > 0 else 0
    if near == bound:
        return int(np.searchsorted(values, near, "right" if strict else "left"))
    return int(np.searchsorted(values, near, "left" if near > bound else "right"))


def upper_bound(values: np.ndarray, bound: float, strict: bool) -> int:
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
    near = nearest_float(bound)
    if near is None:
        return len(values) if bound > 0 else 0
    if near == bound:
        return int(np.searchsorted(values, near, "left" if strict else "right"))
    return int(np.searchsorted(values, near, "left" if near > bound else "right"))


def nearest_float(bound: float) -> float | None:
    """``bound`` as the nearest float (``None`` if an int too large for any float)."""
    try:
        return float(bound)
    except OverflowError:
        return None


class _SortedIndex(FieldIndex):
    """Values kept as sorted ``(value, offset)`` rows: ranges by binary search, and order_by."""

    orderable = True
    dtype: Any = np.int64

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._rows = Table((self.dtype, bool), self._rows_of, ordered=True,
                           every=self._vals.keys)

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
            cut = slice(0, upper_bound(values, start, strict=False))
        else:
            cut = slice(lower_bound(values, start, strict=False), len(values))
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
                lo = max(lo, lower_bound(values, bound, strict))
            else:
                hi = min(hi, upper_bound(values, bound, strict))
        return (offsets[lo:hi] if lo < hi else NO_OFFSETS), self._set_array(self._spill)

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
        return answer_of(size, found[0], rescan=found[1])

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
                as_float = nearest_float(value)
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
