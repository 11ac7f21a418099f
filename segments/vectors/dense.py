"""Dense vectors of one name in one segment: a growable numpy matrix plus a presence mask.

Rows are stored in the configured datatype (float32, float16, uint8, or turbo4: 4-bit codes
from ``segments/vectors/turbo4.py``, one uint8 row of ``codec.width`` bytes per vector). Cosine
rows are normalised on write, as Qdrant does, except uint8 rows, which can't hold a unit vector
and are normalised when scored. Scores are computed in float32 over all candidate rows at once
(turbo4: the float query against the dequantised codes).

An indexed segment's rows, once saved, are read from a read-only mapping of the saved file
(``adopt_mapped``): its graph answers searches, so the rows are read only to re-score or return
a few points, and need not take memory. A write to mapped rows first copies them back into
memory (``_own_rows``); removing a row only clears its presence bit.
"""

from __future__ import annotations

import numpy as np

from segments.types import Datatype, Distance
from segments.vectors.sparse import best_first, drop_resident, mask_of
from segments.vectors.turbo4 import codec

DTYPES = {
    Datatype.FLOAT32: np.float32,
    Datatype.FLOAT16: np.float16,
    Datatype.UINT8: np.uint8,
    Datatype.TURBO4: np.uint8,
}


GATHER_BYTES = 256 * 1024
"""Rows gathered for one scoring pass at most (as float32): well under ``segments/heap.py``'s
mmap threshold, so the buffers are reused from the heap."""


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class DenseVectors:
    """Rows indexed by segment offset; ``present[i]`` says whether offset i has this vector."""

    kind = "dense"

    def __init__(
        self,
        dim: int,
        distance: Distance,
        datatype: Datatype | None = None,
        capacity: int = 0,
    ) -> None:
        self.dim = dim
        self.distance = distance
        self.datatype = datatype or Datatype.FLOAT32
        self.dtype = DTYPES[self.datatype]
        self.codec = codec(dim) if self.datatype is Datatype.TURBO4 else None
        self.width = dim if self.codec is None else self.codec.width
        """Stored row width: ``dim`` elements, or a turbo4 row's bytes."""
        self.data = np.zeros((capacity, self.width), dtype=self.dtype)
        self.present = np.zeros(capacity, dtype=bool)
        self._mapped: np.memmap | None = None
        """The read-only mapping ``data`` views, while the rows are read from a saved file."""

    @property
    def higher_is_better(self) -> bool:
        return self.distance.higher_is_better

    @property
    def _unit_on_score(self) -> bool:
        """uint8 Cosine rows are stored raw and normalised when scored."""
        return self.distance is Distance.COSINE and self.datatype is Datatype.UINT8

    def to_stored(self, rows: np.ndarray) -> np.ndarray:
        """Turn checked float rows into their stored form."""
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.dim)
        if self.datatype is Datatype.UINT8:
            return np.clip(np.trunc(rows), 0, 255).astype(np.uint8)
        if self.distance is Distance.COSINE:
            rows = normalize_rows(rows)
        if self.codec is not None:
            return self.codec.encode(rows)
        return rows.astype(self.dtype)

    def float_rows(self, index: np.ndarray | slice) -> np.ndarray:
        """The rows at ``index`` as float32 vectors (turbo4: dequantised)."""
        if self.codec is not None:
            return self.codec.decode(self.data[index])
        return self.data[index].astype(np.float32)

    def prepare_query(self, query: np.ndarray) -> np.ndarray:
        """The float32 query as it is compared with stored rows (unit length for Cosine)."""
        q = np.asarray(query, dtype=np.float32)
        if self.distance is Distance.COSINE:
            # normalize_rows for one row, with the same float32 sum (bit-identical), cheaper
            norm = np.sqrt(np.add.reduce(q * q))
            if norm:
                q = q / norm
        return q

    def ensure_capacity(self, capacity: int) -> None:
        """Grow to hold ``capacity`` offsets; readers keep their old arrays (never mutated)."""
        if capacity <= len(self.present):
            return
        new_cap = max(capacity, 2 * len(self.present), 64)
        data = np.zeros((new_cap, self.width), dtype=self.dtype)
        data[: len(self.data)] = self.data
        present = np.zeros(new_cap, dtype=bool)
        present[: len(self.present)] = self.present
        self.data, self.present, self._mapped = data, present, None

    def put(self, offsets: np.ndarray, rows: np.ndarray | list[np.ndarray]) -> None:
        """Store float rows (converted to the stored form) at offsets."""
        if len(offsets) == 0:
            return
        self.ensure_capacity(int(np.max(offsets)) + 1)
        self._own_rows()
        self.data[offsets] = self.to_stored(np.asarray(rows, dtype=np.float32))
        self.present[offsets] = True

    def remove(self, offsets: np.ndarray) -> None:
        offsets = offsets[offsets < len(self.present)]
        self.present[offsets] = False
        if self._mapped is None:  # mapped rows are read-only; the presence bit is enough
            self.data[offsets] = 0

    # --- mapped rows --------------------------------------------------------------------------
    def adopt_mapped(self, rows: np.memmap) -> bool:
        """Read the rows from this read-only mapping of the saved file (the same rows) instead
        of memory; False (nothing changed) if its shape or type differ."""
        if rows.shape != self.data.shape or rows.dtype != self.data.dtype:
            return False
        self.data = np.asarray(rows)  # a plain view: slices of a memmap would be memmaps
        self._mapped = rows
        return True

    @property
    def mapped(self) -> bool:
        """Whether the rows are read from a saved file."""
        return self._mapped is not None

    def release_pages(self) -> None:
        """Drop the resident pages of mapped rows from this process (see ``drop_resident``)."""
        if self._mapped is not None:
            drop_resident([self._mapped])

    def _own_rows(self) -> None:
        """Before a write: copy mapped rows into memory (readers keep the mapped view)."""
        if self._mapped is not None:
            self.data = np.array(self.data)
            self._mapped = None

    def get(self, offset: int) -> list[float] | None:
        if offset >= len(self.present) or not self.present[offset]:
            return None
        return self.float_rows(slice(offset, offset + 1))[0].tolist()

    def output(self, offset: int) -> np.ndarray | None:
        """The vector at ``offset`` as float32 for the wire (serialised shortest), or None."""
        if offset >= len(self.present) or not self.present[offset]:
            return None
        return self.float_rows(slice(offset, offset + 1))[0]

    def _scores(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        if self.codec is not None:
            return self.codec.scores(rows, q, self.distance)
        rows = rows.astype(np.float32, copy=False)
        if self.distance in (Distance.COSINE, Distance.DOT):
            dots = rows @ q
            if self._unit_on_score:
                norms = np.linalg.norm(rows, axis=1)
                norms[norms == 0] = 1.0
                dots = dots / norms
            return dots.astype(np.float32, copy=False)
        diff = rows - q
        if self.distance is Distance.EUCLID:
            return np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return np.abs(diff).sum(axis=1)

    def _scores_at(self, offsets: np.ndarray, q: np.ndarray) -> np.ndarray:
        """``_scores`` of the rows at ``offsets``, gathered a block at a time: one gather of a
        filtered scan's rows (MBs) would get a fresh mapping from malloc on every query, its
        page faults costing more than the product. Each row's score is computed the same
        way whatever the block (blocks start at multiples of 64 rows; one BLAS thread)."""
        step = max(64, GATHER_BYTES // (4 * max(1, self.dim)) // 64 * 64)
        if len(offsets) < 2 * step:
            return self._scores(self.data[offsets], q)
        # the last block takes the remainder (a block of a row or two could be scored by
        # another kernel than the one a longer product uses for its last rows)
        cuts = list(range(0, len(offsets) - step + 1, step))
        cuts.append(len(offsets))
        parts = [self._scores(self.data[offsets[a:b]], q)
                 for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        return np.concatenate(parts)

    def search(
        self, query: np.ndarray, candidates: np.ndarray, top: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``top`` among candidate offsets that hold this vector, best first."""
        n = len(self.present)
        mask = mask_of(candidates, n) & self.present
        offsets = np.flatnonzero(mask)
        if len(offsets) == 0:
            return np.zeros(0, dtype=np.float32), offsets
        q = self.prepare_query(query)
        if len(offsets) * 2 > n:
            # most rows qualify: score them all in place (no gather copy), then pick
            scores = self._scores(self.data, q)[offsets]
        else:
            scores = self._scores_at(offsets, q)
        best = best_first(scores, top, self.higher_is_better)
        return scores[best], offsets[best]

    def score_offsets(self, query: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Scores of the given offsets; NaN where the point has no such vector."""
        out = np.full(len(offsets), np.nan, dtype=np.float32)
        ok = (offsets < len(self.present))
        ok[ok] = self.present[offsets[ok]]
        if ok.any():
            out[ok] = self.scores_of_rows(offsets[ok], self.prepare_query(query))
        return out

    def scores_of_rows(self, offsets: np.ndarray, prepared: np.ndarray) -> np.ndarray:
        """Scores of offsets that all hold this vector, for the prepared query
        (``prepare_query``): ``score_offsets`` without its presence checks."""
        return self._scores(self.data[offsets], prepared)

    def snapshot(self, size: int) -> dict[str, np.ndarray]:
        n = min(size, len(self.present))
        data = np.zeros((size, self.width), dtype=self.dtype)
        present = np.zeros(size, dtype=bool)
        data[:n] = self.data[:n]
        present[:n] = self.present[:n]
        return {"data": data, "present": present}

    @classmethod
    def restore(
        cls,
        arrays: dict[str, np.ndarray],
        size: int,
        dim: int,
        distance: Distance,
        datatype: Datatype | None,
    ) -> DenseVectors:
        store = cls(dim, distance, datatype, capacity=size)
        data = arrays["data"]
        if not (isinstance(data, np.memmap) and store.adopt_mapped(data)):
            store.data[:size] = data[:size]
        store.present[:size] = arrays["present"][:size]
        return store
