"""``/points/scroll`` with ``order_by``: points ordered by a payload field, as Qdrant pages them.

A point holding several values at the key is listed once per distinct value; equal values come
in id order. Qdrant answers ``next_page_offset: null`` when ordering (the client continues with
``start_from`` = the last ``order_value``) and refuses ``offset``; the key needs a range index.
The ordering itself is the query engine's ``order_by`` stage.
"""

from __future__ import annotations

from typing import Any

from collection.errors import BadRequest
from collection.handle import Collection
from collection.points import check_with_payload, check_with_vector, point_json
from collection.query.executor import QueryContext, run_stage
from collection.query.planner import Limits, Planner, range_indexed


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
    scored = await run_stage(QueryContext(coll, lambda name: coll), root)
    points = []
    for (seg, off), value in zip(scored.locs, scored.order_values or [], strict=True):
        point = point_json(coll.config, seg, off, with_payload, with_vector)
        point["order_value"] = value
        points.append(point)
    return {"points": points, "next_page_offset": None}
