"""External point id <-> internal offset of one segment, with per-point versions and deletions."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from segments.ids import PointId

_U64 = (1 << 64) - 1


def _fits(pid: PointId) -> bool:
    """Whether ``pid`` is an integer id the sorted uint64 arrays can hold."""
    return pid.__class__ is int and 0 <= pid <= _U64  # type: ignore[operator]


class IdTracker:
    """Offsets are dense and append-only; a deleted offset keeps its row until a vacuum.

    Id -> offset is a dict while the segment takes new points; a restored tracker whose ids
    are all integers (an indexed segment's, or any segment read back from disk) keeps it as
    sorted arrays until its next new point instead: 16 bytes a point against a dict entry
    and an int object, ~3 MiB per 50k points (mem_probe.py)."""

    def __init__(self) -> None:
        self.ids: list[PointId] = []
        self._offsets: dict[PointId, int] | None = {}
        self._sorted = np.zeros(0, dtype=np.uint64)
        """Without the dict: the ids of the offsets in ``_at``, ascending (the offsets live at
        the restore; ``deleted`` tells those deleted since)."""
        self._at = np.zeros(0, dtype=np.int64)
        self._live = 0
        self.versions = np.zeros(0, dtype=np.int64)
        self.deleted = np.zeros(0, dtype=bool)

    @property
    def size(self) -> int:
        """Number of offsets used, live or deleted."""
        return len(self.ids)

    @property
    def live_count(self) -> int:
        return len(self._offsets) if self._offsets is not None else self._live

    def _grow(self, capacity: int) -> None:
        if capacity <= len(self.versions):
            return
        new_cap = max(capacity, 2 * len(self.versions), 64)
        versions = np.zeros(new_cap, dtype=np.int64)
        versions[: len(self.versions)] = self.versions
        deleted = np.ones(new_cap, dtype=bool)
        deleted[: len(self.deleted)] = self.deleted
        self.versions, self.deleted = versions, deleted

    def _dict(self) -> dict[PointId, int]:
        """The id -> offset dict (made from the arrays before a new point)."""
        if self._offsets is None:
            live = ~self.deleted[self._at]
            self._offsets = dict(zip(self._sorted[live].tolist(), self._at[live].tolist(),
                                     strict=True))
            self._sorted, self._at = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        return self._offsets

    def lookup(self, pids: list[PointId]) -> list[int | None]:
        """The live offset of each id, or None."""
        if self._offsets is not None:
            return list(map(self._offsets.get, pids))
        out: list[int | None] = [None] * len(pids)
        if not len(self._sorted) or not pids:
            return out
        which = None
        if set(map(type, pids)) == {int} and 0 <= min(pids) and max(pids) <= _U64:
            keys = np.fromiter(pids, dtype=np.uint64, count=len(pids))
        else:  # UUIDs (or ids out of range) among them: never found here
            which = np.array([i for i, pid in enumerate(pids) if _fits(pid)], dtype=np.int64)
            keys = np.fromiter((pids[i] for i in which.tolist()), dtype=np.uint64,
                               count=len(which))
        pos = np.minimum(np.searchsorted(self._sorted, keys), len(self._sorted) - 1)
        offs = self._at[pos]
        hit = (self._sorted[pos] == keys) & ~self.deleted[offs]
        if hit.any():
            at = np.flatnonzero(hit) if which is None else which[hit]
            for i, off in zip(at.tolist(), offs[hit].tolist(), strict=True):
                out[i] = off
        return out

    def offset_of(self, pid: PointId) -> int | None:
        if self._offsets is not None:
            return self._offsets.get(pid)
        if not _fits(pid) or not len(self._sorted):
            return None
        key = np.uint64(pid)
        i = int(np.searchsorted(self._sorted, key))
        if i == len(self._sorted) or self._sorted[i] != key:
            return None
        off = int(self._at[i])
        return None if self.deleted[off] else off

    def assign(self, pids: list[PointId]) -> tuple[np.ndarray, np.ndarray]:
        """Offsets for these ids, appending new ones; returns (offsets, is_new mask)."""
        table = self._dict()
        known = list(map(table.get, pids))
        if known.count(None) == len(pids) and len(set(pids)) == len(pids):  # all new: append
            start = len(self.ids)
            self.ids.extend(pids)
            table.update(zip(pids, range(start, start + len(pids)), strict=True))
            self._grow(len(self.ids))
            offsets = np.arange(start, start + len(pids), dtype=np.int64)
            self.deleted[offsets] = False
            return offsets, np.ones(len(pids), dtype=bool)
        offsets = np.empty(len(pids), dtype=np.int64)
        is_new = np.zeros(len(pids), dtype=bool)
        for i, pid in enumerate(pids):
            off = table.get(pid)
            if off is None:
                off = len(self.ids)
                self.ids.append(pid)
                table[pid] = off
                is_new[i] = True
            offsets[i] = off
        self._grow(len(self.ids))
        self.deleted[offsets] = False
        return offsets, is_new

    def offsets_of(self, pids: Iterable[PointId]) -> np.ndarray:
        """Offsets of the live ids among ``pids`` (unknown ids are skipped)."""
        found = [off for off in self.lookup(list(pids)) if off is not None]
        return np.asarray(found, dtype=np.int64)

    def delete(self, offsets: np.ndarray) -> None:
        if self._offsets is not None:
            for off in offsets.tolist():
                self._offsets.pop(self.ids[off], None)
        else:
            self._live -= int(np.count_nonzero(~self.deleted[np.unique(offsets)]))
        self.deleted[offsets] = True

    def live_mask(self) -> np.ndarray:
        return ~self.deleted[: self.size]

    def restore(self, ids: list[PointId], versions: np.ndarray, deleted: np.ndarray) -> None:
        """Rebuild from persisted arrays."""
        self.ids = list(ids)
        self.versions = np.asarray(versions, dtype=np.int64).copy()
        self.deleted = np.asarray(deleted, dtype=bool).copy()
        live = ~self.deleted[: len(self.ids)]
        if all(map(_fits, self.ids)):
            at = np.flatnonzero(live)  # a deleted offset's id may be live at another
            keys = np.array(self.ids, dtype=np.uint64)[at]
            order = np.argsort(keys, kind="stable")
            self._sorted, self._at = keys[order], at[order]
            self._live = int(np.count_nonzero(live))
            self._offsets = None
        else:
            self._offsets = {pid: i for i, pid in enumerate(self.ids) if live[i]}
