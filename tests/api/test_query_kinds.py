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


# --- formula --------------------------------------------------------------------------------

PREFETCH = [
    {"query": [0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.0, 0.6], "using": "d", "limit": 40},
    {"query": [0.1, 0.2, -0.3, 0.4, 0.0, -0.1, 0.5, 0.2], "using": "c", "limit": 30},
]
FORMULAS: dict[str, Any] = {
    "score": "$score",
    "score1": {"sum": ["$score", {"mult": [0.5, "$score[1]"]}]},
    "payload": {"sum": ["$score", {"mult": ["x", 0.1]}]},
    "cond": {"sum": ["$score", {"mult": [2, {"key": "k", "match": {"any": [1, 3]}}]}]},
    "neg_abs": {"neg": {"abs": "x"}},
    "div": {"div": {"left": "$score", "right": {"sum": ["k", -2]}, "by_zero_default": 7.5}},
    "sqrt": {"sqrt": {"abs": "x"}},
    "pow": {"pow": {"base": {"abs": "x"}, "exponent": 1.5}},
    "exp": {"exp": {"mult": ["$score", 0.1]}},
    "log10": {"log10": {"sum": [{"abs": "x"}, 1]}},
    "ln": {"ln": {"sum": [{"abs": "x"}, 1]}},
    "geo": {"geo_distance": {"origin": {"lon": 1.5, "lat": 50.0}, "to": "g"}},
    "datetime": {"sum": [{"datetime_key": "t"}, {"neg": {"datetime": "2024-01-01T00:00:00Z"}}]},
    "lin": {"lin_decay": {"x": "x", "target": 1.0, "scale": 4.0, "midpoint": 0.2}},
    "exp_decay": {"exp_decay": {"x": "x", "target": {"mult": ["k", 0.5]}, "scale": 2.0}},
    "gauss": {"gauss_decay": {"x": {"datetime_key": "t"}, "target": {"datetime": "2024-05-01"},
                              "scale": 5e6, "midpoint": 0.3}},
    "gauss_default": {"gauss_decay": {"x": "x"}},
    # a zero factor ends the product: 1 / (k - 2) is never worked out where k == 2
    "mult_zero": {"mult": [{"must_not": [{"key": "k", "match": {"value": 2}}]},
                           {"div": {"left": 1, "right": {"sum": ["k", -2]}}}]},
}


@pytest.mark.parametrize("name", list(FORMULAS))
def test_formula(env: Any, name: str) -> None:
    check(env, {"prefetch": PREFETCH, "query": {"formula": FORMULAS[name],
                                                "defaults": {"x": 0.25}}, "limit": 25})


def test_formula_defaults_and_missing_scores(env: Any) -> None:
    body = {"prefetch": PREFETCH, "limit": 60,
            "query": {"formula": {"sum": ["$score[1]", "x"]},
                      "defaults": {"$score[1]": -3.0, "x": 1.0}}}
    check(env, body)


@pytest.mark.parametrize("formula, error", [
    ("x", "No value found in a payload nor defaults for variable `x`"),
    ({"div": {"left": 1, "right": {"sum": ["k", -2]}}}, "non-finite"),
    ({"sqrt": {"neg": {"abs": "k"}}}, "non-finite"),
    ({"ln": "k"}, "non-finite"),
    ({"lin_decay": {"x": "k", "scale": 0}}, "Decay scale should be non-zero positive, got 0."),
    ({"exp_decay": {"x": "k", "midpoint": 1.0}},
     "Decay midpoint should be in the range (0.0, 1.0), got 1."),
    ({"lin_decay": {"x": "k", "midpoint": 1.5}},
     "Linear decay midpoint should be in the range [0.0, 1.0], got 1.5."),
    ({"datetime": "nope"}, "failed to parse date-time nope"),
    ("a..b", "failed to parse variable ID a..b"),
    ({"key": "k", "bogus": 1}, "Bad filter"),
])
def test_formula_errors(env: Any, formula: Any, error: str) -> None:
    http, _ = env
    r = http.post(f"/collections/{COLL}/points/query",
                  json={"prefetch": PREFETCH, "query": {"formula": formula}})
    assert error in assert_rejected(r, 400)["status"]["error"]


def test_formula_needs_prefetch(env: Any) -> None:
    http, _ = env
    r = http.post(f"/collections/{COLL}/points/query", json={"query": {"formula": 1}})
    assert "cannot apply Formula without prefetches" in assert_rejected(r, 400)["status"]["error"]


# --- sample ---------------------------------------------------------------------------------


