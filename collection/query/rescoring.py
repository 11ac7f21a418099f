"""Re-score a stage's candidates with another vector: no new search, only these points.

This is the guide's multi-stage query: a cheap prefetch (a small MRL or byte vector) finds
candidates, then a bigger vector or a ColBERT multivector orders exactly those. Candidates
are grouped by segment and each group is scored in one numpy call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.query.results import Location, Scored
from segments.appendable import AppendableSegment
from segments.ids import PointId


def score_locations(name: str, query: Any, locs: list[Location]) -> np.ndarray:
    """Scores of points at ``locs`` for vector ``name``; NaN where a point lacks it."""
    scores = np.full(len(locs), np.nan, dtype=np.float64)
    groups: dict[int, tuple[AppendableSegment, list[int], list[int]]] = {}
    for i, (seg, off) in enumerate(locs):
        entry = groups.setdefault(id(seg), (seg, [], []))
        entry[1].append(i)
        entry[2].append(off)
    for seg, positions, offsets in groups.values():
        live = seg.live_mask()
        offs = np.asarray(offsets, dtype=np.int64)
        store = seg.vectors[name]
        if isinstance(query, tuple):
            got = store.score_offsets(query[0], query[1], offs)  # type: ignore[call-arg]
        else:
            got = store.score_offsets(query, offs)  # type: ignore[call-arg]
        got = np.asarray(got, dtype=np.float64)
        got[~live[offs]] = np.nan
        scores[positions] = got
    return scores


def rescore(
    name: str,
    query: Any,
    ids: list[PointId],
    locs: list[Location],
    higher_is_better: bool,
    threshold: float | None,
    top: int,
) -> Scored:
    """The ``top`` best of the given points by ``query``, dropping those without the vector
    (or, for sparse, sharing no index) and those not better than ``threshold``."""
    scores = score_locations(name, query, locs)
    keep = ~np.isnan(scores)
    if threshold is not None:
        keep &= scores > threshold if higher_is_better else scores < threshold
    idx = np.flatnonzero(keep)
    key = -scores[idx] if higher_is_better else scores[idx]
    order = idx[np.argsort(key, kind="stable")][:top]
    return Scored(
        [ids[i] for i in order.tolist()],
        scores[order],
        [locs[i] for i in order.tolist()],
    )
