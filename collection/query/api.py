"""Entry point of the query engine for the server: a validated QueryRequest in, points out."""

from __future__ import annotations

from typing import Any

import numpy as np

from collection import operations
from collection.errors import BadRequest
from collection.handle import Collection
from collection.points import check_with_payload, check_with_vector, point_json
from collection.query.executor import search
from segments.filters import parse_filter
from segments.ids import PointId, normalize_id
from segments.vectors.dense import prepare


def _is_vector(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    )


def resolve_query(coll: Collection, query: Any, name: str) -> tuple[np.ndarray, PointId | None]:
    """The query vector for ``query`` (a vector, a point id, or ``{"nearest": ...}``)."""
    if isinstance(query, dict) and set(query) == {"nearest"}:
        query = query["nearest"]
    size = coll.config.vectors[name].size
    if _is_vector(query):
        return operations.finite_vector(query, size), None
    if isinstance(query, int | str) and not isinstance(query, bool):
        try:
            pid = normalize_id(query)
        except ValueError as exc:
            raise BadRequest(f"Wrong input: {exc}") from None
        return coll.vector_of_point(pid, name), pid
    raise BadRequest("Wrong input: unsupported query; expected a dense vector or a point id")


async def query_points(coll: Collection, req: Any) -> list[dict[str, Any]]:
    """Nearest neighbours (or, without a query, points in id order) for one request."""
    if req.prefetch:
        raise BadRequest("Wrong input: prefetch is not supported yet")
    if req.lookup_from is not None:
        raise BadRequest("Wrong input: lookup_from is not supported yet")
    with_payload = check_with_payload(req.with_payload)
    with_vector = check_with_vector(coll.config, req.with_vector)
    if req.query is None:
        points, _ = coll.scroll(
            req.filter, None, req.offset + req.limit, with_payload, with_vector
        )
        out = points[req.offset :]
        for p in out:
            p["score"] = 0.0
            p["version"] = 0
        return out
    name = operations.vector_name(coll.config, req.using)
    vec, exclude = resolve_query(coll, req.query, name)
    params = coll.config.vectors[name]
    flt = parse_filter(req.filter) if req.filter else None
    prepared = prepare(vec[None, :], params.distance)[0]
    hits = await search(
        list(coll.holder),
        name,
        prepared,
        params.distance,
        flt,
        req.offset + req.limit,
        req.score_threshold,
        {exclude} if exclude is not None else None,
    )
    return [
        point_json(coll.config, h.segment, h.offset, with_payload, with_vector, h.score)
        for h in hits[req.offset :]
    ]
