"""The Query API kinds over gRPC (qdrant-client, ``prefer_grpc=True``) against the same requests
over REST: recommend, discover, context, relevance feedback, MMR, formula, sample, in prefetch
trees, QueryBatch and QueryGroups. Same ids, scores within 1e-5; a few also against qdrant-edge.
The legacy Recommend / Discover RPCs (raw stubs) and REST endpoints must answer as the query
they translate to.

The points go in over gRPC too, so the upsert conversion of every vector kind is covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc as grpcio
import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as q

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
    """(id, score) of REST points, qdrant-client's models or raw ``ScoredPoint`` messages."""
    return [(p["id"], p["score"]) if isinstance(p, dict) else (_id(p.id), p.score)
            for p in points]


def _id(pid: Any) -> Any:
    if isinstance(pid, q.PointId):
        return pid.num if pid.HasField("num") else pid.uuid
    return pid


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


# --- the legacy recommend / discover endpoints and RPCs -----------------------------------


@pytest.fixture(scope="module")
def points_stub(env: Any, heron: HeronProcess) -> Iterator[Any]:
    with grpcio.insecure_channel(f"127.0.0.1:{heron.grpc_port}") as channel:
        yield q.PointsStub(channel)


def _example(v: Any) -> Any:
    return q.VectorExample(id=q.PointId(num=v)) if isinstance(v, int) else q.VectorExample(
        vector=_vector(v))


def _vector(v: Any) -> Any:
    if isinstance(v, dict):
        return q.Vector(sparse=q.SparseVector(indices=v["indices"], values=v["values"]))
    if v and isinstance(v[0], list):
        return q.Vector(multi_dense=q.MultiDenseVector(
            vectors=[q.DenseVector(data=row) for row in v]))
    return q.Vector(dense=q.DenseVector(data=v))


STRATEGY = {"average_vector": q.RecommendStrategy.AverageVector,
            "best_score": q.RecommendStrategy.BestScore, "sum_scores": q.RecommendStrategy.SumScores}
FILTER = {"must": [{"key": "k", "match": {"any": [0, 1, 3]}}]}
GRPC_FILTER = q.Filter(must=[q.Condition(field=q.FieldCondition(
    key="k", match=q.Match(integers=q.RepeatedIntegers(integers=[0, 1, 3]))))])


def legacy_recommend(name: str, strategy: str) -> tuple[dict[str, Any], Any]:
    """The same legacy recommend request as a REST body and as ``RecommendPoints``."""
    rng = _rng("legacy", name, strategy)
    pos = [int(rng.choice(HAS_ALL[name])), vector(rng, name, True)]
    neg = [int(rng.choice(HAS_ALL[name]))]
    body = {"positive": pos, "negative": neg, "strategy": strategy, "using": name,
            "limit": 9, "offset": 1, "filter": FILTER}
    msg = q.RecommendPoints(
        collection_name=COLL, positive=[q.PointId(num=v) for v in pos if isinstance(v, int)],
        negative=[q.PointId(num=v) for v in neg],
        positive_vectors=[_vector(v) for v in pos if not isinstance(v, int)],
        strategy=STRATEGY[strategy], using=name, limit=9, offset=1, filter=GRPC_FILTER)
    return body, msg


def legacy_discover(name: str) -> tuple[dict[str, Any], Any]:
    rng = _rng("legacy-discover", name)
    target = example(rng, name)
    ctx = [(example(rng, name), example(rng, name)) for _ in range(2)]
    body = {"target": target, "using": name, "limit": 11,
            "context": [{"positive": p, "negative": n} for p, n in ctx]}
    msg = q.DiscoverPoints(
        collection_name=COLL, target=q.TargetVector(single=_example(target)), using=name,
        limit=11, context=[q.ContextExamplePair(positive=_example(p), negative=_example(n))
                           for p, n in ctx])
    return body, msg


HAS_ALL = {n: [p["id"] for p in POINTS if n in p["vector"]] for n in NAMES}
LEGACY = [(n, s) for n in ("c", "e", "s") for s in STRATEGY] + [("m", "best_score")]


@pytest.mark.parametrize("name, strategy", LEGACY)
def test_legacy_recommend(env: Any, points_stub: Any, name: str, strategy: str) -> None:
    http, _ = env
    body, msg = legacy_recommend(name, strategy)
    rec = {k: body[k] for k in ("positive", "negative", "strategy")}
    want = pairs(rest(http, {"query": {"recommend": rec}, "using": name, "limit": 9,
                             "offset": 1, "filter": FILTER})["points"])
    assert want
    same(pairs(rest(http, body, "recommend")), want)
    same(pairs(points_stub.Recommend(msg).result), want)


@pytest.mark.parametrize("name", ["d", "si", "m"])
def test_legacy_discover(env: Any, points_stub: Any, name: str) -> None:
    http, _ = env
    body, msg = legacy_discover(name)
    want = pairs(rest(http, {"query": {"discover": {k: body[k] for k in ("target", "context")}},
                             "using": name, "limit": 11})["points"])
    same(pairs(rest(http, body, "discover")), want)
    same(pairs(points_stub.Discover(msg).result), want)


def test_legacy_batches_and_groups(env: Any, points_stub: Any) -> None:
    http, _ = env
    recs = [legacy_recommend("d", "sum_scores"), legacy_recommend("s", "best_score")]
    discs = [legacy_discover("c"), legacy_discover("e")]
    for path, cases, rpc, field in (
        ("recommend/batch", recs, points_stub.RecommendBatch, "recommend_points"),
        ("discover/batch", discs, points_stub.DiscoverBatch, "discover_points"),
    ):
        want = rest(http, {"searches": [b for b, _ in cases]}, path)
        single = path.split("/")[0]
        request = getattr(q, type(cases[0][1]).__name__.replace("Points", "BatchPoints"))
        got = rpc(request(collection_name=COLL, **{field: [m for _, m in cases]})).result
        assert len(got) == len(want) == len(cases)
        for g, w, (b, _) in zip(got, want, cases, strict=True):
            same(pairs(g.result), pairs(w))
            same(pairs(w), pairs(rest(http, b, single)))
    body, msg = legacy_recommend("c", "best_score")
    body |= {"group_by": "k", "group_size": 2, "limit": 3}
    body.pop("offset")
    want = rest(http, body, "recommend/groups")["groups"]
    grouped = q.RecommendPointGroups(
        collection_name=COLL, positive=msg.positive, negative=msg.negative,
        positive_vectors=msg.positive_vectors, strategy=msg.strategy, using="c",
        filter=GRPC_FILTER, group_by="k", group_size=2, limit=3)
    got = points_stub.RecommendGroups(grouped).result.groups
    assert len(want) == 3 and [g.id.unsigned_value for g in got] == [g["id"] for g in want]
    for g, w in zip(got, want, strict=True):
        same(pairs(g.hits), pairs(w["hits"]))


@pytest.mark.parametrize("path, body, error", [
    ("discover", {"context": []}, "missing field `target`"),
    ("recommend", {"positive": [], "using": "c"}, "should not be empty"),
    ("recommend/batch", {"searches": 3}, "expected a list of recommend requests"),
])
def test_legacy_bad_requests(env: Any, path: str, body: Any, error: str) -> None:
    http, _ = env
    r = http.post(f"/collections/{COLL}/points/{path}", json=body)
    assert r.status_code == 400 and error in r.json()["status"]["error"], r.text
