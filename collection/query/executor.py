"""Run a query plan: leaf searches across every segment at once, then the merge stages.

Each stage runs its children concurrently in a trio nursery; a leaf search runs every segment
in its own task, and a segment large enough to make the numpy work noticeable is scored in a
worker thread so both cores work. Per-segment top-k lists are merged into the collection's
top-k before any fusion, so results never depend on how points are spread over segments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import trio

from collection import operations
from collection.config import CollectionConfig
from collection.errors import BadRequest
from collection.query import fusion
from collection.query.ordering import by_id, order_by
from collection.query.planner import Fusion, Nearest, OrderBy, Stage
from collection.query.rescoring import rescore
from collection.query.results import Location, Scored, union
from segments import quantization
from segments.appendable import AppendableSegment, SearchHits
from segments.filter import Filter, mask
from segments.immutable import SearchParams
from segments.vectors.sparse import best_first, idf

THREAD_THRESHOLD = 200_000
"""Segments with more stored floats than this are scored in a worker thread."""

INDEXED_ONLY_SMALL = 1000
"""With ``indexed_only``, unindexed segments are still searched while this small."""


@dataclass
class Hit:
    """One scored point: where it lives and its score."""

    score: float
    segment: AppendableSegment
    offset: int


def _candidates(seg: AppendableSegment, flt: Filter | None, exclude: set[Any]) -> np.ndarray:
    live = seg.live_mask()
    if flt is not None:
        live &= mask(flt, seg)
    if exclude:
        offs = seg.offsets_of(exclude)
        live[offs[offs < len(live)]] = False
    return live


def _passes(scores: np.ndarray, threshold: float | None, higher_is_better: bool) -> np.ndarray:
    if threshold is None:
        return np.ones(len(scores), dtype=bool)
    if higher_is_better:
        return scores > threshold
    return scores < threshold


async def search(
    segments: list[AppendableSegment],
    name: str,
    query: Any,
    higher_is_better: bool,
    flt: Filter | None,
    top: int,
    score_threshold: float | None = None,
    exclude: set[Any] | None = None,
    params: SearchParams | None = None,
) -> list[Hit]:
    """The ``top`` best points for ``query`` on vector ``name`` over all segments, best first."""
    results: list[tuple[AppendableSegment, SearchHits]] = []
    exclude = exclude or set()
    weight = np.asarray(query[1] if isinstance(query, tuple) else query).size

    async def one(seg: AppendableSegment) -> None:
        if params is not None and params.indexed_only and seg.appendable and (
            seg.size > INDEXED_ONLY_SMALL
        ):
            return
        mask = _candidates(seg, flt, exclude)
        if seg.size * weight > THREAD_THRESHOLD or not seg.appendable:
            hits = await trio.to_thread.run_sync(seg.search, name, query, mask, top, params)
        else:
            hits = seg.search(name, query, mask, top, params)
        results.append((seg, hits))

    async with trio.open_nursery() as nursery:
        for seg in segments:
            nursery.start_soon(one, seg)

    if not results:
        return []
    scores = np.concatenate([h.scores for _, h in results])
    owners = [(seg, int(off)) for seg, h in results for off in h.offsets]
    keep = np.flatnonzero(_passes(scores, score_threshold, higher_is_better))
    best = keep[best_first(scores[keep], top, higher_is_better)]
    return [Hit(float(scores[i]), owners[i][0], owners[i][1]) for i in best.tolist()]


# --- running a plan ---------------------------------------------------------------------------


@dataclass
class StageStats:
    """What explain reports of one stage."""

    label: str
    kind: str
    candidates: int
    results: int
    ms: float


@dataclass
class QueryContext:
    """What a plan runs against: the collection, other collections for ``lookup_from``, and
    where explain records go (``None`` when not asked)."""

    collection: Any
    lookup: Callable[[str], Any]
    stats: list[StageStats] | None = None
    ranks: dict[str, Scored] | None = None


def search_params(raw: dict[str, Any] | None) -> SearchParams:
    """``params`` of a request stage (already shape-checked) as the index wants them."""
    raw = raw or {}
    ef = raw.get("hnsw_ef")
    if ef is not None and (isinstance(ef, bool) or not isinstance(ef, int) or ef < 1):
        raise BadRequest("Validation error: params.hnsw_ef must be a positive integer")
    for key in ("exact", "indexed_only"):
        if not isinstance(raw.get(key, False), bool):
            raise BadRequest(f"Validation error: params.{key} must be a boolean")
    try:
        quant = quantization.parse_params(raw.get("quantization"))
    except ValueError as exc:
        raise BadRequest(f"Validation error: {exc}") from None
    return SearchParams(
        ef, bool(raw.get("exact", False)), bool(raw.get("indexed_only", False)), quant
    )


def _kind(stage: Stage) -> str:
    q = stage.query
    if isinstance(q, Fusion):
        return q.method
    if isinstance(q, OrderBy):
        return "order_by"
    if isinstance(q, Nearest):
        return "nearest" if stage.is_leaf else "rescore"
    return "by_id"


def resolve_vector(ctx: QueryContext, stage: Stage) -> Any:
    """The stage's query in storage form; a point id is looked up (in ``lookup_from`` if set)."""
    q = stage.query
    assert isinstance(q, Nearest)
    coll = ctx.collection
    value = q.vector
    if q.point_id is not None:
        source = coll if q.lookup_collection is None else ctx.lookup(q.lookup_collection)
        name = q.lookup_vector if q.lookup_vector is not None else stage.using
        if q.lookup_collection is not None:
            name = operations.vector_name(source.config, name)
        value = source.stored_vector(q.point_id, name)
    checked = operations.one_vector(coll.config, stage.using, value)
    if isinstance(checked, dict):
        indices = checked["indices"]
        return indices, idf_weighted(coll, stage.using, indices, checked["values"])
    return checked


