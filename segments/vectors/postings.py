"""The inverted index of one segment's sparse vectors, and scoring a query against it.

Term-weight data is skewed (zipf-like): a few indices appear in most points, so a query's
postings are dominated by their lists (on the benchmark's 100k points a 20-index query touched
1.1M postings, and accumulating them with gathers and ``bincount`` was ~90 % of a sparse
query under py-spy). The index therefore keeps two layouts:

- indices held by at least ``DENSE_SHARE`` of the offsets get a dense float32 row of the
  segment's width (0 where absent) plus a packed presence bitmap, so their part of a query is
  one float32 matrix-vector product over the query's rows (BLAS, streaming, no scatter);
- the other indices keep CSC-like postings (uint16/uint32 offsets, float32 values), accumulated with
  ``bincount`` in float64.

Scores must not change: the reference is the float64 sum of exact float32 x float32 products,
cast to float32 (what scoring the stored rows gives). The float32 product is only used to find
the candidates: its error is bounded (``error_bound``), every point that could reach the exact
top ``k`` is kept and only those are re-scored exactly, so results are the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DENSE_SHARE = 0.125
"""An index held by at least this share of a segment's offsets gets a dense row. On the
benchmark's zipf data this keeps the index smaller than int64 postings were (39 MB of rows +
34 MB of postings against 97 MB at 100k points) and leaves ~18k postings per query."""

DENSE_MIN = 64
"""…and by at least this many points (tiny segments keep postings only)."""

FEW = 8
"""Candidates under ``width / FEW`` (a selective filter) are scored exactly straight away."""

_UNIT = 2.0**-24
_TINY = 2.0**-126
_EMPTY_I64 = np.zeros(0, dtype=np.int64)


def offset_type(width: int) -> type:
    """The narrowest unsigned type for postings' offsets below ``width`` (uint16 in segments of
    up to 65,536 points: 2 bytes a posting less than int32, ~4 MiB per 50k-point segment on
    the benchmark's data; bincount and fancy indexing widen them as they did int32)."""
    return np.uint16 if width <= 1 << 16 else np.uint32


def gather_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat positions of the slices ``[start, start + length)``, concatenated in order."""
    total = int(lengths.sum())
    if total == 0:
        return _EMPTY_I64
    first = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first, lengths)


def locate(keys: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query index, whether ``keys`` (sorted) holds it and where."""
    pos = np.searchsorted(keys, indices)
    found = np.zeros(len(indices), dtype=bool)
    inside = pos < len(keys)
    found[inside] = keys[pos[inside]] == indices[inside]
    return found, pos


def error_bound(weights: np.ndarray, peaks: np.ndarray) -> float:
    """An upper bound on |float32 dot - exact dot| of the query ``weights`` with any point's
    values on those rows, whose largest magnitudes are ``peaks``: Higham's gamma_m bound for
    any summation order (FMA or not), doubled, plus what subnormals can lose even if flushed
    to zero (inputs, products and partial sums, each under the smallest normal float32)."""
    m = len(weights)
    size = np.abs(weights)
    gamma = 2.0 * (m + 1) * _UNIT / (1.0 - (m + 1) * _UNIT)
    return float(gamma * np.dot(size, peaks.astype(np.float64))
                 + (size.sum() + 2 * m) * _TINY)


