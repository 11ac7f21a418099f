"""Multivectors of one name in one segment, scored by MaxSim as Qdrant (and its local mode) do.

Every offset holds an optional matrix of sub-vectors (rows of ``dim``). All rows live in one
flat array in the configured datatype (float32, float16 or uint8); each offset records where
its rows start and how many there are. A put appends fresh rows; the rows of replaced or
removed points stay orphaned until ``compact()`` (run automatically once orphans outnumber
live rows).

Scoring, per point: MaxSim = sum over query rows of the max over the point's rows of the
pairwise similarity. Cosine and Dot use the dot product (Cosine rows and query normalised);
Euclid and Manhattan use the negative squared L2 / negative L1 distance. The reported score is
that sum for Cosine/Dot (higher is better), sqrt(|sum|) for Euclid and |sum| for Manhattan
(smaller is better), as qdrant-client's local mode reports them.

Datatypes follow Qdrant: float16 stores the (normalised, for Cosine) rows rounded to half
precision; uint8 casts like Rust's ``as u8`` (truncate toward zero, saturate to 0..255) and
is not normalised on write, so Cosine normalises uint8 rows when scoring; turbo4 stores each
(normalised, for Cosine) row as 4-bit codes (``segments/vectors/turbo4.py``, one uint8 row of
``codec.width`` bytes). Queries are always scored in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segments.types import Datatype, Distance, ShapeError
from segments.vectors.sparse import best_first, fit, gather_positions, last_occurrences, mask_of
from segments.vectors.turbo4 import codec

CHUNK_ROWS = 32768
"""Candidate rows scored per batch, bounding the temporary memory of one search."""

_NUMBER = (int, float)


def validate_multi(obj: object, dim: int) -> np.ndarray:
    """Parse a JSON multivector (non-empty list of ``dim``-sized number lists) into float32 rows."""
    if not isinstance(obj, list | tuple):
        raise ValueError("Multivector must be an array of vectors")
    if len(obj) == 0:
        raise ShapeError("", "multivector must not be empty")
    for sub in obj:
        if not isinstance(sub, list | tuple):
            raise ValueError("Multivector must be an array of vectors (arrays of numbers)")
    if len({len(sub) for sub in obj}) > 1:
        raise ShapeError("", "all vectors of a multivector must have the same dimension")
    if len(obj[0]) == 0:
        raise ShapeError("", "the vectors of a multivector must not be empty")
    for sub in obj:
        if len(sub) != dim:
            raise ValueError(
                f"Wrong input: Vector dimension error: expected dim: {dim}, got {len(sub)}"
            )
        for x in sub:
            if type(x) not in _NUMBER:  # bool, None and strings are not numbers
                raise ValueError(f"Multivector: invalid value {x!r}, expected a number")
    try:
        with np.errstate(over="ignore"):
            rows = np.array(obj, dtype=np.float64).astype(np.float32)
    except OverflowError:  # a JSON integer too large for any float
        rows = np.array([[np.inf]], dtype=np.float32)
    if np.isnan(rows).any():
        raise ValueError("Vector contains NaN values")
    if not np.isfinite(rows).all():
        raise ValueError("Vector contains infinite values (or values beyond float32 range)")
    return rows


def normalize_rows(rows: np.ndarray) -> np.ndarray:
    """Scale float32 rows to unit length (all-zero rows stay zero); einsum beats linalg.norm."""
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows, dtype=np.float32))
    norms[norms == 0] = 1.0
    return (rows / norms[:, np.newaxis]).astype(np.float32, copy=False)


def to_stored(rows: np.ndarray, distance: Distance, dtype: np.dtype) -> np.ndarray:
    """Turn float rows into their stored form: normalised for Cosine, cast to the datatype."""
    rows = np.asarray(rows, dtype=np.float32)
    if dtype == np.uint8:
        return np.clip(np.trunc(rows), 0, 255).astype(np.uint8)
    if distance is Distance.COSINE:
        rows = normalize_rows(rows)
    return rows.astype(dtype, copy=False)


def _rows_of(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The rows of these point groups, contiguous: a view if they already are, else a gather."""
    if np.array_equal(starts[1:], starts[:-1] + counts[:-1]):
        return rows[int(starts[0]) : int(starts[-1] + counts[-1])]
    return np.take(rows, gather_positions(starts, counts), axis=0)