def test_sample_random(env: Any) -> None:
    http, _ = env
    flt = {"must": [{"key": "k", "match": {"value": 2}}]}
    matching = {p["id"] for p in POINTS if p["payload"]["k"] == 2}
    seen: list[tuple[Any, ...]] = []
    for _ in range(5):
        got = heron_query(http, {"query": {"sample": "random"}, "filter": flt, "limit": 10})
        ids = [i for i, _ in got]
        assert len(ids) == 10 == len(set(ids)) and set(ids) <= matching
        seen.append(tuple(ids))
    assert len(set(seen)) > 1  # 5 draws of 10 from ~60 points: equal draws are ~impossible
    every = heron_query(http, {"query": {"sample": "random"}, "filter": flt, "limit": 1000})
    assert {i for i, _ in every} == matching
    inner = heron_query(http, {"prefetch": PREFETCH[0], "query": {"sample": "random"},
                               "limit": 100})
    assert {i for i, _ in inner} == {i for i, _ in heron_query(http, PREFETCH[0])}


# --- kinds in prefetch trees, batch, groups, explain ---------------------------------------


def _recommend(name: str, seed: str) -> dict[str, Any]:
    rng = _rng(seed)
    return {"recommend": {"positive": [example(rng, name)], "negative": [example(rng, name)],
                          "strategy": "best_score"}}


TREES: dict[str, dict[str, Any]] = {
    "formula_over_kinds": {
        "prefetch": [
            {"query": _recommend("d", "t1"), "using": "d", "limit": 30},
            {"query": {"discover": {"target": 5, "context": {"positive": 3, "negative": 4}}},
             "using": "c", "limit": 30},
        ],
        "query": {"formula": {"sum": ["$score", {"mult": [0.5, "$score[1]"]}, "x"]},
                  "defaults": {"x": 0}},
        "limit": 20,
    },
    "rrf_over_kinds": {
        "prefetch": [
            {"query": {"discover": {"target": 7, "context": [{"positive": 8, "negative": 9}]}},
             "using": "e", "limit": 25},
            {"query": {"relevance_feedback": {
                "target": 10, "feedback": [{"example": 11, "score": 0.9},
                                           {"example": 12, "score": 0.2}],
                "strategy": {"naive": {"a": 1, "b": 1, "c": 1}}}}, "using": "s", "limit": 25},
        ],
        "query": {"fusion": "rrf"}, "limit": 15,
    },
    "recommend_rescores": {
        "prefetch": {"query": PREFETCH[0]["query"], "using": "d", "limit": 80,
                     "filter": {"must": [{"key": "k", "range": {"gte": 1}}]}},
        "query": _recommend("c", "t2") | {}, "using": "c", "limit": 12,
    },
    "deep": {
        "prefetch": {
            "prefetch": {"query": {"discover": {
                "target": 24, "context": [{"positive": 20, "negative": 21},
                                          {"positive": 22, "negative": 23}]}},
                "using": "d", "limit": 120},
            "query": {"formula": {"mult": ["$score", {"exp_decay": {"x": "k", "scale": 3}}]}},
            "limit": 60,
        },
        "query": {"nearest": PREFETCH[1]["query"], "mmr": {"diversity": 0.4,
                                                           "candidates_limit": 40}},
        "using": "c", "limit": 10,
    },
    "threshold_offset_filter": {
        "query": {"recommend": {"positive": [30, 31], "negative": [32], "strategy": "sum_scores"}},
        "using": "d", "score_threshold": 0.5, "offset": 3, "limit": 10,
        "filter": {"must": [{"key": "k", "match": {"any": [0, 1, 4]}}]},
    },
}


@pytest.mark.parametrize("tree", list(TREES))
def test_kinds_in_prefetch_trees(env: Any, tree: str) -> None:
    check(env, TREES[tree])


def test_kinds_in_batch_and_explain(env: Any) -> None:
    http, oracle = env
    searches = [TREES[t] for t in TREES]
    r = http.post(f"/collections/{COLL}/points/query/batch", json={"searches": searches})
    assert r.status_code == 200, r.text
    for body, result in zip(searches, r.json()["result"], strict=True):
        assert_same([(p["id"], p["score"]) for p in result["points"]], oracle.query(body))
    r = http.post(f"/collections/{COLL}/points/query?explain=true", json=TREES["deep"])
    kinds = [s["kind"] for s in r.json()["result"]["explain"]["stages"]]
    assert sorted(kinds) == ["discover", "formula", "mmr"]


def test_mmr_in_a_prefetch(env: Any) -> None:
    """As in Qdrant's engine: an MMR prefetch that has prefetches re-ranks them; one without
    hands its parent its ``candidates_limit`` nearest points as they are."""
    q = {"nearest": PREFETCH[1]["query"], "mmr": {"diversity": 0.6, "candidates_limit": 25}}
    flt = {"must": [{"key": "k", "range": {"lte": 3}}]}
    leaf = {"query": q, "using": "c", "limit": 12, "filter": flt}
    check(env, {"prefetch": leaf, "query": {"formula": "$score"}, "limit": 50})
    inner = leaf | {"prefetch": {"query": PREFETCH[0]["query"], "using": "d", "limit": 60}}
    check(env, {"prefetch": inner, "query": {"formula": "$score"}, "limit": 50})


