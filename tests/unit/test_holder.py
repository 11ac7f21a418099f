"""The segment holder: applying records, idempotent replay, rotation, flush and reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segments.holder import SegmentHolder
from segments.types import Distance, SegmentConfig, VectorParams


def _config() -> SegmentConfig:
    return SegmentConfig(
        vectors={
            "a": VectorParams(size=2, distance=Distance.COSINE),
            "b": VectorParams(size=2, distance=Distance.DOT),
        }
    )


def _upsert(ids: list[int], payload: dict | None = None) -> dict:
    return {
        "op": "upsert",
        "points": [{"id": i, "vector": {"a": [3.0, 4.0], "b": [1.0, i]}, "payload": payload}
                   for i in ids],
    }


def _state(holder: SegmentHolder) -> dict:
    out = {}
    for seg in holder:
        for off in np.flatnonzero(seg.live_mask()).tolist():
            pid = seg.ids.ids[off]
            out[pid] = (seg.payload_of(off), seg.vector_of(off, "a"), seg.vector_of(off, "b"),
                        seg.version_of(off))
    return out


def test_apply_is_idempotent_by_operation_number() -> None:
    holder = SegmentHolder(_config(), max_points_per_segment=3)
    holder.apply(1, _upsert([1, 2, 3, 4, 5], {"x": 1}))
    holder.apply(2, {"op": "set_payload", "ids": [2], "payload": {"y": 2}, "key": None})
    holder.apply(3, {"op": "delete_points", "filter": {"must": [{"has_id": [4]}]}})
    before = _state(holder)
    holder.apply(2, {"op": "clear_payload", "ids": [1, 2, 3, 5]})  # already applied number
    assert _state(holder) == before
    assert set(before) == {1, 2, 3, 5}
    assert before[2][0] == {"x": 1, "y": 2}
    assert before[1][1] == [0.6000000238418579, 0.800000011920929]  # Cosine: normalised
    assert len(holder.segments) == 2  # rotated after 3 points


def test_upsert_replaces_the_whole_point_and_missing_vectors_go() -> None:
    holder = SegmentHolder(_config(), max_points_per_segment=10)
    holder.apply(1, _upsert([1], {"x": 1}))
    holder.apply(2, {"op": "upsert", "points": [{"id": 1, "vector": {"b": [2.0, 2.0]},
                                                "payload": None}]})
    payload, a, b, version = _state(holder)[1]
    assert payload == {} and a is None and b == [2.0, 2.0] and version == 2


def test_flush_and_load_round_trip(tmp_path: Path) -> None:
    holder = SegmentHolder(_config(), max_points_per_segment=2)
    holder.apply(1, _upsert([1, 2, 3], {"k": "v"}))
    holder.apply(2, {"op": "create_index", "field_name": "k", "field_schema": {"type": "keyword"}})
    holder.write_flush(tmp_path, holder.flush_plan())
    holder.apply(3, {"op": "delete_vectors", "ids": [3], "vectors": ["a"]})
    holder.write_flush(tmp_path, holder.flush_plan())
    loaded = SegmentHolder.load(tmp_path, _config(), 2)
    assert loaded.version == 3
    assert _state(loaded) == _state(holder)
    assert loaded.payload_schema == {"k": {"type": "keyword"}}
    # only the directories of the newest manifest are kept
    assert len(list((tmp_path / "segments").iterdir())) == len(loaded.segments)
