"""Scalar and binary quantization: encodings, approximate scores, two-stage search recall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from collection.config import (
    CollectionConfig,
    CreateCollection,
    Datatype,
    Distance,
    MultiVectorConfig,
    UpdateCollection,
    VectorParams,
)
from collection.errors import BadRequest
from collection.query.executor import search_params
from segments.appendable import AppendableSegment
from segments.immutable import ImmutableSegment, SearchParams
from segments.quantization import (
    BinaryQuantized,
    QuantizationParams,
    ScalarQuantized,
    build_quantized,
    parse_params,
    search,
)
from segments.storage import load_segment, save_segment
from segments.types import QuantizationSpec, SegmentConfig, parse_quantization
from segments.vectors.dense import DenseVectors

SCALAR = {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}}
BINARY = {"binary": {"always_ram": True}}


def clustered(n: int, dim: int, seed: int = 7, clusters: int = 20) -> np.ndarray:
    """Points around a few random centres (what embeddings look like, roughly)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim))
    return (centers[rng.integers(clusters, size=n)] + rng.normal(size=(n, dim))).astype(
        np.float32
    )


def queries(data: np.ndarray, count: int, seed: int = 3, noise: float = 0.5) -> np.ndarray:
    """Queries near stored points."""
    rng = np.random.default_rng(seed)
    picks = data[rng.integers(len(data), size=count)]
    return (picks + noise * rng.normal(size=picks.shape)).astype(np.float32)


def store_of(data: np.ndarray, distance: Distance) -> DenseVectors:
    store = DenseVectors(data.shape[1], distance, None, len(data))
    store.put(np.arange(len(data)), data)
    return store


def recall(
    store: DenseVectors, quantized: ScalarQuantized | BinaryQuantized, qs: np.ndarray,
    params: QuantizationParams, top: int = 10,
) -> float:
    """Share of the exact top ``top`` that the quantized search returns."""
    hits = 0
    for q in qs:
        _, exact = store.search(q, store.present, top)
        _, got = search(store, quantized, q, store.present, top, params)
        hits += len(set(exact.tolist()) & set(got.tolist()))
    return hits / (top * len(qs))


# --- configuration ---------------------------------------------------------------------------