@dataclass(frozen=True)
class Postings:
    """An inverted index built at write clock ``version`` over offsets ``0..width-1``.

    Sparse part: the postings of ``keys[i]`` are ``offsets/values[bounds[i]:bounds[i+1]]``
    (offsets ascending). Dense part: index ``dense_keys[j]`` has values ``block[j]``, presence
    ``bits[j]`` (packed) and largest magnitude ``peaks[j]``. Rows changed after ``version``
    are not reflected (the caller scores them from the rows).
    """

    keys: np.ndarray
    bounds: np.ndarray
    offsets: np.ndarray
    values: np.ndarray
    dense_keys: np.ndarray
    block: np.ndarray
    bits: np.ndarray
    peaks: np.ndarray
    width: int
    version: int
    points: int

    @classmethod
    def build(
        cls, present: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
        indices: np.ndarray, values: np.ndarray, version: int,
    ) -> Postings:
        """The index of the rows at present offsets (flat ``indices``/``values`` slices)."""
        offs = np.flatnonzero(present)
        width = int(offs[-1]) + 1 if len(offs) else 0
        lengths = lengths[offs]
        pos = gather_positions(starts[offs], lengths)
        # One sort of (index << 32 | position): the stable argsort by index (offsets stay
        # ascending per index), ~4x faster than ``argsort(kind="stable")``.
        keyed = np.sort((indices[pos].astype(np.uint64) << np.uint64(32))
                        | np.arange(len(pos), dtype=np.uint64))
        order = (keyed & np.uint64(0xFFFFFFFF)).astype(np.int64)
        dims = (keyed >> np.uint64(32)).astype(np.int64)
        del keyed
        owners = np.repeat(offs, lengths)[order]
        vals = values[pos[order]]
        first = np.flatnonzero(np.concatenate([[True], dims[1:] != dims[:-1]])) if len(dims) \
            else _EMPTY_I64
        keys = dims[first]
        counts = np.diff(np.append(first, len(dims)))
        dense = counts >= max(DENSE_MIN, DENSE_SHARE * width)
        group = np.repeat(np.arange(len(keys)), counts)
        in_dense = dense[group]
        n_dense = int(dense.sum())
        cells = (np.cumsum(dense) - 1)[group[in_dense]] * width + owners[in_dense]
        dense_vals = vals[in_dense]
        block = np.zeros((n_dense, width), dtype=np.float32)
        block.reshape(-1)[cells] = dense_vals
        held = np.zeros((n_dense, width), dtype=bool)
        held.reshape(-1)[cells] = True
        row_starts = (np.cumsum(counts[dense]) - counts[dense]).astype(np.int64)
        peaks = (np.maximum.reduceat(np.abs(dense_vals), row_starts) if n_dense
                 else np.zeros(0, dtype=np.float32))
        sparse_counts = counts[~dense]
        bounds = np.concatenate([[0], np.cumsum(sparse_counts)]).astype(np.int64)
        return cls(
            keys=keys[~dense],
            bounds=bounds,
            offsets=owners[~in_dense].astype(offset_type(width)),
            values=vals[~in_dense].astype(np.float32),
            dense_keys=keys[dense],
            block=block,
            bits=np.packbits(held, axis=1),
            peaks=peaks,
            width=width,
            version=version,
            points=len(offs),
        )

    def _sparse_hits(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the flat postings of the query's sparse-part indices, and per position
        the query entry it belongs to."""
        found, pos = locate(self.keys, indices)
        at = pos[found]
        begin = self.bounds[at]
        lengths = self.bounds[at + 1] - begin
        return gather_positions(begin, lengths), np.repeat(np.flatnonzero(found), lengths)

    def top(
        self, indices: np.ndarray, weights: np.ndarray, eligible: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact (float64 sums of float32 x float32 products) scores and offsets of the points
        among ``eligible`` (a bool mask of ``width``) that share an index with the query
        (``indices`` ascending, ``weights`` float64 of float32 values): at least every point
        that can be in the top ``k``, in ascending offset order."""
        width = self.width
        dfound, dpos = locate(self.dense_keys, indices)
        rows, row_w = dpos[dfound], weights[dfound]
        flat, owner = self._sparse_hits(indices)
        hit = np.zeros(width, dtype=bool)
        rest = None
        if len(flat):
            offs = self.offsets[flat]
            rest = np.bincount(
                offs, weights=self.values[flat].astype(np.float64) * weights[owner],
                minlength=width,
            )
            hit[offs] = True
        if len(rows):
            packed = np.bitwise_or.reduce(self.bits[rows], axis=0)
            hit |= np.unpackbits(packed, count=width).view(bool)
        hit &= eligible
        cand = np.flatnonzero(hit)
        if len(rows) == 0:
            assert rest is not None or len(cand) == 0
            return (rest[cand] if rest is not None else np.zeros(0)), cand
        if len(cand) > max(k, width // FEW):
            # Candidates by the float32 product; only those that can reach the top k are
            # scored exactly (a point under the k-th approximate score by more than twice the
            # error bound is beaten by k points for sure). Full width: no gathers.
            with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN: exact for all
                approx = self._approx(rows, row_w).astype(np.float64)
                if rest is not None:
                    approx += rest
            bound = error_bound(row_w, self.peaks[rows])
            if np.isfinite(bound) and np.isfinite(approx).all():
                approx[~hit] = -np.inf
                kth = np.partition(approx, width - k)[width - k]
                cand = np.flatnonzero(approx >= kth - 2.0 * bound)
        # only the candidates' cells (a copy of whole rows would be rows x width floats:
        # buffers that big get a fresh mapping per query, page faults included)
        sub = self.block[rows[:, None], cand[None, :]]
        exact = (sub.astype(np.float64) * row_w[:, None]).sum(axis=0)
        if rest is not None:
            exact += rest[cand]
        return exact, cand

    def _approx(self, rows: np.ndarray, row_w: np.ndarray) -> np.ndarray:
        """float32 ``row_w @ block[rows]``, one row at a time: no copy of the rows (a few MB
        per query, which malloc maps and unmaps each time: py-spy and the system time showed
        that costing more than the product). Any summation order is within ``error_bound``."""
        w32 = row_w.astype(np.float32)
        out = self.block[rows[0]] * w32[0]
        scratch = np.empty_like(out)
        for j in range(1, len(rows)):
            np.multiply(self.block[rows[j]], w32[j], out=scratch)
            out += scratch
        return out

    def document_frequency(self, indices: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Per query index, how many offsets set in ``alive`` (a bool mask of ``width``) hold
        it according to the index."""
        df = np.zeros(len(indices), dtype=np.int64)
        dfound, dpos = locate(self.dense_keys, indices)
        if dfound.any():
            mine = np.packbits(alive)
            df[dfound] = np.bitwise_count(self.bits[dpos[dfound]] & mine).sum(axis=1)
        flat, owner = self._sparse_hits(indices)
        if len(flat):
            df += np.bincount(owner[alive[self.offsets[flat]]], minlength=len(indices))
        return df


__all__ = [
    "DENSE_MIN", "DENSE_SHARE", "Postings", "error_bound", "gather_positions", "locate",
    "offset_type",
]
