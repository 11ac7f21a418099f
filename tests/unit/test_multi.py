"""Multivector storage: validation, MaxSim scoring per distance, datatypes, persistence, parity."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

import segments.vectors.multi as multi
from collection.config import Datatype, Distance
from segments.vectors.multi import MultiVectors, validate_multi

DIM = 6
DISTANCES = list(Distance)


def _random_mats(rng: np.random.Generator, n: int, max_rows: int = 5) -> list[np.ndarray]:
    """Random float32 multivectors of 1..max_rows sub-vectors."""
    return [
        rng.normal(size=(int(rng.integers(1, max_rows + 1)), DIM)).astype(np.float32)
        for _ in range(n)
    ]


def _ref_score(stored: np.ndarray, query: np.ndarray, distance: Distance) -> float:
    """Reference MaxSim, pair by pair in float64, reported as local mode reports it."""
    total = 0.0
    for q in query.astype(np.float64):
        best = -math.inf
        for r in stored.astype(np.float64):
            if distance is Distance.COSINE:
                qn, rn = np.linalg.norm(q), np.linalg.norm(r)
                sim = float(q @ r) / ((qn or 1.0) * (rn or 1.0))
            elif distance is Distance.DOT:
                sim = float(q @ r)
            elif distance is Distance.EUCLID:
                sim = -float(((q - r) ** 2).sum())
            else:
                sim = -float(np.abs(q - r).sum())
            best = max(best, sim)
        total += best
    if distance is Distance.EUCLID:
        return math.sqrt(abs(total))
    if distance is Distance.MANHATTAN:
        return abs(total)
    return total


def _ref_search(
    mats: list[np.ndarray | None], query: np.ndarray, distance: Distance, cand: np.ndarray,
    top: int,
) -> list[tuple[int, float]]:
    hits = [
        (off, _ref_score(m, query, distance))
        for off, m in enumerate(mats)
        if m is not None and off < len(cand) and cand[off]
    ]
    hits.sort(key=lambda h: -h[1] if distance.higher_is_better else h[1])
    return hits[:top]


def _assert_same_hits(
    got: tuple[np.ndarray, np.ndarray], want: list[tuple[int, float]], higher: bool,
    rel: float = 1e-4,
) -> None:
    """Same hits and scores, best first; ties may come in any order."""
    scores, offsets = got
    assert len(offsets) == len(want)
    steps = np.diff(scores.astype(np.float64))
    assert np.all(steps <= 1e-5) if higher else np.all(steps >= -1e-5)
    got_map = dict(zip(offsets.tolist(), scores.tolist(), strict=True))
    for off, s in want:
        assert off in got_map
        assert got_map[off] == pytest.approx(s, rel=rel, abs=1e-4)


def _store(mats: list[np.ndarray | None], distance: Distance, datatype: str = "float32"
           ) -> MultiVectors:
    store = MultiVectors(DIM, distance, datatype)
    store.ensure_capacity(len(mats))
    offs = [i for i, m in enumerate(mats) if m is not None]
    store.put(np.array(offs, dtype=np.int64), [mats[i] for i in offs])
    return store


# --- validation ------------------------------------------------------------------------------


def test_validate_ok() -> None:
    rows = validate_multi([[1, 2.5], [0, -1]], 2)
    assert rows.dtype == np.float32 and rows.tolist() == [[1.0, 2.5], [0.0, -1.0]]


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "must not be empty"),
        ([[]], "must not be empty"),
        ([[1.0, 2.0], [1.0]], "must have the same dimension"),
        ([[1.0, 2.0, 3.0]], "expected dim: 2, got 3"),
        ([[1.0, math.nan]], "NaN"),
        ([[1.0, math.inf]], "infinite"),
        ([[1.0, 1e39]], "infinite"),
        ([[1.0, 10**400]], "infinite"),
        ([[1.0, "2"]], "expected a number"),
        ([[1.0, None]], "expected a number"),
        ([[1.0, True]], "expected a number"),
        ([1.0, 2.0], "array of vectors"),
        ("x", "array of vectors"),
        ({"a": 1}, "array of vectors"),
    ],
)
def test_validate_rejects(obj: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_multi(obj, 2)


# --- scoring ---------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", DISTANCES)
def test_search_matches_reference(distance: Distance) -> None:
    rng = np.random.default_rng(10)
    mats: list[np.ndarray | None] = list(_random_mats(rng, 150))
    for i in rng.choice(150, 15, replace=False).tolist():
        mats[i] = None
    store = _store(mats, distance)
    assert store.higher_is_better is distance.higher_is_better
    for trial in range(6):
        query = rng.normal(size=(int(rng.integers(1, 4)), DIM)).astype(np.float32)
        cand = rng.random([100, 150, 200][trial % 3]) < 0.8
        top = [3, 40, 500][trial % 3]
        got = store.search(query, cand, top)
        assert got[0].dtype == np.float32 and got[1].dtype == np.int64
        _assert_same_hits(got, _ref_search(mats, query, distance, cand, top),
                          distance.higher_is_better)


@pytest.mark.parametrize("distance", DISTANCES)
def test_chunked_scoring_equals_unchunked(distance: Distance, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    rng = np.random.default_rng(11)
    mats: list[np.ndarray | None] = list(_random_mats(rng, 120, max_rows=7))
    store = _store(mats, distance)
    query = rng.normal(size=(3, DIM)).astype(np.float32)
    cand = np.ones(120, bool)
    whole = store.search(query, cand, 120)
    monkeypatch.setattr(multi, "CHUNK_ROWS", 5)
    chunked = store.search(query, cand, 120)
    assert chunked[1].tolist() == whole[1].tolist()
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-6)


def test_score_offsets_and_missing_points() -> None:
    rng = np.random.default_rng(12)
    mats: list[np.ndarray | None] = list(_random_mats(rng, 10))
    mats[3] = None
    store = _store(mats, Distance.EUCLID)
    query = rng.normal(size=(2, DIM)).astype(np.float32)
    got = store.score_offsets(query, np.array([5, 3, 0, 42]))
    assert got[0] == pytest.approx(_ref_score(mats[5], query, Distance.EUCLID), rel=1e-5)
    assert got[2] == pytest.approx(_ref_score(mats[0], query, Distance.EUCLID), rel=1e-5)
    assert np.isnan(got[1]) and np.isnan(got[3])
    assert store.search(query, np.ones(10, bool), 0)[1].size == 0
    assert store.search(query, np.zeros(10, bool), 5)[1].size == 0


def test_cosine_rows_are_normalised_on_write_and_zero_rows_stay_zero() -> None:
    store = MultiVectors(2, Distance.COSINE)
    store.put(np.array([0]), [np.array([[3.0, 4.0], [0.0, 0.0]])])
    assert store.get(0) == [pytest.approx([0.6, 0.8]), [0.0, 0.0]]
    scores, _ = store.search(np.array([[0.0, 0.0], [4.0, 3.0]]), np.ones(1, bool), 1)
    assert scores[0] == pytest.approx(0.96, rel=1e-6)  # the zero query row adds max(0, 0)


def test_bad_shapes_are_rejected() -> None:
    store = MultiVectors(3, Distance.DOT)
    with pytest.raises(ValueError):
        store.put(np.array([0]), [np.zeros((2, 2))])
    with pytest.raises(ValueError):
        store.put(np.array([0]), [np.zeros((0, 3))])
    with pytest.raises(ValueError):
        store.search(np.zeros((1, 2)), np.ones(1, bool), 1)


# --- writes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", [Distance.DOT, Distance.MANHATTAN])
def test_replace_remove_and_compact(distance: Distance) -> None:
    rng = np.random.default_rng(13)
    mats: list[np.ndarray | None] = list(_random_mats(rng, 80))
    store = _store(mats, distance)
    query = rng.normal(size=(2, DIM)).astype(np.float32)
    cand = np.ones(100, bool)
    for step in range(40):
        batch = rng.choice(90, size=4, replace=False)
        store.ensure_capacity(int(batch.max()) + 1)
        while len(mats) <= int(batch.max()):
            mats.append(None)
        if step % 4 == 0:
            store.remove(batch)
            for o in batch.tolist():
                mats[o] = None
        else:
            new = _random_mats(rng, 4)
            store.put(batch, new)
            for o, m in zip(batch.tolist(), new, strict=True):
                mats[o] = m
        _assert_same_hits(store.search(query, cand, 100),
                          _ref_search(mats, query, distance, cand, 100),
                          distance.higher_is_better)
    live = sum(len(m) for m in mats if m is not None)
    assert store.live_rows == live
    assert store.used > live  # orphans of replaced points are still there
    before = store.search(query, cand, 100)
    store.compact()
    assert store.used == store.live_rows == live == len(store.rows)
    after = store.search(query, cand, 100)
    assert after[1].tolist() == before[1].tolist()
    for off, m in enumerate(mats):
        got = store.get(off)
        assert (got is None) if m is None else np.allclose(got, m)


def test_orphans_are_compacted_automatically() -> None:
    rng = np.random.default_rng(14)
    store = MultiVectors(DIM, Distance.DOT)
    for _ in range(200):
        store.put(np.arange(10), _random_mats(rng, 10, max_rows=8))
    assert store.used - store.live_rows <= max(store.live_rows, 1024) + 80
    assert len(store.rows) < 200 * 10 * 8


def test_duplicate_offsets_in_one_put_keep_the_last() -> None:
    store = MultiVectors(2, Distance.DOT)
    store.put(np.array([1, 1]), [np.ones((3, 2)), np.full((1, 2), 2.0)])
    assert store.get(1) == [[2.0, 2.0]]
    assert store.get(0) is None
    assert store.live_rows == 1


# --- datatypes -------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", DISTANCES)
def test_uint8_storage(distance: Distance) -> None:
    rng = np.random.default_rng(15)
    raw = [rng.uniform(-20, 300, size=(int(rng.integers(1, 4)), DIM)).astype(np.float32)
           for _ in range(60)]
    store = _store(list(raw), distance, "uint8")
    assert store.rows.dtype == np.uint8 and store.datatype is Datatype.UINT8
    cast = [np.clip(np.trunc(m), 0, 255) for m in raw]  # Rust `as u8`: truncate and saturate
    assert store.get(0) == cast[0].tolist()
    query = rng.uniform(0, 255, size=(2, DIM)).astype(np.float32)
    cand = np.ones(60, bool)
    _assert_same_hits(store.search(query, cand, 60),
                      _ref_search(list(cast), query, distance, cand, 60),
                      distance.higher_is_better)


@pytest.mark.parametrize("distance", DISTANCES)
def test_float16_storage(distance: Distance) -> None:
    rng = np.random.default_rng(16)
    raw = _random_mats(rng, 60)
    store = _store(list(raw), distance, Datatype.FLOAT16)
    assert store.rows.dtype == np.float16
    if distance is Distance.COSINE:
        norms = np.linalg.norm(raw[0], axis=1, keepdims=True)
        assert np.allclose(store.get(0), raw[0] / norms, atol=1e-3)
        halves = [(m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float16) for m in raw]
    else:
        halves = [m.astype(np.float16) for m in raw]
    query = rng.normal(size=(2, DIM)).astype(np.float32)
    cand = np.ones(60, bool)
    _assert_same_hits(store.search(query, cand, 60),
                      _ref_search(list(halves), query, distance, cand, 60),
                      distance.higher_is_better, rel=1e-3)


# --- persistence -----------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", ["float32", "float16", "uint8"])
def test_snapshot_restore_round_trip(datatype: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(17)
    mats: list[np.ndarray | None] = [np.abs(m) * 20 for m in _random_mats(rng, 70)]
    store = _store(mats, Distance.COSINE, datatype)
    store.put(np.array([1, 2]), [np.abs(m) * 20 for m in _random_mats(rng, 2)])  # orphans
    store.remove(np.array([5]))
    size = 70
    arrays = store.snapshot(size)
    for name, arr in arrays.items():
        assert isinstance(arr, np.ndarray) and arr.dtype != object
        np.save(tmp_path / f"{name}.npy", arr)
    loaded = {name: np.load(tmp_path / f"{name}.npy") for name in arrays}
    assert len(loaded["rows"]) == store.live_rows
    restored = MultiVectors.restore(loaded, size, DIM, "Cosine", datatype)
    for off in range(size):
        assert restored.get(off) == store.get(off)
    query = rng.normal(size=(3, DIM)).astype(np.float32)
    cand = np.ones(size, bool)
    a, b = store.search(query, cand, 70), restored.search(query, cand, 70)
    assert a[1].tolist() == b[1].tolist() and a[0].tolist() == b[0].tolist()
    restored.put(np.array([100]), [np.ones((1, DIM))])  # still writable
    assert restored.get(100) is not None
    with pytest.raises(ValueError):
        MultiVectors.restore(loaded, size, DIM + 1, "Cosine", datatype)


# --- congruence with qdrant-client's local mode ---------------------------------------------


@pytest.mark.parametrize("distance", DISTANCES)
def test_matches_local_mode(distance: Distance) -> None:
    rng = np.random.default_rng(18)
    n = 200
    mats = _random_mats(rng, n, max_rows=6)
    client = QdrantClient(":memory:")
    client.create_collection(
        "mv",
        vectors_config={
            "m": models.VectorParams(
                size=DIM,
                distance=models.Distance(distance.value),
                multivector_config=models.MultiVectorConfig(
                    comparator=models.MultiVectorComparator.MAX_SIM
                ),
            )
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.upsert(
            "mv",
            [models.PointStruct(id=i, vector={"m": m.tolist()}) for i, m in enumerate(mats)],
        )
    store = _store(list(mats), distance)
    deleted = rng.choice(n, 20, replace=False)
    client.delete("mv", models.PointIdsList(points=deleted.tolist()))
    store.remove(deleted)
    live = np.ones(n, bool)
    live[deleted] = False
    for _ in range(8):
        query = rng.normal(size=(int(rng.integers(1, 5)), DIM)).astype(np.float32)
        res = client.query_points("mv", query=query.tolist(), using="m", limit=50).points
        scores, offsets = store.search(query, live, 50)
        assert [p.id for p in res] == offsets.tolist()
        assert [p.score for p in res] == pytest.approx(scores.tolist(), rel=1e-4)
        rescored = store.score_offsets(query, np.array([p.id for p in res]))
        assert rescored.tolist() == pytest.approx([p.score for p in res], rel=1e-4)
    client.close()
