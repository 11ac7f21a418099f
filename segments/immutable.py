"""The indexed segment: built once from an appendable one, searched through HNSW graphs.

Each dense vector (Cosine, Dot, Euclid) gets an hnswlib graph over its live rows; Manhattan
vectors and multivectors are searched exactly, sparse vectors keep their inverted index. The
segment takes no new points: deletes, payload changes and vector deletions apply in place, and
a point whose vectors change moves to the collection's write segment. Graph results are
re-scored exactly with numpy, so scores match exact search wherever the graph finds a point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from segments import storage
from segments.appendable import AppendableSegment, SearchHits
from segments.graph import (
    SPACES,
    GraphSearcher,
    Progress,
    Threads,
    build_index,
    covers,
    extend_index,
)
from segments.json_values import fresh_copies, shared_payloads
from segments.quantization import QuantizationParams, Quantized, build_all, quantization_specs
from segments.quantization import search as quantized_search
from segments.types import HnswConfig, QuantizationSpec, SegmentConfig
from segments.vectors import make_storage, restore_storage, storage_item
from segments.vectors.dense import DenseVectors
from segments.vectors.sparse import SparseVectors, best_first, mask_of


@dataclass
class SearchParams:
    """What a query may ask of the index: ``hnsw_ef``, ``exact``, ``indexed_only`` and
    ``quantization`` (``None``: quantized vectors are used with default settings)."""

    hnsw_ef: int | None = None
    exact: bool = False
    indexed_only: bool = False
    quantization: QuantizationParams | None = None


@dataclass
class GraphBase:
    """Graphs a build may extend instead of rebuilding: offsets ``0..size-1`` of the source
    are, unchanged, the points of an indexed segment whose graphs (and their HNSW settings)
    these are."""

    size: int
    indexes: dict[str, Any]
    hnsw: dict[str, HnswConfig]


def graph_base(snapshot: dict[str, Any]) -> GraphBase | None:
    """What a merge whose first source is ``snapshot`` may extend: its graphs, if it is an
    indexed segment without deleted points (so its offsets stay the merged segment's first)."""
    indexes = snapshot.get("indexes")
    if not indexes or bool(np.asarray(snapshot["deleted"]).any()):
        return None
    return GraphBase(len(snapshot["ids"]), dict(indexes), dict(snapshot.get("hnsw") or {}))


class ImmutableSegment(AppendableSegment):
    """An appendable segment's data frozen at a point in time, plus HNSW graphs."""

    appendable = False

    def __init__(self, seg_id: int, config: SegmentConfig) -> None:
        super().__init__(seg_id, config)
        self.indexes: dict[str, Any] = {}
        self.hnsw: dict[str, HnswConfig] = {}
        self.quantized: dict[str, Quantized] = {}
        self.quantized_from: dict[str, tuple[QuantizationSpec, Quantized]] = {}
        """Per quantized vector, the spec its copy was built from (and the copy)."""
        self.source_offsets = np.zeros(0, dtype=np.int64)
        """Offsets in the segment this one was built from, per offset of this one."""
        self.searchers: dict[str, GraphSearcher] = {}
        """Per graph: its searches (each with its own ef; concurrent ones combined)."""
        self._searchable: dict[str, tuple[int, np.ndarray, int]] = {}
        """Per vector, at a mutation epoch: (epoch, live & present mask, its count)."""

    def sync_vectors(self, config: SegmentConfig) -> None:
        """As the appendable segment's, also dropping a removed vector's graph and quantized
        copy (a new vector has neither: it is searched exactly until the next rebuild)."""
        super().sync_vectors(config)
        for table in (self.indexes, self.hnsw, self.quantized, self.quantized_from,
                      self.searchers):
            for name in [n for n in table if n not in self.vectors]:
                del table[name]

    def set_quantized(self, built: dict[str, tuple[QuantizationSpec, Quantized]]) -> None:
        """Take a new set of quantized copies (one assignment: searches see old or new)."""
        self.quantized_from = built
        self.quantized = {name: quantized for name, (_, quantized) in built.items()}

    def requantize(self, config: SegmentConfig) -> bool:
        """Blocking: follow a changed quantization config (a PATCH): copies whose spec
        changed are rebuilt, unconfigured ones dropped, the rest kept; False if none changed."""
        wanted = quantization_specs(config, self.vectors)
        if wanted == {name: spec for name, (spec, _) in self.quantized_from.items()}:
            return False
        self.set_quantized(build_all(config, self.vectors, self.size, self.quantized_from))
        return True

    def searchable(self, name: str) -> tuple[np.ndarray, int]:
        """(live points that hold vector ``name``, how many), cached until the next
        change: an unfiltered search reads them instead of building masks per call."""
        cached = self._searchable.get(name)
        if cached is not None and cached[0] == self.epoch:
            return cached[1], cached[2]
        mask = mask_of(self.vectors[name].present, self.size) & self.live_mask()
        mask.flags.writeable = False
        count = int(mask.sum())
        self._searchable[name] = (self.epoch, mask, count)
        return mask, count

    @property
    def indexed_vectors(self) -> int:
        """How many vectors the graphs hold (what ``indexed_vectors_count`` reports)."""
        return sum(self.searchable(name)[1] for name in self.indexes)

    def searcher(self, name: str) -> GraphSearcher:
        found = self.searchers.get(name)
        if found is None or found.index is not self.indexes[name]:
            found = self.searchers[name] = GraphSearcher(self.indexes[name])
        return found

    def walks_graph(self, name: str, query: Any, candidates: np.ndarray | None,
                    params: SearchParams | None = None) -> bool:
        """Whether ``search`` would walk this segment's graph unfiltered (work bounded by
        ef, not by the segment's size; the caller may then run it in place)."""
        params = params or SearchParams()
        quant = params.quantization or QuantizationParams()
        return (candidates is None and name in self.indexes and not params.exact
                and not isinstance(query, tuple)
                and (name not in self.quantized or quant.ignore))

    def search(
        self,
        name: str,
        query: Any,
        candidates: np.ndarray | None,
        top: int,
        params: SearchParams | None = None,
    ) -> SearchHits:
        """Top ``top`` among candidates (``None``: every live point): exactly when asked
        (``exact`` ignores quantization); else through the quantized vectors (re-scored with
        the originals) when configured and not ignored; else through the graph when it has
        one and the candidates are many."""
        index = self.indexes.get(name)
        params = params or SearchParams()
        store = self.vectors[name]
        if params.exact or isinstance(query, tuple) or (
            index is None and name not in self.quantized
        ):
            return super().search(name, query, candidates, top)
        assert isinstance(store, DenseVectors)
        every, live = self.searchable(name)
        if candidates is None:
            mask, count, filtered = every, live, False
        else:
            mask = mask_of(candidates, self.size) & every
            count = int(mask.sum())
            filtered = count < live
        quantized = self.quantized.get(name)
        quant = params.quantization or QuantizationParams()
        if quantized is not None and not quant.ignore:
            scores, offsets = quantized_search(
                store, quantized, query, mask_of(mask, len(store.present)), top, quant
            )
            return SearchHits(scores, offsets)
        if index is None:
            return super().search(name, query, mask, top)
        if count == 0 or top <= 0:
            return SearchHits(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))
        # Qdrant's planner: an unfiltered search walks the graph; a filtered one scans the
        # matching points exactly when they are few (under full_scan_threshold KB of vectors,
        # or a tiny share of the graph), else walks the graph and keeps matching points.
        threshold_points = self.hnsw[name].full_scan_threshold * 1024 // max(1, store.dim * 4)
        total = int(index.get_current_count())
        if count <= top or (filtered and (count <= threshold_points or count < total * 0.05)):
            return super().search(name, query, mask, top)
        selectivity = count / max(1, total)
        want = min(count, math.ceil(top / selectivity * 1.2) + 8)
        # No hnsw_ef: ef_construct, as Qdrant. Queries from the data's own distribution find
        # 0.99+ of the true top 10 at ef 100 on 100k points; queries off the data's subspace
        # need ~ef 1600 for 0.95 there (scripts/bench.py's hard queries) and name it per query.
        ef = max(params.hnsw_ef or self.hnsw[name].ef_construct, want)
        q = store.prepare_query(query)
        searcher = self.searcher(name)
        exact_cover = count == total  # every graph point qualifies: no mask to apply
        while True:
            k = min(want, total)
            found = searcher.query(q, k, ef)
            if not exact_cover:
                found = found[mask[found]]
            if len(found) >= top or k >= total:
                break
            want *= 2
        # every point found is live and holds the vector (the graph's, or kept by ``mask``,
        # which ``searchable`` limits to those): no presence check, no NaN to drop
        scores = store.scores_of_rows(found, q)
        best = best_first(scores, top, store.higher_is_better)
        return SearchHits(scores[best], found[best])

    # --- building and persistence -------------------------------------------------------------
    @classmethod
    def build(
        cls, source: dict[str, Any], config: SegmentConfig, threads: Threads,
        progress: Progress | None = None, base: GraphBase | None = None,
    ) -> ImmutableSegment:
        """Blocking: a compacted segment (live points only) with graphs, from a snapshot;
        ``progress`` hears each step (copy, one per graph, quantization). With ``base``,
        a graph whose settings did not change is copied and extended by the points past
        ``base.size`` rather than built again (each point is inserted once, so merging
        indexed segments costs what indexing the new points costs)."""
        report = progress or (lambda step, done, total: None)
        live = ~np.asarray(source["deleted"], dtype=bool)
        keep = np.flatnonzero(live)
        state = {
            "seg_id": source["seg_id"],
            "version": source["version"],
            "ids": fresh_copies([source["ids"][i] for i in keep.tolist()]),
            "versions": np.asarray(source["versions"])[keep],
            "deleted": np.zeros(len(keep), dtype=bool),
            "payloads": shared_payloads([source["payloads"][i] for i in keep.tolist()]),
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
                hnsw = seg.hnsw[name] = config.hnsw_for(name)
                step = f"vector_index: {name or 'default'}"
                graph = None if base is None else base.indexes.get(name)
                if (
                    graph is not None and base is not None and base.hnsw.get(name) == hnsw
                    and bool(live[: base.size].all()) and covers(graph, store, base.size)
                ):
                    seg.indexes[name] = extend_index(
                        graph, store, size, base.size, hnsw, threads, report, step
                    )
                else:
                    seg.indexes[name] = build_index(store, size, hnsw, threads, report, step)
        seg.set_quantized(build_all(config, seg.vectors, size))
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
        """On the writer's thread, once ``state`` (a snapshot of this segment) is saved in
        ``seg_dir`` and nothing changed since it was taken: read the dense rows, and the
        sparse rows where the saved ones are the ones in memory entry for entry (no row was
        dropped before the snapshot), from the files instead of memory. Equal arrays are
        swapped for equal ones; on the writer's thread no write can fall between the check
        and the swap."""
        if state.get("epoch") != self.epoch:
            return
        for position, name in enumerate(state["vectors"]):
            store = self.vectors.get(name)
            saved = state["vectors"][name]
            if isinstance(store, DenseVectors) and storage.is_dense(saved):
                store.adopt_mapped(storage.map_dense_rows(seg_dir, position))
                continue
            if not isinstance(store, SparseVectors) or len(saved["indices"]) != store.used:
                continue
            live = store.present[: len(saved["starts"])].copy()
            if not np.array_equal(store.starts[: len(live)][live], saved["starts"][live]):
                continue
            store.adopt_mapped(*storage.map_sparse_rows(seg_dir, position))

    def snapshot(self) -> dict[str, Any]:
        state = super().snapshot()
        state["kind"] = "immutable"
        state["epoch"] = self.epoch  # in memory only: whether the saved rows are still these
        state["indexes"] = dict(self.indexes)
        state["hnsw"] = dict(self.hnsw)  # in memory only: what a merge may extend
        return state

    @classmethod
    def load(cls, state: dict[str, Any], config: SegmentConfig, path: Path) -> ImmutableSegment:
        """Blocking: restore arrays and load each saved graph (never rebuilt on start)."""
        payloads = shared_payloads(state["payloads"], copy=False)  # parsed just now: fresh
        seg = cls.restore(state | {"payloads": payloads}, config)
        for name, store in seg.vectors.items():
            if isinstance(store, DenseVectors) and store.distance in SPACES:
                seg.hnsw[name] = config.hnsw_for(name)
                saved = state["index_files"].get(name)  # none for a vector added later
                file = path / f"hnsw-{saved}.bin"
                if saved is not None and file.exists():
                    index = hnswlib.Index(space=SPACES[store.distance], dim=store.dim)
                    index.load_index(str(file), max_elements=max(1, seg.size))
                    seg.indexes[name] = index
        seg.set_quantized(build_all(config, seg.vectors, seg.size))  # rebuilt, not saved
        for store in seg.vectors.values():
            if isinstance(store, DenseVectors):
                store.release_pages()  # the quantized build read the mapped rows
        return seg  # sparse inverted indexes are built by the first query (restart stays quick)


def _restore_rows(
    config: SegmentConfig, name: str, arrays: dict[str, np.ndarray], keep: np.ndarray
) -> Any:
    """The storage of vector ``name`` holding only the kept offsets, renumbered 0..len-1."""
    full = restore_storage(config, name, arrays, len(arrays["present"]))
    if len(keep) == len(arrays["present"]):  # nothing deleted: no second copy
        return full
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
