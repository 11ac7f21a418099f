"""What to optimize: which segments to index (build HNSW), merge and vacuum, and the size at
which the write segment is cut.

Index: an appendable segment whose dense vectors pass the collection's ``indexing_threshold``
(KB, as Qdrant counts it); 0 disables indexing. The write segment is cut at that size, so it is
indexed whole. While fewer indexed segments exist than the
collection's ``default_segment_number`` (0 = the CPU count) it becomes a new indexed segment;
from then on it is merged into the smallest indexed segment it fits beside (under
``max_segment_size`` KB, and the server's ``max_points_per_segment`` if set), whose graph the
build extends with the new points instead of rebuilding it. So 100k 128-d points on 2 cores
end in 2 indexed segments (40k + 60k), each point inserted into a graph once.

Vacuum: an indexed segment whose share of deleted points passes ``deleted_threshold`` with at
least ``vacuum_min_vector_number`` deleted, rebuilt from its live points. Merge: more indexed
segments than the target (after deletes, or a lower ``default_segment_number``) lose their two
smallest to one; and several small segments (not the one taking new points) become one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from collection.config import CollectionConfig
from segments.appendable import AppendableSegment
from segments.vectors.dense import DenseVectors

FALLBACK_SEGMENT_POINTS = 20_000
"""Where the write segment is cut when its size cannot be told in KB (no dense vectors)."""
MIN_SEGMENT_POINTS = 1000
"""The write segment is not cut smaller than this for a tiny ``indexing_threshold`` (it is
still indexed once past the threshold, as before): no flood of few-point segments."""


@dataclass(frozen=True)
class Task:
    """One planned rebuild of one segment, or merge of several into one (the first listed
    first, so an indexed one's graph can be extended)."""

    seg_ids: tuple[int, ...]
    reason: str  # "index", "vacuum" or "merge"


def vector_kb(seg: AppendableSegment) -> float:
    """Kilobytes of live dense vectors in a segment (what the threshold is compared with)."""
    live = seg.live_count
    total = 0
    for store in seg.vectors.values():
        if isinstance(store, DenseVectors):
            total += live * store.dim * 4
    return total / 1024


def point_kb(config: CollectionConfig) -> float:
    """Kilobytes of dense vectors one point adds (each dense vector counted as float32)."""
    dims = sum(p.size for p in config.vectors.values() if p.multivector_config is None)
    return dims * 4 / 1024


def segment_points(config: CollectionConfig, cap: int | None) -> int:
    """Points at which the write segment is cut: as soon as it is worth indexing (at
    ``indexing_threshold``, so it is indexed whole and no unindexed tail is left beside it;
    at least ``MIN_SEGMENT_POINTS``), else at ``max_segment_size`` worth of dense vectors;
    at most ``cap``."""
    opt = config.optimizer_config
    per_point = point_kb(config)
    if not per_point:
        points = FALLBACK_SEGMENT_POINTS
    elif opt.indexing_threshold:
        at = math.ceil(min(opt.indexing_threshold, opt.max_segment_kb()) / per_point)
        points = max(at, MIN_SEGMENT_POINTS)
    else:
        points = int(opt.max_segment_kb() / per_point)
    return max(1, min(points, cap) if cap else points)


def plan(
    segments: list[AppendableSegment],
    config: CollectionConfig,
    write_segment: AppendableSegment | None = None,
    cap: int | None = None,
    rotate_at: int | None = None,
) -> list[Task]:
    """Segments worth rebuilding now, biggest first; then merges. ``cap``: the server's
    limit of points per segment (None: none); ``rotate_at``: where the write segment is cut."""
    opt = config.optimizer_config
    threshold = opt.indexing_threshold
    rotate_at = rotate_at or segment_points(config, cap)
    has_dense = any(p.multivector_config is None for p in config.vectors.values())
    indexed = [s for s in segments if not s.appendable]
    wanted: list[tuple[float, AppendableSegment, str]] = []
    for seg in segments:
        if seg.appendable:
            if has_dense and threshold and seg.live_count and vector_kb(seg) >= threshold:
                wanted.append((vector_kb(seg), seg, "index"))
            continue
        deleted = seg.size - seg.live_count
        if (
            seg.size
            and deleted >= opt.vacuum_min_vector_number
            and deleted / seg.size > opt.deleted_threshold
        ):
            wanted.append((vector_kb(seg), seg, "vacuum"))
    wanted.sort(key=lambda t: -t[0])
    busy = {seg.seg_id for _, seg, _ in wanted}
    target = opt.segment_number()
    limit_kb = opt.max_segment_kb()
    out: list[Task] = []
    count = len(indexed)
    for kb, seg, reason in wanted:
        if reason == "index" and count >= target:
            base = _base_for(seg, kb, indexed, busy, limit_kb, cap)
            if base is not None:
                busy.add(base.seg_id)
                out.append(Task((base.seg_id, seg.seg_id), "index"))
                continue
        if reason == "index":
            count += 1
        out.append(Task((seg.seg_id,), reason))
    if count > target and has_dense and threshold:
        pair = _smallest_pair([s for s in indexed if s.seg_id not in busy], limit_kb, cap)
        if pair is not None:
            busy.update(pair)
            out.append(Task(pair, "merge"))
    merge = merge_task(
        [s for s in segments if s.seg_id not in busy and s is not write_segment],
        rotate_at,
    )
    return out + ([merge] if merge is not None else [])


def _fits(a: AppendableSegment, b: AppendableSegment, kb: float, limit_kb: int,
          cap: int | None) -> bool:
    return vector_kb(a) + kb <= limit_kb and (not cap or a.live_count + b.live_count <= cap)


def _base_for(seg: AppendableSegment, kb: float, indexed: list[AppendableSegment],
              busy: set[int], limit_kb: int, cap: int | None) -> AppendableSegment | None:
    """The indexed segment ``seg`` is best merged into: the smallest that fits beside it,
    one without deleted points (whose graph can be extended) if any fits."""
    fitting = [s for s in indexed if s.seg_id not in busy and _fits(s, seg, kb, limit_kb, cap)]
    if not fitting:
        return None
    return min(fitting, key=lambda s: (s.size != s.live_count, s.live_count))


def _smallest_pair(indexed: list[AppendableSegment], limit_kb: int,
                   cap: int | None) -> tuple[int, int] | None:
    """The two smallest indexed segments if they fit together, the bigger first."""
    if len(indexed) < 2:
        return None
    a, b = sorted(indexed, key=lambda s: s.live_count)[:2]
    if not _fits(b, a, vector_kb(a), limit_kb, cap):
        return None
    first, second = (b, a) if b.size == b.live_count or a.size != a.live_count else (a, b)
    return first.seg_id, second.seg_id


def merge_task(segments: list[AppendableSegment], max_points: int) -> Task | None:
    """Merge the smallest segments (each under a quarter of ``max_points``) while together
    they stay under half of it, keeping the segment count from creeping up after deletes."""
    if max_points <= 0:
        return None
    small = sorted(
        (s for s in segments if s.live_count < max_points // 4), key=lambda s: s.live_count
    )
    chosen: list[int] = []
    total = 0
    for seg in small:
        if total + seg.live_count > max_points // 2:
            break
        chosen.append(seg.seg_id)
        total += seg.live_count
    return Task(tuple(chosen), "merge") if len(chosen) >= 2 else None
