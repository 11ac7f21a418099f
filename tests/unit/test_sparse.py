"""Sparse vector storage: validation, search, IDF statistics, persistence, and local-mode parity."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from segments.vectors.sparse import MAX_INDEX, SparseVectors, idf, validate_sparse

Row = tuple[np.ndarray, np.ndarray]


def _random_rows(rng: np.random.Generator, n: int, dims: int = 60, max_nnz: int = 8) -> list[Row]:
    """Random sparse rows (sorted unique indices); a few are empty."""
    rows: list[Row] = []
    for _ in range(n):
        nnz = int(rng.integers(0, max_nnz + 1))
        idx = np.sort(rng.choice(dims, size=nnz, replace=False)).astype(np.int64)
        rows.append((idx, rng.normal(size=nnz).astype(np.float32)))
    return rows


def _ref_score(row: Row | None, q_idx: np.ndarray, q_val: np.ndarray) -> float | None:
    """Reference dot product over shared indices; None when there is no overlap."""
    if row is None:
        return None
    stored = dict(zip(row[0].tolist(), row[1].tolist(), strict=True))
    shared = [(stored[i], v) for i, v in zip(q_idx.tolist(), q_val.tolist(), strict=True)
              if i in stored]
    if not shared:
        return None
    return float(sum(float(np.float32(a)) * float(np.float32(b)) for a, b in shared))


def _ref_search(
    rows: list[Row | None], q_idx: np.ndarray, q_val: np.ndarray, cand: np.ndarray, top: int
) -> list[tuple[int, float]]:
    """Reference search: all overlapping candidates, best first."""
    hits = []
    for off, row in enumerate(rows):
        if off < len(cand) and cand[off]:
            s = _ref_score(row, q_idx, q_val)
            if s is not None:
                hits.append((off, s))
    hits.sort(key=lambda h: -h[1])
    return hits[:top]


def _assert_same_hits(
    got: tuple[np.ndarray, np.ndarray], want: list[tuple[int, float]], rel: float = 1e-5
) -> None:
    """Same hits with the same scores, best first (ties may come in any order)."""
    scores, offsets = got
    assert len(offsets) == len(want)
    assert np.all(np.diff(scores) <= 1e-6)
    got_map = dict(zip(offsets.tolist(), scores.tolist(), strict=True))
    assert len(got_map) == len(offsets)
    for off, s in want:
        assert off in got_map
        assert got_map[off] == pytest.approx(s, rel=rel, abs=1e-5)


def _store(rows: list[Row | None]) -> SparseVectors:
    store = SparseVectors()
    store.ensure_capacity(len(rows))
    offs = [i for i, r in enumerate(rows) if r is not None]
    store.put(np.array(offs, dtype=np.int64), [rows[i] for i in offs])
    return store


# --- validation ------------------------------------------------------------------------------


def test_validate_sorts_and_converts() -> None:
    idx, val = validate_sparse({"indices": [7, 2, 5], "values": [1, 2.5, -3.0]})
    assert idx.tolist() == [2, 5, 7]
    assert val.tolist() == [2.5, -3.0, 1.0]
    assert idx.dtype == np.int64 and val.dtype == np.float32


def test_validate_allows_empty_and_u32_bounds() -> None:
    idx, val = validate_sparse({"indices": [], "values": []})
    assert len(idx) == 0 and len(val) == 0
    idx, _ = validate_sparse({"indices": [0, MAX_INDEX], "values": [1.0, 2.0]})
    assert idx.tolist() == [0, 2**32 - 1]


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"indices": [1, 2], "values": [1.0]}, "same length"),
        ({"indices": [1, 1], "values": [1.0, 2.0]}, "unique"),
        ({"indices": [-1], "values": [1.0]}, "between 0 and 4294967295"),
        ({"indices": [2**32], "values": [1.0]}, "between 0 and 4294967295"),
        ({"indices": [1.0], "values": [1.0]}, "expected an integer"),
        ({"indices": [True], "values": [1.0]}, "expected an integer"),
        ({"indices": ["1"], "values": [1.0]}, "expected an integer"),
        ({"indices": [1], "values": ["x"]}, "expected a number"),
        ({"indices": [1], "values": [None]}, "expected a number"),
        ({"indices": [1], "values": [False]}, "expected a number"),
        ({"indices": [1], "values": [math.nan]}, "finite"),
        ({"indices": [1], "values": [math.inf]}, "finite"),
        ({"indices": [1], "values": [1e39]}, "finite"),
        ({"indices": [1], "values": [10**400]}, "finite"),
        ({"indices": 1, "values": [1.0]}, "array of integers"),
        ({"indices": [1], "values": 1.0}, "array of numbers"),
        ({"indices": [1]}, "missing field `values`"),
        ([1, 2], "object"),
    ],
)
def test_validate_rejects(obj: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_sparse(obj)


# --- search ----------------------------------------------------------------------------------


def test_search_matches_reference_with_candidates() -> None:
    rng = np.random.default_rng(1)
    rows: list[Row | None] = list(_random_rows(rng, 300))
    for i in rng.choice(300, 30, replace=False).tolist():
        rows[i] = None
    store = _store(rows)
    for trial in range(20):
        q_idx = np.sort(rng.choice(60, size=int(rng.integers(1, 6)), replace=False))
        q_val = rng.normal(size=len(q_idx)).astype(np.float32)
        cand_len = [150, 300, 400][trial % 3]  # shorter, exact and longer than the size
        cand = rng.random(cand_len) < 0.7
        top = [5, 50, 1000][trial % 3]
        got = store.search(q_idx, q_val, cand, top)
        assert got[0].dtype == np.float32 and got[1].dtype == np.int64
        _assert_same_hits(got, _ref_search(rows, q_idx, q_val, cand, top))


def test_zero_product_overlap_counts_but_no_overlap_does_not() -> None:
    rows: list[Row | None] = [
        (np.array([1, 4]), np.array([0.0, 2.0], dtype=np.float32)),  # shares 1, product 0
        (np.array([2]), np.array([5.0], dtype=np.float32)),  # no overlap
        (np.array([], dtype=np.int64), np.array([], dtype=np.float32)),  # empty
        (np.array([1]), np.array([-1.0], dtype=np.float32)),
    ]
    store = _store(rows)
    scores, offsets = store.search(np.array([1]), np.array([3.0]), np.ones(4, bool), 10)
    assert offsets.tolist() == [0, 3]
    assert scores.tolist() == [0.0, -3.0]
    assert store.search(np.array([], dtype=np.int64), np.array([]), np.ones(4, bool), 10)[
        1
    ].tolist() == []
    assert store.search(np.array([1]), np.array([3.0]), np.ones(4, bool), 0)[1].tolist() == []


def test_unsorted_query_is_accepted() -> None:
    rows: list[Row | None] = [(np.array([1, 3]), np.array([1.0, 2.0], dtype=np.float32))]
    store = _store(rows)
    scores, _ = store.search(np.array([3, 1]), np.array([10.0, 1.0]), np.ones(1, bool), 1)
    assert scores.tolist() == [21.0]


def test_score_offsets_marks_missing_and_disjoint_with_nan() -> None:
    rows: list[Row | None] = [
        (np.array([1, 2]), np.array([1.0, 2.0], dtype=np.float32)),
        (np.array([5]), np.array([1.0], dtype=np.float32)),
        None,
        (np.array([2]), np.array([0.0], dtype=np.float32)),
    ]
    store = _store(rows)
    got = store.score_offsets(np.array([2]), np.array([4.0]), np.array([3, 0, 1, 2, 99]))
    assert got[:2].tolist() == [0.0, 8.0]
    assert np.isnan(got[2:]).all()


def test_replacement_and_removal_keep_search_exact() -> None:
    rng = np.random.default_rng(2)
    rows: list[Row | None] = list(_random_rows(rng, 200))
    store = _store(rows)
    q_idx = np.arange(0, 60, 3)
    q_val = rng.normal(size=len(q_idx)).astype(np.float32)
    cand = np.ones(250, bool)
    _assert_same_hits(store.search(q_idx, q_val, cand, 300), _ref_search(rows, q_idx, q_val,
                                                                          cand, 300))
    # a few changes: served by the built index plus directly scored stale rows
    for step in range(30):
        batch = rng.choice(220, size=3, replace=False)
        if step % 3 == 0:
            store.remove(batch)
            for o in batch.tolist():
                if o < len(rows):
                    rows[o] = None
        else:
            new = _random_rows(rng, 3)
            store.ensure_capacity(int(batch.max()) + 1)
            store.put(batch, new)
            while len(rows) <= int(batch.max()):
                rows.append(None)
            for o, r in zip(batch.tolist(), new, strict=True):
                rows[o] = r
        _assert_same_hits(store.search(q_idx, q_val, cand, 300),
                          _ref_search(rows, q_idx, q_val, cand, 300))
        for off, row in enumerate(rows):
            got = store.get(off)
            if row is None:
                assert got is None
            else:
                assert got == {"indices": row[0].tolist(), "values": row[1].tolist()}
    # a big rewrite: forces a rebuild (and compaction of orphaned entries)
    everything = np.arange(len(rows))
    new = _random_rows(rng, len(rows))
    store.put(everything, new)
    rows = list(new)
    assert store.used == store.live_entries or store.used - store.live_entries <= max(
        store.live_entries, 1024
    )
    _assert_same_hits(store.search(q_idx, q_val, cand, 300), _ref_search(rows, q_idx, q_val,
                                                                          cand, 300))
    store.compact()
    assert store.used == store.live_entries == sum(len(r[0]) for r in rows)
    _assert_same_hits(store.search(q_idx, q_val, cand, 300), _ref_search(rows, q_idx, q_val,
                                                                          cand, 300))


def test_duplicate_offsets_in_one_put_keep_the_last() -> None:
    store = SparseVectors()
    store.put(
        np.array([0, 0]),
        [(np.array([1]), np.array([1.0])), (np.array([2]), np.array([2.0]))],
    )
    assert store.get(0) == {"indices": [2], "values": [2.0]}
    assert store.live_entries == 1


# --- IDF statistics --------------------------------------------------------------------------


def test_document_frequency_and_count() -> None:
    rng = np.random.default_rng(3)
    rows: list[Row | None] = list(_random_rows(rng, 150, dims=20))
    rows[5] = None
    store = _store(rows)
    store.search(np.array([1]), np.array([1.0]), np.ones(150, bool), 1)  # build the index
    new = _random_rows(rng, 2, dims=20)
    store.put(np.array([7, 8]), new)  # stale rows, scored beside the built index
    rows[7], rows[8] = new
    live = rng.random(140) < 0.8  # shorter than the size: the tail counts as not live
    q = np.array([19, 0, 7, 33])
    want = [
        sum(1 for o, r in enumerate(rows) if r is not None and o < len(live) and live[o]
            and i in r[0].tolist())
        for i in q.tolist()
    ]
    assert store.document_frequency(q, live).tolist() == want
    assert store.count(live) == sum(  # empty sparse vectors are no documents
        1 for o, r in enumerate(rows) if r is not None and o < len(live) and live[o] and len(r[0])
    )


def test_idf_formula() -> None:
    got = idf(np.array([0, 1, 10]), 10)
    want = [math.log((10 - df + 0.5) / (df + 0.5) + 1) for df in (0, 1, 10)]
    assert got.tolist() == pytest.approx(want)


# --- persistence -----------------------------------------------------------------------------


def test_snapshot_restore_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows: list[Row | None] = list(_random_rows(rng, 120))
    store = _store(rows)
    store.put(np.array([3, 4]), _random_rows(rng, 2))  # leaves orphaned entries
    store.remove(np.array([10, 11]))
    size = 120
    arrays = store.snapshot(size)
    for name, arr in arrays.items():
        assert isinstance(arr, np.ndarray) and arr.dtype != object
        np.save(tmp_path / f"{name}.npy", arr)
    loaded = {name: np.load(tmp_path / f"{name}.npy") for name in arrays}
    assert len(loaded["indices"]) == store.live_entries
    restored = SparseVectors.restore(loaded, size)
    assert restored.present[:size].tolist() == store.present[:size].tolist()
    for off in range(size):
        assert restored.get(off) == store.get(off)
    q_idx, q_val = np.array([1, 2, 3, 40]), np.array([1.0, -1.0, 0.5, 2.0])
    cand = np.ones(size, bool)
    a, b = store.search(q_idx, q_val, cand, 50), restored.search(q_idx, q_val, cand, 50)
    assert a[1].tolist() == b[1].tolist() and a[0].tolist() == b[0].tolist()
    restored.put(np.array([200]), [(np.array([1]), np.array([1.0]))])  # still writable
    assert restored.get(200) == {"indices": [1], "values": [1.0]}


def _gathered(store: SparseVectors, size: int) -> tuple[list[int], list[float]]:
    """The snapshot's flat entries as the rows in offset order say they must be."""
    idx: list[int] = []
    val: list[float] = []
    for off in range(size):
        row = store.get(off)
        if row is not None:
            idx += row["indices"]
            val += row["values"]
    return idx, val


