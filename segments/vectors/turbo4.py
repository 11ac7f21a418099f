"""The ``turbo4`` datatype (Qdrant 1.19): dense vectors quantized to 4 bits per element, the
TurboQuant way.

TurboQuant's idea: a random orthogonal rotation spreads any vector's energy evenly over its
coordinates, so every rotated coordinate follows (nearly) the same bell-shaped distribution
and one fixed scalar codebook, optimal for that distribution, quantizes them all well. Here:

* **Rotation**: ``R = H·D2·H·D1``, with ``D1``/``D2`` fixed pseudo-random ±1 diagonals and
  ``H`` the orthonormal discrete Hartley transform (symmetric, its own inverse, any length,
  O(d log d) through numpy's FFT). The signs come from a splitmix64 hash of the element
  index, so the rotation is the same in every process and numpy version: nothing about it
  is stored.
* **Codebook**: the 16 Lloyd-Max levels of the standard normal (MSE-optimal for a Gaussian
  coordinate) on a per-vector grid that puts the row's largest rotated coordinate on the
  outermost level; each coordinate takes its nearest level. The stored per-vector scale then
  gives the decoded vector the original's norm (so a Cosine row stays unit length and a
  point's similarity to itself is 1), and it is exactly the grid that re-encoding the decoded
  vector picks: decode → encode gives back the same codes. The scale is kept to 16 mantissa
  bits (relative precision 8e-6, far below the codes' error), so the float noise of a decode
  → encode round trip (~1e-7) can't move it either: a merge or rebuild that re-encodes the
  vectors it read stores the very same bytes.
* **Layout**: one ``uint8`` row per vector: ``ceil(d/2)`` bytes of codes, two per byte (even
  element in the low nibble), then the float32 scale's 4 bytes. A 768-d vector takes
  388 bytes instead of 3072.

Queries stay float32 (asymmetric scoring): since ``R`` is orthogonal, dot products and
Euclidean distances are scored in the rotated domain (the query is rotated once, rows are
decoded there with a lookup table, no inverse rotation); Manhattan is not rotation invariant,
so its rows are decoded all the way back first. Stored vectors are returned dequantised.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from segments.types import Distance

LEVELS = np.array(
    [0.128395, 0.388048, 0.656759, 0.94234, 1.256231, 1.618046, 2.069017, 2.73259],
    dtype=np.float64,
)
LEVELS = np.concatenate([-LEVELS[::-1], LEVELS])
"""The 16 Lloyd-Max reconstruction levels of N(0, 1), ascending (code k decodes to LEVELS[k])."""

BOUNDS = (LEVELS[1:] + LEVELS[:-1]) / 2
"""Decision thresholds between neighbouring levels (nearest-level encoding)."""

OUTER = float(LEVELS[-1])

PAIRS = np.stack([LEVELS[np.arange(256) & 15], LEVELS[np.arange(256) >> 4]], axis=1).astype(
    np.float32
)
"""Byte value → the two levels it packs (low nibble first), for decoding whole rows at once."""
_PAIRS64 = PAIRS.view(np.float64).ravel()  # one 8-byte item per byte value: a faster gather

CHUNK_ELEMENTS = 1 << 21
"""Code bytes scored per batch (rows times row bytes), bounding the temporary memory."""

TABLE_MAX_BYTES = 2048
"""Rows of up to this many code bytes (dim <= 4096) are scored through per-query lookup
tables (``half x 256`` entries: 4 MB at most); wider rows are decoded and multiplied."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _signs(dim: int, salt: int) -> np.ndarray:
    """``dim`` fixed pseudo-random ±1.0 (splitmix64 of the index; stable everywhere)."""
    with np.errstate(over="ignore"):
        z = np.arange(1, dim + 1, dtype=np.uint64) * _GOLDEN + np.uint64(salt) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.where(z >> np.uint64(63), -1.0, 1.0)


