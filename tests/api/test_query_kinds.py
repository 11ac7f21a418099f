"""The Query API kinds (recommend, discover, context, relevance feedback, MMR, formula,
sample) against Qdrant's own engine (qdrant-edge) on the same random data.

One collection holds six vectors of every kind (Cosine, Dot and Euclid dense, a Cosine
multivector, a plain and an IDF sparse vector, each missing from some points) and payloads with
numbers, datetimes and geo points. Each test sends a request to heron over REST and the same
request to the engine, and compares ids and scores; runs of equal scores compare as sets.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.checks import assert_rejected
from tests.oracle.edge import EdgeOracle
from tests.server import HeronProcess

COLL = "kinds"
N = 300
SEED = 4242
VOCAB = 40
VECTORS: dict[str, Any] = {
    "c": {"size": 8, "distance": "Cosine"},
    "d": {"size": 8, "distance": "Dot"},
    "e": {"size": 8, "distance": "Euclid"},
    "m": {"size": 4, "distance": "Cosine", "multivector_config": {"comparator": "max_sim"}},
}
SPARSE: dict[str, Any] = {"s": {}, "si": {"modifier": "idf"}}
NAMES = [*VECTORS, *SPARSE]
TOL = 2e-4


def _f32(a: np.ndarray) -> Any:
    return a.astype(np.float32).astype(np.float64).tolist()


def vector(rng: np.random.Generator, name: str, query: bool = False) -> Any:
    if name in SPARSE:
        nnz = int(rng.integers(1, 5) if query else rng.integers(2, 9))
        idx = sorted(int(i) for i in rng.choice(VOCAB, size=nnz, replace=False))
        return {"indices": idx, "values": _f32(rng.uniform(0.1, 2.0, size=nnz))}
    size = VECTORS[name]["size"]
    if name == "m":
        return _f32(rng.normal(size=(int(rng.integers(1, 4)), size)))
    return _f32(rng.normal(size=size))


def make_points() -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEED)
    points = []
    for i in range(N):
        vecs = {n: vector(rng, n) for n in NAMES if rng.random() < 0.9}
        payload: dict[str, Any] = {
            "k": int(rng.integers(0, 5)),
            "t": f"2024-0{int(rng.integers(1, 10))}-1{int(rng.integers(0, 10))}T10:00:00Z",
            "g": {"lon": float(rng.uniform(-10, 10)), "lat": float(rng.uniform(40, 60))},
        }
        if rng.random() < 0.9:
            payload["x"] = float(np.float32(rng.uniform(-5, 5)))
        points.append({"id": i, "vector": vecs, "payload": payload})
    return points


POINTS = make_points()
HAS = {n: [p["id"] for p in POINTS if n in p["vector"]] for n in NAMES}


@pytest.fixture(scope="module")
def env(heron: HeronProcess) -> Iterator[tuple[httpx.Client, EdgeOracle]]:
    http = httpx.Client(base_url=heron.url, timeout=60)
    r = http.put(f"/collections/{COLL}", json={
        "vectors": VECTORS, "sparse_vectors": SPARSE,
        "optimizers_config": {"indexing_threshold": 0},
    })
    assert r.status_code == 200, r.text
    for start in range(0, N, 100):
        r = http.put(f"/collections/{COLL}/points?wait=true",
                     json={"points": POINTS[start : start + 100]})
        assert r.status_code == 200, r.text
    yield http, EdgeOracle(VECTORS, SPARSE, POINTS)
    http.close()


def heron_query(http: httpx.Client, body: dict[str, Any]) -> list[tuple[Any, float]]:
    r = http.post(f"/collections/{COLL}/points/query", json=body)
    assert r.status_code == 200, r.text
    return [(p["id"], p["score"]) for p in r.json()["result"]["points"]]


def assert_same(got: list[tuple[Any, float]], want: list[tuple[Any, float]]) -> None:
    """Same scores in order; ids equal, except that runs of equal scores compare as sets
    (and the last run, cut by the limit, only by its scores)."""
    assert len(got) == len(want), (got, want)
    gs = np.array([s for _, s in got])
    ws = np.array([s for _, s in want])
    assert np.allclose(gs, ws, rtol=TOL, atol=TOL), (got, want)
    start = 0
    while start < len(want):
        end = start + 1
        while end < len(want) and abs(ws[end] - ws[start]) <= TOL * max(1.0, abs(ws[start])):
            end += 1
        if end < len(want):
            assert {i for i, _ in got[start:end]} == {i for i, _ in want[start:end]}, (got, want)
        start = end


def check(env: tuple[httpx.Client, EdgeOracle], body: dict[str, Any]) -> list[Any]:
    http, oracle = env
    got = heron_query(http, body)
    assert_same(got, oracle.query(body))
    return got


def _rng(*salt: Any) -> np.random.Generator:
    return np.random.default_rng([SEED, *(zlib.crc32(str(s).encode()) for s in salt)])


def example(rng: np.random.Generator, name: str) -> Any:
    """Half the time a stored point's id, else a fresh vector."""
    if rng.random() < 0.5:
        return int(rng.choice(HAS[name]))
    return vector(rng, name, query=True)


