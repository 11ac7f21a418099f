"""The ``turbo4`` codec and storages: 4 bits per element, exact re-encoding, asymmetric scores,
recall against numpy's exact float32 ground truth, persistence round trips."""

from __future__ import annotations

import numpy as np
import pytest

from segments.types import Datatype, Distance
from segments.vectors.dense import DenseVectors
from segments.vectors.multi import MultiVectors
from segments.vectors.turbo4 import LEVELS, codec, hartley
from segments.vectors.turbo4 import TurboCodec as Turbo4

DIMS = [1, 2, 3, 8, 17, 128, 129, 768]


def _rows(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize("dim", DIMS)
def test_rotation_is_orthogonal_and_invertible(dim: int) -> None:
    x = _rows(40, dim, dim).astype(np.float64)
    np.testing.assert_allclose(hartley(hartley(x)), x, atol=1e-12)
    c = codec(dim)
    y = c.rotate(x)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)
    np.testing.assert_allclose(c.unrotate(y), x, atol=1e-12)
    # every one-hot vector is spread over the coordinates (what lets one codebook fit all):
    # none keeps more than a few times an even share 1/sqrt(dim)
    if dim >= 64:
        assert np.abs(c.rotate(np.eye(dim))).max() < 5 / np.sqrt(dim)


def test_rotation_is_fixed() -> None:
    """The rotation is part of the on-disk format: the same codes in every process."""
    assert Turbo4(6).encode(np.arange(1, 7, dtype=np.float32)[None, :]).tobytes().hex() == (
        codec(6).encode(np.arange(1, 7, dtype=np.float32)[None, :]).tobytes().hex()
    )
    assert list(codec(4).signs1) == list(Turbo4(4).signs1)
    assert set(np.unique(codec(64).signs1)) == {-1.0, 1.0}


@pytest.mark.parametrize("dim", DIMS)
def test_four_bits_per_element(dim: int) -> None:
    c = codec(dim)
    assert c.width == (dim + 1) // 2 + 4  # two codes per byte, then the float32 scale
    store = DenseVectors(dim, Distance.DOT, Datatype.TURBO4)
    store.put(np.arange(10), _rows(10, dim, 1))
    assert store.data.dtype == np.uint8 and store.data.shape[1] == c.width
    assert store.snapshot(10)["data"].nbytes == 10 * c.width


@pytest.mark.parametrize("dim", DIMS)
def test_decode_encode_gives_the_same_bytes(dim: int) -> None:
    """What a merge or rebuild does (read dequantised floats, store them again) loses nothing."""
    scale = np.random.default_rng(2).lognormal(0, 3, (300, 1)).astype(np.float32)
    rows = _rows(300, dim, 3) * scale
    c = codec(dim)
    codes = c.encode(rows)
    again = c.encode(c.decode(codes))
    assert np.array_equal(codes, again)


@pytest.mark.parametrize("dim", [8, 128, 768])
def test_error_and_norm(dim: int) -> None:
    rows = _rows(500, dim, 4)
    dec = codec(dim).decode(codec(dim).encode(rows))
    norms = np.linalg.norm(rows, axis=1)
    np.testing.assert_allclose(np.linalg.norm(dec, axis=1), norms, rtol=2e-5)  # norm kept
    mse = np.mean(np.sum((dec - rows) ** 2, axis=1) / norms**2)
    assert mse < 0.012, mse  # Lloyd-Max 4-bit on a Gaussian is 0.0095 at best


def test_zero_vector() -> None:
    c = codec(5)
    dec = c.decode(c.encode(np.zeros((1, 5), dtype=np.float32)))
    assert dec.tolist() == [[0.0] * 5] and not np.signbit(dec).any()


def float_scores(rows: np.ndarray, q: np.ndarray, distance: Distance) -> np.ndarray:
    """What a float storage scores ``q`` against ``rows`` (float64 reference)."""
    return {
        Distance.COSINE: lambda: rows @ q,
        Distance.DOT: lambda: rows @ q,
        Distance.EUCLID: lambda: np.linalg.norm(rows - q, axis=1),
        Distance.MANHATTAN: lambda: np.abs(rows - q).sum(axis=1),
    }[distance]()


