"""Memory layout of stored segments: an indexed segment's sparse and dense rows are read from
its saved files (mapped, not copied) once flushed or loaded, with the same answers as from
memory; and
the allocator tuning sends big buffers to mappings of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson

from segments.holder import SegmentHolder
from segments.immutable import ImmutableSegment
from segments.types import Distance, SegmentConfig, SparseVectorParams, VectorParams
from segments.vectors.dense import DenseVectors
from segments.vectors.sparse import SparseVectors

CONFIG = SegmentConfig(
    vectors={"d": VectorParams(size=4, distance=Distance.COSINE)},
    sparse_vectors={"s": SparseVectorParams()},
)
N = 300
ROOT = Path(__file__).resolve().parents[2]


def _points(ids: range, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in ids:
        idx = np.unique(rng.integers(0, 50, size=8))
        out.append({"id": i, "vector": {"d": rng.normal(size=4).tolist(),
                                        "s": {"indices": idx.tolist(),
                                              "values": rng.random(len(idx)).tolist()}},
                    "payload": {"cat": i % 3}})
    return out


def _indexed_holder(check: bool = False) -> SegmentHolder:
    """A holder whose only segment has been rebuilt into an indexed one (as the optimizer
    does: snapshot on the writer's side, build, swap); ``check``: the same answers as before."""
    holder = SegmentHolder(CONFIG, max_points_per_segment=10_000)
    holder.apply(1, {"op": "upsert", "points": _points(range(N), 1)})
    holder.apply(2, {"op": "upsert", "points": [  # an empty sparse vector is a stored one
        {"id": N, "vector": {"d": [1.0, 0, 0, 0], "s": {"indices": [], "values": []}}}]})
    before = _answers(holder) if check else None
    (sid,) = holder.segments
    prepared = holder.prepare_rebuild([sid])
    assert prepared is not None
    snapshots, version = prepared
    built = ImmutableSegment.build(snapshots[0], CONFIG, 1)
    origin = [(sid, int(o)) for o in built.source_offsets.tolist()]
    assert holder.swap([sid], built, version, origin)
    assert before is None or _answers(holder) == before
    return holder


def _flush(holder: SegmentHolder, root: Path) -> None:
    """A flush as a collection runs it: files written, then adopted on the writer's side."""
    plan = holder.flush_plan()
    holder.write_flush(root, plan)
    holder.adopt_saved(root, plan)


def _dense_store(holder: SegmentHolder) -> DenseVectors:
    (seg,) = [s for s in holder if isinstance(s, ImmutableSegment)]
    store = seg.vectors["d"]
    assert isinstance(store, DenseVectors)
    return store


def _answers(holder: SegmentHolder) -> list:
    """Sparse top-10 (ids, scores) for a few queries, sparse re-scoring, and stored vectors."""
    out = []
    for q in range(5):
        indices, values = np.array([q, q + 7, 40], dtype=np.int64), np.array([1.0, 0.5, 0.25])
        for seg in holder:
            every = np.ones(seg.size, dtype=bool) & seg.live_mask()
            hits = seg.search("s", (indices, values), every, 10)
            out.append((seg.point_ids(hits.offsets), hits.scores.tolist()))
            offs = np.arange(min(seg.size, 40), dtype=np.int64)
            scores = seg.vectors["s"].score_offsets(indices, values, offs)
            out.append(np.where(np.isnan(scores), -1.0, scores).tolist())  # NaN: no overlap
            dense = seg.search("d", np.array([1.0, q, -0.5, 0.25]), None, 10)
            out.append((seg.point_ids(dense.offsets), dense.scores.tolist()))
    for seg in holder:
        for off in np.flatnonzero(seg.live_mask()).tolist():
            wire = seg.vector_output(off, "s")
            orjson.dumps(wire, option=orjson.OPT_SERIALIZE_NUMPY)  # plain arrays, not memmaps
            orjson.dumps(seg.vector_output(off, "d"), option=orjson.OPT_SERIALIZE_NUMPY)
            out.append((seg.ids.ids[off], seg.vector_of(off, "s"), seg.vector_of(off, "d"),
                        None if wire is None else wire["values"].tolist(), seg.payload_of(off)))
    return out


def _sparse_store(holder: SegmentHolder) -> SparseVectors:
    (seg,) = [s for s in holder if isinstance(s, ImmutableSegment)]
    store = seg.vectors["s"]
    assert isinstance(store, SparseVectors)
    return store


def test_indexed_sparse_rows_are_mapped_once_saved_with_the_same_answers(tmp_path: Path) -> None:
    holder = _indexed_holder(check=True)  # the build's rows are the appendable segment's
    in_memory = _answers(holder)
    store = _sparse_store(holder)
    assert not store.mapped
    _flush(holder, tmp_path)
    assert store.mapped and not isinstance(store.values, np.memmap)  # a plain view
    assert _answers(holder) == in_memory
    store.release_pages()  # pages leave the process; reads fault them back in
    assert _answers(holder) == in_memory

    loaded = SegmentHolder.load(tmp_path, CONFIG, 10_000)
    mapped = _sparse_store(loaded)
    assert mapped.mapped
    assert _answers(loaded) == in_memory


def test_indexed_dense_rows_are_mapped_once_saved_and_owned_again_on_write(
    tmp_path: Path,
) -> None:
    holder = _indexed_holder(check=True)
    in_memory = _answers(holder)
    store = _dense_store(holder)
    assert not store.mapped
    _flush(holder, tmp_path)
    assert store.mapped and not isinstance(store.data, np.memmap)  # a plain view
    assert not store.data.flags.writeable
    assert _answers(holder) == in_memory
    store.release_pages()
    assert _answers(holder) == in_memory
    loaded = SegmentHolder.load(tmp_path, CONFIG, 10_000)
    assert _dense_store(loaded).mapped
    assert _answers(loaded) == in_memory
    # removing a mapped row clears its presence only; a write copies the rows back first
    rows = _dense_store(loaded)
    rows.remove(np.array([2]))
    assert rows.mapped and rows.get(2) is None
    rows.put(np.array([5]), [np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)])
    assert not rows.mapped and rows.data.flags.writeable
    assert rows.get(5) == [0.0, 1.0, 0.0, 0.0]


