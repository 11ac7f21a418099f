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

from collection.config import CollectionConfig
from segments.id_tracker import IdTracker
from segments.ids import PointId
from segments.vectors.dense import DenseVectors, score

Payload = dict[str, Any]


@dataclass
class SearchHits:
    """Top hits of one segment: scores and offsets, best first."""

    scores: np.ndarray
    offsets: np.ndarray


def top_k(scores: np.ndarray, k: int, higher_is_better: bool) -> np.ndarray:
    """Indices of the best ``k`` scores, best first (stable for equal scores)."""
    if k <= 0 or len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    key = -scores if higher_is_better else scores
    if k < len(scores):
        part = np.argpartition(key, k - 1)[:k]
        return part[np.argsort(key[part], kind="stable")]
    return np.argsort(key, kind="stable")


class AppendableSegment:
    """A segment that takes writes; searched exactly."""

    appendable = True

    def __init__(self, seg_id: int, config: CollectionConfig) -> None:
        self.seg_id = seg_id
        self.ids = IdTracker()
        self.vectors: dict[str, DenseVectors] = {
            name: DenseVectors(p.size, p.distance) for name, p in config.vectors.items()
        }
        self._payloads: list[Payload | None] = []
        self.version = 0
        self.dirty = False

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
        return store.present[: self.size].copy()

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

    def search(
        self, name: str, query: np.ndarray, candidates: np.ndarray, top: int
    ) -> SearchHits:
        """Exact top-``top`` over ``candidates`` (a bool mask of offsets) for vector ``name``."""
        store = self.vectors[name]
        n = min(len(candidates), len(store.present))
        mask = candidates[:n] & store.present[:n]
        offsets = np.flatnonzero(mask)
        if len(offsets) == 0:
            return SearchHits(np.zeros(0, dtype=np.float32), offsets)
        if len(offsets) * 2 > n:
            # most rows qualify: score them all in place (no gather copy), then pick
            scores = score(store.data[:n], query, store.distance)[offsets]
        else:
            scores = score(store.data[offsets], query, store.distance)
        best = top_k(scores, top, store.distance.higher_is_better)
        return SearchHits(scores[best], offsets[best])

    # --- writes (the actor's only) ----------------------------------------------------------
    def _touch(self, op_num: int, offsets: np.ndarray) -> None:
        self.ids.versions[offsets] = op_num
        self.version = max(self.version, op_num)
        self.dirty = True

    def upsert(
        self,
        op_num: int,
        pids: list[PointId],
        vectors: dict[str, tuple[np.ndarray, np.ndarray]],
        payloads: list[Payload | None],
    ) -> None:
        """Insert or replace whole points; ``vectors[name] = (rows, has)`` aligned with ``pids``."""
        offsets, _ = self.ids.assign(pids)
        size = self.ids.size
        while len(self._payloads) < size:
            self._payloads.append(None)
        for off, payload in zip(offsets.tolist(), payloads, strict=True):
            self._payloads[off] = payload
        for name, store in self.vectors.items():
            store.ensure_capacity(size)
            rows_has = vectors.get(name)
            if rows_has is None:
                store.remove(offsets)
                continue
            rows, has = rows_has
            if has.all():
                store.put(offsets, rows)
            else:
                store.put(offsets[has], rows[has])
                store.remove(offsets[~has])
        self._touch(op_num, offsets)

    def delete(self, op_num: int, offsets: np.ndarray) -> None:
        if len(offsets) == 0:
            return
        self.ids.delete(offsets)
        for off in offsets.tolist():
            self._payloads[off] = None
        for store in self.vectors.values():
            store.remove(offsets)
        self._touch(op_num, offsets)

    def set_payloads(self, op_num: int, offsets: np.ndarray, payloads: list[Payload]) -> None:
        for off, payload in zip(offsets.tolist(), payloads, strict=True):
            self._payloads[off] = payload
        self._touch(op_num, offsets)

    def put_vectors(self, op_num: int, offsets: np.ndarray, name: str, rows: np.ndarray) -> None:
        self.vectors[name].put(offsets, rows)
        self._touch(op_num, offsets)

    def delete_vectors(self, op_num: int, offsets: np.ndarray, names: list[str]) -> None:
        for name in names:
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
            "vectors": {
                name: (store.data[:size].copy(), store.present[:size].copy())
                for name, store in self.vectors.items()
            },
        }

    @classmethod
    def restore(cls, state: dict[str, Any], config: CollectionConfig) -> AppendableSegment:
        """Rebuild a segment from what ``snapshot`` captured (after a round trip to disk)."""
        seg = cls(int(state["seg_id"]), config)
        seg.version = int(state["version"])
        seg.ids.restore(state["ids"], state["versions"], state["deleted"])
        seg._payloads = list(state["payloads"])
        size = seg.size
        for name, store in seg.vectors.items():
            store.ensure_capacity(size)
            saved = state["vectors"].get(name)
            if saved is not None:
                data, present = saved
                store.data[:size] = data
                store.present[:size] = present
        return seg


__all__ = ["AppendableSegment", "SearchHits", "top_k"]
