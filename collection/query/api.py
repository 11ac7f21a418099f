"""Entry points of the query engine for the server: request bodies in, Qdrant results out.

``query`` answers ``/points/query`` (and each request of ``/points/query/batch``); ``groups``
answers ``/points/query/groups``. Both plan first (every check before any search), then run the
plan, then attach payloads and vectors to the final points only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from collection.errors import NotFound, format_error, invalid
from collection.handle import Collection
from collection.operations import check_key
from collection.points import check_with_payload, check_with_vector, point_json, with_vector_of
from collection.query.executor import QueryContext, run_stage
from collection.query.grouping import group_points
from collection.query.planner import Limits, Planner, Stage, check_count, range_indexed
from collection.query.results import Scored
from segments.filter import Filter
from segments.ids import normalize_id


def _planner(coll: Collection, limits: Limits, exists: Callable[[str], bool]) -> Planner:
    """A planner whose limit cap is at least the collection's size, so a larger limit (any
    u64 is valid) is the same as asking for every point."""
    cap = max(limits.max_limit, coll.holder.points_count)
    limits = Limits(cap, limits.max_depth, limits.max_prefetches)
    indexed = range_indexed(coll.holder.payload_schema)
    return Planner(coll.config, coll.name, limits, indexed, exists)


def _points_json(
    coll: Collection, scored: Scored, with_payload: Any, with_vector: Any
) -> list[dict[str, Any]]:
    out = []
    for i, (seg, off) in enumerate(scored.locs):
        point = point_json(
            coll.config, seg, off, with_payload, with_vector, float(scored.scores[i])
        )
        if scored.order_values is not None:
            point["order_value"] = scored.order_values[i]
        out.append(point)
    return out


def _explain(ctx: QueryContext, final: Scored, points: list[dict[str, Any]]) -> dict[str, Any]:
    """Per point: its rank and score in every stage it appeared in; per stage: its counts and
    time. Ranks are 0-based within the stage's output."""
    assert ctx.ranks is not None and ctx.stats is not None
    index = {
        label: {pid: (rank, np.float32(s.scores[rank])) for rank, pid in enumerate(s.ids)}
        for label, s in ctx.ranks.items()
    }
    for point, pid in zip(points, final.ids, strict=True):
        point["explain"] = {
            label: {"rank": hit[0], "score": hit[1]}
            for label, ranks in index.items()
            if (hit := ranks.get(pid)) is not None
        }
    return {
        "stages": [
            {
                "stage": st.label,
                "kind": st.kind,
                "candidates": st.candidates,
                "results": st.results,
                "time_ms": st.ms,
            }
            for st in ctx.stats
        ]
    }


async def query(
    coll: Collection,
    body: dict[str, Any],
    lookup: Callable[[str], Collection],
    exists: Callable[[str], bool],
    limits: Limits,
    explain: bool = False,
) -> dict[str, Any]:
    """QueryResponse for one request body."""
    with_payload = check_with_payload(body.get("with_payload"))
    with_vector = check_with_vector(coll.config, with_vector_of(body))
    root = _planner(coll, limits, exists).plan(body)
    coll.note_filters(*stage_filters(root))
    ctx = QueryContext(coll, lookup, [] if explain else None, {} if explain else None)
    scored = (await run_stage(ctx, root)).take(root.offset)
    points = _points_json(coll, scored, with_payload, with_vector)
    result: dict[str, Any] = {"points": points}
    if explain:
        result["explain"] = _explain(ctx, scored, points)
    return result


def stage_filters(stage: Stage) -> Iterator[Filter | None]:
    """The compiled filter of every stage in a plan."""
    yield stage.filter
    for child in stage.children:
        yield from stage_filters(child)


def _unlimited(stage: Stage, limit: int) -> None:
    """Let every prefetch return all it finds (grouping needs the full ranking)."""
    for child in stage.children:
        child.limit = limit
        _unlimited(child, limit)


async def groups(
    coll: Collection,
    body: dict[str, Any],
    lookup: Callable[[str], Collection],
    exists: Callable[[str], bool],
    limits: Limits,
) -> dict[str, Any]:
    """GroupsResult: the best points grouped by a payload key's values."""
    group_by = body.get("group_by")
    if group_by is None:
        raise format_error("missing field `group_by`")
    if not isinstance(group_by, str):
        raise format_error("group_by: invalid type: expected a string")
    if not group_by:  # ``minLength: 1``: Qdrant's validation stage (422)
        raise invalid("group_by", "length must be at least 1")
    check_key(group_by)
    group_size = body.get("group_size", 3)
    limit = body.get("limit", 10)
    group_size = check_count(group_size, "group_size", limits.max_limit)
    limit = check_count(limit, "limit", limits.max_limit)
    with_payload = check_with_payload(body.get("with_payload"))
    with_vector = check_with_vector(coll.config, with_vector_of(body))
    with_lookup = _with_lookup(body.get("with_lookup"), exists)
    every = max(coll.holder.points_count, 1)
    inner = {k: v for k, v in body.items() if k not in ("group_by", "group_size", "with_lookup")}
    inner["limit"] = every
    inner.pop("offset", None)
    root = _planner(coll, Limits(max(limits.max_limit, every), limits.max_depth,
                                 limits.max_prefetches), exists).plan(inner)
    _unlimited(root, every)
    coll.note_filters(*stage_filters(root))
    ranked = await run_stage(QueryContext(coll, lookup), root)
    grouped = group_points(ranked, group_by, group_size, limit)
    out = []
    lookup_coll = None if with_lookup is None else lookup(with_lookup["collection"])
    for gid, scored in grouped:
        group: dict[str, Any] = {
            "id": gid,
            "hits": _points_json(coll, scored, with_payload, with_vector),
        }
        if lookup_coll is not None and with_lookup is not None:
            group["lookup"] = _lookup_record(lookup_coll, gid, with_lookup)
        out.append(group)
    return {"groups": out}


def _with_lookup(value: Any, exists: Callable[[str], bool]) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"collection": value}
    if not isinstance(value, dict) or not isinstance(value.get("collection"), str):
        raise format_error("with_lookup: expected a collection name or an object with "
                           "`collection`")
    if not exists(value["collection"]):
        raise NotFound(f"Collection `{value['collection']}` doesn't exist!")
    return value


def _lookup_record(coll: Collection, gid: Any, spec: dict[str, Any]) -> dict[str, Any] | None:
    try:
        pid = normalize_id(gid)
    except ValueError:
        return None
    with_payload = spec.get("with_payload")
    found = coll.retrieve(
        [pid],
        True if with_payload is None else with_payload,
        with_vector_of(spec) or False,
    )
    return found[0] if found else None