def test_a_change_between_snapshot_and_adoption_keeps_rows_in_memory(tmp_path: Path) -> None:
    holder = _indexed_holder()
    plan = holder.flush_plan()
    holder.write_flush(tmp_path, plan)
    holder.apply(3, {"op": "delete_points", "ids": [1]})  # the writer moved on meanwhile
    holder.adopt_saved(tmp_path, plan)
    assert not _dense_store(holder).mapped and not _sparse_store(holder).mapped


def test_deletes_on_mapped_rows_then_flush_and_reload(tmp_path: Path) -> None:
    holder = _indexed_holder()
    _flush(holder, tmp_path)
    assert _sparse_store(holder).mapped
    # deletes and vector deletions apply in place on an indexed segment (rows stay mapped)
    holder.apply(3, {"op": "delete_points", "ids": list(range(0, N, 7))})
    holder.apply(4, {"op": "delete_vectors", "ids": list(range(1, N, 11)), "vectors": ["s"]})
    expected = _answers(holder)
    live = {seg.ids.ids[o] for seg in holder for o in np.flatnonzero(seg.live_mask()).tolist()}
    assert live == {i for i in range(N + 1) if i % 7}
    _flush(holder, tmp_path)  # a compacted snapshot: not adopted
    assert _answers(holder) == expected
    loaded = SegmentHolder.load(tmp_path, CONFIG, 10_000)
    assert _sparse_store(loaded).mapped
    assert _answers(loaded) == expected
    # a point upserted again leaves the indexed segment for a new appendable one
    loaded.apply(5, {"op": "upsert", "points": _points(range(3, 4), 9)})
    holder.apply(5, {"op": "upsert", "points": _points(range(3, 4), 9)})
    assert _answers(loaded) == _answers(holder)
    _flush(loaded, tmp_path)
    assert _answers(SegmentHolder.load(tmp_path, CONFIG, 10_000)) == _answers(holder)


ALLOCATOR_CHECK = """
import ctypes, numpy as np
from segments.heap import MMAP_THRESHOLD, release_free_memory, tune_allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if TUNE:
    tune_allocator()
big = np.ones(16 << 20, dtype=np.uint8)  # freed: glibc's own rule raises its threshold to
del big                                   # 16 MiB and keeps smaller blocks in the heap
before = libc.mallinfo2().hblkhd
block = np.ones(2 * MMAP_THRESHOLD, dtype=np.uint8)
mapped = libc.mallinfo2().hblkhd - before >= block.nbytes
del block
release_free_memory()
print(mapped, libc.mallinfo2().hblkhd <= before)
"""


def _allocator_check(tune: bool) -> str:
    """Run the check in a fresh process (a used heap could serve the block from its free list)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", f"TUNE = {tune}\n{ALLOCATOR_CHECK}"],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    return done.stdout.strip()


def test_tuned_allocator_maps_big_blocks_even_after_bigger_ones_were_freed() -> None:
    assert _allocator_check(tune=True) == "True True"  # mapped, and unmapped when freed
    assert _allocator_check(tune=False) == "False True"  # glibc's default would heap it