def test_parse_config_accepts_qdrant_shapes() -> None:
    assert parse_quantization(None) is None
    assert parse_quantization(SCALAR) == QuantizationSpec("scalar", 0.99)
    assert parse_quantization({"scalar": {"type": "int8"}}) == QuantizationSpec("scalar", None)
    assert parse_quantization({"scalar": {"type": "int8", "quantile": 1}}) == QuantizationSpec(
        "scalar", 1.0
    )
    assert parse_quantization(BINARY) == QuantizationSpec("binary")
    assert parse_quantization({"binary": {}}) == QuantizationSpec("binary")
    assert parse_quantization(
        {"binary": {"encoding": "one_bit", "query_encoding": "default", "memory": "pinned"}}
    ) == QuantizationSpec("binary")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"product": {"compression": "x16"}}, "product quantization is not supported"),
        ({"scalar": {"type": "int4"}}, "type must be 'int8'"),
        ({"scalar": {}}, "type must be 'int8'"),
        ({"scalar": {"type": "int8", "quantile": 0.3}}, "between 0.5 and 1.0"),
        ({"scalar": {"type": "int8", "quantile": 1.5}}, "between 0.5 and 1.0"),
        ({"scalar": {"type": "int8", "quantile": "high"}}, "must be a number"),
        ({"scalar": {"type": "int8", "always_ram": "yes"}}, "always_ram must be a boolean"),
        ({"binary": {"encoding": "two_bits"}}, "only 'one_bit'"),
        ({"binary": {"query_encoding": "scalar8bits"}}, "query_encoding"),
        ({"binary": []}, "must be an object"),
        ({"scalar": {"type": "int8"}, "binary": {}}, "exactly one"),
        ({}, "exactly one"),
        ({"turbo4": {}}, "unknown quantization method"),
        ({"turbo": {"bits": "bits8"}}, "unknown variant `bits8`"),
        ({"turbo": {"bits": 4}}, "bits must be a string"),
        ({"turbo": {"always_ram": 1}}, "always_ram must be a boolean"),
        ({"turbo": "bits4"}, "must be an object"),
        ({"binary": {"memory": "ram"}}, "memory: unknown variant `ram`"),
    ],
)
def test_parse_config_refuses_what_heron_cannot_build(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_quantization(raw)


def test_collection_config_validates_quantization() -> None:
    body = {"vectors": {"size": 4, "distance": "Dot"}, "quantization_config": SCALAR}
    assert CreateCollection.model_validate(body).to_config().quantization_config == SCALAR
    with pytest.raises(ValueError, match="product"):
        CreateCollection.model_validate(
            {**body, "quantization_config": {"product": {"compression": "x4"}}}
        ).to_config()
    with pytest.raises(ValueError, match="int8"):  # a vector's own config is checked too
        CreateCollection.model_validate(
            {"vectors": {"a": {"size": 4, "distance": "Dot",
                               "quantization_config": {"scalar": {"type": "int4"}}}}}
        ).to_config()
    with pytest.raises(ValueError, match="product"):
        UpdateCollection.model_validate({"quantization_config": {"product": {}}})
    config = CreateCollection.model_validate(
        {"vectors": {"a": {"size": 4, "distance": "Dot", "quantization_config": BINARY}},
         "quantization_config": SCALAR}
    ).to_config()
    cleared = UpdateCollection.model_validate({"quantization_config": "Disabled"}).apply_to(config)
    assert cleared.quantization_config is None
    assert cleared.vectors["a"].quantization_config == BINARY
    cleared = UpdateCollection.model_validate(
        {"vectors": {"a": {"quantization_config": "Disabled"}}}
    ).apply_to(config)
    assert cleared.vectors["a"].quantization_config is None


def test_vector_config_wins_over_the_collection_one() -> None:
    config = CollectionConfig(
        vectors={
            "own": VectorParams(size=4, distance=Distance.DOT, quantization_config=BINARY),
            "inherits": VectorParams(size=4, distance=Distance.COSINE),
            "multi": VectorParams(size=4, distance=Distance.DOT,
                                  multivector_config=MultiVectorConfig(comparator="max_sim")),
        },
        quantization_config=SCALAR,
    )
    assert config.segment.quantization_for("own") == QuantizationSpec("binary")
    assert config.segment.quantization_for("inherits") == QuantizationSpec("scalar", 0.99)
    assert config.segment.quantization_for("multi") is None  # multivectors are searched exactly
    assert config.segment.quantization_for("missing") is None
    stale = config.model_copy(update={"quantization_config": {"product": {}}})
    assert stale.segment.quantization_for("inherits") is None  # stored before validation: no quantization


def test_parse_params_defaults_and_errors() -> None:
    assert parse_params(None) is None
    assert parse_params({}) == QuantizationParams(ignore=False, rescore=True, oversampling=1.0)
    assert parse_params({"ignore": True, "rescore": False, "oversampling": 2}) == (
        QuantizationParams(ignore=True, rescore=False, oversampling=2.0)
    )
    assert parse_params({"rescore": None, "oversampling": None}) == QuantizationParams()
    for bad in ({"oversampling": 0.5}, {"oversampling": "2"}, {"oversampling": True},
                {"oversampling": float("inf")}, {"ignore": "yes"}, {"rescore": 1}, [1]):
        with pytest.raises(ValueError):
            parse_params(bad)


def test_search_params_reports_bad_quantization_as_bad_request() -> None:
    params = search_params({"hnsw_ef": 64, "quantization": {"oversampling": 3.0}})
    assert params.quantization == QuantizationParams(oversampling=3.0)
    assert search_params({}).quantization is None
    for bad in ({"oversampling": 0}, {"rescore": "no"}, "fast"):
        with pytest.raises(BadRequest, match="quantization"):
            search_params({"quantization": bad})


# --- scalar int8 -----------------------------------------------------------------------------


def test_scalar_round_trip_is_within_half_a_step() -> None:
    data = clustered(2000, 24)
    store = store_of(data, Distance.DOT)
    q = build_quantized(store, len(data), QuantizationSpec("scalar", None))
    assert isinstance(q, ScalarQuantized)
    assert q.codes.dtype == np.int8 and q.codes.shape == data.shape
    assert q.codes.min() == -127 and q.codes.max() == 127  # the whole range is used
    assert np.abs(q.decode(q.codes) - data).max() <= q.alpha / 2 + 1e-5
    np.testing.assert_array_equal(q.encode(q.decode(q.codes)), q.codes)


def test_scalar_quantile_clips_the_tails() -> None:
    data = clustered(2000, 24)
    store = store_of(data, Distance.EUCLID)
    q = build_quantized(store, len(data), QuantizationSpec("scalar", 0.9))
    lo, hi = np.quantile(data, [0.05, 0.95])
    assert q.mid - 127 * q.alpha == pytest.approx(lo, rel=1e-4)
    assert q.mid + 127 * q.alpha == pytest.approx(hi, rel=1e-4)
    clipped = np.mean((q.codes == 127) | (q.codes == -127))
    assert 0.08 < clipped < 0.12  # about a tenth of the values sit on the clipped ends
    inside = (data > lo) & (data < hi)
    assert np.abs(q.decode(q.codes) - data)[inside].max() <= q.alpha / 2 + 1e-5


@pytest.mark.parametrize("distance", list(Distance))
def test_scalar_scores_approximate_exact_ones(distance: Distance) -> None:
    data = clustered(3000, 48)
    store = store_of(data, distance)
    q = build_quantized(store, len(data), QuantizationSpec("scalar", 0.99))
    for query in queries(data, 5):
        exact = store.score_offsets(query, np.arange(len(data)))
        approx = q.scores(store.prepare_query(query))
        some = np.arange(0, len(data), 7)
        np.testing.assert_allclose(q.scores(store.prepare_query(query), some), approx[some],
                                   rtol=1e-5)
        assert np.corrcoef(exact, approx)[0, 1] > 0.99  # Euclid suffers most from clipping
        spread = exact.max() - exact.min()
        assert np.abs(approx - exact).mean() < 0.01 * spread


def test_scalar_query_outside_the_data_range_keeps_its_scale() -> None:
    data = clustered(1000, 16)
    store = store_of(data, Distance.DOT)
    q = build_quantized(store, len(data), QuantizationSpec("scalar", 0.99))
    query = 20 * queries(data, 1)[0]  # far outside the clipped range
    exact = store.score_offsets(query, np.arange(len(data)))
    approx = q.scores(query)
    assert np.corrcoef(exact, approx)[0, 1] > 0.999


@pytest.mark.parametrize("distance", list(Distance))
@pytest.mark.parametrize(
    ("quantile", "oversampling", "least"),
    [(None, 1.0, 0.95), (0.999, 1.0, 0.95), (0.99, 2.0, 0.98)],
)
def test_scalar_with_rescore_recalls_the_exact_top(
    distance: Distance, quantile: float | None, oversampling: float, least: float
) -> None:
    data = clustered(5000, 64)
    store = store_of(data, distance)
    quantized = build_quantized(store, len(data), QuantizationSpec("scalar", quantile))
    qs = queries(data, 40)
    got = recall(store, quantized, qs, QuantizationParams(oversampling=oversampling))
    raw = recall(store, quantized, qs, QuantizationParams(rescore=False))
    print(f"scalar {distance} quantile {quantile}: recall@10 {got:.3f} with oversampling "
          f"{oversampling}, {raw:.3f} without rescore")
    assert got >= least
    assert got >= raw


def test_rescored_scores_are_exact_and_unrescored_ones_approximate() -> None:
    data = clustered(3000, 32)
    store = store_of(data, Distance.COSINE)
    quantized = build_quantized(store, len(data), QuantizationSpec("scalar", 0.99))
    query = queries(data, 1)[0]
    scores, offsets = search(store, quantized, query, store.present, 10, QuantizationParams())
    np.testing.assert_allclose(scores, store.score_offsets(query, offsets), rtol=1e-6)
    assert np.all(np.diff(scores) <= 0)
    raw, raw_offsets = search(
        store, quantized, query, store.present, 10, QuantizationParams(rescore=False)
    )
    assert np.all(np.diff(raw) <= 0)
    exact = store.score_offsets(query, raw_offsets)
    assert not np.array_equal(raw, exact)
    np.testing.assert_allclose(raw, exact, atol=0.05)  # cosine scale, roughly right


def test_search_only_returns_candidates() -> None:
    data = clustered(2000, 16)
    store = store_of(data, Distance.EUCLID)
    quantized = build_quantized(store, len(data), QuantizationSpec("scalar", None))
    mask = np.zeros(len(data), dtype=bool)
    mask[::3] = True
    for params in (QuantizationParams(), QuantizationParams(rescore=False)):
        _, offsets = search(store, quantized, data[1], mask, 20, params)
        assert len(offsets) == 20 and np.all(offsets % 3 == 0)
        _, few = search(store, quantized, data[1], mask[:10], 20, params)  # short mask
        assert sorted(few.tolist()) == [0, 3, 6, 9]
    empty = search(store, quantized, data[1], np.zeros(len(data), bool), 5, QuantizationParams())
    assert len(empty[0]) == len(empty[1]) == 0


# --- binary ----------------------------------------------------------------------------------


def test_binary_round_trip_keeps_the_signs() -> None:
    for dim in (7, 64, 100):
        data = clustered(300, dim) - 0.1
        store = store_of(data, Distance.DOT)
        q = build_quantized(store, len(data), QuantizationSpec("binary"))
        assert isinstance(q, BinaryQuantized)
        assert q.words.dtype == np.uint64 and q.words.shape == (300, -(-dim // 64))
        np.testing.assert_array_equal(q.unpack(), np.where(data > 0, 1.0, -1.0))


def test_binary_cosine_score_is_the_sign_agreement() -> None:
    data = clustered(1000, 96)
    store = store_of(data, Distance.COSINE)
    q = build_quantized(store, len(data), QuantizationSpec("binary"))
    query = store.prepare_query(queries(data, 1)[0])
    signs = np.where(data > 0, 1, -1)
    qs = np.where(query > 0, 1, -1)
    np.testing.assert_array_equal(q.hamming(query), (signs != qs).sum(axis=1))
    np.testing.assert_allclose(q.scores(query), signs @ qs / 96, rtol=1e-6)
    assert q.scores(store.prepare_query(data[5]))[5] == 1.0
    exact = store.score_offsets(query, np.arange(len(data)))
    assert np.corrcoef(exact, q.scores(query))[0, 1] > 0.7


@pytest.mark.parametrize("distance", list(Distance))
def test_binary_scores_follow_the_distance(distance: Distance) -> None:
    data = clustered(2000, 128)
    store = store_of(data, distance)
    q = build_quantized(store, len(data), QuantizationSpec("binary"))
    query = queries(data, 1)[0]
    exact = store.score_offsets(query, np.arange(len(data)))
    approx = q.scores(store.prepare_query(query))
    assert np.corrcoef(exact, approx)[0, 1] > 0.7
    if distance is not Distance.MANHATTAN:  # there one sign bit gives a coarse estimate
        assert np.abs(approx - exact).mean() < 0.1 * (exact.max() - exact.min())


@pytest.mark.parametrize("dim", [128, 512])
def test_binary_cosine_with_oversampling_recalls_the_exact_top(dim: int) -> None:
    data = clustered(4000, dim)
    store = store_of(data, Distance.COSINE)
    quantized = build_quantized(store, len(data), QuantizationSpec("binary"))
    qs = queries(data, 30)
    results = {
        over: recall(store, quantized, qs, QuantizationParams(oversampling=over))
        for over in (1.0, 3.0, 10.0)
    }
    no_rescore = recall(store, quantized, qs, QuantizationParams(rescore=False))
    print(f"binary Cosine dim {dim}: recall@10 by oversampling {results}, "
          f"without rescore {no_rescore:.3f}")
    assert results[1.0] >= no_rescore
    assert results[1.0] <= results[3.0] <= results[10.0]
    assert results[10.0] >= 0.9


def test_binary_finds_near_duplicates_first() -> None:
    data = clustered(3000, 256)
    store = store_of(data, Distance.COSINE)
    quantized = build_quantized(store, len(data), QuantizationSpec("binary"))
    rng = np.random.default_rng(1)
    for i in rng.integers(len(data), size=20).tolist():
        query = data[i] + 0.1 * rng.normal(size=256).astype(np.float32)
        _, offsets = search(store, quantized, query, store.present, 1, QuantizationParams())
        assert offsets.tolist() == [i]


# --- in an indexed segment -------------------------------------------------------------------


def _segment(config: SegmentConfig, data: dict[str, np.ndarray]) -> ImmutableSegment:
    n = len(next(iter(data.values())))
    seg = AppendableSegment(0, config)
    vectors = {name: (list(rows), np.ones(n, dtype=bool)) for name, rows in data.items()}
    seg.upsert(1, list(range(n)), vectors, [{"i": i} for i in range(n)])
    seg.delete(2, np.arange(0, n, 10))
    return ImmutableSegment.build(seg.snapshot(), config, threads=1)


def _config(**vectors: VectorParams) -> SegmentConfig:
    return SegmentConfig(vectors=dict(vectors), quantization_config=SCALAR)


def test_segment_search_uses_quantization_unless_exact_or_ignored() -> None:
    config = _config(
        s=VectorParams(size=32, distance=Distance.DOT),
        b=VectorParams(size=128, distance=Distance.COSINE, quantization_config=BINARY),
        m=VectorParams(size=32, distance=Distance.MANHATTAN),
    )
    data = {"s": clustered(3000, 32, seed=1), "b": clustered(3000, 128, seed=2),
            "m": clustered(3000, 32, seed=3)}
    seg = _segment(config, data)
    assert {k: v.kind for k, v in seg.quantized.items()} == {
        "s": "scalar", "b": "binary", "m": "scalar"
    }
    assert len(seg.quantized["s"]) == seg.size == 2700
    live = seg.live_mask()
    for name, rows in data.items():
        query = queries(rows, 1)[0]
        exact = seg.search(name, query, live, 10, SearchParams(exact=True))
        plain = AppendableSegment.search(seg, name, query, live, 10)
        np.testing.assert_array_equal(exact.offsets, plain.offsets)
        ignored = seg.search(name, query, live, 10, SearchParams(
            quantization=QuantizationParams(ignore=True)))
        assert len(set(ignored.offsets.tolist()) & set(exact.offsets.tolist())) >= 9
        over = 10.0 if name == "b" else 2.0
        rescored = seg.search(name, query, live, 10, SearchParams(
            quantization=QuantizationParams(oversampling=over)))
        assert len(set(rescored.offsets.tolist()) & set(exact.offsets.tolist())) >= 9
        np.testing.assert_allclose(
            rescored.scores, seg.vectors[name].score_offsets(query, rescored.offsets), rtol=1e-6)
        raw = seg.search(name, query, live, 10, SearchParams(
            quantization=QuantizationParams(rescore=False)))
        assert len(raw.offsets) == 10 and live[raw.offsets].all()
        filtered = live & (np.arange(len(live)) % 2 == 0)
        hits = seg.search(name, query, filtered, 10, SearchParams())
        assert len(hits.offsets) == 10 and filtered[hits.offsets].all()


def test_segment_without_quantization_is_unchanged() -> None:
    config = SegmentConfig(vectors={"v": VectorParams(size=16, distance=Distance.EUCLID)})
    seg = _segment(config, {"v": clustered(2000, 16)})
    assert seg.quantized == {}
    query = queries(clustered(2000, 16), 1)[0]
    live = seg.live_mask()
    a = seg.search("v", query, live, 10, SearchParams())
    b = seg.search("v", query, live, 10, SearchParams(quantization=QuantizationParams()))
    np.testing.assert_array_equal(a.offsets, b.offsets)


def test_deleted_vectors_are_skipped_and_quantization_rebuilt_on_load(tmp_path: Path) -> None:
    config = _config(v=VectorParams(size=24, distance=Distance.COSINE))
    data = clustered(2000, 24)
    seg = _segment(config, {"v": data})
    query = queries(data, 1)[0]
    live = seg.live_mask()
    name = save_segment(tmp_path, seg.snapshot())
    loaded = ImmutableSegment.load(load_segment(tmp_path / name), config, tmp_path / name)
    assert loaded.quantized["v"].kind == "scalar"
    np.testing.assert_array_equal(loaded.quantized["v"].codes, seg.quantized["v"].codes)
    first = seg.search("v", query, live, 5, SearchParams())
    again = loaded.search("v", query, loaded.live_mask(), 5, SearchParams())
    np.testing.assert_array_equal(again.offsets, first.offsets)
    np.testing.assert_array_equal(again.scores, first.scores)
    seg.delete_vectors(3, first.offsets[:2], ["v"])
    after = seg.search("v", query, live, 5, SearchParams(
        quantization=QuantizationParams(rescore=False)))
    assert len(after.offsets) == 5
    assert not set(first.offsets[:2].tolist()) & set(after.offsets.tolist())


def test_uint8_and_float16_rows_are_quantized_as_they_are_scored() -> None:
    data = clustered(2000, 32)
    for datatype, rows in ((Datatype.UINT8, np.clip(data * 40 + 128, 0, 255)),
                           (Datatype.FLOAT16, data)):
        store = DenseVectors(32, Distance.COSINE, datatype, len(rows))
        store.put(np.arange(len(rows)), rows)
        quantized = build_quantized(store, len(rows), QuantizationSpec("scalar", None))
        query = queries(rows.astype(np.float32), 1)[0]
        exact = store.score_offsets(query, np.arange(len(rows)))
        approx = quantized.scores(store.prepare_query(query))
        np.testing.assert_allclose(approx, exact, atol=0.01)  # unit rows on both sides
        scores, offsets = search(store, quantized, query, store.present, 10,
                                 QuantizationParams(oversampling=2.0))
        _, want = store.search(query, store.present, 10)
        assert len(set(offsets.tolist()) & set(want.tolist())) >= 9
        np.testing.assert_allclose(scores, store.score_offsets(query, offsets), rtol=1e-6)
