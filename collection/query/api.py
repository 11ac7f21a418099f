"""Entry point of the query engine for the server: a validated QueryRequest in, points out."""

from __future__ import annotations

from typing import Any

import numpy as np

from collection import operations
from collection.config import CollectionConfig
from collection.errors import BadRequest
from collection.handle import Collection
from collection.points import check_with_payload, check_with_vector, point_json
from collection.query.executor import search
from segments.filters import parse_filter
from segments.ids import PointId, normalize_id
from segments.vectors import kind_of
from segments.vectors.sparse import idf


def higher_is_better(config: CollectionConfig, name: str) -> bool:
    """Sparse vectors score by dot product; dense and multivectors by their distance."""
    if name in config.sparse_vectors:
        return True
    return config.vectors[name].distance.higher_is_better


def _point_id(value: Any) -> PointId | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return normalize_id(value)
    except ValueError as exc:
        raise BadRequest(f"Wrong input: {exc}") from None


def resolve_query(coll: Collection, query: Any, name: str) -> tuple[Any, PointId | None]:
    """The query in storage form for vector ``name``: a dense array, a multivector matrix or
    an ``(indices, values)`` pair; a point id is looked up (and reported for exclusion)."""
    if isinstance(query, dict) and set(query) == {"nearest"}:
        query = query["nearest"]
    pid = _point_id(query)
    if pid is not None:
        query = coll.stored_vector(pid, name)
    checked = operations.one_vector(coll.config, name, query)
    if isinstance(checked, dict):
        indices, values = checked["indices"], checked["values"]
        return (indices, _idf_weighted(coll, name, indices, values)), pid
    return checked, pid


def _idf_weighted(
    coll: Collection, name: str, indices: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """With ``modifier: idf``, scale the query's weights by each index's IDF over the
    collection's live points that hold this sparse vector."""
    params = coll.config.sparse_vectors[name]
    if params.modifier != "idf" or len(indices) == 0:
        return values
    df = np.zeros(len(indices), dtype=np.int64)
    n = 0
    for seg in coll.holder:
        live = seg.live_mask()
        store = seg.vectors[name]
        df += store.document_frequency(indices, live)  # type: ignore[union-attr]
        n += store.count(live)  # type: ignore[union-attr]
    return (values * idf(df, n)).astype(np.float32)


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
    query, exclude = resolve_query(coll, req.query, name)
    flt = parse_filter(req.filter) if req.filter else None
    hits = await search(
        list(coll.holder),
        name,
        query,
        higher_is_better(coll.config, name),
        flt,
        req.offset + req.limit,
        req.score_threshold,
        {exclude} if exclude is not None else None,
    )
    return [
        point_json(coll.config, h.segment, h.offset, with_payload, with_vector, h.score)
        for h in hits[req.offset :]
    ]


__all__ = ["query_points", "resolve_query", "higher_is_better", "kind_of"]
