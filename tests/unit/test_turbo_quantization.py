"""``turbo`` quantization: the TurboQuant codec at every bit size (packing, error, scores),
the quantized copy's two-stage search recall against numpy's exact ground truth, configs."""

from __future__ import annotations

import numpy as np
import pytest

from collection.config import CreateCollection, UpdateCollection
from segments.immutable import SearchParams
from segments.quantization import QuantizationParams, TurboQuantized, build_quantized, search
from segments.types import (
    Distance,
    QuantizationSpec,
    SegmentConfig,
    VectorParams,
    parse_quantization,
)
from segments.vectors.turbo4 import BIT_SIZES, codebook, codec
from tests.unit.test_quantization import _segment, clustered, queries, recall, store_of
from tests.unit.test_turbo4 import float_scores

BITS_PER_BYTE = {"bits1": 8, "bits1_5": 5, "bits2": 4, "bits4": 2}
LEVEL_COUNT = {"bits1": 2, "bits1_5": 3, "bits2": 4, "bits4": 16}
GAUSSIAN_MSE = {"bits1": 0.42, "bits1_5": 0.21, "bits2": 0.13, "bits4": 0.012}
"""Relative squared error bounds (Lloyd-Max on N(0,1): 0.363, 0.190, 0.118, 0.0095; the
norm-keeping scale adds a little)."""