@pytest.mark.parametrize("distance", list(Distance))
@pytest.mark.parametrize("dim", [3, 64, 129])
def test_scores_are_float_query_against_dequantised_rows(distance: Distance, dim: int) -> None:
    rows, q = _rows(400, dim, 5), _rows(1, dim, 6)[0]
    store = DenseVectors(dim, distance, Datatype.TURBO4)
    store.put(np.arange(400), rows)
    dec = store.float_rows(slice(0, 400)).astype(np.float64)
    qq = store.prepare_query(q).astype(np.float64)
    want = float_scores(dec, qq, distance)
    got = store.score_offsets(q, np.arange(400))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    if distance is Distance.COSINE:  # stored unit length: a point scores 1 against itself
        np.testing.assert_allclose(np.linalg.norm(dec, axis=1), 1.0, rtol=2e-5)
        self_scores = store.score_offsets(rows[7], np.array([7]))
        assert self_scores[0] <= 1.0 + 2e-5


def _truth(rows: np.ndarray, q: np.ndarray, distance: Distance, k: int) -> set[int]:
    if distance is Distance.COSINE:
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        q = q / np.linalg.norm(q)
    if distance in (Distance.COSINE, Distance.DOT):
        return set(np.argsort(-(rows @ q))[:k].tolist())
    if distance is Distance.EUCLID:
        return set(np.argsort(np.linalg.norm(rows - q, axis=1))[:k].tolist())
    return set(np.argsort(np.abs(rows - q).sum(axis=1))[:k].tolist())


@pytest.mark.parametrize("distance", list(Distance))
def test_recall_at_10_against_float32_ground_truth(distance: Distance) -> None:
    dim, n = 96, 4000
    rows, queries = _rows(n, dim, 7), _rows(40, dim, 8)
    store = DenseVectors(dim, distance, Datatype.TURBO4)
    store.put(np.arange(n), rows)
    everything = np.ones(n, dtype=bool)
    recall = []
    for q in queries:
        _, found = store.search(q, everything, 10)
        recall.append(len(set(found.tolist()) & _truth(rows, q, distance, 10)) / 10)
    assert np.mean(recall) >= 0.8, np.mean(recall)


def test_multivector_recall_and_scores() -> None:
    """MaxSim over turbo4 rows: scores equal MaxSim over the dequantised rows, and the best
    points are (mostly) those of exact float32 MaxSim."""
    dim, n = 32, 600
    rng = np.random.default_rng(9)
    mats = [rng.standard_normal((int(rng.integers(1, 5)), dim)).astype(np.float32)
            for _ in range(n)]
    store = MultiVectors(dim, Distance.DOT, Datatype.TURBO4)
    store.put(np.arange(n), mats)
    assert store.rows.dtype == np.uint8 and store.rows.shape[1] == codec(dim).width
    recall = []
    for _ in range(20):
        q = rng.standard_normal((3, dim)).astype(np.float32)
        exact = np.array([(m @ q.T).max(axis=0).sum() for m in mats])
        deq = np.array([(np.asarray(store.get(i)) @ q.T).max(axis=0).sum() for i in range(n)])
        got = store.score_offsets(q, np.arange(n))
        np.testing.assert_allclose(got, deq, rtol=1e-4, atol=1e-4)
        _, found = store.search(q, np.ones(n, dtype=bool), 10)
        recall.append(len(set(found.tolist()) & set(np.argsort(-exact)[:10].tolist())) / 10)
    assert np.mean(recall) >= 0.8, np.mean(recall)


def test_snapshot_restore_round_trip() -> None:
    dim = 13
    dense = DenseVectors(dim, Distance.EUCLID, Datatype.TURBO4)
    dense.put(np.array([0, 2, 5]), _rows(3, dim, 10))
    back = DenseVectors.restore(dense.snapshot(6), 6, dim, Distance.EUCLID, Datatype.TURBO4)
    assert [back.get(i) for i in range(6)] == [dense.get(i) for i in range(6)]
    multi = MultiVectors(dim, Distance.COSINE, Datatype.TURBO4)
    multi.put(np.array([1, 3]), [_rows(2, dim, 11), _rows(3, dim, 12)])
    again = MultiVectors.restore(multi.snapshot(4), 4, dim, Distance.COSINE, Datatype.TURBO4)
    assert [again.get(i) for i in range(4)] == [multi.get(i) for i in range(4)]
    assert again.get(1) is not None and len(again.get(3) or []) == 3


def test_levels_are_lloyd_max() -> None:
    """Each level is the mean of N(0, 1) over its cell (the Lloyd-Max condition)."""
    x = np.random.default_rng(13).standard_normal(2_000_000)
    bounds = (LEVELS[1:] + LEVELS[:-1]) / 2
    cell = np.searchsorted(bounds, x)
    means = np.array([x[cell == k].mean() for k in range(16)])
    np.testing.assert_allclose(means, LEVELS, atol=0.01)
