"""Point operations: upsert, retrieve, delete, scroll, count, facet, payload and vector updates,
batch.

Every update takes its record builder from ``collection.operations`` (the same table the
``/points/batch`` operation uses) and is refused whole when it is over the batch limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collection import operations as builders
from collection.bulk import NotBulk
from collection.bulk_json import points_from_json
from collection.errors import BadRequest, NotFound
from collection.query import facet as facets
from collection.query.scrolling import scroll_ordered
from segments.ids import normalize_id
from server.api.context import Context, Handler, Op, ops, update_result
from server.api.models import CountRequest, PointRequest, ScrollRequest
from server.api.params import JsonBytes, Query, body_object, check_batch_size, flag, parse_json

Path = dict[str, str]


def _update(build: Callable[[Any, dict[str, Any]], Any]) -> Handler:
    """An update operation: build a record (and check) from the body, send it to the actor,
    answer its UpdateResult."""

    async def run(ctx: Context, path: Path, query: Query, body: Any) -> Any:
        coll = ctx.collection(path["collection_name"])
        data = body_object(body)
        built = build(coll.config, data)
        record, check = built if isinstance(built, tuple) else (built, None)
        check_batch_size(ctx.limits, record)
        res = await coll.update(record, wait=flag(query, "wait", False), check=check)
        return update_result(res)

    return run


async def upsert_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    """``PUT /points``: a REST body comes unparsed and its vectors go from the JSON text to
    numpy (``collection.bulk_json``); any other body, or one that path declines, is parsed
    and checked as usual."""
    coll = ctx.collection(path["collection_name"])
    parsed = None
    if isinstance(body, JsonBytes):
        try:
            rest, parsed = points_from_json(coll.config, body.data)
        except NotBulk:
            body = parse_json(body)
        else:
            body = rest
    record = builders.upsert(coll.config, body_object(body), parsed)
    check_batch_size(ctx.limits, record)
    res = await coll.update(record, wait=flag(query, "wait", False))
    return update_result(res)


async def batch_update(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    record, check = builders.batch(coll.config, body_object(body))
    for sub in record["ops"]:
        check_batch_size(ctx.limits, sub)
    res = await coll.update(record, wait=flag(query, "wait", False), check=check)
    return [update_result(res) for _ in record["ops"]]


async def get_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    req = PointRequest.model_validate(body_object(body))
    return coll.retrieve(req.ids, req.with_payload, req.with_vector)


async def get_point(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    raw = str(path["id"])
    try:
        point_id = normalize_id(int(raw) if raw.isdigit() else raw)
    except ValueError as exc:
        raise BadRequest(f"Wrong input: {exc}") from None
    found = coll.retrieve([point_id], True, True)
    if not found:
        raise NotFound(f"No point with id {point_id} found")
    return found[0]


async def scroll_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    req = ScrollRequest.model_validate(body_object(body))
    if req.order_by is not None:
        return await scroll_ordered(
            coll, req.order_by, req.filter, req.offset, req.limit, req.with_payload,
            req.with_vector, ctx.query_limits(),
        )
    points, next_id = coll.scroll(
        req.filter, req.offset, req.limit, req.with_payload, req.with_vector
    )
    return {"points": points, "next_page_offset": next_id}


async def count_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    req = CountRequest.model_validate(body_object(body))
    return {"count": coll.count(req.filter)}


async def facet(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    return facets.facet(coll, body_object(body), ctx.limits.max_limit)


B = builders.BUILDERS
OPS = ops(
    Op("upsert_points", "write", upsert_points, raw_json=True),
    Op("delete_points", "write", _update(B["delete"])),
    Op("set_payload", "write", _update(B["set_payload"])),
    Op("overwrite_payload", "write", _update(B["overwrite_payload"])),
    Op("delete_payload", "write", _update(B["delete_payload"])),
    Op("clear_payload", "write", _update(B["clear_payload"])),
    Op("update_vectors", "write", _update(B["update_vectors"])),
    Op("delete_vectors", "write", _update(B["delete_vectors"])),
    Op("batch_update", "write", batch_update),
    Op("get_points", "read", get_points),
    Op("get_point", "read", get_point),
    Op("scroll_points", "read", scroll_points),
    Op("count_points", "read", count_points),
    Op("facet", "read", facet),
)
