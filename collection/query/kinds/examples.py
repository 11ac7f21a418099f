"""Score candidates by their similarities to example vectors: recommend (best_score,
sum_scores), discover, context and relevance feedback.

A "similarity" is what Qdrant compares examples with: the dot product for Cosine (unit rows),
Dot and sparse vectors (0 when no index is shared), minus the squared distance for Euclid and
minus the distance for Manhattan. Candidates are every live point matching the stage's filter
(a leaf) or its prefetches' points; those without the vector are never results. Scores are
computed per segment over all candidates of the segment in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from collection.config import CollectionConfig, Datatype, Distance
from collection.query.kinds.specs import Examples
from collection.query.results import Location, Scored
from segments.filter import Filter, mask
from segments.vectors.dense import DenseVectors
from segments.vectors.sparse import best_first

CONTEXT_MARGIN = float(np.finfo(np.float32).eps)


@dataclass
class Pool:
    """Candidates grouped by segment: ``segments[i]`` holds ``offsets[i]``."""

    segments: list[Any]
    offsets: list[np.ndarray]

    @classmethod
    def matching(cls, segments: list[Any], flt: Filter | None, name: str | None = None) -> Pool:
        """Every live point of the segments matching ``flt`` (holding vector ``name``)."""
        segs, offs = [], []
        for seg in segments:
            live = seg.live_mask()
            if flt is not None:
                live &= mask(flt, seg)
            if name is not None:
                present = seg.vectors[name].present
                n = min(len(live), len(present))
                live = live[:n] & present[:n]
            found = np.flatnonzero(live)
            if len(found):
                segs.append(seg)
                offs.append(found)
        return cls(segs, offs)

    @classmethod
    def of(cls, locs: list[Location]) -> Pool:
        groups: dict[int, tuple[Any, list[int]]] = {}
        for seg, off in locs:
            groups.setdefault(id(seg), (seg, []))[1].append(off)
        return cls([g[0] for g in groups.values()],
                   [np.asarray(g[1], dtype=np.int64) for g in groups.values()])

    def __len__(self) -> int:
        return sum(len(o) for o in self.offsets)

    def locations(self, index: np.ndarray) -> list[Location]:
        """The locations of the pool's points at flat positions ``index``."""
        bounds = np.cumsum([0, *(len(o) for o in self.offsets)])
        which = np.searchsorted(bounds, index, side="right") - 1
        return [
            (self.segments[s], int(self.offsets[s][i - bounds[s]]))
            for s, i in zip(which.tolist(), index.tolist(), strict=True)
        ]

    def scored(self, scores: np.ndarray, index: np.ndarray) -> Scored:
        locs = self.locations(index)
        return Scored([seg.ids.ids[off] for seg, off in locs], scores[index], locs)


def similarities(config: CollectionConfig, name: str, queries: list[Any], pool: Pool) -> np.ndarray:
    """``len(queries) x len(pool)`` similarities; NaN where a point lacks the vector."""
    out = np.full((len(queries), len(pool)), np.nan, dtype=np.float64)
    distance = None if name in config.sparse_vectors else config.vectors[name].distance
    start = 0
    for seg, offs in zip(pool.segments, pool.offsets, strict=True):
        store = seg.vectors[name]
        present = np.zeros(len(offs), dtype=bool)
        inside = offs < len(store.present)
        present[inside] = store.present[offs[inside]]
        present &= seg.live_mask()[offs]
        fast = _dense_similarities(store, distance, queries, offs)
        if fast is not None:
            out[:, start : start + len(offs)] = np.where(present, fast, np.nan)
            start += len(offs)
            continue
        for row, query in enumerate(queries):
            if isinstance(query, tuple):
                raw = store.score_offsets(query[0], query[1], offs)
            else:
                raw = store.score_offsets(query, offs)
            raw = np.asarray(raw, dtype=np.float64)
            if distance is None:
                sim = np.nan_to_num(raw, nan=0.0)
            elif distance is Distance.EUCLID:
                sim = -(raw * raw)
            elif distance is Distance.MANHATTAN:
                sim = -raw
            else:
                sim = raw
            out[row, start : start + len(offs)] = np.where(present, sim, np.nan)
        start += len(offs)
    return out