class MultiVectors:
    """Multivectors indexed by segment offset; ``present[i]`` says whether offset i has one."""

    def __init__(
        self,
        dim: int,
        distance: Distance | str,
        datatype: Datatype | str | None = "float32",
        capacity: int = 0,
    ) -> None:
        self.dim = int(dim)
        self.distance = Distance(distance)
        self.datatype = Datatype(datatype or Datatype.FLOAT32)
        turbo = self.datatype is Datatype.TURBO4
        self.dtype = np.dtype(np.uint8 if turbo else self.datatype.value)
        self.codec = codec(self.dim) if turbo else None
        self.width = self.dim if self.codec is None else self.codec.width
        """Stored row width: ``dim`` elements, or a turbo4 row's bytes."""
        self.present = np.zeros(capacity, dtype=bool)
        self.starts = np.zeros(capacity, dtype=np.int64)
        self.counts = np.zeros(capacity, dtype=np.int64)
        self.rows = np.zeros((0, self.width), dtype=self.dtype)
        self.used = 0  # rows of ``self.rows`` in use, orphaned ones included
        self.live_rows = 0  # rows belonging to present offsets

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger score is a better match (Cosine, Dot) or not (Euclid, Manhattan)."""
        return self.distance.higher_is_better

    # --- writes -----------------------------------------------------------------------------
    def ensure_capacity(self, capacity: int) -> None:
        """Grow to hold ``capacity`` offsets; readers keep their old arrays (never mutated)."""
        if capacity <= len(self.present):
            return
        new_cap = max(capacity, 2 * len(self.present), 64)
        self.starts, self.counts = fit(self.starts, new_cap), fit(self.counts, new_cap)
        self.present = fit(self.present, new_cap)

    def _reserve(self, extra: int) -> None:
        """Make room for ``extra`` more rows, compacting first if most rows are orphaned."""
        if self.used - self.live_rows > max(self.live_rows, 1024):
            self.compact()
        need = self.used + extra
        if need <= len(self.rows):
            return
        rows = np.zeros((max(need, 2 * len(self.rows), 256), self.width), dtype=self.dtype)
        rows[: self.used] = self.rows[: self.used]
        self.rows = rows

    def _drop(self, offsets: np.ndarray) -> None:
        """Forget the multivectors at distinct ``offsets`` (their rows become orphans)."""
        was = self.present[offsets]
        self.live_rows -= int(self.counts[offsets][was].sum())
        self.present[offsets] = False
        self.counts[offsets] = 0
        self.starts[offsets] = 0

    def put(self, offsets: np.ndarray, matrices: Sequence[np.ndarray]) -> None:
        """Store multivectors (float matrices, ``m x dim``, m >= 1) at offsets, replacing old ones."""
        offsets = np.asarray(offsets, dtype=np.int64)
        if len(offsets) != len(matrices):
            raise ValueError("put: offsets and matrices differ in length")
        if len(offsets) == 0:
            return
        mats = [np.asarray(m, dtype=np.float32) for m in matrices]
        for m in mats:
            if m.ndim != 2 or m.shape[1] != self.dim or m.shape[0] == 0:
                raise ValueError(f"put: a multivector must be a non-empty m x {self.dim} matrix")
        counts = np.fromiter((len(m) for m in mats), dtype=np.int64, count=len(mats))
        self.put_flat(offsets, counts, np.concatenate(mats))

    def put_flat(self, offsets: np.ndarray, counts: np.ndarray, rows: np.ndarray) -> None:
        """``put`` in the flat form: multivector k is the next ``counts[k]`` (>= 1) of ``rows``,
        stored at ``offsets[k]``; a repeated offset keeps its last multivector."""
        offsets = np.asarray(offsets, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.dim)
        if len(offsets) != len(counts) or int(counts.sum()) != len(rows) or (counts < 1).any():
            raise ValueError(f"put: a multivector must be a non-empty m x {self.dim} matrix")
        if len(offsets) == 0:
            return
        keep = last_occurrences(offsets)
        if len(keep) != len(offsets):
            rows = rows[gather_positions((np.cumsum(counts) - counts)[keep], counts[keep])]
            offsets, counts = offsets[keep], counts[keep]
        flat = self._to_stored(rows)
        self.ensure_capacity(int(offsets.max()) + 1)
        self._drop(offsets)
        self._reserve(len(flat))
        self.rows[self.used : self.used + len(flat)] = flat
        self.starts[offsets] = self.used + np.cumsum(counts) - counts
        self.counts[offsets] = counts
        self.present[offsets] = True
        self.used += len(flat)
        self.live_rows += len(flat)

    def _to_stored(self, rows: np.ndarray) -> np.ndarray:
        """Float rows in their stored form (turbo4: the codes of the normalised rows)."""
        if self.codec is None:
            return to_stored(rows, self.distance, self.dtype)
        if self.distance is Distance.COSINE:
            rows = normalize_rows(np.asarray(rows, dtype=np.float32))
        return self.codec.encode(rows)

    def _floats(self, rows: np.ndarray) -> np.ndarray:
        """Stored rows as float32 vectors (turbo4: dequantised)."""
        if self.codec is not None:
            return self.codec.decode(rows)
        return rows.astype(np.float32)

    def remove(self, offsets: np.ndarray) -> None:
        """Drop the multivectors at offsets (absent ones are ignored)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        offsets = np.unique(offsets[offsets < len(self.present)])
        if len(offsets):
            self._drop(offsets)

    def compact(self) -> None:
        """Rewrite the rows without orphans (new arrays; readers keep their old ones)."""
        offs = np.flatnonzero(self.present)
        counts = self.counts[offs]
        pos = gather_positions(self.starts[offs], counts)
        starts = self.starts.copy()
        starts[offs] = np.cumsum(counts) - counts
        self.rows = self.rows[pos]
        self.starts = starts
        self.used = self.live_rows = len(pos)

    # --- reads ------------------------------------------------------------------------------
    def get(self, offset: int) -> list[list[float]] | None:
        """The stored multivector at ``offset`` (normalised for Cosine), or None."""
        if offset >= len(self.present) or not self.present[offset]:
            return None
        s, n = int(self.starts[offset]), int(self.counts[offset])
        return self._floats(self.rows[s : s + n]).tolist()

    def output(self, offset: int) -> np.ndarray | None:
        """The multivector at ``offset`` as a float32 matrix for the wire, or None."""
        if offset >= len(self.present) or not self.present[offset]:
            return None
        s, n = int(self.starts[offset]), int(self.counts[offset])
        return self._floats(self.rows[s : s + n])

    def prepare_query(self, query: np.ndarray) -> np.ndarray:
        """A query as float32 ``m x dim`` rows, normalised for Cosine."""
        q = np.asarray(query, dtype=np.float32)
        if q.ndim == 1:
            q = q[np.newaxis, :]
        if q.ndim != 2 or q.shape[1] != self.dim or q.shape[0] == 0:
            raise ValueError(f"multivector query must be a non-empty m x {self.dim} matrix")
        if np.isnan(q).any():
            raise ValueError("Query vector must not contain NaN")
        if self.distance is Distance.COSINE:
            q = normalize_rows(q)
        return q

    def _maxsim(self, rows: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Internal MaxSim (float64) of point groups whose rows are contiguous in ``rows``."""
        if self.codec is not None and self.distance is not Distance.MANHATTAN:
            # dot products and L2 are rotation invariant: score in the codes' rotated domain
            rows = self.codec.decode_rotated(rows)
            q = self.codec.rotate(q).astype(np.float32)
        elif self.codec is not None:
            rows = self.codec.decode(rows)
        rows = rows.astype(np.float32, copy=False)
        if self.distance is Distance.COSINE and self.datatype is Datatype.UINT8:
            rows = normalize_rows(rows)
        if self.distance in (Distance.COSINE, Distance.DOT):
            sim = rows @ q.T
        else:
            sim = np.empty((len(rows), len(q)), dtype=np.float32)
            for j in range(len(q)):  # a loop over the query's few sub-vectors
                diff = rows - q[j]
                if self.distance is Distance.EUCLID:
                    sim[:, j] = -np.einsum("ij,ij->i", diff, diff)
                else:
                    sim[:, j] = -np.abs(diff).sum(axis=1)
        first = np.cumsum(counts) - counts
        return np.maximum.reduceat(sim, first, axis=0).sum(axis=1, dtype=np.float64)

    def _score_present(self, offsets: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Reported scores (float32) of offsets that all hold a multivector."""
        rows_all, starts, counts = self.rows, self.starts[offsets], self.counts[offsets]
        out = np.empty(len(offsets), dtype=np.float64)
        if len(offsets) == 0:
            return out.astype(np.float32)
        ends = np.cumsum(counts)
        cuts = np.searchsorted(ends, np.arange(CHUNK_ROWS, int(ends[-1]), CHUNK_ROWS), "right")
        bounds = np.unique(np.concatenate([[0], cuts, [len(offsets)]]))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            out[a:b] = self._maxsim(_rows_of(rows_all, starts[a:b], counts[a:b]), counts[a:b], q)
        if self.distance is Distance.EUCLID:
            out = np.sqrt(np.abs(out))
        elif self.distance is Distance.MANHATTAN:
            out = np.abs(out)
        return out.astype(np.float32)

    def search(
        self, query: np.ndarray, candidates: np.ndarray, top: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best-first top ``top`` (scores, offsets) among candidates holding a multivector."""
        q = self.prepare_query(query)
        offsets = np.flatnonzero(mask_of(candidates, len(self.present)) & self.present)
        if top <= 0 or len(offsets) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = self._score_present(offsets, q)
        best = best_first(scores, top, self.higher_is_better)
        return scores[best], offsets[best]

    def score_offsets(self, query: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Scores of the given offsets; NaN where a point has no multivector (not a result)."""
        q = self.prepare_query(query)
        offsets = np.asarray(offsets, dtype=np.int64)
        out = np.full(len(offsets), np.nan, dtype=np.float32)
        valid = (offsets >= 0) & (offsets < len(self.present))
        valid[valid] = self.present[offsets[valid]]
        out[valid] = self._score_present(offsets[valid], q)
        return out

    # --- persistence ------------------------------------------------------------------------
    def snapshot(self, size: int) -> dict[str, np.ndarray]:
        """Compact copies of offsets ``0..size-1`` as plain numpy arrays (np.save-able)."""
        present = mask_of(self.present, size)
        counts = np.where(present, fit(self.counts, size), 0).astype(np.int64)
        pos = gather_positions(fit(self.starts, size), counts)
        return {
            "present": present,
            "starts": (np.cumsum(counts) - counts).astype(np.int64),
            "counts": counts,
            "rows": self.rows[pos].reshape(-1, self.width),
        }

    @classmethod
    def restore(
        cls,
        arrays: dict[str, np.ndarray],
        size: int,
        dim: int,
        distance: Distance | str,
        datatype: Datatype | str | None = "float32",
    ) -> MultiVectors:
        """Rebuild a store from what ``snapshot(size)`` returned (after a round trip to disk)."""
        store = cls(dim, distance, datatype, capacity=size)
        present = np.asarray(arrays["present"], dtype=bool)
        counts = np.asarray(arrays["counts"], dtype=np.int64)
        starts = np.asarray(arrays["starts"], dtype=np.int64)
        rows = np.asarray(arrays["rows"])
        if not (len(present) == len(counts) == len(starts) == size):
            raise ValueError("multivector snapshot: per-offset arrays do not match the size")
        if rows.dtype != store.dtype or rows.ndim != 2 or rows.shape[1] != store.width:
            raise ValueError("multivector snapshot: rows do not match the dim or datatype")
        ends = np.where(present, starts + counts, 0)
        if size and int(ends.max()) > len(rows):
            raise ValueError("multivector snapshot: rows are inconsistent with starts/counts")
        store.present[:size] = present
        store.counts[:size] = np.where(present, counts, 0)
        store.starts[:size] = np.where(present, starts, 0)
        store.rows = rows.copy()
        store.used = len(rows)
        store.live_rows = int(store.counts.sum())
        return store


__all__ = ["MultiVectors", "to_stored", "validate_multi"]
