"""Sparse vectors of one name in one segment: flat per-offset rows plus a lazy inverted index.

Each offset holds an optional sparse vector (u32 indices ascending and unique, float32 values),
stored as a slice of two flat arrays. Searching uses an inverted index (``postings.py``: dense
float32 rows for the indices most points hold, postings for the others) built from the rows on
the first query after a change (or by the optimizer for an indexed segment), so a query only
touches its own dimensions. Rows changed since the last build are scored directly from the
flat arrays until enough of them pile up to make a rebuild worth it.

Semantics follow Qdrant (and qdrant-client's local mode): the score is the dot product over
shared indices, and only points sharing at least one index with the query are results; a
shared index whose product is 0 still counts. Empty sparse vectors are legal; they are stored
(and count as holding the vector for IDF) but never match a query.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from segments.types import ShapeError
from segments.vectors.postings import Postings, gather_positions

MAX_INDEX = 2**32 - 1
"""Largest sparse index: Qdrant stores them as u32."""

MIN_STALE_BEFORE_REBUILD = 64
"""Changed points the index tolerates (scored from rows instead) before it is rebuilt."""

_EMPTY_F32 = np.zeros(0, dtype=np.float32)
_EMPTY_I64 = np.zeros(0, dtype=np.int64)


def idf(df: np.ndarray, n: int) -> np.ndarray:
    """Qdrant's IDF: ln((n - df + 0.5) / (df + 0.5) + 1), per document frequency."""
    df = np.asarray(df, dtype=np.float64)
    return np.log((n - df + 0.5) / (df + 0.5) + 1.0)


def drop_resident(arrays: Iterable[np.memmap]) -> None:
    """Drop this process's resident pages of read-only mapped arrays: they stay in the page
    cache and fault back in when read (safe only because mapped rows are never written)."""
    for array in arrays:
        if array._mmap is not None and array.size:
            array._mmap.madvise(mmap.MADV_DONTNEED)


def best_first(scores: np.ndarray, k: int, higher_is_better: bool) -> np.ndarray:
    """Indices of the best ``k`` scores, best first (stable for equal scores)."""
    if k <= 0 or len(scores) == 0:
        return _EMPTY_I64
    key = -scores if higher_is_better else scores
    if k < len(scores):
        part = np.argpartition(key, k - 1)[:k]
        return part[np.argsort(key[part], kind="stable")]
    return np.argsort(key, kind="stable")


def last_occurrences(offsets: np.ndarray) -> np.ndarray:
    """Positions in ``offsets`` of the last occurrence of each distinct offset (last write wins)."""
    _, rev = np.unique(offsets[::-1], return_index=True)
    return np.sort(len(offsets) - 1 - rev)


def fit(arr: np.ndarray, n: int, dtype: np.dtype | type | None = None) -> np.ndarray:
    """A copy of ``arr`` cut or zero-padded to exactly ``n`` entries (missing ones are 0/False)."""
    out = np.zeros(n, dtype=arr.dtype if dtype is None else dtype)
    m = min(n, len(arr))
    out[:m] = arr[:m]
    return out


def mask_of(mask: np.ndarray, n: int) -> np.ndarray:
    """``mask`` as a bool array of exactly ``n`` entries (missing entries are False)."""
    return fit(np.asarray(mask), n, bool)


def _bad_index(value: object) -> ValueError:
    """The error for one index that is not a u32."""
    return ValueError(
        f"Sparse vector indices: invalid value {value!r}, expected an integer "
        f"between 0 and {MAX_INDEX}"
    )


