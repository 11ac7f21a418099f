"""Run a query plan: leaf searches across every segment at once, then the merge stages.

Each stage runs its children concurrently in a trio nursery; a leaf search (``leaf.search``)
spreads its segments over the trio thread and worker threads. Per-segment top-k lists are
merged into the collection's top-k before any fusion, so results never depend on how points are
spread over segments.
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
from collection.errors import format_error, invalid
from collection.query import fusion
from collection.query.formula.evaluate import evaluate
from collection.query.formula.parse import FormulaSpec
from collection.query.kinds.average import average_query
from collection.query.kinds.examples import (
    Pool,
    rank_examples,
    similarities,
    similarities_at,
    to_similarity,
)
from collection.query.kinds.mmr import apply_mmr
from collection.query.kinds.specs import Average, Examples, Sample, VectorRef
from collection.query.leaf import search
from collection.query.ordering import ORDER_SCORE, by_id, order_by
from collection.query.planner import Fusion, Nearest, OrderBy, Stage
from collection.query.pool import POOL
from collection.query.rescoring import rescore
from collection.query.results import Location, Scored, union
from segments import quantization
from segments.filter import Filter, mask
from segments.immutable import SearchParams
from segments.types import ShapeError
from segments.vectors.sparse import best_first, idf

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
    if ef is not None and (isinstance(ef, bool) or not isinstance(ef, int) or ef < 0):
        raise format_error(f"params.hnsw_ef: invalid value {ef!r}, expected an unsigned integer")
    if ef is not None and ef < 1:  # ``minimum: 1``: Qdrant's validation stage (422)
        raise invalid("params.hnsw_ef", f"value {ef} invalid, must be 1 or larger")
    for key in ("exact", "indexed_only"):
        if not isinstance(raw.get(key, False), bool):
            raise format_error(f"params.{key}: invalid type: expected a boolean")
    try:
        quant = quantization.parse_params(raw.get("quantization"))
    except ShapeError as exc:  # out of the schema's range (oversampling below 1): a 422
        raise invalid(exc.field, exc.message) from None
    except ValueError as exc:
        raise format_error(str(exc)) from None
    return SearchParams(
        ef, bool(raw.get("exact", False)), bool(raw.get("indexed_only", False)), quant
    )


def _kind(stage: Stage) -> str:
    q = stage.query
    if isinstance(q, Fusion):
        return q.method
    if isinstance(q, OrderBy):
        return "order_by"
    if isinstance(q, Nearest | Average):
        name = "nearest" if stage.is_leaf else "rescore"
        if isinstance(q, Average):
            name = "recommend"
        return name if not (isinstance(q, Nearest) and q.mmr) else "mmr"
    if isinstance(q, Examples):
        return {"best_score": "recommend", "sum_scores": "recommend",
                "feedback": "relevance_feedback"}.get(q.kind, q.kind)
    if isinstance(q, FormulaSpec):
        return "formula"
    if isinstance(q, Sample):
        return "sample"
    return "by_id"


def _checked(ctx: QueryContext, stage: Stage, ref: VectorRef) -> Any:
    """An example vector checked against the stage's vector; a point id is looked up (in
    ``lookup_from`` if set)."""
    value = ref.vector
    if ref.point_id is not None:
        lookup_collection, lookup_vector = stage.lookup
        source = ctx.collection if lookup_collection is None else ctx.lookup(lookup_collection)
        name = lookup_vector if lookup_vector is not None else stage.using
        if lookup_collection is not None:
            name = operations.vector_name(source.config, name)
        value = source.stored_vector(ref.point_id, name)
    return operations.one_vector(ctx.collection.config, stage.using, value, query=True)


def resolve_vector(ctx: QueryContext, stage: Stage) -> Any:
    """The stage's query vector in storage form (recommend's average computed first)."""
    q = stage.query
    coll = ctx.collection
    if isinstance(q, Average):
        checked = average_query(
            coll.config.segment.kind(stage.using),
            [_checked(ctx, stage, r) for r in q.positives],
            [_checked(ctx, stage, r) for r in q.negatives],
        )
    else:
        assert isinstance(q, Nearest)
        checked = _checked(ctx, stage, VectorRef(q.vector, q.point_id))
    return storage_form(coll, stage.using, checked, idf_corpus(stage.params))


def storage_form(coll: Any, name: str, checked: Any, corpus: Filter | None = None) -> Any:
    """A checked vector as the stores score it: sparse as (indices, IDF-weighted values, the
    IDF counted over ``corpus`` when given)."""
    if isinstance(checked, dict):
        indices = checked["indices"]
        return indices, idf_weighted(coll, name, indices, checked["values"], corpus)
    return checked


def idf_corpus(params: dict[str, Any] | None) -> Filter | None:
    """``params.idf``: ``"global"`` (or absent) counts the whole collection, ``{"corpus":
    filter}`` only the points matching the filter; returns the parsed filter or ``None``."""
    raw = (params or {}).get("idf")
    if raw is None or raw == "global":
        return None
    if not isinstance(raw, dict) or set(raw) != {"corpus"} or not isinstance(raw["corpus"], dict):
        raise format_error('params.idf: expected "global" or {"corpus": <filter>}')
    return operations.compile_filter(raw["corpus"])


def idf_weighted(
    coll: Any, name: str, indices: np.ndarray, values: np.ndarray, corpus: Filter | None = None
) -> np.ndarray:
    """With ``modifier: idf``, scale the query's weights by each index's IDF over the
    collection's live points that hold this sparse vector (those matching ``corpus`` if set)."""
    params = coll.config.sparse_vectors[name]
    if params.modifier != "idf" or len(indices) == 0:
        return values
    df = np.zeros(len(indices), dtype=np.int64)
    n = 0
    for seg in coll.holder:
        live = seg.live_mask()
        if corpus is not None:
            live &= mask(corpus, seg)
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
    elif isinstance(q, Nearest | Average):
        mmr = q.mmr if isinstance(q, Nearest) else None
        wanted = top if mmr is None else (top if mmr.candidates is None else mmr.candidates)
        nested = mmr is not None and stage.label != "root"
        if nested and stage.is_leaf:
            # as Qdrant's engine does: an MMR prefetch without prefetches of its own hands
            # its parent the ``candidates_limit`` nearest points, not re-ranked
            mmr = None
        vector = resolve_vector(ctx, stage)
        if stage.children:
            ids, locs = _filtered(stage.filter, *union(children))
            considered = len(ids)
            if nested:
                wanted = len(ids)  # ... and one with prefetches re-ranks all they found
            out = rescore(
                stage.using, vector, ids, locs,
                higher_is_better(coll.config, stage.using), stage.score_threshold, wanted,
            )
        else:
            hits = await search(
                list(coll.holder), stage.using, vector,
                higher_is_better(coll.config, stage.using), stage.filter, wanted,
                stage.score_threshold,
                params=search_params(stage.params), group=ctx,
            )
            considered = coll.holder.points_count if ctx.stats is not None else 0
            out = Scored(
                [h.segment.ids.ids[h.offset] for h in hits],
                np.asarray([h.score for h in hits], dtype=np.float64),
                [(h.segment, h.offset) for h in hits],
            )
        if mmr is not None:
            out = await _mmr(ctx, stage, out, mmr.diversity, top)
            if nested:
                out = _with_prefetch_scores(out, children)
    elif isinstance(q, Examples):
        out, considered = await _examples(ctx, stage, children, top)
    elif isinstance(q, FormulaSpec):
        ids, locs = _filtered(stage.filter, *union(children))
        considered = len(ids)
        scores = evaluate(
            q, ids, locs, [dict(zip(c.ids, c.scores.tolist(), strict=True)) for c in children]
        )
        keep = np.flatnonzero(
            np.ones(len(ids), dtype=bool) if stage.score_threshold is None
            else scores > stage.score_threshold
        )
        out = Scored(ids, scores, locs).pick(keep[best_first(scores[keep], top, True)])
    elif isinstance(q, Sample):
        rng = np.random.default_rng()
        if stage.children:
            ids, locs = _filtered(stage.filter, *union(children))
            pool = Pool.of(locs)
        else:
            pool = Pool.matching(list(coll.holder), stage.filter)
        considered = len(pool)
        chosen = rng.choice(considered, size=min(top, considered), replace=False)
        out = pool.scored(np.full(considered, ORDER_SCORE), np.asarray(chosen, dtype=np.int64))
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