def _dense_similarities(
    store: Any, distance: Distance | None, queries: list[Any], offs: np.ndarray
) -> np.ndarray | None:
    """All queries against float rows in one matrix product (``None``: not such a store)."""
    if (
        not isinstance(store, DenseVectors)
        or store.datatype in (Datatype.UINT8, Datatype.TURBO4)
        or distance not in (Distance.COSINE, Distance.DOT, Distance.EUCLID)
        or not queries
    ):
        return None
    q = np.stack([store.prepare_query(v) for v in queries]).astype(np.float32)
    ok = offs < len(store.present)
    offs = np.where(ok, offs, 0)
    whole = len(offs) * 2 > len(store.data)  # most rows wanted: no gather copy
    rows = store.data if whole else store.data[offs]
    rows = rows.astype(np.float32, copy=False)
    # one matrix-vector product per example: faster than one skinny matrix product here
    sims = np.stack([rows @ v for v in q]).astype(np.float64)
    norms = None if distance is not Distance.EUCLID else np.einsum("ij,ij->i", rows, rows)
    if whole:
        sims = sims[:, offs]
        norms = None if norms is None else norms[offs]
    if norms is not None:
        qn = np.einsum("ij,ij->i", q, q).astype(np.float64)
        sims = -(norms.astype(np.float64)[None, :] - 2.0 * sims + qn[:, None])
    return sims


def similarities_at(
    config: CollectionConfig, name: str, queries: list[Any], locs: list[Location]
) -> np.ndarray:
    """``similarities`` with columns in the order of ``locs``."""
    pool = Pool.of(locs)
    where: dict[int, list[int]] = {}
    for i, (seg, _) in enumerate(locs):
        where.setdefault(id(seg), []).append(i)
    columns = np.asarray([i for seg in pool.segments for i in where[id(seg)]], dtype=np.int64)
    out = np.empty((len(queries), len(locs)), dtype=np.float64)
    out[:, columns] = similarities(config, name, queries, pool)
    return out


def to_similarity(config: CollectionConfig, name: str, scores: np.ndarray) -> np.ndarray:
    """Reported nearest scores as similarities (distances become negative similarities)."""
    if name in config.sparse_vectors:
        return scores
    distance = config.vectors[name].distance
    if distance is Distance.EUCLID:
        return -(scores * scores)
    if distance is Distance.MANHATTAN:
        return -scores
    return scores


def scaled_sigmoid(x: np.ndarray) -> np.ndarray:
    """A fast sigmoid into (0, 1): ``0.5 * (x / (1 + |x|) + 1)``."""
    return 0.5 * (x / (1.0 + np.abs(x)) + 1.0)


def example_scores(spec: Examples, sims: np.ndarray) -> np.ndarray:
    """Scores of the candidates (columns of ``sims``, rows in ``spec.refs()`` order)."""
    n = sims.shape[1]
    at = 0

    def take(k: int) -> np.ndarray:
        nonlocal at
        rows = sims[at : at + k]
        at += k
        return rows

    pos, neg = take(len(spec.positives)), take(len(spec.negatives))
    target = take(1)[0] if spec.target is not None else None
    pairs = take(2 * len(spec.pairs))
    fb = take(len(spec.feedback))
    if spec.kind == "best_score":
        best_pos = pos.max(axis=0) if len(pos) else np.full(n, -np.inf)
        best_neg = neg.max(axis=0) if len(neg) else np.full(n, -np.inf)
        return np.where(best_pos > best_neg, scaled_sigmoid(best_pos), -scaled_sigmoid(best_neg))
    if spec.kind == "sum_scores":
        return pos.sum(axis=0) - neg.sum(axis=0)
    if spec.kind == "context":
        loss = np.minimum(pairs[0::2] - pairs[1::2] - CONTEXT_MARGIN, 0.0)
        return (loss / (1.0 + np.abs(loss))).sum(axis=0)
    if spec.kind == "discover":
        assert target is not None
        rank = np.sign(pairs[0::2] - pairs[1::2]).sum(axis=0)  # a tie counts 0
        return rank + scaled_sigmoid(target)
    assert spec.kind == "feedback" and target is not None
    a, b, c = spec.coefficients
    total = a * target
    marks = [score for _, score in spec.feedback]
    for i, si in enumerate(marks):
        for j, sj in enumerate(marks):
            if si > sj:
                total = total + (si - sj) ** b * c * (fb[i] - fb[j])
    return total


def rank_examples(
    spec: Examples, sims: np.ndarray, pool: Pool, threshold: float | None, top: int
) -> Scored:
    """The ``top`` best candidates by the spec's score, above ``threshold`` if given."""
    scores = example_scores(spec, sims)
    valid = ~np.isnan(sims).any(axis=0) if len(sims) else np.ones(len(pool), dtype=bool)
    if threshold is not None:
        valid &= scores > threshold
    idx = np.flatnonzero(valid)
    best = idx[best_first(scores[idx], top, higher_is_better=True)]
    return pool.scored(scores, best)