def validate_sparse(obj: object) -> tuple[np.ndarray, np.ndarray]:
    """Parse a JSON ``{"indices": [...], "values": [...]}`` into (int64 indices, float32 values).

    Rejects what Qdrant rejects (wrong types, indices outside u32, mismatched lengths, duplicate
    indices, non-finite values) with a ValueError; the result is sorted by index. Empty vectors
    are allowed, as in Qdrant.
    """
    if not isinstance(obj, dict):
        raise ValueError("Sparse vector must be an object with 'indices' and 'values'")
    for field in ("indices", "values"):
        if field not in obj:
            raise ValueError(f"Sparse vector: missing field `{field}`")
    raw_indices, raw_values = obj["indices"], obj["values"]
    if not isinstance(raw_indices, list | tuple):
        raise ValueError("Sparse vector indices must be an array of integers")
    if not isinstance(raw_values, list | tuple):
        raise ValueError("Sparse vector values must be an array of numbers")
    for x in raw_indices:
        if type(x) is not int:  # bool and float are rejected, as serde rejects them for u32
            raise _bad_index(x)
    if raw_indices:
        low, high = min(raw_indices), max(raw_indices)
        if low < 0:
            raise _bad_index(low)
        if high > MAX_INDEX:
            raise _bad_index(high)
    for x in raw_values:
        if type(x) is not float and type(x) is not int:
            raise ValueError(f"Sparse vector values: invalid value {x!r}, expected a number")
    if len(raw_indices) != len(raw_values):
        raise ShapeError("values", "must be the same length as indices")
    indices = np.array(raw_indices, dtype=np.int64)
    try:
        with np.errstate(over="ignore"):
            values = np.array(raw_values, dtype=np.float64).astype(np.float32)
    except OverflowError:  # a JSON integer too large for any float
        values = np.array([np.inf], dtype=np.float32)
    if not np.isfinite(values).all():
        raise ValueError("Sparse vector values must be finite numbers (no NaN or infinity)")
    order = np.argsort(indices, kind="stable")
    indices, values = indices[order], values[order]
    if len(indices) > 1 and (np.diff(indices) == 0).any():
        raise ShapeError("indices", "must be unique")
    return indices, values


