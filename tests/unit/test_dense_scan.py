"""Exact dense scans over a filtered share of a segment: rows are gathered and scored a block
at a time (``GATHER_BYTES``), which must give the scores and order one gather gives, and the
true top-k of a numpy reference."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from segments.types import Datatype, Distance
from segments.vectors.dense import GATHER_BYTES, DenseVectors

ROOT = Path(__file__).resolve().parents[2]


def blocked_equals_whole() -> None:
    """Every distance and stored type: the blocked gather's scores are one gather's, bit for
    bit (run with one BLAS thread, as the server runs numpy: several threads split a product
    by rows differently for different row counts, which moves the last bit either way)."""
    rng = np.random.default_rng(3)
    n = 9000
    for dim, distance in itertools.product((3, 96, 1000), Distance):
        rows = rng.normal(size=(n, dim)).astype(np.float32)
        step = max(64, GATHER_BYTES // (4 * dim) // 64 * 64)
        for datatype in (Datatype.FLOAT32, Datatype.FLOAT16, Datatype.UINT8):
            store = DenseVectors(dim, distance, datatype, n)
            store.put(np.arange(n), rows * 40 + 120 if datatype is Datatype.UINT8 else rows)
            q = store.prepare_query(rng.normal(size=dim).astype(np.float32))
            for count in (10, 2 * step - 1, 2 * step + 1, 3 * step + 2, 3 * step + 7, n - 1):
                count = min(count, n)
                offsets = np.sort(rng.choice(n, count, replace=False))
                blocked = store._scores_at(offsets, q)
                whole = store._scores(store.data[offsets], q)
                assert blocked.dtype == whole.dtype, (distance, datatype)
                np.testing.assert_array_equal(blocked, whole, err_msg=f"{distance} {datatype}")


def test_blocked_gather_scores_like_one_gather() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c",
         "from tests.unit.test_dense_scan import blocked_equals_whole; blocked_equals_whole()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_filtered_exact_search_matches_numpy() -> None:
    """A 10 % filter on 20k Cosine rows (well over one block): the exact top 10 by numpy."""
    rng = np.random.default_rng(5)
    dim, n = 128, 20_000
    store = DenseVectors(dim, Distance.COSINE, None, n)
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    store.put(np.arange(n), rows)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    for value in range(5):
        cand = np.arange(n) % 10 == value
        query = rng.normal(size=dim).astype(np.float32)
        scores, offsets = store.search(query, cand, 10)
        sub = np.flatnonzero(cand)
        ref = unit[sub].astype(np.float64) @ (query / np.linalg.norm(query)).astype(np.float64)
        best = sub[np.argsort(-ref)[:10]]
        assert offsets.tolist() == best.tolist()
        np.testing.assert_allclose(scores, np.sort(ref)[::-1][:10], rtol=1e-5, atol=1e-6)
        assert cand[offsets].all()
