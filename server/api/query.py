"""Query operations: query, query/batch, query/groups, and the legacy search endpoints (each a
QueryRequest underneath, run by ``collection.query.api``)."""

from __future__ import annotations

from typing import Any

from collection.errors import format_error
from collection.query import api as engine
from collection.query import matrix
from server.api.context import Context, Op, ops
from server.api.params import Query, body_object, explain, flag, request_list

Path = dict[str, str]


async def _one(ctx: Context, name: str, body: dict[str, Any], explained: bool) -> Any:
    coll = ctx.collection(name)
    return await engine.query(
        coll, body, ctx.registry.get, ctx.exists, ctx.query_limits(), explained
    )


async def query_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    req = body_object(body)
    return await _one(ctx, path["collection_name"], req, explain(query, req))


async def query_batch_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    searches = request_list(body_object(body), "query")
    everywhere = flag(query, "explain", False)
    name = path["collection_name"]
    return [await _one(ctx, name, req, explain({}, req) or everywhere) for req in searches]


async def query_points_groups(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    req = body_object(body)
    coll = ctx.collection(path["collection_name"])
    return await engine.groups(coll, req, ctx.registry.get, ctx.exists, ctx.query_limits())


def search_as_query(body: dict[str, Any]) -> dict[str, Any]:
    """A legacy SearchRequest as a QueryRequest: ``vector`` may be a list, a named vector
    ``{"name", "vector"}`` or a named sparse vector."""
    vector = body.get("vector")
    using = None
    if isinstance(vector, dict) and "name" in vector:
        using = vector["name"]
        vector = vector.get("vector")
    if vector is None:
        raise format_error("missing field `vector`")
    return {
        "query": vector,
        "using": using,
        "filter": body.get("filter"),
        "params": body.get("params"),
        "limit": body.get("limit", 10),
        "offset": body.get("offset") or 0,
        "with_payload": body.get("with_payload"),
        "with_vector": body.get("with_vector", body.get("with_vectors")),
        "score_threshold": body.get("score_threshold"),
    }


async def search_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    req = search_as_query(body_object(body))
    return (await _one(ctx, path["collection_name"], req, flag(query, "explain", False)))["points"]


async def search_batch_points(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    searches = request_list(body_object(body), "search")
    name = path["collection_name"]
    return [(await _one(ctx, name, search_as_query(req), False))["points"] for req in searches]


async def search_matrix_pairs(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    return matrix.pairs(coll, body_object(body), ctx.limits.max_limit)


async def search_matrix_offsets(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    return matrix.offsets(coll, body_object(body), ctx.limits.max_limit)


OPS = ops(
    Op("query_points", "read", query_points),
    Op("query_batch_points", "read", query_batch_points),
    Op("query_points_groups", "read", query_points_groups),
    Op("search_points", "read", search_points),
    Op("search_batch_points", "read", search_batch_points),
    Op("search_matrix_pairs", "read", search_matrix_pairs),
    Op("search_matrix_offsets", "read", search_matrix_offsets),
)
