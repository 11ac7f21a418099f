"""Query operations: query, query/batch, query/groups, and the legacy search, recommend and
discover endpoints (each a QueryRequest underneath, run by ``collection.query.api``)."""

from __future__ import annotations

from typing import Any

from collection.errors import format_error
from collection.points import with_vector_of
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
        "with_vector": with_vector_of(body),
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


_COMMON = ("using", "filter", "params", "offset", "with_payload", "score_threshold",
           "lookup_from")
_GROUPING = ("group_by", "group_size", "with_lookup")


def _legacy(body: dict[str, Any], query: dict[str, Any], grouped: bool) -> dict[str, Any]:
    """The fields a legacy recommend / discover request shares with a QueryRequest."""
    out: dict[str, Any] = {"query": query, "limit": body.get("limit") or 10}
    for key in _COMMON + (_GROUPING if grouped else ()):
        if body.get(key) is not None:
            out[key] = body[key]
    out["with_vector"] = body.get("with_vector", body.get("with_vectors"))
    return out


def recommend_as_query(body: dict[str, Any], grouped: bool = False) -> dict[str, Any]:
    """A legacy RecommendRequest (REST, or gRPC's ``positive`` ids plus ``positive_vectors``)
    as a QueryRequest with a ``recommend`` query."""
    examples: dict[str, Any] = {
        side: [*(body.get(side) or []), *(body.get(f"{side}_vectors") or [])]
        for side in ("positive", "negative")
    }
    if body.get("strategy") is not None:
        examples["strategy"] = body["strategy"]
    return _legacy(body, {"recommend": examples}, grouped)


def discover_as_query(body: dict[str, Any]) -> dict[str, Any]:
    """A legacy DiscoverRequest as a QueryRequest with a ``discover`` query."""
    if body.get("target") is None:
        raise format_error("missing field `target`")
    discover = {"target": body["target"], "context": body.get("context") or []}
    return _legacy(body, {"discover": discover}, False)


def _legacy_one(convert: Any) -> Any:
    async def run(ctx: Context, path: Path, query: Query, body: Any) -> Any:
        req = convert(body_object(body))
        return (await _one(ctx, path["collection_name"], req, False))["points"]

    return run


def _legacy_batch(convert: Any, kind: str) -> Any:
    async def run(ctx: Context, path: Path, query: Query, body: Any) -> Any:
        searches = [convert(req) for req in request_list(body_object(body), kind)]
        name = path["collection_name"]
        return [(await _one(ctx, name, req, False))["points"] for req in searches]

    return run


async def recommend_point_groups(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    req = recommend_as_query(body_object(body), grouped=True)
    coll = ctx.collection(path["collection_name"])
    return await engine.groups(coll, req, ctx.registry.get, ctx.exists, ctx.query_limits())


OPS = ops(
    Op("query_points", "read", query_points),
    Op("query_batch_points", "read", query_batch_points),
    Op("query_points_groups", "read", query_points_groups),
    Op("search_points", "read", search_points),
    Op("search_batch_points", "read", search_batch_points),
    Op("search_matrix_pairs", "read", search_matrix_pairs),
    Op("search_matrix_offsets", "read", search_matrix_offsets),
    Op("recommend_points", "read", _legacy_one(recommend_as_query)),
    Op("recommend_batch_points", "read", _legacy_batch(recommend_as_query, "recommend")),
    Op("recommend_point_groups", "read", recommend_point_groups),
    Op("discover_points", "read", _legacy_one(discover_as_query)),
    Op("discover_batch_points", "read", _legacy_batch(discover_as_query, "discover")),
)
