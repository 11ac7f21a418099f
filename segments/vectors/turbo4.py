"""TurboQuant codes of dense vectors (Qdrant 1.19): the ``turbo4`` datatype (4 bits per
element) and the ``turbo`` quantization's copies (``bits1``, ``bits1_5``, ``bits2``, ``bits4``),
from one codec.

TurboQuant's idea: a random orthogonal rotation spreads any vector's energy evenly over its
coordinates, so every rotated coordinate follows (nearly) the same bell-shaped distribution
and one fixed scalar codebook, optimal for that distribution, quantizes them all well. Here:

* **Rotation**: ``R = H·D2·H·D1``, with ``D1``/``D2`` fixed pseudo-random ±1 diagonals and
  ``H`` the orthonormal discrete Hartley transform (symmetric, its own inverse, any length,
  O(d log d) through numpy's FFT). The signs come from a splitmix64 hash of the element
  index, so the rotation is the same in every process and numpy version: nothing about it
  is stored.
* **Codebook**: the Lloyd-Max levels of the standard normal (MSE-optimal for a Gaussian
  coordinate): 16 for ``bits4``, 4 for ``bits2``, 3 for ``bits1_5`` (0 and ±1.224), 2 for
  ``bits1`` (the sign, ±sqrt(2/pi)). Each coordinate takes its nearest level on a per-vector
  grid: ``bits4`` puts the row's largest rotated coordinate on the outermost level (no
  clipping); the coarser books use the row's RMS as the unit (what the levels are optimal
  for; their outer level is near the mean, so a max grid would waste them). The stored
  per-vector scale then gives the decoded vector the original's norm (so a Cosine row stays
  unit length and a point's similarity to itself is 1). For ``bits4`` it is exactly the grid
  that re-encoding the decoded vector picks: decode → encode gives back the same codes. The
  scale is kept to 16 mantissa bits (relative precision 8e-6, far below the codes' error),
  so the float noise of a decode → encode round trip (~1e-7) can't move it either: a merge
  or rebuild that re-encodes the vectors it read stores the very same bytes.
* **Layout**: one ``uint8`` row per vector: the codes packed ``per_byte`` to a byte as the
  digits of a base-``levels`` number (element ``k`` of a byte weighs ``levels**k``): two per
  byte for ``bits4`` (even element in the low nibble), four for ``bits2``, eight for
  ``bits1``, five for ``bits1_5`` (3**5 = 243 <= 256: 1.6 bits per element); then the float32
  scale's 4 bytes. A 768-d ``bits4`` vector takes 388 bytes instead of 3072.

Queries stay float32 (asymmetric scoring): since ``R`` is orthogonal, dot products and
Euclidean distances are scored in the rotated domain (the query is rotated once, rows are
scored byte by byte through per-query lookup tables, no inverse rotation); Manhattan is not
rotation invariant, so its rows are decoded all the way back first. Stored vectors are
returned dequantised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import numpy as np

from segments.types import TURBO_BITS, TURBO_DEFAULT_BITS, Distance

_HALF_LEVELS = {
    "bits4": [0.128395, 0.388048, 0.656759, 0.94234, 1.256231, 1.618046, 2.069017, 2.73259],
    "bits2": [0.452780, 1.510418],
    "bits1_5": [0.0, 1.224006],
    "bits1": [0.797885],
}
"""Positive Lloyd-Max reconstruction levels of N(0, 1) per bit size (mirrored below 0)."""

PER_BYTE = {"bits4": 2, "bits2": 4, "bits1_5": 5, "bits1": 8}
"""Codes packed into one byte per bit size."""

BIT_SIZES = TURBO_BITS
"""The bit sizes, as ``turbo`` quantization configs spell them."""
assert set(PER_BYTE) == set(BIT_SIZES)

CODE_BUCKETS = 1024
"""Buckets of the nearest-level lookup (narrower than any gap between two bounds)."""


@dataclass(frozen=True, eq=False)
class Codebook:
    """One bit size's levels, decision bounds, packing and nearest-level lookup."""

    bits: str

    @cached_property
    def levels(self) -> np.ndarray:
        """Reconstruction levels, ascending (code k decodes to ``levels[k]``)."""
        half = np.array(_HALF_LEVELS[self.bits], dtype=np.float64)
        return np.unique(np.concatenate([-half[::-1], half]))

    @cached_property
    def bounds(self) -> np.ndarray:
        """Decision thresholds between neighbouring levels (nearest-level encoding)."""
        return (self.levels[1:] + self.levels[:-1]) / 2

    @property
    def radix(self) -> int:
        return len(self.levels)

    @property
    def per_byte(self) -> int:
        return PER_BYTE[self.bits]

    @property
    def max_grid(self) -> bool:
        """Whether a row's largest coordinate sets its grid (else its RMS does)."""
        return self.bits == "bits4"

    @cached_property
    def digits(self) -> np.ndarray:
        """Byte value → the ``per_byte`` codes it packs ``(256, per_byte)``, lowest first
        (digits of values no row holds, past ``radix**per_byte``, are never read)."""
        weights = self.radix ** np.arange(self.per_byte)
        return (np.arange(256)[:, None] // weights[None, :]) % self.radix

    @cached_property
    def groups(self) -> np.ndarray:
        """Byte value → the levels it packs, as one item per byte value (float32 inside):
        a single gather decodes a whole byte."""
        values = np.ascontiguousarray(self.levels[self.digits].astype(np.float32))
        if self.per_byte == 2:  # one 8-byte float item: numpy's fastest gather
            return values.view(np.float64).ravel()
        return values.view(np.dtype((np.void, 4 * self.per_byte))).ravel()

    @cached_property
    def _lookup(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Nearest-level search without a binary search per element: ``t`` in ``[-outer,
        outer]`` falls in one of ``CODE_BUCKETS`` equal buckets, each holding at most one
        decision bound; its code is the bucket's first code, plus one if ``t`` is past it."""
        outer = float(self.levels[-1])
        width = 2 * outer / CODE_BUCKETS
        starts = -outer + width * np.arange(CODE_BUCKETS)
        first = np.searchsorted(self.bounds, starts, side="left").astype(np.uint8)
        inside = np.searchsorted(self.bounds, starts + width, side="left") > first
        bound = np.where(inside, self.bounds[np.minimum(first, len(self.bounds) - 1)], np.inf)
        return outer, 1.0 / width, first, bound

    def nearest(self, t: np.ndarray) -> np.ndarray:
        """The code of the level nearest each value of ``t`` (uint8); the same as
        ``np.searchsorted(bounds, t)``, several times faster."""
        outer, per_bucket, first, bound = self._lookup
        bucket = ((t + outer) * per_bucket).astype(np.intp)
        np.clip(bucket, 0, CODE_BUCKETS - 1, out=bucket)
        codes = first[bucket]
        codes += t > bound[bucket]
        return codes


@cache
def codebook(bits: str) -> Codebook:
    """The (shared) codebook of a bit size (``KeyError`` for an unknown one)."""
    if bits not in PER_BYTE:
        raise KeyError(bits)
    return Codebook(bits)


BOOK4 = codebook("bits4")
LEVELS = BOOK4.levels
"""The 16 Lloyd-Max reconstruction levels of N(0, 1), ascending (the ``turbo4`` codebook)."""

BOUNDS = BOOK4.bounds
OUTER = float(LEVELS[-1])


def nearest_codes(t: np.ndarray) -> np.ndarray:
    """The ``bits4`` code of the level nearest each value of ``t`` (uint8)."""
    return BOOK4.nearest(t)


CHUNK_ELEMENTS = 1 << 21
"""Code bytes scored per batch (rows times row bytes), bounding the temporary memory."""

TABLE_MAX_BYTES = 2048
"""Rows of up to this many code bytes are scored through per-query lookup tables
(``bytes x 256`` entries: 4 MB at most); wider rows are decoded and multiplied."""

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


def _round_scale(scale: np.ndarray) -> np.ndarray:
    """Scales as float32 rounded to nearest with 16 mantissa bits (the low 7 bits cleared)."""
    bits = np.minimum(scale, 3.0e38).astype(np.float32).view(np.uint32)
    return ((bits + np.uint32(0x40)) & np.uint32(0xFFFFFF80)).view(np.float32)


class TurboCodec:
    """Encoder/decoder and scorer of TurboQuant rows for one dimension and bit size."""

    def __init__(self, dim: int, bits: str = TURBO_DEFAULT_BITS) -> None:
        self.dim = int(dim)
        self.bits = bits
        self.book = codebook(bits)
        self.per_byte = self.book.per_byte
        self.half = -(-self.dim // self.per_byte)
        """Code bytes per row (the name is from ``bits4``'s two codes per byte)."""
        self.width = self.half + 4
        """Bytes per stored row: packed codes, then the float32 scale."""
        self.signs1 = _signs(self.dim, 1)
        self.signs2 = _signs(self.dim, 2)
        self.signs2_scaled = self.signs2 / self.dim  # both transforms' 1/sqrt(d), folded in
        self.byte_offsets = np.arange(self.half, dtype=np.intp) * 256
        self.chunk_rows = max(256, CHUNK_ELEMENTS // self.half)
        levels = self.book.levels
        self.norms = (
            self._table(np.broadcast_to(levels**2, (self.dim, len(levels))))
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
        book = self.book
        y = self.rotate(rows)
        length = np.sqrt(np.einsum("ij,ij->i", y, y))
        if book.max_grid:
            grid = np.abs(y).max(axis=1) / float(book.levels[-1])
        else:
            grid = length / np.sqrt(self.dim)
        codes = book.nearest(y / np.where(grid > 0, grid, 1.0)[:, None])
        norms = np.sqrt(np.take(book.levels**2, codes).sum(axis=1))  # 0 only for a zero row
        scale = _round_scale(length / np.where(norms > 0, norms, 1.0))
        pad = self.half * self.per_byte - self.dim
        if pad:
            codes = np.concatenate([codes, np.zeros((n, pad), dtype=np.uint8)], axis=1)
        grouped = codes.reshape(n, self.half, self.per_byte)
        packed = out[:, : self.half]
        for k in range(self.per_byte):  # digits never carry: the sum stays below 256
            packed += grouped[:, :, k] * np.uint8(book.radix**k)
        out[:, self.half :] = scale.astype("<f4").reshape(n, 1).view(np.uint8)
        return out

    def scales(self, rows: np.ndarray) -> np.ndarray:
        """The float32 scale of each stored row."""
        return np.ascontiguousarray(rows[:, self.half :]).view("<f4").reshape(len(rows))

    def decode_rotated(self, rows: np.ndarray) -> np.ndarray:
        """Stored rows → their float32 values in the rotated domain ``(n, dim)``."""
        n = len(rows)
        groups = np.take(self.book.groups, rows[:, : self.half], mode="clip")
        values = np.ascontiguousarray(groups).view(np.float32)
        return values.reshape(n, self.half * self.per_byte)[:, : self.dim] * (
            self.scales(rows)[:, None]
        )

    def decode(self, rows: np.ndarray) -> np.ndarray:
        """Stored rows → the dequantised float32 vectors ``(n, dim)``."""
        rows = np.asarray(rows, dtype=np.uint8).reshape(-1, self.width)
        if len(rows) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return (self.unrotate(self.decode_rotated(rows)) + 0.0).astype(np.float32)  # no -0.0

    # --- scoring -------------------------------------------------------------------------
    def _table(self, per_element: np.ndarray) -> np.ndarray:
        """Flat float64 ``(half * 256)`` table: entry ``[j, b]`` is what byte value ``b`` at byte
        ``j`` adds, given ``per_element[k, level]`` for the elements it packs (padding
        elements, past ``dim``, add nothing)."""
        per = self.per_byte
        padded = np.zeros((self.half * per, per_element.shape[1]), dtype=np.float64)
        padded[: self.dim] = per_element
        grouped = padded.reshape(self.half, per, -1)
        digits = self.book.digits
        table = grouped[:, 0, digits[:, 0]]
        for k in range(1, per):
            table = table + grouped[:, k, digits[:, k]]
        return table.ravel()

    def _sums(self, rows: np.ndarray, table: np.ndarray) -> np.ndarray:
        """Per stored row, the sum over its bytes of ``table`` (one gather per byte)."""
        idx = rows[:, : self.half].astype(np.intp)
        idx += self.byte_offsets
        return np.take(table, idx, mode="clip").sum(axis=1)

    # --- rows split by byte position (the quantized copies' layout) ------------------------
    def split(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored rows → (their code bytes by position ``(half, n)``, their scales ``(n,)``)."""
        return np.ascontiguousarray(rows[:, : self.half].T), self.scales(rows).copy()

    def join(self, columns: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """The inverse of ``split``: stored rows ``(n, width)``."""
        n = columns.shape[1]
        out = np.empty((n, self.width), dtype=np.uint8)
        out[:, : self.half] = columns.T
        out[:, self.half :] = scales.astype("<f4").reshape(n, 1).view(np.uint8)
        return out

    def squared_norms(self, rows: np.ndarray) -> np.ndarray:
        """Squared length of each stored row's decoded vector (float64)."""
        if self.norms is None:
            dec = self.decode_rotated(rows).astype(np.float64)
            return np.einsum("ij,ij->i", dec, dec)
        scale = self.scales(rows).astype(np.float64)
        return scale * scale * self._sums(rows, self.norms)

    def column_scores(
        self, columns: np.ndarray, scales: np.ndarray, squares: np.ndarray, query: np.ndarray,
        distance: Distance,
    ) -> np.ndarray:
        """As ``scores``, for rows kept split (``split``; ``squares`` from ``squared_norms``):
        one gather from a 256-entry table per byte position over all rows at once, a few
        times faster than gathering row by row."""
        if distance is Distance.MANHATTAN or self.norms is None:
            return self.scores(self.join(columns, scales), query, distance)
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        qr = self.rotate(q[None, :])[0]
        table = self._table(qr[:, None] * self.book.levels[None, :]).reshape(self.half, 256)
        n = columns.shape[1]
        acc = np.zeros(n, dtype=np.float64)
        part = np.empty(n, dtype=np.float64)
        for j in range(self.half):  # a loop over byte positions, each over every row
            np.take(table[j], columns[j], out=part)
            acc += part
        dot = scales.astype(np.float64) * acc
        if distance is Distance.EUCLID:
            dot = np.sqrt(np.maximum(squares - 2 * dot + float(qr @ qr), 0.0))
        return dot.astype(np.float32)

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
        levels = self.book.levels
        dots = None if self.norms is None else self._table(qr[:, None] * levels[None, :])
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


@lru_cache(maxsize=32)
def codec(dim: int, bits: str = TURBO_DEFAULT_BITS) -> TurboCodec:
    """The (shared, immutable) codec of dimension ``dim`` and bit size ``bits``."""
    return TurboCodec(dim, bits)


__all__ = ["BIT_SIZES", "TurboCodec", "codebook", "codec"]
