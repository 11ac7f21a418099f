"""External point id <-> internal offset of one segment, with per-point versions and deletions."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from segments.ids import PointId


class IdTracker:
    """Offsets are dense and append-only; a deleted offset keeps its row until a vacuum."""

    def __init__(self) -> None:
        self.ids: list[PointId] = []
        self.offsets: dict[PointId, int] = {}
        self.versions = np.zeros(0, dtype=np.int64)
        self.deleted = np.zeros(0, dtype=bool)

    @property
    def size(self) -> int:
        """Number of offsets used, live or deleted."""
        return len(self.ids)

    @property
    def live_count(self) -> int:
        return len(self.offsets)

    def _grow(self, capacity: int) -> None:
        if capacity <= len(self.versions):
            return
        new_cap = max(capacity, 2 * len(self.versions), 64)
        versions = np.zeros(new_cap, dtype=np.int64)
        versions[: len(self.versions)] = self.versions
        deleted = np.ones(new_cap, dtype=bool)
        deleted[: len(self.deleted)] = self.deleted
        self.versions, self.deleted = versions, deleted

    def offset_of(self, pid: PointId) -> int | None:
        return self.offsets.get(pid)

    def assign(self, pids: list[PointId]) -> tuple[np.ndarray, np.ndarray]:
        """Offsets for these ids, appending new ones; returns (offsets, is_new mask)."""
        known = list(map(self.offsets.get, pids))
        if known.count(None) == len(pids) and len(set(pids)) == len(pids):  # all new: append
            start = len(self.ids)
            self.ids.extend(pids)
            self.offsets.update(zip(pids, range(start, start + len(pids)), strict=True))
            self._grow(len(self.ids))
            offsets = np.arange(start, start + len(pids), dtype=np.int64)
            self.deleted[offsets] = False
            return offsets, np.ones(len(pids), dtype=bool)
        offsets = np.empty(len(pids), dtype=np.int64)
        is_new = np.zeros(len(pids), dtype=bool)
        for i, pid in enumerate(pids):
            off = self.offsets.get(pid)
            if off is None:
                off = len(self.ids)
                self.ids.append(pid)
                self.offsets[pid] = off
                is_new[i] = True
            offsets[i] = off
        self._grow(len(self.ids))
        self.deleted[offsets] = False
        return offsets, is_new

    def offsets_of(self, pids: Iterable[PointId]) -> np.ndarray:
        """Offsets of the live ids among ``pids`` (unknown ids are skipped)."""
        found = [off for pid in pids if (off := self.offsets.get(pid)) is not None]
        return np.asarray(found, dtype=np.int64)

    def delete(self, offsets: np.ndarray) -> None:
        for off in offsets.tolist():
            self.offsets.pop(self.ids[off], None)
        self.deleted[offsets] = True

    def live_mask(self) -> np.ndarray:
        return ~self.deleted[: self.size]

    def restore(self, ids: list[PointId], versions: np.ndarray, deleted: np.ndarray) -> None:
        """Rebuild from persisted arrays."""
        self.ids = list(ids)
        self.versions = np.asarray(versions, dtype=np.int64).copy()
        self.deleted = np.asarray(deleted, dtype=bool).copy()
        self.offsets = {pid: i for i, pid in enumerate(self.ids) if not self.deleted[i]}