SIMILARITY_THREAD = 100_000
"""Example scoring of more (candidates x examples) than this runs in a worker thread."""


async def _examples(
    ctx: QueryContext, stage: Stage, children: list[Scored], top: int
) -> tuple[Scored, int]:
    """recommend (best_score, sum_scores), discover, context and relevance feedback."""
    q = stage.query
    assert isinstance(q, Examples)
    coll = ctx.collection
    corpus = idf_corpus(stage.params)
    queries = [storage_form(coll, stage.using, _checked(ctx, stage, r), corpus) for r in q.refs()]
    if stage.children:
        pool = Pool.of(_filtered(stage.filter, *union(children))[1])
    else:
        pool = Pool.matching(list(coll.holder), stage.filter, stage.using)

    def work() -> Scored:
        sims = similarities(coll.config, stage.using, queries, pool)
        return rank_examples(q, sims, pool, stage.score_threshold, top)

    if len(pool) * max(len(queries), 1) > SIMILARITY_THREAD:
        return await POOL.run(work), len(pool)
    return work(), len(pool)


async def _mmr(ctx: QueryContext, stage: Stage, found: Scored, diversity: float, top: int) -> Scored:
    """Re-rank nearest candidates by Maximal Marginal Relevance."""
    coll = ctx.collection
    name = stage.using
    vectors = [
        storage_form(coll, name, operations.one_vector(coll.config, name, seg.vector_of(off, name)))
        for seg, off in found.locs
    ]

    def work() -> Scored:
        # [s, j]: candidate j taken as the query against point s (MaxSim is not symmetric;
        # Qdrant compares a candidate with the points already picked this way round)
        pairwise = similarities_at(coll.config, name, vectors, found.locs).T
        relevance = to_similarity(coll.config, name, found.scores)
        return apply_mmr(found, relevance, pairwise, diversity, top)

    if len(vectors) ** 2 > SIMILARITY_THREAD:
        return await POOL.run(work)
    return work()


def _with_prefetch_scores(picked: Scored, children: list[Scored]) -> Scored:
    """MMR's picks inside a prefetch, as Qdrant's engine returns them: with the scores their
    prefetches gave them (the first that has the point), best first."""
    first: dict[Any, float] = {}
    for c in children:
        for pid, score in zip(c.ids, c.scores.tolist(), strict=True):
            first.setdefault(pid, score)
    scores = np.asarray([first[pid] for pid in picked.ids], dtype=np.float64)
    out = Scored(picked.ids, scores, picked.locs)
    return out.pick(np.argsort(-scores, kind="stable"))
