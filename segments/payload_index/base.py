"""What every payload index shares: postings, sorted tables and the ``FieldIndex`` base that
captures a field's values and keeps them current on every write."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from segments.filter.context import IndexAnswer
from segments.filter.model import FieldCondition
from segments.payload_path import getter, parse_path

NO_OFFSETS = np.zeros(0, dtype=np.int64)
INTERN_AT_MOST = 4096
"""Distinct captured rows a field index shares between points (see ``FieldIndex._interned``)."""
Row = tuple[Any, ...]


def offsets_array(items: Iterable[int], count: int) -> np.ndarray:
    """``count`` offsets as an int64 array."""
    return np.fromiter(items, dtype=np.int64, count=count)


def answer_of(size: int, *hits: np.ndarray, rescan: np.ndarray = NO_OFFSETS) -> IndexAnswer:
    """An answer matching the offsets in ``hits`` (duplicates allowed)."""
    mask = np.zeros(size, dtype=bool)
    for offs in hits:
        mask[offs] = True
    return IndexAnswer(mask, rescan)


# --- building blocks ---------------------------------------------------------------------------


class Postings:
    """Key -> offsets: a set while it changes, an int64 array (unordered) once read.

    Reading a key's offsets as an array drops its set, so keys that queries read but writes
    no longer touch (an indexed segment's, all of them) cost 8 bytes an offset instead of a
    set's ~40 (mem_probe.py: 6 MiB of sets for one integer field over 100k points). The next
    write to a key turns its array back into a set."""

    def __init__(self) -> None:
        self._sets: dict[Any, set[int]] = {}
        self._arrays: dict[Any, np.ndarray] = {}

    def _changing(self, key: Any) -> set[int]:
        """The set of ``key`` (made from its array, if it has one)."""
        found = self._sets.get(key)
        if found is None:
            arr = self._arrays.pop(key, None)
            found = self._sets[key] = set() if arr is None else set(arr.tolist())
        return found

    def add(self, key: Any, offset: int) -> None:
        """Record that ``offset`` holds ``key``."""
        self._changing(key).add(offset)

    def discard(self, key: Any, offset: int) -> None:
        """Forget that ``offset`` holds ``key``."""
        if key not in self._sets and key not in self._arrays:
            return
        found = self._changing(key)
        found.discard(offset)
        if not found:
            del self._sets[key]

    def count(self, key: Any) -> int:
        """How many offsets hold ``key``."""
        found = self._sets.get(key)
        if found is not None:
            return len(found)
        arr = self._arrays.get(key)
        return 0 if arr is None else len(arr)

    def freeze(self) -> None:
        """Turn every key's set into its array."""
        for key in list(self._sets):
            self.array(key)

    def keys(self) -> list[Any]:
        """The keys some offset holds."""
        return [*self._sets, *self._arrays]

    def __len__(self) -> int:
        return len(self._sets) + len(self._arrays)

    def members(self, key: Any) -> set[int]:
        """The offsets holding ``key`` as a set (do not modify it)."""
        found = self._sets.get(key)
        if found is not None:
            return found
        arr = self._arrays.get(key)
        return set() if arr is None else set(arr.tolist())

    def array(self, key: Any) -> np.ndarray:
        """The offsets holding ``key`` as an int64 array (unordered; do not modify it)."""
        arr = self._arrays.get(key)
        if arr is None:
            found = self._sets.pop(key, None)
            if not found:
                return NO_OFFSETS
            arr = self._arrays[key] = offsets_array(found, len(found))
        return arr


class Table:
    """Rows ``(offset, *columns)`` of all points, optionally sorted by the first column (ties in
    no particular order); offsets that changed are re-read from ``source`` at the next
    ``current()``, which merges them into the rows kept. Until the first ``current()`` no
    offset is tracked: it reads every offset ``every()`` names (an index built over a whole
    segment would otherwise hold a set of all its offsets, ~2 MiB per 50k points, until a
    range or ``order_by`` query asks for the rows, which a segment may never see)."""

    def __init__(
        self, dtypes: tuple[Any, ...], source: Callable[[int], Iterable[Row]], ordered: bool,
        every: Callable[[], Iterable[int]],
    ) -> None:
        self.dtypes = dtypes
        self.source = source
        self.ordered = ordered
        self.every = every
        self.offsets = NO_OFFSETS
        self.columns = [np.zeros(0, dtype=d) for d in dtypes]
        self.dirty: set[int] = set()
        self.unread = True
        """No rows read yet: the first ``current()`` reads all of ``every()``."""

    def touch(self, offset: int) -> None:
        """Mark ``offset``'s rows as changed."""
        if not self.unread:
            self.dirty.add(offset)

    def current(self) -> Table:
        """Bring the rows up to date (an O(rows) numpy merge) and return the table."""
        if self.unread:
            self.unread = False
            self.dirty = set(self.every())
        if not self.dirty:
            return self
        dirty = offsets_array(self.dirty, len(self.dirty))
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
        self._seen: dict[Row, Row] = {}

    # --- maintenance --------------------------------------------------------------------
    @property
    def points_count(self) -> int:
        """Points holding at least one value of the index's type."""
        return len(self._vals)

    def build(self, payloads: Sequence[Any]) -> FieldIndex:
        """Index every payload (offset = position) into this new index; returns ``self``.
        What ``update`` does for each, less what a new index needs not (old values, flags to
        clear), and a payload object that several points share (an indexed segment's equal
        payloads are one object) is read once (up to ``INTERN_AT_MOST`` such objects)."""
        read: dict[int, tuple[Row, bool, bool, bool]] = {}
        vals = self._vals
        # the offsets kept as keys are made in one go: made one at a time in a build thread,
        # they would share pymalloc pools with the writer's short-lived objects and pin them
        for offset, payload in zip(list(range(len(payloads))), payloads, strict=True):
            if payload is None:
                continue
            found = read.get(id(payload))
            if found is None:
                captured, other, spill, order_spill = self._capture(self._get(payload))
                found = (self._interned(captured) if captured else captured,
                         other, spill, order_spill)
                if len(read) < INTERN_AT_MOST:
                    read[id(payload)] = found  # the payload stays alive (in payloads)
            captured, other, spill, order_spill = found
            if captured:
                vals[offset] = captured
                self._index(offset, captured)
            if other:
                self._other.add(offset)
            if spill:
                self._spill.add(offset)
            if order_spill:
                self._order_spill.add(offset)
        self._counts = None
        self._built()
        return self

    def _built(self) -> None:
        """After ``build``: settle the query structures (keys' postings become arrays now, in
        the build's thread, whose memory is trimmed after it, not at the first query)."""

    def update(self, offset: int, payload: Any) -> None:
        """Re-read the point at ``offset`` whose payload is now ``payload`` (``None``: gone)."""
        captured, other, spill, order_spill = self._capture(self._get(payload))
        old = self._vals.get(offset, ())
        if not _identical(captured, old):
            if old:
                del self._vals[offset]
                self._unindex(offset, old)
            if captured:
                captured = self._interned(captured)
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

    def _interned(self, captured: Row) -> Row:
        """One tuple for equal rows of ints and strings (where equal means identical), up to
        ``INTERN_AT_MOST`` distinct ones: categorical values repeat across most points, and a
        tuple per point is ~56 bytes (mem_probe.py: 4.6 MiB at 100k points)."""
        if not all(v.__class__ is int or v.__class__ is str for v in captured):
            return captured  # 1 == 1.0 == True and 0.0 == -0.0: equal is not identical
        seen = self._seen
        found = seen.get(captured)
        if found is not None:
            return found
        if len(seen) < INTERN_AT_MOST:
            seen[captured] = captured
        return captured

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
        return offsets_array(offsets, len(offsets))

    def _value_counts(self, size: int) -> np.ndarray:
        """int64[size]: how many distinct captured values each offset holds."""
        if self._counts is None or len(self._counts) != size:
            counts = np.zeros(size, dtype=np.int64)
            n = len(self._vals)
            if n:
                counts[offsets_array(self._vals.keys(), n)] = np.fromiter(
                    map(len, self._vals.values()), dtype=np.int64, count=n
                )
            self._counts = counts
        return self._counts

    def _except(self, banned: Iterable[Any], postings: Postings, size: int) -> IndexAnswer:
        """``match: except``: some captured value is not banned, or some other non-null value
        exists (values of another type are never banned)."""
        counts = self._value_counts(size)
        arrays = [postings.array(key) for key in set(banned)]
        hits = np.concatenate(arrays) if arrays else NO_OFFSETS
        banned_counts = np.bincount(hits, minlength=size)[:size]
        mask = counts > banned_counts
        mask[self._set_array(self._other)] = True
        return IndexAnswer(mask, NO_OFFSETS)