def test_kinds_in_groups(env: Any) -> None:
    http, oracle = env
    body = {"query": _recommend("d", "g"), "using": "d", "group_by": "k", "group_size": 3,
            "limit": 4}
    r = http.post(f"/collections/{COLL}/points/query/groups", json=body)
    assert r.status_code == 200, r.text
    ranked = oracle.query({"query": body["query"], "using": "d", "limit": N})
    kind_of = {p["id"]: p["payload"]["k"] for p in POINTS}
    want: dict[int, list[tuple[Any, float]]] = {}
    for pid, score in ranked:
        hits = want.setdefault(kind_of[pid], [])
        if len(hits) < 3:
            hits.append((pid, score))
    groups = r.json()["result"]["groups"]
    assert [g["id"] for g in groups] == list(want)[:4]
    for g in groups:
        assert_same([(h["id"], h["score"]) for h in g["hits"]], want[g["id"]])


def test_lookup_from(env: Any) -> None:
    http, oracle = env
    other = COLL + "_other"
    r = http.put(f"/collections/{other}", json={"vectors": {"dd": VECTORS["d"]}})
    assert r.status_code == 200, r.text
    rng = _rng("lookup")
    stored = {i: vector(rng, "d") for i in range(3)}
    r = http.put(f"/collections/{other}/points?wait=true", json={"points": [
        {"id": i, "vector": {"dd": v}} for i, v in stored.items()]})
    assert r.status_code == 200, r.text
    got = heron_query(http, {"query": {"recommend": {"positive": [0, 1], "negative": [2],
                                                     "strategy": "sum_scores"}},
                             "using": "d", "lookup_from": {"collection": other, "vector": "dd"}})
    # ids from another collection are not left out of the results
    want = oracle.query({"query": {"recommend": {"positive": [stored[0], stored[1]],
                                                 "negative": [stored[2]],
                                                 "strategy": "sum_scores"}}, "using": "d"})
    assert_same(got, want)


# --- bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("query, status, error", [
    ({"recommend": {}}, 400, "Wrong input: Positive vectors should not be empty with `average`"),
    ({"recommend": {"strategy": "best_score"}}, 400, "Wrong input: At least one positive"),
    ({"recommend": {"positive": [1], "strategy": "nope"}}, 400,
     "Format error in JSON body: query.recommend.strategy: unknown variant `nope`"),
    ({"recommend": {"positive": [[1.0, 2.0]], "strategy": "best_score"}}, 400, "dimension"),
    ({"recommend": {"positive": [99999], "strategy": "sum_scores"}}, 404, "99999"),
    ({"discover": {"context": []}}, 400,
     "Format error in JSON body: query.discover: missing field `target`"),
    ({"context": [{"positive": 1}]}, 400,
     "Format error in JSON body: query.context[0]: missing field `negative`"),
    ({"relevance_feedback": {"target": 1, "feedback": [],
                             "strategy": {"naive": {"a": 1, "b": -1, "c": 1}}}}, 422,
     "Validation error in JSON body: [query.relevance_feedback.strategy.naive.b: value -1 "
     "invalid, must be 0 or larger]"),
    ({"relevance_feedback": {"target": 1, "feedback": [], "strategy": {"other": {}}}}, 400,
     "Format error in JSON body: query.relevance_feedback.strategy: unknown variant `other`"),
    ({"nearest": [0.0] * 8, "mmr": {"diversity": 1.5}}, 422,
     "Validation error in JSON body: [query.mmr.diversity: value 1.5 invalid, must be 1 or "
     "smaller]"),
    ({"nearest": [0.0] * 8, "mmr": {"candidates_limit": 20000}}, 422,
     "Validation error in JSON body: [query.mmr.candidates_limit: value 20000 invalid"),
    ({"nearest": [0.0] * 8, "mmr": {"candidates_limit": -1}}, 400,
     "Format error in JSON body: query.mmr.candidates_limit: "),
    ({"sample": "first"}, 400,
     "Format error in JSON body: query.sample: unknown variant `first`, expected `random`"),
])
def test_bad_kind_requests(env: Any, query: Any, status: int, error: str) -> None:
    """Qdrant's split: unreadable JSON is a 400 format error, a schema bound a 422, the
    engine's own checks 400 ``Wrong input``, a missing example point a 404."""
    http, _ = env
    r = http.post(f"/collections/{COLL}/points/query", json={"query": query, "using": "d"})
    body = assert_rejected(r, status)
    text = body["status"]["error"]
    assert text.startswith(error) if error[0].isupper() else error in text, body
