"""The Query API kinds over gRPC (qdrant-client, ``prefer_grpc=True``) against the same requests
over REST: recommend, discover, context, relevance feedback, MMR, formula, sample, in prefetch
trees, QueryBatch and QueryGroups. Same ids, scores within 1e-5; a few also against qdrant-edge.

The points go in over gRPC too, so the upsert conversion of every vector kind is covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.api.test_query_kinds import (
    FORMULAS,
    NAMES,
    POINTS,
    PREFETCH,
    SPARSE,
    TREES,
    VECTORS,
    _rng,
    assert_same,
    example,
    vector,
)
from tests.oracle.edge import EdgeOracle
from tests.server import HeronProcess

COLL = "kinds_grpc"
EPS = 1e-5


@pytest.fixture(scope="module")
def env(heron: HeronProcess) -> Iterator[tuple[httpx.Client, QdrantClient]]:
    http = httpx.Client(base_url=heron.url, timeout=60)
    grpc = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=60)
    r = http.put(f"/collections/{COLL}", json={
        "vectors": VECTORS, "sparse_vectors": SPARSE,
        "optimizers_config": {"indexing_threshold": 0},
    })
    assert r.status_code == 200, r.text
    grpc.upsert(COLL, wait=True, points=[
        models.PointStruct(id=p["id"], vector=p["vector"], payload=p["payload"])
        for p in POINTS])
    yield http, grpc
    grpc.close()
    http.close()


def rest(http: httpx.Client, body: dict[str, Any], path: str = "query") -> Any:
    r = http.post(f"/collections/{COLL}/points/{path}", json=body)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def pairs(points: list[Any]) -> list[tuple[Any, float]]:
    return [(p["id"], p["score"]) if isinstance(p, dict) else (p.id, p.score) for p in points]


def same(got: list[tuple[Any, float]], want: list[tuple[Any, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want], (got, want)
    assert np.allclose([s for _, s in got], [s for _, s in want], rtol=EPS, atol=EPS)


def grpc_query(grpc: QdrantClient, body: dict[str, Any]) -> list[tuple[Any, float]]:
    """The REST body as qdrant-client's ``query_points`` call (the client builds QueryPoints)."""
    req = models.QueryRequest.model_validate(body)
    res = grpc.query_points(
        COLL, query=req.query, using=req.using, prefetch=req.prefetch,
        query_filter=req.filter, search_params=req.params, limit=req.limit or 10,
        offset=req.offset, score_threshold=req.score_threshold,
        lookup_from=req.lookup_from, with_payload=False,
    )
    return pairs(res.points)


def both(env: tuple[httpx.Client, QdrantClient], body: dict[str, Any]) -> list[Any]:
    http, grpc = env
    want = pairs(rest(http, body)["points"])
    same(grpc_query(grpc, body), want)
    return want


def kind_cases() -> dict[str, dict[str, Any]]:
    """One compact case per kind and vector storage, ids and vectors mixed as examples."""
    cases: dict[str, dict[str, Any]] = {}
    for name in NAMES:
        rng = _rng("grpc", name)
        for strategy in ("average_vector", "best_score", "sum_scores"):
            if name == "m" and strategy == "average_vector":
                continue
            cases[f"recommend-{strategy}-{name}"] = {
                "query": {"recommend": {
                    "positive": [example(rng, name), example(rng, name)],
                    "negative": [example(rng, name)], "strategy": strategy}},
                "using": name, "limit": 12}
        ctx = [{"positive": example(rng, name), "negative": example(rng, name)}
               for _ in range(2)]
        cases[f"discover-{name}"] = {
            "query": {"discover": {"target": example(rng, name), "context": ctx}},
            "using": name, "limit": 15}
        cases[f"context-{name}"] = {"query": {"context": ctx}, "using": name, "limit": 40}
        cases[f"feedback-{name}"] = {"query": {"relevance_feedback": {
            "target": example(rng, name),
            "feedback": [{"example": example(rng, name), "score": 0.9},
                         {"example": example(rng, name), "score": 0.2}],
            "strategy": {"naive": {"a": 1.5, "b": 0.5, "c": 0.7}}}}, "using": name, "limit": 12}
    for name in ("c", "d", "e", "m"):
        rng = _rng("grpc-mmr", name)
        cases[f"mmr-{name}"] = {"query": {"nearest": vector(rng, name, True),
                                          "mmr": {"diversity": 0.5, "candidates_limit": 30}},
                                "using": name, "limit": 8}
    cases["mmr-defaults-filter"] = {
        "query": {"nearest": vector(_rng("grpc-mmr-d"), "c", True), "mmr": {}}, "using": "c",
        "limit": 8, "filter": {"must": [{"key": "k", "match": {"any": [1, 2]}}]}}
    for name, formula in FORMULAS.items():
        cases[f"formula-{name}"] = {"prefetch": PREFETCH, "limit": 25,
                                    "query": {"formula": formula, "defaults": {"x": 0.25}}}
    cases["formula-default-score"] = {
        "prefetch": PREFETCH, "limit": 60,
        "query": {"formula": {"sum": ["$score[1]", "x"]},
                  "defaults": {"$score[1]": -3.0, "x": 1.0}}}
    for name, tree in TREES.items():
        cases[f"tree-{name}"] = tree
    return cases


