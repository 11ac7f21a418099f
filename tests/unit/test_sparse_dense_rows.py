"""Sparse search over the inverted index's dense rows (indices most points hold): the float32
candidate pass must never change results, which are the exact float64 dot products (cast to
float32) of a brute-force numpy reference, under filters, changes, near-ties and extremes."""

from __future__ import annotations

import numpy as np
import pytest

from segments.vectors.postings import DENSE_MIN, DENSE_SHARE
from segments.vectors.sparse import SparseVectors

DIMS = 300


def _zipf_rows(rng: np.random.Generator, n: int, nnz: int = 30) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows whose indices are drawn zipf-like (low indices in most rows), signed values."""
    rows = []
    for _ in range(n):
        idx = np.unique(rng.zipf(1.3, size=nnz) % DIMS).astype(np.int64)
        rows.append((idx, rng.normal(size=len(idx)).astype(np.float32)))
    return rows


class Reference:
    """The rows as a dense float64 matrix plus presence: exact scores by brute force."""

    def __init__(self, size: int) -> None:
        self.values = np.zeros((size, DIMS), dtype=np.float64)
        self.held = np.zeros((size, DIMS), dtype=bool)

    def put(self, offsets: np.ndarray, rows: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for off, (idx, val) in zip(offsets.tolist(), rows, strict=True):
            self.values[off] = 0.0
            self.held[off] = False
            self.values[off, idx] = val
            self.held[off, idx] = True

    def remove(self, offsets: np.ndarray) -> None:
        self.values[offsets] = 0.0
        self.held[offsets] = False

    def scores(self, q_idx: np.ndarray, q_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per offset: the exact score as float32, and whether it shares an index."""
        exact = self.values[:, q_idx] @ q_val.astype(np.float64)
        with np.errstate(over="ignore"):
            return exact.astype(np.float32), self.held[:, q_idx].any(axis=1)


def _check(store: SparseVectors, ref: Reference, q_idx: np.ndarray, q_val: np.ndarray,
           cand: np.ndarray, top: int) -> None:
    """The store's top ``top`` equals the reference's: same scores in order, and every point
    scoring above the last returned score is returned."""
    scores, offsets = store.search(q_idx, q_val, cand, top)
    want, overlap = ref.scores(q_idx, q_val)
    ok = overlap & np.resize(cand, len(want)) & (np.arange(len(want)) < len(cand))
    pool = np.flatnonzero(ok)
    expect = np.sort(want[pool])[::-1][:top]
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scores, expect)
    np.testing.assert_array_equal(want[offsets], scores)  # each offset has its own score
    assert ok[offsets].all() and len(set(offsets.tolist())) == len(offsets)
    if len(scores):
        better = pool[want[pool] > scores[-1]]
        assert set(better.tolist()) <= set(offsets.tolist())


def _build(rng: np.random.Generator, n: int) -> tuple[SparseVectors, Reference]:
    rows = _zipf_rows(rng, n)
    store = SparseVectors(n)
    store.put(np.arange(n), rows)
    ref = Reference(n)
    ref.put(np.arange(n), rows)
    store.prepare()
    return store, ref


def test_dense_rows_are_built_for_frequent_indices() -> None:
    store, ref = _build(np.random.default_rng(1), 2000)
    index = store._index
    assert index is not None
    df = ref.held.sum(axis=0)
    want = np.flatnonzero(df >= max(DENSE_MIN, DENSE_SHARE * 2000))
    assert len(want) > 5 and index.dense_keys.tolist() == want.tolist()
    assert not set(index.keys.tolist()) & set(want.tolist())


@pytest.mark.parametrize("top", [1, 10, 100, 5000])
def test_search_over_dense_rows_matches_brute_force(top: int) -> None:
    rng = np.random.default_rng(top)
    store, ref = _build(rng, 2000)
    for trial in range(30):
        q_idx = np.unique(rng.zipf(1.3, size=12) % DIMS)
        q_val = rng.normal(size=len(q_idx)).astype(np.float32)
        share = [1.0, 0.6, 0.1, 0.01][trial % 4]  # none, wide and narrow filters
        cand = rng.random(2000 + [0, -300, 50][trial % 3]) < share
        _check(store, ref, q_idx, q_val, cand, top)


def test_near_ties_are_ranked_by_exact_scores() -> None:
    """Points whose scores differ below float32 resolution of the sum: the candidate pass is
    approximate, the answer is not."""
    rng = np.random.default_rng(7)
    n = 1500
    base = rng.normal(size=8).astype(np.float32)
    rows = []
    for i in range(n):
        idx = np.array([0, 1, 2, 3, 4, 5, 6, 7, 200 + i % 50], dtype=np.int64)
        vals = base.copy()
        vals[i % 8] = np.nextafter(vals[i % 8], np.float32(np.inf) if i % 3 else -np.inf)
        vals = np.append(vals, np.float32(1e-6 * (i % 7)))
        rows.append((idx, vals))
    store = SparseVectors(n)
    store.put(np.arange(n), rows)
    ref = Reference(n)
    ref.put(np.arange(n), rows)
    q_idx = np.array([0, 1, 2, 3, 4, 5, 6, 7, 201, 203], dtype=np.int64)
    for _ in range(10):
        q_val = rng.normal(size=len(q_idx)).astype(np.float32) * np.float32(1e3)
        for top in (1, 5, 40):
            _check(store, ref, q_idx, q_val, np.ones(n, bool), top)