# --- recommend ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("strategy", ["best_score", "sum_scores"])
@pytest.mark.parametrize("shape", [(2, 1), (1, 0), (0, 2), (3, 3)])
def test_recommend_scores(env: Any, name: str, strategy: str, shape: tuple[int, int]) -> None:
    rng = _rng(name, strategy, shape)
    body = {
        "query": {"recommend": {
            "positive": [example(rng, name) for _ in range(shape[0])],
            "negative": [example(rng, name) for _ in range(shape[1])],
            "strategy": strategy,
        }},
        "using": name, "limit": 15,
    }
    got = check(env, body)
    used = {v for v in body["query"]["recommend"]["positive"] + body["query"]["recommend"]["negative"]
            if isinstance(v, int)}
    assert not used & {i for i, _ in got}


def _avg_oracle(name: str, positives: list[Any], negatives: list[Any]) -> Any:
    """2 avg(pos) - avg(neg) in numpy, from the vectors as stored (unit rows for Cosine)."""
    def stored(v: Any) -> Any:
        if isinstance(v, int):
            v = next(p for p in POINTS if p["id"] == v)["vector"][name]
            if VECTORS.get(name, {}).get("distance") == "Cosine" and name != "m":
                a = np.asarray(v)
                return (a / np.linalg.norm(a)).tolist()
        return v
    pos, neg = [stored(v) for v in positives], [stored(v) for v in negatives]
    if name in SPARSE:
        acc: dict[int, float] = {}
        for group, w in ((pos, 2.0 / len(pos)), (neg, -1.0 / max(len(neg), 1))):
            for v in group:
                for i, x in zip(v["indices"], v["values"], strict=True):
                    acc[i] = acc.get(i, 0.0) + w * x
        if not neg:
            acc = {i: x / 2 for i, x in acc.items()}
        keys = sorted(acc)
        return {"indices": keys, "values": [acc[k] for k in keys]}
    avg = np.mean(np.asarray(pos), axis=0)
    if neg:
        avg = 2 * avg - np.mean(np.asarray(neg), axis=0)
    return avg.tolist()


@pytest.mark.parametrize("name", ["c", "d", "e", "s", "si"])
@pytest.mark.parametrize("negatives", [0, 2])
def test_recommend_average_vector(env: Any, name: str, negatives: int) -> None:
    http, oracle = env
    rng = _rng("avg", name, negatives)
    pos = [example(rng, name) for _ in range(2)]
    neg = [example(rng, name) for _ in range(negatives)]
    got = heron_query(http, {"query": {"recommend": {"positive": pos, "negative": neg}},
                             "using": name, "limit": 12})
    ids = [v for v in pos + neg if isinstance(v, int)]
    want = oracle.query({"query": _avg_oracle(name, pos, neg), "using": name, "limit": 12,
                         "filter": {"must_not": [{"has_id": ids}]} if ids else None})
    assert_same(got, want)


def test_recommend_average_multivector(env: Any) -> None:
    http, oracle = env
    rng = _rng("avg-m")
    pos = [vector(rng, "m", True), vector(rng, "m", True)]
    got = heron_query(http, {"query": {"recommend": {"positive": pos}}, "using": "m"})
    assert_same(got, oracle.query({"query": pos[0] + pos[1], "using": "m"}))
    r = http.post(f"/collections/{COLL}/points/query", json={
        "query": {"recommend": {"positive": pos, "negative": [pos[0]]}}, "using": "m"})
    assert_rejected(r, 400)


# --- discover, context, feedback ------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pairs", [0, 1, 3])
def test_discover(env: Any, name: str, pairs: int) -> None:
    rng = _rng("discover", name, pairs)
    context = [{"positive": example(rng, name), "negative": example(rng, name)}
               for _ in range(pairs)]
    check(env, {"query": {"discover": {"target": example(rng, name), "context": context}},
                "using": name, "limit": 20})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pairs", [1, 2, 4])
def test_context(env: Any, name: str, pairs: int) -> None:
    rng = _rng("context", name, pairs)
    context = [{"positive": example(rng, name), "negative": example(rng, name)}
               for _ in range(pairs)]
    body = {"query": {"context": context if pairs > 1 else context[0]}, "using": name,
            "limit": 300}
    check(env, body)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("items", [1, 2, 4])
def test_relevance_feedback(env: Any, name: str, items: int) -> None:
    rng = _rng("feedback", name, items)
    feedback = [{"example": example(rng, name), "score": float(rng.choice([0.1, 0.4, 0.9]))}
                for _ in range(items)]
    strategy = {"naive": {"a": float(rng.uniform(0.2, 2)), "b": float(rng.uniform(0, 2)),
                          "c": float(rng.uniform(-1, 2))}}
    check(env, {"query": {"relevance_feedback": {
        "target": example(rng, name), "feedback": feedback, "strategy": strategy}},
        "using": name, "limit": 15})


# --- mmr ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["c", "d", "e", "m"])
@pytest.mark.parametrize("diversity", [0.0, 0.3, 0.7, 1.0])
def test_mmr(env: Any, name: str, diversity: float) -> None:
    rng = _rng("mmr", name, diversity)
    check(env, {"query": {"nearest": vector(rng, name, True),
                          "mmr": {"diversity": diversity, "candidates_limit": 40}},
                "using": name, "limit": 10})


def test_mmr_default_candidates_and_filter(env: Any) -> None:
    rng = _rng("mmr-default")
    check(env, {"query": {"nearest": vector(rng, "c", True), "mmr": {}}, "using": "c",
                "limit": 8, "filter": {"must": [{"key": "k", "match": {"any": [1, 2]}}]}})
