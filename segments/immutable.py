"""The indexed segment: built once from an appendable one, searched through HNSW graphs.

Each dense vector (Cosine, Dot, Euclid) gets an hnswlib graph over its live rows; Manhattan
vectors and multivectors are searched exactly, sparse vectors keep their inverted index. The
segment takes no new points: deletes, payload changes and vector deletions apply in place, and
a point whose vectors change moves to the collection's write segment. Graph results are
re-scored exactly with numpy, so scores match exact search wherever the graph finds a point.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
import orjson

from segments import storage
from segments.appendable import AppendableSegment, SearchHits
from segments.quantization import QuantizationParams, Quantized, build_all
from segments.quantization import search as quantized_search
from segments.types import Distance, HnswConfig, SegmentConfig
from segments.vectors import make_storage, restore_storage, storage_item
from segments.vectors.dense import DenseVectors
from segments.vectors.sparse import SparseVectors, best_first, mask_of

DEFAULT_EF = 400
"""Search-time ef when a query names none (Qdrant uses ef_construct): on clustered embedding
data ef=100 finds 83 % of the true top 10 per 20k-point graph and ef=400 99 %, for ~1 ms."""

SPACES = {Distance.COSINE: "ip", Distance.DOT: "ip", Distance.EUCLID: "l2"}


@dataclass
class SearchParams:
    """What a query may ask of the index: ``hnsw_ef``, ``exact``, ``indexed_only`` and
    ``quantization`` (``None``: quantized vectors are used with default settings)."""

    hnsw_ef: int | None = None
    exact: bool = False
    indexed_only: bool = False
    quantization: QuantizationParams | None = None


Progress = Callable[[str, int, int], None]
"""A build's progress callback: (step name, units done, units in total)."""

INDEX_CHUNKS = 20
"""A graph is built in this many ``add_items`` batches (at least 1000 rows each), so the
build's progress can be reported between them."""