def test_extreme_values_fall_back_to_exact_scores() -> None:
    """Overflowing float32 products (inf), underflowing ones and zeros keep the reference's
    scores and overlap rules."""
    rng = np.random.default_rng(9)
    store, ref = _build(rng, 800)
    rows = [
        (np.array([0, 1, 2]), np.array([3e38, 3e38, -3e38], dtype=np.float32)),
        (np.array([0, 1]), np.array([1e-30, 1e-30], dtype=np.float32)),
        (np.array([0, 2]), np.array([0.0, 0.0], dtype=np.float32)),
        (np.array([0]), np.array([-3e38], dtype=np.float32)),
    ]
    offs = np.array([3, 4, 5, 6])
    store.put(offs, rows)
    ref.put(offs, rows)
    store.prepare()  # a rebuild would not happen for 4 changes: force it, rows in the block
    store._index = None
    store.prepare()
    cand = np.ones(800, bool)
    for q_val in ([1e30, 1e30, 1e30], [1e-30, 1e-20, 0.0], [0.0, 0.0, 0.0], [-2.0, 1.0, 3.0]):
        q_idx = np.array([0, 1, 2])
        q = np.array(q_val, dtype=np.float32)
        for top in (1, 3, 10, 900):
            scores, offsets = store.search(q_idx, q, cand, top)
            want, overlap = ref.scores(q_idx, q)
            assert overlap[offsets].all()
            np.testing.assert_array_equal(scores, want[offsets])
            assert len(offsets) == min(top, int(overlap.sum()))


def test_changes_after_the_build_stay_exact() -> None:
    """Rows put or removed after the build (and new offsets past its width) are scored from
    the rows; a rebuild is equally exact."""
    rng = np.random.default_rng(11)
    store, ref = _build(rng, 1200)
    big = Reference(1400)
    big.values[:1200], big.held[:1200] = ref.values, ref.held
    for step in range(12):
        if step % 4 == 0:
            gone = rng.choice(1400, size=20, replace=False)
            store.remove(gone)
            big.remove(gone)
        else:
            offs = rng.choice(1400, size=15, replace=False)
            rows = _zipf_rows(rng, 15)
            store.ensure_capacity(1400)
            store.put(offs, rows)
            big.put(offs, rows)
        q_idx = np.unique(rng.zipf(1.3, size=10) % DIMS)
        q_val = rng.normal(size=len(q_idx)).astype(np.float32)
        cand = rng.random(1400) < 0.7
        for top in (5, 50):
            _check(store, big, q_idx, q_val, cand, top)
    store._index = None  # rebuilt on the next query, changes included
    _check(store, big, q_idx, q_val, np.ones(1400, bool), 30)


def test_document_frequency_counts_dense_rows() -> None:
    rng = np.random.default_rng(13)
    store, ref = _build(rng, 1500)
    offs = np.array([2, 9, 1499])
    rows = _zipf_rows(rng, 3)
    store.put(offs, rows)  # stale rows beside the built index
    ref.put(offs, rows)
    store.remove(np.array([4]))
    ref.remove(np.array([4]))
    live = rng.random(1400) < 0.8  # shorter than the size: the tail is not live
    q = np.array([0, 1, 250, 3, 299, 17, 2])
    full_live = np.zeros(1500, dtype=bool)
    full_live[:1400] = live
    want = (ref.held[:, q] & full_live[:, None]).sum(axis=0)
    assert store.document_frequency(q, live).tolist() == want.tolist()


def test_take_copies_rows_like_a_row_by_row_put() -> None:
    """``take`` (an indexed segment's copy of its live points) keeps each kept row, absent and
    empty ones included, renumbered in order; the copy searches like the original."""
    rng = np.random.default_rng(17)
    rows = _zipf_rows(rng, 600)
    rows[3] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    store = SparseVectors(600)
    store.put(np.arange(600), rows)
    store.remove(np.array([10, 11]))
    store.put(np.array([12]), _zipf_rows(rng, 1))  # an orphaned old entry in the flat arrays
    keep = np.sort(rng.choice(600, size=450, replace=False))
    keep = np.union1d(keep, [3, 10, 12])
    copy = store.take(keep)
    for new, old in enumerate(keep.tolist()):
        assert copy.get(new) == store.get(old)
    assert copy.used == copy.live_entries == sum(len(store.get(o)["indices"]) for o in
                                                 keep.tolist() if store.get(o) is not None)
    q_idx, q_val = np.array([0, 1, 5, 40]), np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32)
    s1, o1 = copy.search(q_idx, q_val, np.ones(len(keep), bool), 25)
    cand = np.zeros(600, bool)
    cand[keep] = True
    s2, o2 = store.search(q_idx, q_val, cand, 25)
    np.testing.assert_array_equal(s1, s2)
    assert keep[o1].tolist() == o2.tolist()
    assert store.take(np.zeros(0, dtype=np.int64)).snapshot(0)["indices"].tolist() == []


@pytest.mark.parametrize("rows_in_query", [1, 2, "all"])
def test_candidate_pass_over_one_or_every_dense_row_matches_brute_force(
    rows_in_query: int | str,
) -> None:
    """The candidate pass sums the query's dense rows one at a time (no copy of the rows):
    a query on a single dense row, on two, and on every dense row still gives the exact top."""
    rng = np.random.default_rng(11)
    store, ref = _build(rng, 3000)
    index = store._index
    assert index is not None
    dense = index.dense_keys
    count = len(dense) if rows_in_query == "all" else int(rows_in_query)
    for trial in range(10):
        q_idx = np.sort(rng.choice(dense, count, replace=False)).astype(np.int64)
        if trial % 2:  # plus a rare index, scored from the postings
            q_idx = np.unique(np.append(q_idx, index.keys[trial % len(index.keys)]))
        q_val = rng.normal(size=len(q_idx)).astype(np.float32)
        for top in (1, 20, 400):
            _check(store, ref, q_idx, q_val, np.ones(3000, dtype=bool), top)