def _gauss(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize("bits", BIT_SIZES)
def test_codebooks_are_symmetric_lloyd_max_levels(bits: str) -> None:
    book = codebook(bits)
    assert len(book.levels) == LEVEL_COUNT[bits] == book.radix
    np.testing.assert_allclose(book.levels, -book.levels[::-1])
    assert book.radix**book.per_byte <= 256
    t = np.linspace(-4, 4, 20001)
    np.testing.assert_array_equal(book.nearest(t), np.searchsorted(book.bounds, t))
    # Lloyd-Max: each level is the mean of N(0,1) over its cell (checked numerically)
    x = np.random.default_rng(0).standard_normal(2_000_000)
    cells = np.searchsorted(book.bounds, x)
    means = np.bincount(cells, weights=x) / np.bincount(cells)
    np.testing.assert_allclose(means, book.levels, atol=0.01)


@pytest.mark.parametrize("bits", BIT_SIZES)
@pytest.mark.parametrize("dim", [1, 3, 8, 17, 128, 129, 768])
def test_codes_are_packed(bits: str, dim: int) -> None:
    c = codec(dim, bits)
    assert c.width == -(-dim // BITS_PER_BYTE[bits]) + 4  # packed codes, then the scale
    rows = _gauss(50, dim, dim)
    stored = c.encode(rows)
    assert stored.dtype == np.uint8 and stored.shape == (50, c.width)
    book = codebook(bits)
    assert stored[:, : c.half].max() < book.radix**book.per_byte
    # the packed digits are the nearest levels of the rotated row on its grid
    dec = c.decode_rotated(stored) / c.scales(stored)[:, None]
    gaps = np.abs(dec[..., None] - book.levels[None, None, :]).min(axis=-1)
    assert gaps.max() < 1e-4


def test_bits1_is_the_sign_of_the_rotated_row() -> None:
    rows = _gauss(200, 64, 3)
    c = codec(64, "bits1")
    dec = c.decode_rotated(c.encode(rows))
    np.testing.assert_array_equal(dec > 0, c.rotate(rows) > 0)


@pytest.mark.parametrize("bits", BIT_SIZES)
@pytest.mark.parametrize("dim", [8, 128, 768])
def test_error_and_norm(bits: str, dim: int) -> None:
    rows = _gauss(500, dim, 4)
    c = codec(dim, bits)
    dec = c.decode(c.encode(rows))
    norms = np.linalg.norm(rows, axis=1)
    np.testing.assert_allclose(np.linalg.norm(dec, axis=1), norms, rtol=2e-5)  # norm kept
    mse = float(np.mean(np.sum((dec - rows) ** 2, axis=1) / norms**2))
    assert mse < GAUSSIAN_MSE[bits], mse


@pytest.mark.parametrize("bits", BIT_SIZES)
def test_zero_rows_decode_to_zero(bits: str) -> None:
    c = codec(9, bits)
    dec = c.decode(c.encode(np.zeros((2, 9), dtype=np.float32)))
    assert dec.tolist() == [[0.0] * 9] * 2


@pytest.mark.parametrize("bits", BIT_SIZES)
@pytest.mark.parametrize("distance", list(Distance))
@pytest.mark.parametrize("dim", [5, 64, 129])
def test_scores_are_the_query_against_decoded_rows(bits: str, distance: Distance, dim: int
                                                   ) -> None:
    """The lookup-table scores equal float math on the decoded rows."""
    rows, q = _gauss(300, dim, 5), _gauss(1, dim, 6)[0]
    c = codec(dim, bits)
    stored = c.encode(rows)
    dec = c.decode(stored).astype(np.float64)
    want = float_scores(dec, q.astype(np.float64), distance)
    np.testing.assert_allclose(c.scores(stored, q, distance), want, rtol=2e-5, atol=2e-5)
    columns, scales = c.split(stored)  # the quantized copies' layout: the same scores
    assert np.array_equal(c.join(columns, scales), stored)
    squares = c.squared_norms(stored)
    np.testing.assert_allclose(squares, np.einsum("ij,ij->i", dec, dec), rtol=1e-5)
    np.testing.assert_allclose(c.column_scores(columns, scales, squares, q, distance), want,
                               rtol=2e-5, atol=2e-5)


def test_fewer_bits_less_memory_less_accuracy() -> None:
    data = clustered(3000, 96)
    store = store_of(data, Distance.DOT)
    query = queries(data, 1)[0]
    exact = store.score_offsets(query, np.arange(len(data)))
    errors, widths = {}, {}
    for bits in BIT_SIZES:
        q = build_quantized(store, len(data), QuantizationSpec("turbo", bits=bits))
        assert isinstance(q, TurboQuantized) and q.kind == "turbo" and len(q) == len(data)
        widths[bits] = q.rows().shape[1]
        errors[bits] = float(np.abs(q.scores(store.prepare_query(query)) - exact).mean())
    assert widths == {"bits1": 12 + 4, "bits1_5": 20 + 4, "bits2": 24 + 4, "bits4": 48 + 4}
    assert errors["bits4"] < errors["bits2"] < errors["bits1_5"] < errors["bits1"]


# recall@10 with rescore on clustered data, per bit size: (oversampling, least recall)
RECALL = {"bits4": (2.0, 0.95), "bits2": (4.0, 0.93), "bits1_5": (8.0, 0.93), "bits1": (8.0, 0.85)}


@pytest.mark.parametrize("distance", list(Distance))
@pytest.mark.parametrize("bits", BIT_SIZES)
def test_rescored_search_recalls_the_exact_top(bits: str, distance: Distance) -> None:
    data = clustered(5000, 64)
    store = store_of(data, distance)
    quantized = build_quantized(store, len(data), QuantizationSpec("turbo", bits=bits))
    qs = queries(data, 40)
    over, least = RECALL[bits]
    got = recall(store, quantized, qs, QuantizationParams(oversampling=over))
    plain = recall(store, quantized, qs, QuantizationParams())
    raw = recall(store, quantized, qs, QuantizationParams(rescore=False))
    print(f"turbo {bits} {distance}: recall@10 {got:.3f} oversampling {over}, "
          f"{plain:.3f} without, {raw:.3f} without rescore")
    assert got >= least
    assert got >= plain >= raw - 0.05
    query = qs[0]
    scores, offsets = search(store, quantized, query, store.present, 10,
                             QuantizationParams(oversampling=over))
    np.testing.assert_allclose(scores, store.score_offsets(query, offsets), rtol=1e-6)


def test_config_shapes() -> None:
    assert parse_quantization({"turbo": {}}) == QuantizationSpec("turbo", bits="bits4")
    for bits in BIT_SIZES:
        assert parse_quantization({"turbo": {"bits": bits, "always_ram": False,
                                             "memory": "cached"}}) == QuantizationSpec(
            "turbo", bits=bits)
    body = {"vectors": {"a": {"size": 4, "distance": "Dot",
                              "quantization_config": {"turbo": {"bits": "bits2", "x": 1}}}},
            "quantization_config": {"turbo": {"bits": None, "always_ram": True}}}
    config = CreateCollection.model_validate(body).to_config()
    assert config.quantization_config == {"turbo": {"always_ram": True}}
    assert config.vectors["a"].quantization_config == {"turbo": {"bits": "bits2"}}
    assert config.segment.quantization_for("a") == QuantizationSpec("turbo", bits="bits2")
    patched = UpdateCollection.model_validate(
        {"vectors": {"a": {"quantization_config": {"turbo": {"bits": "bits1_5"}}}},
         "quantization_config": {"scalar": {"type": "int8"}}}).apply_to(config)
    assert patched.vectors["a"].quantization_config == {"turbo": {"bits": "bits1_5"}}
    assert patched.quantization_config == {"scalar": {"type": "int8"}}
    segment = SegmentConfig(vectors={"v": VectorParams(size=4, distance=Distance.DOT)},
                            quantization_config={"turbo": {"bits": "bits1"}})
    assert segment.quantization_for("v") == QuantizationSpec("turbo", bits="bits1")
    for bad in ({"turbo": {"bits": "bits3"}}, {"turbo": {"bits": ["bits4"]}},
                {"turbo": {"memory": 1}}, {"turbo": None}):
        with pytest.raises(ValueError):
            UpdateCollection.model_validate({"quantization_config": bad})


def test_segment_follows_a_changed_quantization_config() -> None:
    """What a PATCH does to an indexed segment: changed copies rebuilt, others kept."""
    scalar = {"scalar": {"type": "int8"}}
    config = SegmentConfig(
        vectors={"a": VectorParams(size=32, distance=Distance.DOT),
                 "b": VectorParams(size=32, distance=Distance.COSINE,
                                   quantization_config={"binary": {}})},
        quantization_config=scalar)
    data = {"a": clustered(1000, 32, seed=1), "b": clustered(1000, 32, seed=2)}
    seg = _segment(config, data)
    assert {k: v.kind for k, v in seg.quantized.items()} == {"a": "scalar", "b": "binary"}
    assert not seg.requantize(config)
    kept = seg.quantized["b"]
    turbo = config.model_copy(update={"quantization_config": {"turbo": {"bits": "bits2"}}})
    assert seg.requantize(turbo)
    assert {k: v.kind for k, v in seg.quantized.items()} == {"a": "turbo", "b": "binary"}
    assert seg.quantized["b"] is kept
    quantized = seg.quantized["a"]
    assert isinstance(quantized, TurboQuantized) and quantized.codec.bits == "bits2"
    live = seg.live_mask()
    query = queries(data["a"], 1)[0]
    exact = seg.search("a", query, live, 10, SearchParams(exact=True))
    got = seg.search("a", query, live, 10, SearchParams(
        quantization=QuantizationParams(oversampling=4.0)))
    assert len(set(got.offsets.tolist()) & set(exact.offsets.tolist())) >= 8
    np.testing.assert_allclose(got.scores, seg.vectors["a"].score_offsets(query, got.offsets),
                               rtol=1e-6)
    off = turbo.model_copy(update={"quantization_config": None})
    assert seg.requantize(off)
    assert set(seg.quantized) == {"b"}
