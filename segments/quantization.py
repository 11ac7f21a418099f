"""Quantized copies of dense vectors, the cheap first stage of a two-stage search.

An indexed segment keeps, beside each dense vector's float rows, a compact copy built once:

- scalar int8: every component is clipped to the range holding the configured ``quantile`` of
  all values and mapped linearly onto -127..127 (``x ~ mid + alpha * code``). Queries use the
  same grid, so a dot product becomes an integer dot product of codes plus per-row terms
  computed at build time; Euclid and Manhattan work on code differences the same way.
- binary: one sign bit per component, packed into 64-bit words. Hamming distance ``h`` between
  the packed row and the packed query gives ``dim - 2h``, the dot product of the sign vectors;
  it is scaled back to the distance's range with per-row magnitudes kept at build time.
- turbo: TurboQuant codes (``segments/vectors/turbo4.py``: a fixed rotation, then a
  Lloyd-Max codebook of 16, 4, 3 or 2 levels per rotated coordinate, packed 2, 4, 5 or 8 to a
  byte, plus a per-row scale), kept by byte position: a float query is scored against every
  row with one 256-entry table gather per byte position, in the distance's own scale.

A search scores candidate rows with the quantized copy, keeps the best ``limit *
oversampling``, and (unless ``rescore`` is off) re-scores those with the original vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from segments.types import (
    TURBO_DEFAULT_BITS,
    Distance,
    QuantizationSpec,
    SegmentConfig,
    ShapeError,
)
from segments.vectors.dense import DenseVectors, normalize_rows
from segments.vectors.sparse import best_first
from segments.vectors.turbo4 import TurboCodec, codec

SAMPLE_VALUES = 1 << 20
"""At most this many components are looked at to find the scalar clipping range."""

CHUNK_ROWS = 16384
"""Rows scored at a time where a temporary array per row would be needed."""

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class QuantizationParams:
    """``params.quantization`` of a search: skip it, re-score with originals, oversample."""

    ignore: bool = False
    rescore: bool = True
    oversampling: float = 1.0


def parse_params(raw: Any) -> QuantizationParams | None:
    """Validate ``params.quantization`` of a request; raises ValueError if wrong."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("params.quantization must be an object")
    ignore = raw.get("ignore")
    rescore = raw.get("rescore")
    oversampling = raw.get("oversampling")
    for key, value in (("ignore", ignore), ("rescore", rescore)):
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"params.quantization.{key} must be a boolean")
    if oversampling is not None:
        if isinstance(oversampling, bool) or not isinstance(oversampling, int | float):
            raise ValueError("params.quantization.oversampling must be a number")
        if not math.isfinite(oversampling) or oversampling < 1:
            raise ShapeError("params.quantization.oversampling",
                             f"value {oversampling} invalid, must be 1 or larger")
    return QuantizationParams(
        ignore=bool(ignore),
        rescore=True if rescore is None else rescore,
        oversampling=1.0 if oversampling is None else float(oversampling),
    )


# --- quantized storages ---------------------------------------------------------------------


def _float_rows(store: DenseVectors, size: int) -> np.ndarray:
    """The first ``size`` rows as float32, as they are compared (unit length for Cosine)."""
    rows = store.float_rows(slice(0, size))
    if store.distance is Distance.COSINE and store.dtype != np.float32:
        rows = normalize_rows(rows).astype(np.float32)
    return rows


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a 2-d unsigned array."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _POPCOUNT[words.view(np.uint8)].sum(axis=1, dtype=np.int64)


