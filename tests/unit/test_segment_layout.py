"""Segment layout: the write segment's cut, the planner aiming at ``default_segment_number``
indexed segments under ``max_segment_size``, graphs extended by merges, and bulk merges that
keep every point's payload, vectors and version."""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.config import CollectionConfig, CreateCollection
from optimizer.planner import plan, segment_points
from optimizer.worker import build
from segments.holder import SegmentHolder
from segments.immutable import ImmutableSegment
from segments.merge import merge_snapshots

DIM = 8
POINT_KB = DIM * 4 / 1024
SEG = 1024
"""Points at which the write segment is cut (32 KB of 8-d vectors: the indexing threshold)."""


def _config(**optimizers: Any) -> CollectionConfig:
    body = {
        "vectors": {"d": {"size": DIM, "distance": "Cosine"},
                    "m": {"size": 4, "distance": "Dot",
                          "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"s": {}},
        "optimizers_config": {"indexing_threshold": 32, **optimizers},  # 1024 points
        "hnsw_config": {"full_scan_threshold": 1},
    }
    return CreateCollection.model_validate(body).to_config()


def _points(rng: np.random.Generator, ids: range) -> list[dict[str, Any]]:
    out = []
    for i in ids:
        vector: dict[str, Any] = {"d": rng.normal(size=DIM).astype(np.float32).tolist()}
        if i % 3:
            vector["s"] = {"indices": [i % 7, 10 + i % 5], "values": [0.5, float(i % 4)]}
        if i % 2:
            vector["m"] = rng.normal(size=(1 + i % 3, 4)).astype(np.float32).tolist()
        out.append({"id": i, "vector": vector, "payload": {"i": i}})
    return out


def _optimize(holder: SegmentHolder, config: CollectionConfig, cap: int | None) -> list[str]:
    """Run planned tasks one by one (as the optimizer does) until none is left."""
    done = []
    for _ in range(50):
        holder.rotate_at = segment_points(config, cap)
        tasks = plan(list(holder), config, holder.write_segment, cap, holder.rotate_at)
        if not tasks:
            return done
        task = tasks[0]
        prepared = holder.prepare_rebuild(list(task.seg_ids))
        assert prepared is not None
        snapshots, version = prepared
        built, origin = build(snapshots, config, 2)
        assert holder.swap(list(task.seg_ids), built, version, origin)
        done.append(f"{task.reason}{len(task.seg_ids)}")
    raise AssertionError("the planner never settles")


def _state(holder: SegmentHolder) -> dict[Any, Any]:
    out = {}
    for seg in holder:
        for off in np.flatnonzero(seg.live_mask()).tolist():
            out[seg.ids.ids[off]] = seg.point_record(off), seg.version_of(off)
    return out


def test_sequential_ingest_ends_in_the_target_number_of_indexed_segments() -> None:
    config = _config(default_segment_number=2)
    holder = SegmentHolder(config.segment, None)
    holder.rotate_at = segment_points(config, None)
    assert holder.rotate_at == SEG  # cut where it is worth indexing
    rng = np.random.default_rng(3)
    points = _points(rng, range(5 * SEG))
    op = 0
    runs: list[str] = []
    for start in range(0, len(points), 256):
        op += 1
        holder.apply(op, {"op": "upsert", "points": points[start : start + 256]})
        runs += _optimize(holder, config, None)
    before = {p["id"]: p for p in points}
    segs = list(holder)
    assert len(segs) == 2 and all(isinstance(s, ImmutableSegment) for s in segs), runs
    assert sorted(s.live_count for s in segs) == [2 * SEG, 3 * SEG]
    assert runs == ["index1", "index1", "index2", "index2", "index2"]
    for seg in segs:
        assert int(seg.indexes["d"].get_current_count()) == seg.live_count
    state = _state(holder)
    assert sorted(state) == sorted(before)
    for pid, (record, _) in state.items():
        want = before[pid]
        assert record["payload"] == want["payload"]
        unit = np.asarray(want["vector"]["d"]) / np.linalg.norm(want["vector"]["d"])  # Cosine
        np.testing.assert_allclose(record["vector"]["d"], unit, rtol=1e-5)
        assert set(record["vector"]) == set(want["vector"])
        if "s" in want["vector"]:
            assert record["vector"]["s"]["indices"] == want["vector"]["s"]["indices"]
        if "m" in want["vector"]:
            np.testing.assert_allclose(record["vector"]["m"], want["vector"]["m"], rtol=1e-6)
    # the graphs find every point by its own vector
    for seg in segs:
        for off in range(0, seg.size, 97):
            q = np.asarray(seg.vector_of(off, "d"), dtype=np.float32)
            assert seg.search("d", q, None, 1).offsets.tolist() == [off]


def test_segment_limits_hold() -> None:
    # max_segment_size (KB) and the server's cap keep merges from growing past them
    config = _config(default_segment_number=1, max_segment_size=int(2500 * POINT_KB) + 1)
    holder = SegmentHolder(config.segment, None)
    rng = np.random.default_rng(4)
    points = _points(rng, range(4 * SEG))
    for start in range(0, len(points), 512):
        holder.apply(start + 1, {"op": "upsert", "points": points[start : start + 512]})
        _optimize(holder, config, None)
    assert sorted(s.live_count for s in holder) == [2 * SEG, 2 * SEG]
    capped = SegmentHolder(config.segment, 1200)
    for start in range(0, len(points), 512):
        capped.apply(start + 1, {"op": "upsert", "points": points[start : start + 512]})
        _optimize(capped, config, 1200)
    assert all(s.live_count <= 1200 for s in capped)
    assert segment_points(config, 100) == 100


def test_bulk_merge_keeps_points_and_order() -> None:
    config = _config(indexing_threshold=0)
    holder = SegmentHolder(config.segment, 50)
    rng = np.random.default_rng(5)
    holder.apply(1, {"op": "upsert", "points": _points(rng, range(120))})
    holder.apply(2, {"op": "delete_points", "ids": list(range(0, 120, 4))})
    segs = list(holder)
    assert len(segs) == 3
    snaps = [s.snapshot() for s in segs]
    merged, origin = merge_snapshots(snaps, config.segment)
    assert len(merged["ids"]) == len(origin) == 90
    assert origin == [(s.seg_id, int(o)) for s in segs for o in np.flatnonzero(s.live_mask())]
    assert merged["ids"] == [pid for s in segs for pid in s.point_ids(
        np.flatnonzero(s.live_mask()))]
    assert merged["versions"].tolist() == [1] * 90
    built, _ = build(snaps, config, 1)
    for off, (sid, old) in enumerate(origin):
        seg = holder.segments[sid]
        assert built.point_record(off) == seg.point_record(old)
