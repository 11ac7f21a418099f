"""Fusion against qdrant-client's own reference implementation and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client.http import models
from qdrant_client.hybrid.fusion import distribution_based_score_fusion, reciprocal_rank_fusion

from collection.query.fusion import Ranked, dbsf, dbsf_normalize, rrf


def _ranked(ids: list[int], scores: list[float]) -> Ranked:
    return Ranked(list(ids), np.asarray(scores, dtype=np.float64))


def test_rrf_by_hand() -> None:
    out = rrf([_ranked([1, 2], [0.9, 0.8]), _ranked([2, 3], [5.0, 4.0])])
    # 2: 1/(2+2-1) + 1/(1+2-1) = 1/3 + 1/2 ; 1: 1/2 ; 3: 1/3
    assert out.keys == [2, 1, 3]
    np.testing.assert_allclose(out.scores, [1 / 3 + 1 / 2, 1 / 2, 1 / 3])


def test_rrf_weights_and_k() -> None:
    out = rrf([_ranked([1], [1.0]), _ranked([2], [1.0])], k=60, weights=[2.0, 0.0])
    np.testing.assert_allclose(out.scores, [1 / (0.5 + 59), 0.0])
    with pytest.raises(ValueError):
        rrf([_ranked([1], [1.0])], weights=[1.0, 2.0])


def test_dbsf_normalize_edges() -> None:
    assert dbsf_normalize(np.array([3.0])).tolist() == [0.5]
    assert dbsf_normalize(np.array([2.0, 2.0])).tolist() == [0.5, 0.5]


lists_strategy = st.lists(
    st.lists(
        st.tuples(st.integers(0, 30), st.floats(-10, 10, allow_nan=False)),
        max_size=12,
        unique_by=lambda t: t[0],
    ).map(lambda items: sorted(items, key=lambda t: -t[1])),
    min_size=1,
    max_size=4,
)


def _points(items: list[tuple[int, float]]) -> list[models.ScoredPoint]:
    return [models.ScoredPoint(id=i, version=0, score=s) for i, s in items]


@settings(max_examples=200, deadline=None)
@given(lists_strategy, st.integers(1, 80))
def test_rrf_matches_reference(lists: list[list[tuple[int, float]]], k: int) -> None:
    ours = rrf([_ranked([i for i, _ in x], [s for _, s in x]) for x in lists], k=k)
    ref = reciprocal_rank_fusion([_points(x) for x in lists], limit=1000, ranking_constant_k=k)
    np.testing.assert_allclose(ours.scores, [p.score for p in ref], rtol=1e-9)
    assert sorted(ours.keys) == sorted(p.id for p in ref)


@settings(max_examples=200, deadline=None)
@given(lists_strategy)
def test_dbsf_matches_reference(lists: list[list[tuple[int, float]]]) -> None:
    ours = dbsf([_ranked([i for i, _ in x], [s for _, s in x]) for x in lists])
    ref = distribution_based_score_fusion([_points(x) for x in lists], limit=1000)
    np.testing.assert_allclose(ours.scores, [p.score for p in ref], rtol=1e-9, atol=1e-12)
    assert sorted(ours.keys) == sorted(p.id for p in ref)
