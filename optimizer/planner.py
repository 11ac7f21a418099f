"""What to optimize: which segments to index (build HNSW) and which to vacuum.

Index: an appendable segment whose dense vectors pass the collection's ``indexing_threshold``
(KB, as Qdrant counts it); 0 disables indexing. Vacuum: an indexed segment whose share of
deleted points passes ``deleted_threshold`` with at least ``vacuum_min_vector_number`` deleted.
Both are done the same way: rebuild the segment from its live points.
"""

from __future__ import annotations

from dataclasses import dataclass

from collection.config import CollectionConfig
from segments.appendable import AppendableSegment
from segments.vectors.dense import DenseVectors


@dataclass(frozen=True)
class Task:
    """One planned rebuild."""

    seg_id: int
    reason: str  # "index" or "vacuum"


def vector_kb(seg: AppendableSegment) -> float:
    """Kilobytes of live dense vectors in a segment (what the threshold is compared with)."""
    live = seg.live_count
    total = 0
    for store in seg.vectors.values():
        if isinstance(store, DenseVectors):
            total += live * store.dim * 4
    return total / 1024


def plan(segments: list[AppendableSegment], config: CollectionConfig) -> list[Task]:
    """Segments worth rebuilding now, biggest first."""
    opt = config.optimizer_config
    threshold = opt.indexing_threshold
    tasks: list[tuple[float, Task]] = []
    has_dense = any(p.multivector_config is None for p in config.vectors.values())
    for seg in segments:
        if seg.appendable:
            if has_dense and threshold and seg.live_count and vector_kb(seg) >= threshold:
                tasks.append((vector_kb(seg), Task(seg.seg_id, "index")))
            continue
        deleted = seg.size - seg.live_count
        if (
            seg.size
            and deleted >= opt.vacuum_min_vector_number
            and deleted / seg.size > opt.deleted_threshold
        ):
            tasks.append((vector_kb(seg), Task(seg.seg_id, "vacuum")))
    tasks.sort(key=lambda t: -t[0])
    return [t for _, t in tasks]
