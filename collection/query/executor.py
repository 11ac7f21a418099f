"""Run nearest-neighbour searches across every segment of a collection at once.

Each segment is searched in its own task of a trio nursery; a segment large enough to make the
numpy work noticeable is scored in a worker thread so both cores work. Per-segment top-k lists
are merged into the collection's top-k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import trio

from segments.appendable import AppendableSegment, SearchHits
from segments.filters import Filter
from segments.vectors.sparse import best_first

THREAD_THRESHOLD = 200_000
"""Segments with more stored floats than this are scored in a worker thread."""


@dataclass
class Hit:
    """One scored point: where it lives and its score."""

    score: float
    segment: AppendableSegment
    offset: int


def _candidates(seg: AppendableSegment, flt: Filter | None, exclude: set[Any]) -> np.ndarray:
    mask = seg.live_mask()
    if flt is not None:
        mask &= flt.mask(seg)
    if exclude:
        offs = seg.offsets_of(exclude)
        mask[offs[offs < len(mask)]] = False
    return mask


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
) -> list[Hit]:
    """The ``top`` best points for ``query`` on vector ``name`` over all segments, best first."""
    results: list[tuple[AppendableSegment, SearchHits]] = []
    exclude = exclude or set()
    weight = np.asarray(query[1] if isinstance(query, tuple) else query).size

    async def one(seg: AppendableSegment) -> None:
        mask = _candidates(seg, flt, exclude)
        if seg.size * weight > THREAD_THRESHOLD:
            hits = await trio.to_thread.run_sync(seg.search, name, query, mask, top)
        else:
            hits = seg.search(name, query, mask, top)
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