def idf_weighted(coll: Any, name: str, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
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
        df += store.document_frequency(indices, live)
        n += store.count(live)
    return (values * idf(df, n)).astype(np.float32)


def higher_is_better(config: CollectionConfig, name: str) -> bool:
    """Sparse vectors score by dot product; dense and multivectors by their distance."""
    if name in config.sparse_vectors:
        return True
    return config.vectors[name].distance.higher_is_better


def _matching(coll: Any, flt: Filter | None) -> tuple[list[Any], list[Location]]:
    """Every live point matching a stage's compiled filter, with its location."""
    ids: list[Any] = []
    locs: list[Location] = []
    for seg in coll.holder:
        live = seg.live_mask()
        if flt is not None:
            live &= mask(flt, seg)
        offs = np.flatnonzero(live)
        ids.extend(seg.point_ids(offs))
        locs.extend((seg, off) for off in offs.tolist())
    return ids, locs


def _filtered(
    flt: Filter | None, ids: list[Any], locs: list[Location]
) -> tuple[list[Any], list[Location]]:
    """The candidates that match a stage's own effective filter (Qdrant re-applies it when
    merging prefetches: merged ``should`` clauses can make a child wider than its parent)."""
    if flt is None or not ids:
        return ids, locs
    masks: dict[int, np.ndarray] = {}
    keep = []
    for i, (seg, off) in enumerate(locs):
        matches = masks.get(id(seg))
        if matches is None:
            matches = masks[id(seg)] = mask(flt, seg) & seg.live_mask()
        if matches[off]:
            keep.append(i)
    return [ids[i] for i in keep], [locs[i] for i in keep]


async def run_stage(ctx: QueryContext, stage: Stage) -> Scored:
    """Run one stage (its children first, all at once) and return its ranked output."""
    started = time.perf_counter()
    top = stage.offset + stage.limit
    children: list[Scored] = [Scored() for _ in stage.children]
    if stage.children:

        async def child(i: int, sub: Stage) -> None:
            children[i] = await run_stage(ctx, sub)

        async with trio.open_nursery() as nursery:
            for i, sub in enumerate(stage.children):
                nursery.start_soon(child, i, sub)
    coll = ctx.collection
    q = stage.query
    considered = 0
    if isinstance(q, Fusion):
        fused = fusion.rrf(
            [fusion.Ranked(list(c.ids), c.scores) for c in children], q.k, q.weights
        ) if q.method == "rrf" else fusion.dbsf(
            [fusion.Ranked(list(c.ids), c.scores) for c in children]
        )
        where = {pid: loc for c in children for pid, loc in zip(c.ids, c.locs, strict=True)}
        considered = len(fused.keys)
        out = Scored(list(fused.keys), fused.scores, [where[k] for k in fused.keys])
        if stage.score_threshold is not None:
            out = out.pick(np.flatnonzero(out.scores >= stage.score_threshold))
        out = out.take(0, top)
    elif isinstance(q, Nearest) and stage.children:
        ids, locs = _filtered(stage.filter, *union(children))
        considered = len(ids)
        vector = resolve_vector(ctx, stage)
        out = rescore(
            stage.using, vector, ids, locs,
            higher_is_better(coll.config, stage.using), stage.score_threshold, top,
        )
    elif isinstance(q, Nearest):
        vector = resolve_vector(ctx, stage)
        hits = await search(
            list(coll.holder), stage.using, vector,
            higher_is_better(coll.config, stage.using), stage.filter, top, stage.score_threshold,
            params=search_params(stage.params),
        )
        considered = coll.holder.points_count
        out = Scored(
            [h.segment.ids.ids[h.offset] for h in hits],
            np.asarray([h.score for h in hits], dtype=np.float64),
            [(h.segment, h.offset) for h in hits],
        )
    else:
        if stage.children:
            ids, locs = _filtered(stage.filter, *union(children))
        else:
            ids, locs = _matching(coll, stage.filter)
        considered = len(ids)
        out = order_by(q, ids, locs, top) if isinstance(q, OrderBy) else by_id(ids, locs, top)
    if ctx.stats is not None and ctx.ranks is not None:
        ctx.stats.append(
            StageStats(stage.label, _kind(stage), considered, len(out),
                       round((time.perf_counter() - started) * 1000, 3))
        )
        ctx.ranks[stage.label] = out
    return out