@pytest.mark.parametrize("case", ["appended", "out_of_order", "rewritten", "removed", "past_size"])
def test_snapshot_flat_entries_follow_offset_order(case: str) -> None:
    """Rows appended in offset order are copied as one slice; any other layout is gathered."""
    rng = np.random.default_rng(7)
    store = SparseVectors()
    if case == "out_of_order":  # one put, offsets not ascending: entries laid out 5, 4, ..., 0
        store.put(np.arange(6)[::-1].copy(), _random_rows(rng, 6))
    else:
        for start in range(0, 30, 10):
            store.put(np.arange(start, start + 10), _random_rows(rng, 10))
    if case == "rewritten":
        store.put(np.array([4]), [(np.array([1, 2]), np.array([1.0, 2.0], dtype=np.float32))])
    if case == "removed":
        store.remove(np.array([0, 17]))
    size = 6 if case == "out_of_order" else 30
    if case == "past_size":
        size = 25  # rows 25..29 hold entries the snapshot leaves out
    snap = store.snapshot(size)
    idx, val = _gathered(store, size)
    assert snap["indices"].tolist() == idx
    assert snap["values"].tolist() == pytest.approx(val)
    assert snap["starts"].tolist() == (np.cumsum(snap["lengths"]) - snap["lengths"]).tolist()
    restored = SparseVectors.restore(snap, size)
    assert [restored.get(o) for o in range(size)] == [store.get(o) for o in range(size)]


