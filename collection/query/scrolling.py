"""``/points/scroll`` with ``order_by``: points ordered by a payload field, as Qdrant pages them.

A point holding several values at the key is listed once per distinct value; equal values come
in id order. Qdrant answers ``next_page_offset: null`` when ordering (the client continues with
``start_from`` = the last ``order_value``) and refuses ``offset``; the key needs a range index.
The ordering itself is the query engine's ``order_by``, over only the points that can make
the page: per segment with a range index, those of the first ``limit`` points in index order
(ties with the last one included) and those whose values the index can't give.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.errors import BadRequest
from collection.handle import Collection
from collection.points import check_with_payload, check_with_vector, point_json
from collection.query import ordering
from collection.query.planner import Limits, OrderBy, Planner, range_indexed
from collection.query.results import Location
from segments.filter import Filter
from segments.ids import PointId, id_sort_key


async def scroll_ordered(
    coll: Collection,
    order_by: Any,
    filter_json: Any,
    offset: Any,
    limit: int,
    with_payload: Any,
    with_vector: Any,
    limits: Limits,
) -> dict[str, Any]:
    """ScrollResult for a scroll request that has ``order_by``."""
    if offset is not None:
        raise BadRequest("Bad request: Offset is not supported when ordering by field")
    with_payload = check_with_payload(with_payload)
    with_vector = check_with_vector(coll.config, with_vector)
    indexed = range_indexed(coll.holder.payload_schema)
    planner = Planner(coll.config, coll.name, limits, indexed, lambda _: False)
    root = planner.plan({"query": {"order_by": order_by}, "filter": filter_json, "limit": limit})
    spec = root.query
    assert isinstance(spec, OrderBy)
    ids, locs = _candidates(coll, spec, root.filter, limit)
    scored = ordering.order_by(spec, ids, locs, limit)
    points = []
    for (seg, off), value in zip(scored.locs, scored.order_values or [], strict=True):
        point = point_json(coll.config, seg, off, with_payload, with_vector)
        point["order_value"] = value
        points.append(point)
    return {"points": points, "next_page_offset": None}


def _candidates(
    coll: Collection, spec: OrderBy, flt: Filter | None, top: int
) -> tuple[list[PointId], list[Location]]:
    """The matching points that can make the first ``top`` entries, in id order."""
    start = None if spec.start_from is None else ordering.order_value(spec.start_from)
    found: list[tuple[Any, PointId, Location]] = []
    for seg, mask in coll.matching(flt):
        offs = _segment_candidates(seg, spec, start, mask, top)
        for pid, off in zip(seg.point_ids(offs), offs.tolist(), strict=True):
            found.append((id_sort_key(pid), pid, (seg, off)))
    found.sort(key=lambda t: t[0])
    return [pid for _, pid, _ in found], [loc for _, _, loc in found]


def _segment_candidates(
    seg: Any, spec: OrderBy, start: Any, mask: np.ndarray, top: int
) -> np.ndarray:
    """Offsets of one segment's matching points that can be among the first ``top``: any point
    left out has all its values after the ``top``-th distinct point's (ties kept)."""
    allowed = np.flatnonzero(mask)
    lookup = getattr(seg, "payload_index", None)
    index = None if lookup is None else lookup(spec.key)
    if index is None or not getattr(index, "orderable", False) or len(allowed) <= top:
        return allowed
    values, rows, _ = index.rows_from(start, spec.descending)
    if spec.descending:
        values, rows = values[::-1], rows[::-1]
    keep = np.zeros(len(rows), dtype=bool)
    inside = rows < len(mask)
    keep[inside] = mask[rows[inside]]
    values, rows = values[keep], rows[keep]
    _, first = np.unique(rows, return_index=True)
    if len(first) > top:
        cut = int(np.sort(first)[top - 1])
        later = np.flatnonzero(values[cut + 1 :] != values[cut])
        end = cut + 1 + (int(later[0]) if len(later) else len(values) - cut - 1)
        rows = rows[:end]
    spill = index.order_spill()
    spill = spill[spill < len(mask)]
    return np.unique(np.concatenate([rows, spill[mask[spill]]]).astype(np.int64))