def hartley(x: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Orthonormal discrete Hartley transform of each row (float64): ``Re F - Im F`` over
    ``sqrt(d)``, from one real FFT; applying it twice gives the rows back. ``normalize=False``
    leaves out the ``1/sqrt(d)`` (the rotation folds it into its sign vectors)."""
    d = x.shape[-1]
    f = np.fft.rfft(x, axis=-1)
    m = d // 2 + 1
    out = np.empty(x.shape, dtype=np.float64)
    np.subtract(f.real, f.imag, out=out[..., :m])
    np.add(f.real[..., d - m : 0 : -1], f.imag[..., d - m : 0 : -1], out=out[..., m:])
    if normalize:
        out /= np.sqrt(d)
    return out


def _code_lookup() -> tuple[float, np.ndarray, np.ndarray]:
    """Nearest-level search without a binary search per element: ``t`` in ``[-OUTER, OUTER]``
    falls in one of ``CODE_BUCKETS`` equal buckets, each holding at most one decision bound;
    its code is the bucket's first code, plus one if ``t`` is past that bound."""
    width = 2 * OUTER / CODE_BUCKETS
    starts = -OUTER + width * np.arange(CODE_BUCKETS)
    first = np.searchsorted(BOUNDS, starts, side="left").astype(np.uint8)
    ends = starts + width
    inside = np.searchsorted(BOUNDS, ends, side="left") > first
    bound = np.where(inside, BOUNDS[np.minimum(first, len(BOUNDS) - 1)], np.inf)
    return 1.0 / width, first, bound


CODE_BUCKETS = 1024
"""Buckets of the code lookup (narrower than any gap between two bounds)."""
_PER_BUCKET, _FIRST_CODE, _BUCKET_BOUND = _code_lookup()


def nearest_codes(t: np.ndarray) -> np.ndarray:
    """The code (index into ``LEVELS``) of the level nearest each value of ``t`` (uint8);
    the same as ``np.searchsorted(BOUNDS, t)``, several times faster."""
    bucket = ((t + OUTER) * _PER_BUCKET).astype(np.intp)
    np.clip(bucket, 0, CODE_BUCKETS - 1, out=bucket)
    codes = _FIRST_CODE[bucket]
    codes += t > _BUCKET_BOUND[bucket]
    return codes


def _round_scale(scale: np.ndarray) -> np.ndarray:
    """Scales as float32 rounded to nearest with 16 mantissa bits (the low 7 bits cleared)."""
    bits = np.minimum(scale, 3.0e38).astype(np.float32).view(np.uint32)
    return ((bits + np.uint32(0x40)) & np.uint32(0xFFFFFF80)).view(np.float32)


class Turbo4:
    """Encoder/decoder and scorer of ``turbo4`` rows for one dimension."""

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)
        self.half = (self.dim + 1) // 2
        self.width = self.half + 4
        """Bytes per stored row: packed codes, then the float32 scale."""
        self.signs1 = _signs(self.dim, 1)
        self.signs2 = _signs(self.dim, 2)
        self.signs2_scaled = self.signs2 / self.dim  # both transforms' 1/sqrt(d), folded in
        self.byte_offsets = np.arange(self.half, dtype=np.intp) * 256
        self.chunk_rows = max(256, CHUNK_ELEMENTS // self.half)
        self.norms = (
            self._table(np.broadcast_to(LEVELS**2, (self.dim, 16)))
            if self.half <= TABLE_MAX_BYTES
            else None
        )
        """Per byte value and position, the squared levels it packs (summed over a row's bytes:
        its squared norm over the scale's); ``None`` for rows too wide for lookup tables."""

    # --- rotation ------------------------------------------------------------------------
    def rotate(self, rows: np.ndarray) -> np.ndarray:
        """``R x`` for each row (float64)."""
        x = np.asarray(rows, dtype=np.float64)
        return hartley(hartley(x * self.signs1, False) * self.signs2_scaled, False)

    def unrotate(self, rows: np.ndarray) -> np.ndarray:
        """``R^T y`` for each row (float64): the inverse rotation."""
        y = np.asarray(rows, dtype=np.float64)
        return hartley(hartley(y, False) * self.signs2_scaled, False) * self.signs1

    # --- codes ---------------------------------------------------------------------------
    def encode(self, rows: np.ndarray) -> np.ndarray:
        """Float rows ``(n, dim)`` → stored ``uint8`` rows ``(n, width)``."""
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.dim)
        n = len(rows)
        out = np.zeros((n, self.width), dtype=np.uint8)
        if n == 0:
            return out
        y = self.rotate(rows)
        grid = np.abs(y).max(axis=1) / OUTER
        codes = nearest_codes(y / np.where(grid > 0, grid, 1.0)[:, None])
        norms = np.sqrt(np.take(LEVELS**2, codes).sum(axis=1))  # never 0: no level is 0
        scale = _round_scale(np.sqrt(np.einsum("ij,ij->i", y, y)) / norms)
        if self.dim % 2:
            codes = np.concatenate([codes, np.zeros((n, 1), dtype=np.uint8)], axis=1)
        out[:, : self.half] = codes[:, 0::2] | (codes[:, 1::2] << 4)
        out[:, self.half :] = scale.astype("<f4").reshape(n, 1).view(np.uint8)
        return out

    def scales(self, rows: np.ndarray) -> np.ndarray:
        """The float32 scale of each stored row."""
        return np.ascontiguousarray(rows[:, self.half :]).view("<f4").reshape(len(rows))

    def decode_rotated(self, rows: np.ndarray) -> np.ndarray:
        """Stored rows → their float32 values in the rotated domain ``(n, dim)``."""
        n = len(rows)
        pairs = np.take(_PAIRS64, rows[:, : self.half], mode="clip").view(np.float32)
        return pairs.reshape(n, 2 * self.half)[:, : self.dim] * self.scales(rows)[:, None]

    def decode(self, rows: np.ndarray) -> np.ndarray:
        """Stored rows → the dequantised float32 vectors ``(n, dim)``."""
        rows = np.asarray(rows, dtype=np.uint8).reshape(-1, self.width)
        if len(rows) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return (self.unrotate(self.decode_rotated(rows)) + 0.0).astype(np.float32)  # no -0.0

    # --- scoring -------------------------------------------------------------------------
    def _table(self, per_element: np.ndarray) -> np.ndarray:
        """Flat float64 ``(half * 256)`` table: entry ``[j, b]`` is what byte value ``b`` at byte
        ``j`` adds, given ``per_element[k, level]`` for the two elements it packs (a padding
        nibble, for an odd ``dim``, adds nothing)."""
        lo = per_element[0::2]
        hi = np.zeros_like(lo)
        hi[: self.dim // 2] = per_element[1::2]
        table = lo[:, np.arange(256) & 15] + hi[:, np.arange(256) >> 4]
        return table.ravel()

    def _sums(self, rows: np.ndarray, table: np.ndarray) -> np.ndarray:
        """Per stored row, the sum over its bytes of ``table`` (one gather per byte)."""
        idx = rows[:, : self.half].astype(np.intp)
        idx += self.byte_offsets
        return np.take(table, idx, mode="clip").sum(axis=1)

    def scores(self, rows: np.ndarray, query: np.ndarray, distance: Distance) -> np.ndarray:
        """Scores of a float32 query against stored rows, as the float storages report them
        (dot product for Cosine/Dot, the distance for Euclid/Manhattan)."""
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        out = np.empty(len(rows), dtype=np.float32)
        step = self.chunk_rows
        if distance is Distance.MANHATTAN:  # not rotation invariant: decode all the way
            for start in range(0, len(rows), step):
                chunk = rows[start : start + step]
                out[start : start + len(chunk)] = np.abs(self.decode(chunk) - q).sum(axis=1)
            return out
        qr = self.rotate(q[None, :])[0]
        dots = None if self.norms is None else self._table(qr[:, None] * LEVELS[None, :])
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            if dots is None or self.norms is None:  # very wide rows: decode, then float math
                dec = self.decode_rotated(chunk)
                if distance is Distance.EUCLID:
                    diff = dec - qr.astype(np.float32)
                    out[start : start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
                else:
                    out[start : start + len(chunk)] = dec @ qr.astype(np.float32)
                continue
            scale = self.scales(chunk).astype(np.float64)
            dot = scale * self._sums(chunk, dots)
            if distance is Distance.EUCLID:  # |q - x|^2 expanded, in float64 (no cancellation)
                sq = scale * scale * self._sums(chunk, self.norms) - 2 * dot + float(qr @ qr)
                dot = np.sqrt(np.maximum(sq, 0.0))
            out[start : start + len(chunk)] = dot
        return out


@lru_cache(maxsize=16)
def codec(dim: int) -> Turbo4:
    """The (shared, immutable) codec of dimension ``dim``."""
    return Turbo4(dim)


__all__ = ["Turbo4", "codec"]
