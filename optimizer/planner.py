"""What to optimize: which segments to index (build HNSW) and which to vacuum.

Index: an appendable segment whose dense vectors pass the collection's ``indexing_threshold``
(KB, as Qdrant counts it); 0 disables indexing. Vacuum: an indexed segment whose share of
deleted points passes ``deleted_threshold`` with at least ``vacuum_min_vector_number`` deleted.
Both are done the same way: rebuild the segment from its live points. Merge: several small
segments (not the one taking new points) become one.
"""

from __future__ import annotations

from dataclasses import dataclass

from collection.config import CollectionConfig
from segments.appendable import AppendableSegment
from segments.vectors.dense import DenseVectors


@dataclass(frozen=True)
class Task:
    """One planned rebuild of one segment, or merge of several into one."""

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


def plan(
    segments: list[AppendableSegment],
    config: CollectionConfig,
    write_segment: AppendableSegment | None = None,
    max_points: int = 0,
) -> list[Task]:
    """Segments worth rebuilding now, biggest first; then small segments worth merging."""
    opt = config.optimizer_config
    threshold = opt.indexing_threshold
    tasks: list[tuple[float, Task]] = []
    has_dense = any(p.multivector_config is None for p in config.vectors.values())
    for seg in segments:
        if seg.appendable:
            if has_dense and threshold and seg.live_count and vector_kb(seg) >= threshold:
                tasks.append((vector_kb(seg), Task((seg.seg_id,), "index")))
            continue
        deleted = seg.size - seg.live_count
        if (
            seg.size
            and deleted >= opt.vacuum_min_vector_number
            and deleted / seg.size > opt.deleted_threshold
        ):
            tasks.append((vector_kb(seg), Task((seg.seg_id,), "vacuum")))
    tasks.sort(key=lambda t: -t[0])
    out = [t for _, t in tasks]
    busy = {sid for t in out for sid in t.seg_ids}
    merge = merge_task(
        [s for s in segments if s.seg_id not in busy and s is not write_segment], max_points
    )
    return out + ([merge] if merge is not None else [])


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