def test_snapshot_of_empty_store() -> None:
    restored = SparseVectors.restore(SparseVectors().snapshot(5), 5)
    assert restored.get(0) is None
    assert restored.search(np.array([1]), np.array([1.0]), np.ones(5, bool), 3)[1].size == 0


# --- congruence with qdrant-client's local mode ---------------------------------------------


@pytest.mark.parametrize("modifier", [None, models.Modifier.IDF])
def test_matches_local_mode(modifier: models.Modifier | None) -> None:
    rng = np.random.default_rng(5)
    n = 200
    rows: list[Row | None] = list(_random_rows(rng, n, dims=40, max_nnz=10))
    for i in rng.choice(n, 15, replace=False).tolist():
        rows[i] = None
    # local mode counts an empty sparse vector as an IDF document, Qdrant's engine doesn't
    # (tests/api/test_bm25.py checks heron against the engine): leave empty ones out here
    rows = [None if r is not None and not len(r[0]) else r for r in rows]
    client = QdrantClient(":memory:")
    client.create_collection(
        "sp",
        vectors_config={},
        sparse_vectors_config={"s": models.SparseVectorParams(modifier=modifier)},
    )
    points = []
    for off, row in enumerate(rows):
        vec = {} if row is None else {
            "s": models.SparseVector(indices=row[0].tolist(), values=row[1].tolist())
        }
        points.append(models.PointStruct(id=off, vector=vec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.upsert("sp", points)
    store = _store(rows)
    deleted = rng.choice(n, 20, replace=False)
    client.delete("sp", models.PointIdsList(points=deleted.tolist()))
    live = np.ones(n, bool)
    live[deleted] = False
    for _ in range(15):
        q_idx = np.sort(rng.choice(40, size=int(rng.integers(1, 6)), replace=False))
        q_val = rng.normal(size=len(q_idx)).astype(np.float32)
        res = client.query_points(
            "sp",
            query=models.SparseVector(indices=q_idx.tolist(), values=q_val.tolist()),
            using="s",
            limit=n,
        ).points
        query_values = q_val.astype(np.float64)
        if modifier is not None:
            query_values = query_values * idf(store.document_frequency(q_idx, live),
                                              store.count(live))
        scores, offsets = store.search(q_idx, query_values, live, n)
        assert len(res) == len(offsets)
        want = {p.id: p.score for p in res}
        got = dict(zip(offsets.tolist(), scores.tolist(), strict=True))
        assert got.keys() == want.keys()
        for pid, s in want.items():
            assert got[pid] == pytest.approx(s, rel=1e-4, abs=1e-6)
        assert [p.score for p in res] == pytest.approx(scores.tolist(), rel=1e-4, abs=1e-6)
        # re-scoring the local-mode hits gives the same scores
        rescored = store.score_offsets(q_idx, query_values, np.array(list(want), dtype=np.int64))
        assert rescored.tolist() == pytest.approx(list(want.values()), rel=1e-4, abs=1e-6)
    client.close()