class SparseVectors:
    """Sparse rows indexed by segment offset; ``present[i]`` says whether offset i has one."""

    def __init__(self, capacity: int = 0) -> None:
        self.present = np.zeros(capacity, dtype=bool)
        self.starts = np.zeros(capacity, dtype=np.int64)
        self.lengths = np.zeros(capacity, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.uint32)
        self.values = np.zeros(0, dtype=np.float32)
        self.used = 0  # entries of the flat arrays in use, orphaned ones included
        self.live_entries = 0  # entries belonging to present offsets
        self._clock = 0  # bumped by every write; ``changed[i]`` is the clock of i's last write
        self._changed = np.zeros(capacity, dtype=np.int64)
        self._index: Postings | None = None
        self._mapped: tuple[np.memmap, ...] = ()
        """The files ``indices`` and ``values`` are mapped from, if they are (an indexed
        segment's rows once saved: searches read the inverted index, so rows stay on disk)."""

    # --- writes -----------------------------------------------------------------------------
    def ensure_capacity(self, capacity: int) -> None:
        """Grow to hold ``capacity`` offsets; readers keep their old arrays (never mutated)."""
        if capacity <= len(self.present):
            return
        new_cap = max(capacity, 2 * len(self.present), 64)

        def grown(arr: np.ndarray) -> np.ndarray:
            out = np.zeros(new_cap, dtype=arr.dtype)
            out[: len(arr)] = arr
            return out

        self.starts, self.lengths = grown(self.starts), grown(self.lengths)
        self._changed = grown(self._changed)
        self.present = grown(self.present)

    def _reserve(self, extra: int) -> None:
        """Make room for ``extra`` more flat entries, compacting first if most are orphaned."""
        garbage = self.used - self.live_entries
        if garbage > max(self.live_entries, 1024):
            self.compact()
        need = self.used + extra
        if need <= len(self.indices):
            return
        new_cap = max(need, 2 * len(self.indices), 256)
        indices = np.zeros(new_cap, dtype=np.uint32)
        values = np.zeros(new_cap, dtype=np.float32)
        indices[: self.used] = self.indices[: self.used]
        values[: self.used] = self.values[: self.used]
        self.indices, self.values = indices, values

    def _touch(self, offsets: np.ndarray) -> None:
        """Record that ``offsets`` changed, so the inverted index stops trusting them."""
        self._clock += 1
        self._changed[offsets] = self._clock

    def _drop(self, offsets: np.ndarray) -> None:
        """Forget the rows at distinct ``offsets`` (their flat entries become orphans)."""
        was = self.present[offsets]
        self.live_entries -= int(self.lengths[offsets][was].sum())
        self.present[offsets] = False
        self.lengths[offsets] = 0
        self.starts[offsets] = 0

    def put(self, offsets: np.ndarray, vectors: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Store sparse vectors (indices ascending and unique) at offsets, replacing old ones."""
        if len(offsets) != len(vectors):
            raise ValueError("put: offsets and vectors differ in length")
        if len(offsets) == 0:
            return
        lengths = np.fromiter((len(ix) for ix, _ in vectors), dtype=np.int64, count=len(vectors))
        value_lengths = np.fromiter(
            (len(vs) for _, vs in vectors), dtype=np.int64, count=len(vectors)
        )
        if not np.array_equal(lengths, value_lengths):
            raise ValueError("put: a sparse vector has different numbers of indices and values")
        self.put_flat(
            offsets,
            lengths,
            np.concatenate([np.asarray(ix, dtype=np.int64) for ix, _ in vectors]),
            np.concatenate([np.asarray(vs, dtype=np.float32) for _, vs in vectors]),
        )

    def put_flat(
        self, offsets: np.ndarray, lengths: np.ndarray, indices: np.ndarray, values: np.ndarray
    ) -> None:
        """``put`` in the flat form: row k (``lengths[k]`` entries of ``indices``/``values``,
        rows back to back) goes to ``offsets[k]``; a repeated offset keeps its last row."""
        offsets = np.asarray(offsets, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        total = int(lengths.sum())
        if len(offsets) != len(lengths) or total != len(indices) or total != len(values):
            raise ValueError("put: offsets, lengths and entries do not match")
        if len(offsets) == 0:
            return
        keep = last_occurrences(offsets)
        if len(keep) != len(offsets):
            pos = gather_positions((np.cumsum(lengths) - lengths)[keep], lengths[keep])
            offsets, lengths = offsets[keep], lengths[keep]
            indices, values = indices[pos], values[pos]
            total = len(pos)
        self.ensure_capacity(int(offsets.max()) + 1)
        self._drop(offsets)
        self._reserve(total)
        if total:
            self.indices[self.used : self.used + total] = indices
            self.values[self.used : self.used + total] = values
        self.starts[offsets] = self.used + np.cumsum(lengths) - lengths
        self.lengths[offsets] = lengths
        self.present[offsets] = True
        self.used += total
        self.live_entries += total
        self._touch(offsets)

    def remove(self, offsets: np.ndarray) -> None:
        """Drop the sparse vectors at offsets (absent ones are ignored)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        offsets = np.unique(offsets[offsets < len(self.present)])
        if len(offsets) == 0:
            return
        self._drop(offsets)
        self._touch(offsets)

    def compact(self) -> None:
        """Rewrite the flat arrays without orphaned entries (new arrays; readers keep old ones)."""
        offs = np.flatnonzero(self.present)
        lengths = self.lengths[offs]
        pos = gather_positions(self.starts[offs], lengths)
        starts = self.starts.copy()
        starts[offs] = np.cumsum(lengths) - lengths
        self.indices, self.values = self.indices[pos], self.values[pos]
        self.starts = starts
        self.used = self.live_entries = len(pos)

    # --- reads ------------------------------------------------------------------------------
    def get(self, offset: int) -> dict[str, list] | None:
        """The sparse vector at ``offset`` as JSON, or None when it has none."""
        if offset >= len(self.present) or not self.present[offset]:
            return None
        s, n = int(self.starts[offset]), int(self.lengths[offset])
        return {
            "indices": self.indices[s : s + n].tolist(),
            "values": self.values[s : s + n].tolist(),
        }

    def output(self, offset: int) -> dict[str, Any] | None:
        """The sparse vector at ``offset`` for the wire (values as float32), or None."""
        if offset >= len(self.present) or not self.present[offset]:
            return None
        s, n = int(self.starts[offset]), int(self.lengths[offset])
        return {
            "indices": self.indices[s : s + n].tolist(),
            "values": self.values[s : s + n].astype(np.float32),
        }

    def count(self, live: np.ndarray) -> int:
        """How many live points hold this vector with at least one entry (the ``n`` of IDF:
        as in Qdrant, an empty sparse vector is no document)."""
        size = len(self.present)
        held = self.present & (self.lengths[:size] > 0)
        return int(np.count_nonzero(mask_of(live, size) & held))

    def _build(self) -> Postings:
        """Build the inverted index from the stored rows (see ``segments/vectors/postings.py``)."""
        index = Postings.build(
            self.present, self.starts, self.lengths, self.indices, self.values, self._clock
        )
        self.release_pages()  # the build read every mapped row: let them leave RSS
        return index

    def prepare(self) -> None:
        """Blocking: build the inverted index now (an indexed segment does it in the optimizer's
        thread, so the first queries after a swap or restart do not pay for it)."""
        self._postings()

    def _postings(self) -> tuple[Postings, np.ndarray]:
        """The inverted index and the offsets changed since it was built (rebuilt if too many)."""
        index = self._index
        if index is not None:
            if self._clock == index.version:  # unchanged since the build (indexed segments)
                return index, _EMPTY_I64
            stale = np.flatnonzero(self._changed > index.version)
            if len(stale) <= max(MIN_STALE_BEFORE_REBUILD, index.points // 8):
                return index, stale
        index = self._build()
        self._index = index
        return index, np.flatnonzero(self._changed > index.version)

    def _score_rows(
        self, offsets: np.ndarray, indices: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dot products of the rows at ``offsets`` with a sorted query, and whether they overlap."""
        k = len(offsets)
        lengths = np.where(self.present[offsets], self.lengths[offsets], 0)
        pos = gather_positions(self.starts[offsets], lengths)
        if len(indices) == 0 or len(pos) == 0:
            return np.zeros(k, dtype=np.float64), np.zeros(k, dtype=bool)
        dims = self.indices[pos].astype(np.int64)
        row = np.repeat(np.arange(k), lengths)
        at = np.minimum(np.searchsorted(indices, dims), len(indices) - 1)
        hit = indices[at] == dims
        weights = self.values[pos][hit].astype(np.float64) * values[at[hit]]
        scores = np.bincount(row[hit], weights=weights, minlength=k)
        overlap = np.bincount(row[hit], minlength=k) > 0
        return scores, overlap

    def search(
        self, indices: np.ndarray, values: np.ndarray, candidates: np.ndarray, top: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best-first top ``top`` (scores, offsets) among candidates sharing an index with the query."""
        indices, values = _sorted_query(indices, values)
        if top <= 0 or len(indices) == 0:
            return _EMPTY_F32, _EMPTY_I64
        index, stale = self._postings()
        ok = mask_of(candidates, len(self.present)) & self.present
        eligible = ok[: index.width].copy()
        eligible[stale[stale < index.width]] = False
        scores, offsets = index.top(indices, values, eligible, top)
        hit_offs, hit_scores = [offsets], [scores]
        fresh = stale[ok[stale]]
        if len(fresh):
            scores, overlap = self._score_rows(fresh, indices, values)
            hit_offs.append(fresh[overlap])
            hit_scores.append(scores[overlap])
        offsets = np.concatenate(hit_offs)
        scores = np.concatenate(hit_scores).astype(np.float32)
        best = best_first(scores, top, higher_is_better=True)
        return scores[best], offsets[best]

    def score_offsets(
        self, indices: np.ndarray, values: np.ndarray, offsets: np.ndarray
    ) -> np.ndarray:
        """Scores of the given offsets; NaN where a point lacks the vector or shares no index.

        NaN marks "not a result": Qdrant drops such points when re-scoring, as local mode does
        (its -inf "no overlap" score is skipped).
        """
        indices, values = _sorted_query(indices, values)
        offsets = np.asarray(offsets, dtype=np.int64)
        out = np.full(len(offsets), np.nan, dtype=np.float32)
        valid = (offsets >= 0) & (offsets < len(self.present))
        valid[valid] = self.present[offsets[valid]]
        if valid.any():
            scores, overlap = self._score_rows(offsets[valid], indices, values)
            out[np.flatnonzero(valid)[overlap]] = scores[overlap]
        return out

    def document_frequency(self, indices: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Per query index (distinct), how many live points have a value there (IDF's df)."""
        indices = np.asarray(indices, dtype=np.int64)
        df = np.zeros(len(indices), dtype=np.int64)
        if len(indices) == 0:
            return df
        index, stale = self._postings()
        alive = mask_of(live, len(self.present)) & self.present
        trusted = alive[: index.width].copy()
        trusted[stale[stale < index.width]] = False
        df += index.document_frequency(indices, trusted)
        fresh = stale[alive[stale]]
        if len(fresh):
            order = np.argsort(indices, kind="stable")
            sorted_idx = indices[order]
            lengths = self.lengths[fresh]
            dims = self.indices[gather_positions(self.starts[fresh], lengths)].astype(np.int64)
            at = np.minimum(np.searchsorted(sorted_idx, dims), len(sorted_idx) - 1)
            hit = sorted_idx[at] == dims
            df[order] += np.bincount(at[hit], minlength=len(indices))
        return df

    # --- mapped rows --------------------------------------------------------------------------
    def adopt_mapped(self, indices: np.memmap, values: np.memmap) -> bool:
        """Read the flat rows from these mapped arrays (the same entries at the same positions,
        just written to disk) instead of memory; False (nothing changed) if they can't be."""
        if len(indices) != self.used or len(values) != self.used:
            return False
        # plain views (a memmap's results would be memmaps, which the wire does not take);
        # the same content as before, so a reader may mix old and new arrays
        self.indices, self.values = np.asarray(indices), np.asarray(values)
        self._mapped = (indices, values)
        return True

    @property
    def mapped(self) -> bool:
        """Whether the flat rows are read from a saved file."""
        return bool(self._mapped)

    def release_pages(self) -> None:
        """Drop the resident pages of mapped rows from this process (see ``drop_resident``)."""
        drop_resident(self._mapped)

    # --- persistence ------------------------------------------------------------------------
    def snapshot(self, size: int) -> dict[str, np.ndarray]:
        """Compact copies of offsets ``0..size-1`` as plain numpy arrays (np.save-able)."""
        present = mask_of(self.present, size)
        lengths = np.where(present, fit(self.lengths, size), 0).astype(np.int64)
        starts = np.cumsum(lengths) - lengths
        total = int(starts[-1] + lengths[-1]) if size else 0
        if total == self.used and np.array_equal(fit(self.starts, size)[present], starts[present]):
            # rows already laid out in order from 0 (appended, never rewritten): views, not a
            # gather. Entries below ``used`` are never written again (a put appends past them,
            # a compaction or growth makes new arrays), so the views stay what they are now;
            # the flusher snapshots the write segment on the writer's side
            indices, values = self.indices[:total], self.values[:total]
        else:
            pos = gather_positions(fit(self.starts, size), lengths)
            indices, values = self.indices[pos], self.values[pos]
        return {
            "present": present,
            "starts": starts,
            "lengths": lengths,
            "indices": indices.astype(np.uint32, copy=False),
            "values": values.astype(np.float32, copy=False),
        }

    def take(self, offsets: np.ndarray) -> SparseVectors:
        """A compact new store holding the rows at ``offsets`` as offsets ``0..len-1`` (an
        indexed segment's copy of its live points; one gather instead of a row-by-row put)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        size = len(offsets)
        inside = offsets < len(self.present)
        present = np.zeros(size, dtype=bool)
        present[inside] = self.present[offsets[inside]]
        lengths = np.zeros(size, dtype=np.int64)
        lengths[present] = self.lengths[offsets[present]]
        pos = gather_positions(self.starts[offsets[present]], lengths[present])
        store = SparseVectors(size)
        store.present[:] = present
        store.lengths[:] = lengths
        store.starts[:] = np.where(present, np.cumsum(lengths) - lengths, 0)
        store.indices, store.values = self.indices[pos], self.values[pos]
        store.used = store.live_entries = len(pos)
        return store

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray], size: int) -> SparseVectors:
        """Rebuild a store from what ``snapshot(size)`` returned (after a round trip to disk)."""
        store = cls(size)
        present = np.asarray(arrays["present"], dtype=bool)
        lengths = np.asarray(arrays["lengths"], dtype=np.int64)
        starts = np.asarray(arrays["starts"], dtype=np.int64)
        indices = np.asarray(arrays["indices"], dtype=np.uint32)
        values = np.asarray(arrays["values"], dtype=np.float32)
        if not (len(present) == len(lengths) == len(starts) == size):
            raise ValueError("sparse snapshot: per-offset arrays do not match the segment size")
        ends = np.where(present, starts + lengths, 0)
        if len(indices) != len(values) or (size and int(ends.max()) > len(indices)):
            raise ValueError("sparse snapshot: flat arrays are inconsistent")
        store.present[:size] = present
        store.lengths[:size] = np.where(present, lengths, 0)
        store.starts[:size] = np.where(present, starts, 0)
        store.used = len(indices)
        mapped = arrays["indices"], arrays["values"]
        if not (all(isinstance(a, np.memmap) and a.dtype == b.dtype
                    for a, b in zip(mapped, (indices, values), strict=True))
                and store.adopt_mapped(*mapped)):  # read-only files, never written in place
            store.indices, store.values = indices.copy(), values.copy()
        store.live_entries = int(store.lengths.sum())
        return store


def _sorted_query(indices: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A query as (int64 indices ascending, float64 values), sorting it if needed."""
    indices = np.asarray(indices, dtype=np.int64)
    values = np.asarray(values, dtype=np.float32).astype(np.float64)
    if len(indices) != len(values):
        raise ValueError("sparse query: indices and values differ in length")
    if len(indices) > 1 and (np.diff(indices) < 0).any():
        order = np.argsort(indices, kind="stable")
        indices, values = indices[order], values[order]
    return indices, values


__all__ = [
    "MAX_INDEX",
    "Postings",
    "SparseVectors",
    "best_first",
    "fit",
    "gather_positions",
    "idf",
    "last_occurrences",
    "mask_of",
    "validate_sparse",
]
