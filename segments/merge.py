"""Merge the snapshots of several small segments into the snapshot of one.

Only live points are kept, each with its payload, vectors and version, in the order of the
sources; ``origin`` says where each merged point came from, so a swap can carry over what
changed in the sources while the merged segment was being built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segments.appendable import AppendableSegment
from segments.types import SegmentConfig
from segments.vectors import storage_item


def merge_snapshots(
    snapshots: list[dict[str, Any]], config: SegmentConfig
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Blocking: (merged snapshot, origin) where origin[i] = (source segment id, offset)."""
    merged = AppendableSegment(int(snapshots[0]["seg_id"]), config)
    origin: list[tuple[int, int]] = []
    for snap in snapshots:
        source = AppendableSegment.restore(snap, config)
        for off in np.flatnonzero(source.live_mask()).tolist():
            point = source.point_record(off)
            one = np.ones(1, dtype=bool)
            vectors = {name: ([storage_item(v)], one) for name, v in point["vector"].items()}
            merged.upsert(source.version_of(off), [point["id"]], vectors, [point["payload"]])
            origin.append((source.seg_id, off))
    merged.dirty = False
    state = merged.snapshot()
    state["version"] = max(int(s["version"]) for s in snapshots)
    state["index_schema"] = snapshots[0].get("index_schema")
    return state, origin
