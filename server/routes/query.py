"""Query API endpoints: query, query/batch, query/groups, and the legacy search endpoints."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app

from collection.errors import BadRequest
from collection.query import api
from collection.query.planner import Limits
from server.routes.common import body_object, collection, flag, ok, registry

bp = Blueprint("query", __name__)


def _limits() -> Limits:
    s = current_app.config["HERON_SETTINGS"].limits
    return Limits(s.max_limit, s.max_prefetch_depth, s.max_prefetches)


def _exists(name: str) -> bool:
    return name in registry().collections


async def _one(name: str, body: dict[str, Any], explain: bool) -> dict[str, Any]:
    return await api.query(
        collection(name), body, registry().get, _exists, _limits(), explain
    )


def _explain_flag(body: dict[str, Any]) -> bool:
    """``?explain=true`` or ``"explain": true`` in the body (a heron extension)."""
    in_body = body.pop("explain", False)
    if not isinstance(in_body, bool):
        raise BadRequest("Validation error: explain must be a boolean")
    return flag("explain", False) or in_body


@bp.post("/collections/<name>/points/query")
async def query(name: str) -> Response:
    body = await body_object()
    return ok(await _one(name, body, _explain_flag(body)))


@bp.post("/collections/<name>/points/query/batch")
async def query_batch(name: str) -> Response:
    body = await body_object()
    searches = body.get("searches")
    if not isinstance(searches, list):
        raise BadRequest("Validation error: `searches` must be a list of query requests")
    explain = flag("explain", False)
    out = []
    for req in searches:
        if not isinstance(req, dict):
            raise BadRequest("Validation error: each search must be an object")
        req = dict(req)
        out.append(await _one(name, req, _explain_flag(req) or explain))
    return ok(out)


@bp.post("/collections/<name>/points/query/groups")
async def query_groups(name: str) -> Response:
    body = await body_object()
    return ok(await api.groups(collection(name), body, registry().get, _exists, _limits()))


def _search_as_query(body: dict[str, Any]) -> dict[str, Any]:
    """A legacy SearchRequest as a QueryRequest: ``vector`` may be a list, a named vector
    ``{"name", "vector"}`` or a named sparse vector."""
    vector = body.get("vector")
    using = None
    if isinstance(vector, dict) and "name" in vector:
        using = vector["name"]
        vector = vector.get("vector")
    if vector is None:
        raise BadRequest("Validation error: missing field `vector`")
    out = {
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
    return out


@bp.post("/collections/<name>/points/search")
async def search(name: str) -> Response:
    body = await body_object()
    result = await _one(name, _search_as_query(body), flag("explain", False))
    return ok(result["points"])


@bp.post("/collections/<name>/points/search/batch")
async def search_batch(name: str) -> Response:
    body = await body_object()
    searches = body.get("searches")
    if not isinstance(searches, list):
        raise BadRequest("Validation error: `searches` must be a list of search requests")
    out = []
    for req in searches:
        if not isinstance(req, dict):
            raise BadRequest("Validation error: each search must be an object")
        out.append((await _one(name, _search_as_query(req), False))["points"])
    return ok(out)