class ScalarQuantized:
    """int8 codes of every row on one shared grid: ``x ~ mid + alpha * code``."""

    kind = "scalar"

    def __init__(
        self, codes: np.ndarray, mid: float, alpha: float, distance: Distance
    ) -> None:
        self.codes = codes
        self.mid = mid
        self.alpha = alpha
        self.distance = distance
        self.dim = codes.shape[1]
        self.row_sums = codes.sum(axis=1, dtype=np.int64)
        self.row_squares = np.einsum("ij,ij->i", codes, codes, dtype=np.int64, casting="unsafe")

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def build(
        cls, rows: np.ndarray, present: np.ndarray, distance: Distance, quantile: float | None
    ) -> ScalarQuantized:
        """Find the clipping range over the present rows and encode all rows."""
        sample = rows[present]
        if len(sample) * rows.shape[1] > SAMPLE_VALUES:
            rng = np.random.default_rng(0)
            pick = rng.choice(len(sample), SAMPLE_VALUES // rows.shape[1], replace=False)
            sample = sample[np.sort(pick)]
        values = sample.ravel()
        if len(values) == 0:
            lo, hi = -1.0, 1.0
        elif quantile is None or quantile >= 1.0:
            lo, hi = float(values.min()), float(values.max())
        else:
            tail = (1.0 - quantile) / 2
            lo, hi = (float(v) for v in np.quantile(values, [tail, 1.0 - tail]))
        if not hi > lo:
            lo, hi = lo - 0.5, lo + 0.5
        mid = (lo + hi) / 2
        alpha = (hi - lo) / 254
        codes = np.clip(np.rint((rows - mid) / alpha), -127, 127).astype(np.int8)
        return cls(codes, mid, alpha, distance)

    def encode(self, rows: np.ndarray, bound: int = 127) -> np.ndarray:
        """Codes of float rows on this grid, clipped to ``±bound``."""
        codes = np.rint((np.asarray(rows, dtype=np.float32) - self.mid) / self.alpha)
        return np.clip(codes, -bound, bound).astype(np.int8 if bound <= 127 else np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Float rows the codes stand for."""
        return (self.mid + self.alpha * codes.astype(np.float32)).astype(np.float32)

    def scores(self, query: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Approximate scores of the rows at ``offsets`` (all rows if None) for a prepared
        query, in the distance's own scale."""
        codes = self.codes if offsets is None else self.codes[offsets]
        # the query may lie outside the data's range: keep it on the grid, but wider
        q = self.encode(query, bound=32767)
        if self.distance is Distance.MANHATTAN:
            out = np.empty(len(codes), dtype=np.int64)
            for start in range(0, len(codes), CHUNK_ROWS):
                part = codes[start : start + CHUNK_ROWS].astype(np.int32)
                out[start : start + CHUNK_ROWS] = np.abs(part - q).sum(axis=1, dtype=np.int64)
            return (self.alpha * out).astype(np.float32)
        dots = np.einsum("ij,j->i", codes, q, dtype=np.int64, casting="unsafe")
        if self.distance is Distance.EUCLID:
            squares = self.row_squares if offsets is None else self.row_squares[offsets]
            sq = squares + int(q @ q) - 2 * dots
            return (self.alpha * np.sqrt(np.maximum(sq, 0))).astype(np.float32)
        sums = self.row_sums if offsets is None else self.row_sums[offsets]
        mid, alpha = self.mid, self.alpha
        approx = (
            self.dim * mid * mid + mid * alpha * (sums + int(q.sum())) + alpha * alpha * dots
        )
        return approx.astype(np.float32)


class BinaryQuantized:
    """One sign bit per component, packed in 64-bit words, with per-row magnitudes."""

    kind = "binary"

    def __init__(
        self, words: np.ndarray, scales: np.ndarray, squares: np.ndarray, dim: int,
        distance: Distance,
    ) -> None:
        self.words = words
        self.scales = scales
        """Mean absolute component of each row: ``x ~ scale * sign(x)``."""
        self.squares = squares
        """Squared length of each row (for Euclid)."""
        self.dim = dim
        self.distance = distance

    def __len__(self) -> int:
        return len(self.words)

    @staticmethod
    def pack(rows: np.ndarray) -> np.ndarray:
        """Sign bits (1 where positive) of float rows, packed into uint64 words."""
        rows = np.atleast_2d(rows)
        bits = np.packbits(rows > 0, axis=1)
        pad = (-bits.shape[1]) % 8
        if pad:
            bits = np.pad(bits, ((0, 0), (0, pad)))
        return np.ascontiguousarray(bits).view(np.uint64)

    @classmethod
    def build(cls, rows: np.ndarray, distance: Distance) -> BinaryQuantized:
        """Pack all rows and keep their magnitudes."""
        dim = rows.shape[1]
        scales = (np.abs(rows).sum(axis=1) / dim).astype(np.float32)
        squares = np.einsum("ij,ij->i", rows, rows).astype(np.float32)
        return cls(cls.pack(rows), scales, squares, dim, distance)

    def unpack(self) -> np.ndarray:
        """The stored signs as ±1 floats, one row per vector (for checks)."""
        bits = np.unpackbits(self.words.view(np.uint8), axis=1)[:, : self.dim]
        return bits.astype(np.float32) * 2 - 1

    def hamming(self, query: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Differing sign bits between each row and the query."""
        words = self.words if offsets is None else self.words[offsets]
        q = self.pack(np.asarray(query, dtype=np.float32))[0]
        out = np.empty(len(words), dtype=np.int64)
        for start in range(0, len(words), CHUNK_ROWS):
            out[start : start + CHUNK_ROWS] = _popcount_rows(words[start : start + CHUNK_ROWS] ^ q)
        return out

    def scores(self, query: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Approximate scores of the rows at ``offsets`` (all rows if None) for a prepared
        query, in the distance's own scale."""
        query = np.asarray(query, dtype=np.float32)
        h = self.hamming(query, offsets)
        agree = (self.dim - 2 * h).astype(np.float32)
        if self.distance is Distance.COSINE:
            return agree / self.dim
        scales = self.scales if offsets is None else self.scales[offsets]
        q_scale = float(np.abs(query).sum()) / self.dim
        if self.distance is Distance.DOT:
            return scales * q_scale * agree
        if self.distance is Distance.EUCLID:
            squares = self.squares if offsets is None else self.squares[offsets]
            sq = squares + float(query @ query) - 2 * scales * q_scale * agree
            return np.sqrt(np.maximum(sq, 0)).astype(np.float32)
        same = (self.dim - h).astype(np.float32)
        return same * np.abs(scales - q_scale) + h * (scales + q_scale)


class TurboQuantized:
    """TurboQuant rows of one bit size (see ``TurboCodec``), kept split by byte position
    (``(bytes, n)`` codes, a scale and a squared norm per row) so a query scores every row
    with one small table gather per byte position."""

    kind = "turbo"

    def __init__(
        self, turbo: TurboCodec, columns: np.ndarray, scales: np.ndarray, squares: np.ndarray,
        distance: Distance,
    ) -> None:
        self.codec = turbo
        self.columns = columns
        self.scales = scales
        self.squares = squares
        """Squared length of each row's decoded vector (Euclid only; empty otherwise)."""
        self.distance = distance
        self.dim = turbo.dim

    def __len__(self) -> int:
        return len(self.scales)

    @classmethod
    def build(cls, rows: np.ndarray, distance: Distance, bits: str) -> TurboQuantized:
        """Encode all rows (a chunk at a time: the rotation works in float64)."""
        turbo = codec(rows.shape[1], bits)
        n = len(rows)
        columns = np.empty((turbo.half, n), dtype=np.uint8)
        scales = np.empty(n, dtype=np.float32)
        euclid = distance is Distance.EUCLID
        squares = np.empty(n if euclid else 0, dtype=np.float64)
        for start in range(0, n, CHUNK_ROWS):
            stored = turbo.encode(rows[start : start + CHUNK_ROWS])
            end = start + len(stored)
            columns[:, start:end], scales[start:end] = turbo.split(stored)
            if euclid:
                squares[start:end] = turbo.squared_norms(stored)
        return cls(turbo, columns, scales, squares, distance)

    def rows(self) -> np.ndarray:
        """The codes as the codec stores rows ``(n, width)`` (for checks)."""
        return self.codec.join(self.columns, self.scales)

    def scores(self, query: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Approximate scores of the rows at ``offsets`` (all rows if None) for a prepared
        query, in the distance's own scale."""
        if offsets is None:
            columns, scales, squares = self.columns, self.scales, self.squares
        else:
            columns = self.columns[:, offsets]
            scales = self.scales[offsets]
            squares = self.squares[offsets] if len(self.squares) else self.squares
        return self.codec.column_scores(columns, scales, squares, query, self.distance)


Quantized = ScalarQuantized | BinaryQuantized | TurboQuantized


def build_quantized(store: DenseVectors, size: int, spec: QuantizationSpec) -> Quantized:
    """Blocking: the quantized copy of the first ``size`` rows of a dense storage."""
    rows = _float_rows(store, size)
    if spec.kind == "binary":
        return BinaryQuantized.build(rows, store.distance)
    if spec.kind == "turbo":
        return TurboQuantized.build(rows, store.distance, spec.bits or TURBO_DEFAULT_BITS)
    present = np.zeros(size, dtype=bool)
    n = min(size, len(store.present))
    present[:n] = store.present[:n]
    return ScalarQuantized.build(rows, present, store.distance, spec.quantile)


def quantization_specs(config: SegmentConfig, vectors: dict[str, Any]) -> dict[str, QuantizationSpec]:
    """What the config asks to build, per dense vector of a segment."""
    out: dict[str, QuantizationSpec] = {}
    for name, store in vectors.items():
        spec = config.quantization_for(name)
        if spec is not None and isinstance(store, DenseVectors):
            out[name] = spec
    return out


def build_all(
    config: SegmentConfig,
    vectors: dict[str, Any],
    size: int,
    built: dict[str, tuple[QuantizationSpec, Quantized]] | None = None,
) -> dict[str, tuple[QuantizationSpec, Quantized]]:
    """Blocking: (spec, quantized copy) of every dense vector the config asks to quantize;
    a copy in ``built`` made from the same spec is kept rather than built again."""
    out: dict[str, tuple[QuantizationSpec, Quantized]] = {}
    for name, spec in quantization_specs(config, vectors).items():
        old = (built or {}).get(name)
        if old is not None and old[0] == spec:
            out[name] = old
        else:
            out[name] = (spec, build_quantized(vectors[name], size, spec))
    return out


def search(
    store: DenseVectors,
    quantized: Quantized,
    query: np.ndarray,
    mask: np.ndarray,
    top: int,
    params: QuantizationParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``top`` among the rows in ``mask``: quantized scores pick ``top * oversampling``
    rows, then the originals re-score them (or the quantized scores stand, without rescore)."""
    total = len(quantized)
    offsets = np.flatnonzero(mask[:total])
    if len(offsets) == 0 or top <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    q = store.prepare_query(query)
    if len(offsets) * 2 > total:
        approx = quantized.scores(q)[offsets]  # most rows qualify: no gather copy
    else:
        approx = quantized.scores(q, offsets)
    higher = store.higher_is_better
    if not params.rescore:
        best = best_first(approx, top, higher)
        return approx[best], offsets[best]
    keep = max(top, math.ceil(top * params.oversampling))
    found = offsets[best_first(approx, keep, higher)]
    exact = store.score_offsets(query, found)
    ok = ~np.isnan(exact)
    found, exact = found[ok], exact[ok]
    best = best_first(exact, top, higher)
    return exact[best], found[best]


__all__ = [
    "BinaryQuantized",
    "QuantizationParams",
    "ScalarQuantized",
    "TurboQuantized",
    "build_all",
    "build_quantized",
    "parse_params",
    "quantization_specs",
    "search",
]
