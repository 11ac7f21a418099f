"""A leaf search: one query vector against every segment, merged into the collection's top-k.

How the segments' searches are spread over threads decides most of a query's latency beyond
the graph walks themselves, so it is chosen per search:

- small segments, and unfiltered graph walks while other tasks wait for the trio thread, are
  searched on the trio thread (a thread hop costs more; see ``_shares``);
- a query alone on the server splits the other segments in two: the trio thread searches one
  share while one worker thread searches the other (both cores, one hop). The prefetches of
  one request count as alone: a hybrid query's sparse prefetch was otherwise handed whole to
  one thread behind its dense sibling, its two segments searched one after the other while a
  core sat idle (RRF p50 1.3x the sparse search alone);
- a query beside other requests' searches hands all its segments to one worker thread (the
  other queries keep the cores busy; the trio thread goes back to serving HTTP). Search
  threads come from ``pool.POOL``: at most about one per core, each draining queued searches
  without a round trip through trio.

Per-segment top-k lists are merged in segment order (not the order threads finish), so equal
scores always rank the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import trio

from collection.query.pool import POOL
from segments.appendable import AppendableSegment, SearchHits
from segments.filter import Filter, mask
from segments.immutable import SearchParams
from segments.vectors.sparse import best_first

THREAD_THRESHOLD = 200_000
"""Segments with more stored floats than this are searched off the trio thread (below it a
scan, or a graph walk over so few points, costs less than the hop)."""

INDEXED_ONLY_SMALL = 1000
"""With ``indexed_only``, unindexed segments are still searched while this small."""


@dataclass
class Hit:
    """One scored point: where it lives and its score."""

    score: float
    segment: AppendableSegment
    offset: int


class _InFlight:
    """The leaf searches running in this process, per request (touched on the trio thread
    only): ``groups[key]`` counts those of the request ``key``."""

    groups: Counter[int] = Counter()


def _candidates(
    seg: AppendableSegment, flt: Filter | None, exclude: set[Any]
) -> np.ndarray | None:
    """The offsets a leaf search may return; ``None`` for every live point (a segment then
    uses its cached masks instead of one built per call)."""
    if flt is None and not exclude:
        return None
    live = seg.live_mask()
    if flt is not None:
        live &= mask(flt, seg)
    if exclude:
        offs = seg.offsets_of(exclude)
        live[offs[offs < len(live)]] = False
    return live


def _passes(scores: np.ndarray, threshold: float, higher_is_better: bool) -> np.ndarray:
    if higher_is_better:
        return scores > threshold
    return scores < threshold


def _halves(jobs: list[int], sizes: list[int]) -> tuple[list[int], list[int]]:
    """Split job numbers into two shares of about equal total size (largest first); the first
    share, the trio thread's, is the larger when they cannot be equal (it starts at once, the
    worker only once woken)."""
    shares: tuple[list[int], list[int]] = ([], [])
    load = [0, 0]
    for j in sorted(jobs, key=lambda j: -sizes[j]):
        side = 0 if load[0] <= load[1] else 1
        shares[side].append(j)
        load[side] += sizes[j]
    return shares


async def _alongside(work: Callable[[list[int]], None], here: list[int], there: list[int]) -> None:
    """Run ``work(there)`` on a search thread while the trio thread runs ``work(here)``; wait
    for both (the thread's share is never abandoned: it reads segments the caller owns)."""
    ticket = POOL.submit(lambda: work(there))
    try:
        work(here)
    finally:
        await ticket.result()


def _shares(
    picked: list[tuple[AppendableSegment, np.ndarray | None]], name: str, query: Any,
    weight: int, params: SearchParams | None, others: bool,
) -> tuple[list[int], list[int]]:
    """Which segments' searches run here, on the trio thread, and which on search threads.

    Small segments run here. So do unfiltered graph walks (ef-bounded work, ~0.1 ms at the
    default ef) when other tasks wait for this thread or only one such walk is left: a hop
    to a search thread and back costs the trio thread about what the walk costs, and under
    concurrent queries the GIL hand-overs around hops cost more than they save. A query
    alone with several large segments still splits them over both cores (``_alongside``);
    ``others``: other requests' searches are running on search threads."""
    light, heavy, walks = [], [], []
    for j, (seg, candidates) in enumerate(picked):
        if seg.size * weight <= THREAD_THRESHOLD:
            light.append(j)
        elif seg.walks_graph(name, query, candidates, params):
            walks.append(j)
        else:
            heavy.append(j)
    busy = trio.lowlevel.current_statistics().tasks_runnable > 0
    if busy or others or len(walks) + len(heavy) <= 1:
        light.extend(walks)
    else:
        heavy.extend(walks)
    return sorted(light), heavy


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
    group: object | None = None,
) -> list[Hit]:
    """The ``top`` best points for ``query`` on vector ``name`` over all segments, best first;
    ``group`` is the request the search belongs to (its sibling searches do not count as
    other load)."""
    exclude = exclude or set()
    weight = np.asarray(query[1] if isinstance(query, tuple) else query).size
    # The candidate masks are computed here, on the trio thread, where the actor cannot change
    # a payload index mid-read.
    picked: list[tuple[AppendableSegment, np.ndarray | None]] = []
    for seg in segments:
        if params is not None and params.indexed_only and seg.appendable and (
            seg.size > INDEXED_ONLY_SMALL
        ):
            continue
        picked.append((seg, _candidates(seg, flt, exclude)))
    results: list[SearchHits | None] = [None] * len(picked)

    def work(jobs: list[int]) -> None:
        for j in jobs:
            seg, candidates = picked[j]
            results[j] = seg.search(name, query, candidates, top, params)

    token = object()  # alive until the search ends, so its id stays unique meanwhile
    key = id(token if group is None else group)
    groups = _InFlight.groups
    light, heavy = _shares(picked, name, query, weight, params,
                           others=any(k != key for k in groups))
    work(light)
    if heavy:
        groups[key] += 1
        try:
            if len(heavy) > 1 and len(groups) == 1:
                sizes = [seg.size for seg, _ in picked]
                await _alongside(work, *_halves(heavy, sizes))
            else:
                await POOL.run(lambda: work(heavy))
        finally:
            groups[key] -= 1
            if not groups[key]:
                del groups[key]

    found = [(seg, hits) for (seg, _), hits in zip(picked, results, strict=True)
             if hits is not None and len(hits.offsets)]
    if not found:
        return []
    scores = np.concatenate([h.scores for _, h in found])
    offsets = np.concatenate([h.offsets for _, h in found])
    owner = np.repeat(np.arange(len(found)), [len(h.offsets) for _, h in found])
    if score_threshold is None:
        best = best_first(scores, top, higher_is_better)
    else:
        keep = np.flatnonzero(_passes(scores, score_threshold, higher_is_better))
        best = keep[best_first(scores[keep], top, higher_is_better)]
    return [Hit(float(scores[i]), found[owner[i]][0], int(offsets[i])) for i in best.tolist()]
