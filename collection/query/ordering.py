"""Order points without a vector: by a payload field (``order_by``) or by point id.

``order_by`` lists a point once per distinct value it holds at the key (arrays included), sorted
by value ascending or descending from ``start_from``; datetimes order as microseconds since the
epoch. Equal values keep the order the candidates came in. A segment with a range index
(integer, float, datetime) on the key is ordered from the index's sorted values; points holding
values it does not cover are read from their payloads, so the result is the same either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.query.planner import OrderBy
from collection.query.results import Location, Scored
from segments.filter import parse_datetime
from segments.ids import PointId, id_sort_key
from segments.payload_path import parse_path, values_at

ORDER_SCORE = 1.0
"""The score a point ordered without a vector carries (as qdrant-client's local mode gives)."""


def order_value(value: Any) -> int | float | None:
    """A payload value as an ordering value: numbers as they are, datetime strings as
    microseconds since the epoch; anything else does not order."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_datetime(value)
    return None


def order_by(spec: OrderBy, ids: list[PointId], locs: list[Location], top: int) -> Scored:
    """The first ``top`` (point, value) entries of the candidates ordered by ``spec``."""
    path = parse_path(spec.key)
    start = None if spec.start_from is None else order_value(spec.start_from)
    groups: dict[int, tuple[Any, list[int]]] = {}
    for i, (seg, _) in enumerate(locs):
        groups.setdefault(id(seg), (seg, []))[1].append(i)
    entries: list[tuple[Any, int]] = []
    for seg, positions in groups.values():
        found = _indexed_entries(spec, start, top, seg, [locs[i][1] for i in positions], positions)
        if found is not None:
            entries.extend(found[0])
            positions = found[1]
        for i in positions:
            entries.extend(_point_entries(spec, start, path, locs[i], i))
    entries.sort(key=lambda e: e[1])  # equal values keep the candidates' order ...
    entries.sort(key=lambda e: e[0], reverse=spec.descending)  # ... through this stable sort
    entries = entries[:top]
    return Scored(
        [ids[i] for _, i in entries],
        np.full(len(entries), ORDER_SCORE),
        [locs[i] for _, i in entries],
        [v for v, _ in entries],
    )


def _point_entries(
    spec: OrderBy, start: Any, path: Any, loc: Location, i: int
) -> list[tuple[Any, int]]:
    """One candidate's entries read from its payload: one per distinct ordering value."""
    seg, off = loc
    seen: set[Any] = set()
    out: list[tuple[Any, int]] = []
    for raw in values_at(seg.payload_of(off), path):
        value = order_value(raw)
        if value is None or value in seen:
            continue
        if start is not None and (value > start if spec.descending else value < start):
            continue
        seen.add(value)
        out.append((value, i))
    return out


def _indexed_entries(
    spec: OrderBy, start: Any, top: int, seg: Any, offsets: list[int], positions: list[int]
) -> tuple[list[tuple[Any, int]], list[int]] | None:
    """Entries of one segment's candidates from its sorted range index (only those that can
    make the first ``top``, ties included), plus the candidates whose values the index can't
    give (read from payloads); ``None`` without such an index."""
    lookup = getattr(seg, "payload_index", None)
    index = None if lookup is None else lookup(spec.key)
    if index is None or not index.orderable or top <= 0:
        return None
    offs = np.asarray(offsets, dtype=np.int64)
    pos = np.asarray(positions, dtype=np.int64)
    values, row_offsets, from_int = index.rows_from(start, spec.descending)
    spill = index.order_spill()
    size = 1 + max([int(offs.max()), *(int(a.max()) for a in (row_offsets, spill) if len(a))])
    where = np.full(size, -1, dtype=np.int64)
    where[offs] = pos
    if np.count_nonzero(where >= 0) != len(offs):
        return None  # a point listed twice: leave it to the payload path
    spilled = np.zeros(size, dtype=bool)
    spilled[spill] = True
    rows = np.flatnonzero((where[row_offsets] >= 0) & ~spilled[row_offsets])
    if spec.descending:
        rows = rows[::-1]
    if len(rows) > top:
        edge = values[rows[top - 1]]
        rows = rows[values[rows] >= edge] if spec.descending else rows[values[rows] <= edge]
    picked = values[rows].tolist()
    if values.dtype.kind == "f":
        picked = [int(v) if f else v for v, f in zip(picked, from_int[rows].tolist(), strict=True)]
    entries = list(zip(picked, where[row_offsets[rows]].tolist(), strict=True))
    return entries, pos[spilled[offs]].tolist()


def by_id(ids: list[PointId], locs: list[Location], top: int) -> Scored:
    """The ``top`` first candidates in id order (integers first, then UUIDs)."""
    order = sorted(range(len(ids)), key=lambda i: id_sort_key(ids[i]))[:top]
    return Scored(
        [ids[i] for i in order],
        np.full(len(order), ORDER_SCORE),
        [locs[i] for i in order],
    )