def build_index(
    store: DenseVectors, size: int, hnsw: HnswConfig, threads: int,
    progress: Progress | None = None, step: str = "vector_index",
) -> Any:
    """Blocking: an hnswlib graph over the rows of ``store`` that are present, added in
    batches so ``progress`` hears how many rows are in after each."""
    index = hnswlib.Index(space=SPACES[store.distance], dim=store.dim)
    offsets = np.flatnonzero(mask_of(store.present, size))
    index.init_index(
        max_elements=max(1, len(offsets)),
        ef_construction=hnsw.ef_construct,
        M=max(2, hnsw.m),
    )
    total = len(offsets)
    chunk = max(1000, -(-total // INDEX_CHUNKS))
    for start in range(0, total, chunk):
        part = offsets[start : start + chunk]
        index.add_items(store.float_rows(part), part, num_threads=max(1, threads))
        if progress is not None:
            progress(step, min(total, start + chunk), total)
    return index


class ImmutableSegment(AppendableSegment):
    """An appendable segment's data frozen at a point in time, plus HNSW graphs."""

    appendable = False

    def __init__(self, seg_id: int, config: SegmentConfig) -> None:
        super().__init__(seg_id, config)
        self.indexes: dict[str, Any] = {}
        self.hnsw: dict[str, HnswConfig] = {}
        self.quantized: dict[str, Quantized] = {}
        self.source_offsets = np.zeros(0, dtype=np.int64)
        """Offsets in the segment this one was built from, per offset of this one."""
        self.graph_locks: dict[str, threading.Lock] = {}
        """Per graph: held across ``set_ef`` + ``knn_query``, since hnswlib's ef is one shared
        setting of the index and concurrent searches would otherwise change each other's."""

    def sync_vectors(self, config: SegmentConfig) -> None:
        """As the appendable segment's, also dropping a removed vector's graph and quantized
        copy (a new vector has neither: it is searched exactly until the next rebuild)."""
        super().sync_vectors(config)
        for table in (self.indexes, self.hnsw, self.quantized):
            for name in [n for n in table if n not in self.vectors]:
                del table[name]

    @property
    def indexed_vectors(self) -> int:
        """How many vectors the graphs hold (what ``indexed_vectors_count`` reports)."""
        live = self.live_mask()
        return sum(
            int((mask_of(self.vectors[name].present, self.size) & live).sum())
            for name in self.indexes
        )

    def search(
        self,
        name: str,
        query: Any,
        candidates: np.ndarray,
        top: int,
        params: SearchParams | None = None,
    ) -> SearchHits:
        """Top ``top`` among candidates: exactly when asked (``exact`` ignores quantization);
        else through the quantized vectors (re-scored with the originals) when configured and
        not ignored; else through the graph when it has one and the candidates are many."""
        index = self.indexes.get(name)
        params = params or SearchParams()
        store = self.vectors[name]
        if params.exact or isinstance(query, tuple):
            return super().search(name, query, candidates, top)
        quantized = self.quantized.get(name)
        quant = params.quantization or QuantizationParams()
        if quantized is not None and not quant.ignore:
            assert isinstance(store, DenseVectors)
            mask = mask_of(candidates, len(store.present)) & store.present
            scores, offsets = quantized_search(store, quantized, query, mask, top, quant)
            return SearchHits(scores, offsets)
        if index is None:
            return super().search(name, query, candidates, top)
        assert isinstance(store, DenseVectors)
        mask = mask_of(candidates, len(store.present)) & store.present
        count = int(mask.sum())
        if count == 0 or top <= 0:
            return SearchHits(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))
        # Qdrant's planner: an unfiltered search walks the graph; a filtered one scans the
        # matching points exactly when they are few (under full_scan_threshold KB of vectors,
        # or a tiny share of the graph), else walks the graph and keeps matching points.
        threshold_points = self.hnsw[name].full_scan_threshold * 1024 // max(1, store.dim * 4)
        total = int(index.get_current_count())
        filtered = count < int((self.live_mask() & mask_of(store.present, self.size)).sum())
        if count <= top or (filtered and (count <= threshold_points or count < total * 0.05)):
            return super().search(name, query, mask, top)
        selectivity = count / max(1, total)
        want = min(count, math.ceil(top / selectivity * 1.2) + 8)
        ef = max(params.hnsw_ef or max(self.hnsw[name].ef_construct, DEFAULT_EF), want)
        q = store.prepare_query(query)
        lock = self.graph_locks.setdefault(name, threading.Lock())
        while True:
            k = min(want, total)
            with lock:  # knn_query releases the GIL; the lock keeps this call's ef its own
                index.set_ef(max(ef, k))
                labels, _ = index.knn_query(q[None, :], k=k, num_threads=1)
            found = labels[0].astype(np.int64)
            found = found[mask[found]]
            if len(found) >= top or k >= total:
                break
            want *= 2
        scores = store.score_offsets(query, found)
        keep = ~np.isnan(scores)
        found, scores = found[keep], scores[keep]
        best = best_first(scores, top, store.higher_is_better)
        return SearchHits(scores[best], found[best])

    # --- building and persistence -------------------------------------------------------------
    @classmethod
    def build(
        cls, source: dict[str, Any], config: SegmentConfig, threads: int,
        progress: Progress | None = None,
    ) -> ImmutableSegment:
        """Blocking: a compacted segment (live points only) with graphs, from a snapshot;
        ``progress`` hears each step (copy, one per graph, quantization)."""
        report = progress or (lambda step, done, total: None)
        live = ~np.asarray(source["deleted"], dtype=bool)
        keep = np.flatnonzero(live)
        state = {
            "seg_id": source["seg_id"],
            "version": source["version"],
            "ids": _fresh([source["ids"][i] for i in keep.tolist()]),
            "versions": np.asarray(source["versions"])[keep],
            "deleted": np.zeros(len(keep), dtype=bool),
            "payloads": _fresh([source["payloads"][i] for i in keep.tolist()]),
            "vectors": {},
        }
        seg = cls.restore(state, config)
        seg.attach_index_schema(source.get("index_schema"))  # payload indexes, built here
        size = len(keep)
        for name, arrays in source["vectors"].items():
            if name not in seg.vectors:  # deleted from the collection while this was built
                continue
            store = _restore_rows(config, name, arrays, keep)
            seg.vectors[name] = store
        seg.source_offsets = keep
        report("copy_data", size, size)
        for name, store in seg.vectors.items():
            if isinstance(store, DenseVectors) and store.distance in SPACES:
                seg.hnsw[name] = config.hnsw_for(name)
                seg.indexes[name] = build_index(
                    store, size, seg.hnsw[name], threads, report, f"vector_index: {name or 'default'}"
                )
        seg.quantized = build_all(config, seg.vectors, size)
        if seg.quantized:
            report("quantization", 1, 1)
        seg.prepare_sparse()
        return seg

    def prepare_sparse(self) -> None:
        """Blocking: build the sparse vectors' inverted indexes up front, in the optimizer's
        thread (py-spy showed the first queries after a swap spending most of their time
        building them)."""
        for store in self.vectors.values():
            if isinstance(store, SparseVectors):
                store.prepare()

    def adopt_saved(self, seg_dir: Path, state: dict[str, Any]) -> None:
        """Blocking: once ``state`` (a snapshot of this segment) is saved in ``seg_dir``, read
        the sparse rows from the files instead of memory where the saved rows are the ones in
        memory, entry for entry (no row was dropped before the snapshot); run beside the
        writer, this only swaps arrays for equal ones."""
        for position, name in enumerate(state["vectors"]):
            store = self.vectors.get(name)
            saved = state["vectors"][name]
            if not isinstance(store, SparseVectors) or len(saved["indices"]) != store.used:
                continue
            live = store.present[: len(saved["starts"])].copy()
            if not np.array_equal(store.starts[: len(live)][live], saved["starts"][live]):
                continue
            store.adopt_mapped(*storage.map_sparse_rows(seg_dir, position))

    def snapshot(self) -> dict[str, Any]:
        state = super().snapshot()
        state["kind"] = "immutable"
        state["indexes"] = dict(self.indexes)
        return state

    @classmethod
    def load(cls, state: dict[str, Any], config: SegmentConfig, path: Path) -> ImmutableSegment:
        """Blocking: restore arrays and load each saved graph (never rebuilt on start)."""
        seg = cls.restore(state, config)
        for name, store in seg.vectors.items():
            if isinstance(store, DenseVectors) and store.distance in SPACES:
                seg.hnsw[name] = config.hnsw_for(name)
                saved = state["index_files"].get(name)  # none for a vector added later
                file = path / f"hnsw-{saved}.bin"
                if saved is not None and file.exists():
                    index = hnswlib.Index(space=SPACES[store.distance], dim=store.dim)
                    index.load_index(str(file), max_elements=max(1, seg.size))
                    seg.indexes[name] = index
        seg.quantized = build_all(config, seg.vectors, seg.size)  # rebuilt, not saved
        return seg  # sparse inverted indexes are built by the first query (restart stays quick)


def _fresh(values: list[Any]) -> list[Any]:
    """New copies of JSON values (ids, payloads), allocated together in the build's thread.

    The originals were parsed one request at a time among each request's short-lived
    objects, so they pin half-empty pymalloc arenas; once the swap frees them with the old
    segment, those arenas can go back to the OS (mem_probe.py: ~60 MiB at 100k points)."""
    try:
        return list(orjson.loads(orjson.dumps(values)))
    except (TypeError, orjson.JSONEncodeError):  # not plain JSON: keep the objects
        return values


def _restore_rows(
    config: SegmentConfig, name: str, arrays: dict[str, np.ndarray], keep: np.ndarray
) -> Any:
    """The storage of vector ``name`` holding only the kept offsets, renumbered 0..len-1."""
    full = restore_storage(config, name, arrays, len(arrays["present"]))
    if isinstance(full, DenseVectors):
        store = DenseVectors(full.dim, full.distance, full.datatype, len(keep))
        store.data[: len(keep)] = full.data[keep]
        store.present[: len(keep)] = full.present[keep]
        return store
    if isinstance(full, SparseVectors):
        return full.take(keep)
    store = make_storage(config, name, len(keep))
    has = mask_of(full.present, len(arrays["present"]))[keep]
    new_offsets = np.flatnonzero(has)
    if len(new_offsets):
        items = [full.get(int(o)) for o in keep[has].tolist()]
        store.put(new_offsets, [storage_item(it) for it in items])
    return store