CASES = kind_cases()


@pytest.mark.parametrize("case", list(CASES))
def test_kind_over_grpc_matches_rest(env: Any, case: str) -> None:
    both(env, CASES[case])


@pytest.mark.parametrize("case", ["recommend-best_score-d", "discover-s", "formula-geo",
                                  "formula-datetime", "tree-deep"])
def test_kind_over_grpc_matches_edge(env: Any, case: str) -> None:
    _, grpc = env
    oracle = EdgeOracle(VECTORS, SPARSE, POINTS)
    assert_same(grpc_query(grpc, CASES[case]), oracle.query(CASES[case]))


def test_sample_over_grpc(env: Any) -> None:
    _, grpc = env
    flt = models.Filter(must=[models.FieldCondition(key="k", match=models.MatchValue(value=2))])
    matching = {p["id"] for p in POINTS if p["payload"]["k"] == 2}
    res = grpc.query_points(COLL, query=models.SampleQuery(sample=models.Sample.RANDOM),
                            query_filter=flt, limit=1000)
    assert {p.id for p in res.points} == matching


def test_lookup_from_over_grpc(env: Any) -> None:
    http, grpc = env
    other = COLL + "_other"
    r = http.put(f"/collections/{other}", json={"vectors": {"dd": VECTORS["d"]}})
    assert r.status_code == 200, r.text
    rng = _rng("grpc-lookup")
    r = http.put(f"/collections/{other}/points?wait=true", json={"points": [
        {"id": i, "vector": {"dd": vector(rng, "d")}} for i in range(3)]})
    assert r.status_code == 200, r.text
    body = {"query": {"recommend": {"positive": [0, 1], "negative": [2],
                                    "strategy": "sum_scores"}},
            "using": "d", "lookup_from": {"collection": other, "vector": "dd"}}
    both(env, body)


def test_query_batch_over_grpc(env: Any) -> None:
    http, grpc = env
    bodies = [CASES[c] for c in ("recommend-sum_scores-c", "discover-m", "feedback-si",
                                 "mmr-e", "formula-gauss", "tree-rrf_over_kinds")]
    want = rest(http, {"searches": bodies}, "query/batch")
    got = grpc.query_batch_points(COLL, [models.QueryRequest.model_validate(b) for b in bodies])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        same(pairs(g.points), pairs(w["points"]))


def test_query_groups_over_grpc(env: Any) -> None:
    http, grpc = env
    body = {"query": {"discover": {"target": 5, "context": [{"positive": 3, "negative": 4}]}},
            "using": "c", "group_by": "k", "group_size": 3, "limit": 4}
    want = rest(http, body, "query/groups")["groups"]
    got = grpc.query_points_groups(
        COLL, group_by="k", query=models.DiscoverQuery(discover=models.DiscoverInput(
            target=5, context=[models.ContextPair(positive=3, negative=4)])),
        using="c", group_size=3, limit=4).groups
    assert [g.id for g in got] == [g["id"] for g in want]
    for g, w in zip(got, want, strict=True):
        same(pairs(g.hits), pairs(w["hits"]))
