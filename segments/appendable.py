"""The mutable segment: numpy arrays per vector name, an id tracker, payloads, exact search.

Only the collection actor mutates a segment, and only between awaits, so readers on the trio
thread always see it between two operations. Arrays are replaced, never shrunk, when they grow,
so a reader in a worker thread keeps a valid (possibly slightly stale) view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from segments import columns
from segments.id_tracker import IdTracker
from segments.ids import PointId
from segments.payload_index import FieldIndex, build_index
from segments.types import SegmentConfig
from segments.vectors import VectorStorage, make_storage, restore_storage
from segments.vectors.sparse import mask_of

Payload = dict[str, Any]


@dataclass
class SearchHits:
    """Top hits of one segment: scores and offsets, best first."""

    scores: np.ndarray
    offsets: np.ndarray


class AppendableSegment:
    """A segment that takes writes; searched exactly."""

    appendable = True

    def __init__(self, seg_id: int, config: SegmentConfig) -> None:
        self.seg_id = seg_id
        self.ids = IdTracker()
        self.vectors: dict[str, VectorStorage] = {
            name: make_storage(config, name) for name in config.names()
        }
        self._payloads: list[Payload | None] = []
        self.version = 0
        self.epoch = 0
        """Bumped by every change (not only by a new operation number): what per-segment
        caches of derived masks are keyed on."""
        self.dirty = False
        self.payload_indexes: dict[str, FieldIndex] = {}
        self.index_schema: dict[str, Any] | None = None
        """The collection's payload schema (shared with the holder) the indexes follow."""

    # --- the FilterContext protocol -------------------------------------------------------
    @property
    def size(self) -> int:
        return self.ids.size

    def payloads(self) -> Sequence[Payload | None]:
        return self._payloads

    def offsets_of(self, ids: Iterable[PointId]) -> np.ndarray:
        return self.ids.offsets_of(ids)

    def vector_mask(self, name: str) -> np.ndarray | None:
        store = self.vectors.get(name)
        if store is None:
            return None
        return mask_of(store.present, self.size)

    def payload_index(self, key: str) -> FieldIndex | None:
        """The index of payload field ``key``, first brought in line with the schema."""
        if self.index_schema is not None:
            self._sync_index(key)
        return self.payload_indexes.get(key)

    # --- payload indexes ------------------------------------------------------------------
    def attach_index_schema(self, schema: dict[str, Any] | None) -> None:
        """Follow ``schema`` (field -> ``{"type": ..}``): build missing indexes, drop others."""
        self.index_schema = schema
        self.sync_indexes()

    def sync_indexes(self) -> None:
        """Build or drop indexes so they match the schema (a rebuild may have missed a change)."""
        for key in {*self.payload_indexes, *(self.index_schema or {})}:
            self._sync_index(key)

    def _sync_index(self, key: str) -> None:
        want = (self.index_schema or {}).get(key)
        have = self.payload_indexes.get(key)
        if have is not None and have.schema == want:
            return
        index = None if want is None else build_index(key, want, self._payloads)
        if index is None:
            self.payload_indexes.pop(key, None)
        else:
            self.payload_indexes[key] = index

    def _reindex(self, offsets: np.ndarray) -> None:
        """Update the payload indexes for the points at ``offsets`` (after their payloads)."""
        if self.index_schema is not None:
            self.sync_indexes()
        payloads = self._payloads
        for index in self.payload_indexes.values():
            for off in offsets.tolist():
                index.update(off, payloads[off])

    # --- reads ------------------------------------------------------------------------------
    @property
    def live_count(self) -> int:
        return self.ids.live_count

    def live_mask(self) -> np.ndarray:
        return self.ids.live_mask()

    def point_ids(self, offsets: np.ndarray) -> list[PointId]:
        ids = self.ids.ids
        return [ids[o] for o in offsets.tolist()]

    def version_of(self, offset: int) -> int:
        return int(self.ids.versions[offset])

    def payload_of(self, offset: int) -> Payload:
        return self._payloads[offset] or {}

    def vector_of(self, offset: int, name: str) -> list[float] | None:
        store = self.vectors.get(name)
        return None if store is None else store.get(offset)

    def vector_output(self, offset: int, name: str) -> Any:
        """Vector ``name`` at ``offset`` for the wire (float32 arrays), or None."""
        store = self.vectors.get(name)
        return None if store is None else store.output(offset)

    def point_record(self, offset: int) -> dict[str, Any]:
        """The point at ``offset`` as an upsert record's point (vectors in JSON form)."""
        vectors = {}
        for name in self.vectors:
            value = self.vector_of(offset, name)
            if value is not None:
                vectors[name] = value
        return {"id": self.ids.ids[offset], "vector": vectors, "payload": self.payload_of(offset)}

    def walks_graph(self, name: str, query: Any, candidates: np.ndarray | None,
                    params: Any = None) -> bool:
        """Whether ``search`` would walk an HNSW graph unfiltered (work bounded by ef, not by
        the segment's size): never for an appendable segment, which scans."""
        return False

    def search(
        self, name: str, query: Any, candidates: np.ndarray | None, top: int, params: Any = None
    ) -> SearchHits:
        """Exact top-``top`` over ``candidates`` (a bool mask of offsets; ``None``: every live
        point) for vector ``name``; ``params`` matter only to indexed segments."""
        store = self.vectors[name]
        if candidates is None:
            candidates = self.live_mask()
        if isinstance(query, tuple):
            scores, offsets = store.search(query[0], query[1], candidates, top)  # type: ignore[call-arg]
        else:
            scores, offsets = store.search(query, candidates, top)  # type: ignore[call-arg]
        return SearchHits(scores, offsets)

    # --- writes (the actor's only) ----------------------------------------------------------
    def _touch(self, op_num: int, offsets: np.ndarray) -> None:
        self.ids.versions[offsets] = op_num
        self.version = max(self.version, op_num)
        self.epoch += 1
        self.dirty = True

    def upsert(
        self,
        op_num: int,
        pids: list[PointId],
        vectors: dict[str, tuple[Any, np.ndarray]],
        payloads: list[Payload | None],
    ) -> None:
        """Insert or replace whole points; ``vectors[name] = (items, has)``: the items of the
        points that have that vector (in order: a list of storage items or a column of
        ``segments.columns``) and a mask aligned with ``pids``."""
        if len(payloads) != len(pids):
            raise ValueError("upsert: one payload per point id")
        offsets, _ = self.ids.assign(pids)
        size = self.ids.size
        if len(self._payloads) < size:
            self._payloads.extend([None] * (size - len(self._payloads)))
        first = int(offsets[0]) if len(offsets) else 0
        if len(offsets) and offsets[-1] == first + len(offsets) - 1 and (
            np.all(np.diff(offsets) == 1)
        ):
            self._payloads[first : first + len(offsets)] = payloads  # fresh points, in order
        else:
            for off, payload in zip(offsets.tolist(), payloads, strict=True):
                self._payloads[off] = payload
        for name, store in self.vectors.items():
            store.ensure_capacity(size)
            items_has = vectors.get(name)
            if items_has is None:
                store.remove(offsets)
                continue
            items, has = items_has
            if not has.all():
                store.remove(offsets[~has])
            if isinstance(items, dict):
                columns.put(store, offsets[has], items)
            else:
                store.put(offsets[has], items)
        self._reindex(offsets)
        self._touch(op_num, offsets)

    def delete(self, op_num: int, offsets: np.ndarray) -> None:
        if len(offsets) == 0:
            return
        self.ids.delete(offsets)
        for off in offsets.tolist():
            self._payloads[off] = None
        for store in self.vectors.values():
            store.remove(offsets)
        self._reindex(offsets)
        self._touch(op_num, offsets)

    def set_payloads(self, op_num: int, offsets: np.ndarray, payloads: list[Payload]) -> None:
        for off, payload in zip(offsets.tolist(), payloads, strict=True):
            self._payloads[off] = payload
        self._reindex(offsets)
        self._touch(op_num, offsets)

    def put_vectors(self, op_num: int, offsets: np.ndarray, name: str, items: list[Any]) -> None:
        if name in self.vectors:  # a replayed record may name a vector deleted since
            self.vectors[name].put(offsets, items)
        self._touch(op_num, offsets)

    def delete_vectors(self, op_num: int, offsets: np.ndarray, names: list[str]) -> None:
        for name in names:
            if name in self.vectors:  # a replayed record may name a vector deleted since
                self.vectors[name].remove(offsets)
        self._touch(op_num, offsets)

    # --- persistence ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the segment's state for a flush in a worker thread."""
        size = self.size
        return {
            "seg_id": self.seg_id,
            "version": self.version,
            "ids": list(self.ids.ids),
            "versions": self.ids.versions[:size].copy(),
            "deleted": self.ids.deleted[:size].copy(),
            "payloads": list(self._payloads[:size]),
            "vectors": {name: store.snapshot(size) for name, store in self.vectors.items()},
            "index_schema": self.index_schema,  # shared, not copied: a rebuild follows it
        }

    def sync_vectors(self, config: SegmentConfig) -> None:
        """Follow a changed set of vector names: an empty storage for each new name, none for a
        removed one (named vectors created or deleted on a live collection)."""
        names = config.names()
        changed = False
        for name in [n for n in self.vectors if n not in names]:
            del self.vectors[name]
            changed = True
        for name in names:
            if name not in self.vectors:
                self.vectors[name] = make_storage(config, name, self.size)
                changed = True
        self.epoch += 1
        self.dirty = self.dirty or changed

    @classmethod
    def restore(cls, state: dict[str, Any], config: SegmentConfig) -> AppendableSegment:
        """Rebuild a segment from what ``snapshot`` captured (after a round trip to disk)."""
        seg = cls(int(state["seg_id"]), config)
        seg.version = int(state["version"])
        seg.ids.restore(state["ids"], state["versions"], state["deleted"])
        seg._payloads = list(state["payloads"])
        size = seg.size
        for name in seg.vectors:
            saved = state["vectors"].get(name)
            if saved is not None:
                seg.vectors[name] = restore_storage(config, name, saved, size)
            else:
                seg.vectors[name].ensure_capacity(size)
        return seg


__all__ = ["AppendableSegment", "SearchHits"]
