"""Random prefetch trees mixing the new query kinds with the old ones, heron vs Qdrant's engine.

Hypothesis draws trees up to three levels deep over the dense vectors (Cosine, Dot, Euclid,
multivector) whose nodes are nearest searches, recommend (best_score, sum_scores), discover,
relevance feedback and, above prefetches, formulas and RRF; the root may also be MMR. Every
node has its own limit and sometimes a filter. A tree in which some prefetch's output holds
near-equal scores (where either engine may rank them either way) is rejected; at the root,
runs of equal scores compare as sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.api.test_query_kinds import HAS, assert_same, heron_query
from tests.api.test_query_kinds import env as env  # noqa: F401 - the module fixture

DENSE = ["c", "d", "e", "m"]
DIMS = {"c": 8, "d": 8, "e": 8, "m": 4}
FILTERS = [
    None,
    {"must": [{"key": "k", "match": {"any": [0, 2, 3]}}]},
    {"must_not": [{"key": "k", "match": {"value": 1}}]},
    {"must": [{"key": "x", "range": {"gte": -2.0}}]},
]
TIE = 1e-5


@st.composite
def vectors(draw: st.DrawFn, name: str) -> Any:
    if draw(st.booleans()):
        return draw(st.sampled_from(HAS[name][:60]))
    size = DIMS[name]
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    if name == "m":
        return rng.normal(size=(int(rng.integers(1, 3)), size)).astype(np.float32).tolist()
    return rng.normal(size=size).astype(np.float32).tolist()


@st.composite
def vector_query(draw: st.DrawFn, name: str) -> Any:
    kind = draw(st.sampled_from(["nearest", "best_score", "sum_scores", "discover", "feedback"]))
    v = vectors(name)
    if kind == "nearest":
        return draw(v)
    if kind in ("best_score", "sum_scores"):
        return {"recommend": {"positive": draw(st.lists(v, min_size=1, max_size=2)),
                              "negative": draw(st.lists(v, max_size=2)), "strategy": kind}}
    if kind == "discover":
        pairs = draw(st.lists(st.fixed_dictionaries({"positive": v, "negative": v}),
                              max_size=2))
        return {"discover": {"target": draw(v), "context": pairs}}
    items = draw(st.lists(st.fixed_dictionaries({
        "example": v, "score": st.sampled_from([0.1, 0.5, 0.9])}), min_size=1, max_size=3))
    return {"relevance_feedback": {"target": draw(v), "feedback": items,
                                   "strategy": {"naive": {"a": 1.0, "b": 0.5, "c": 0.7}}}}


FORMULA = st.sampled_from([
    "$score",
    {"sum": ["$score", {"mult": [0.3, "$score[1]"]}]},
    {"mult": ["$score", {"lin_decay": {"x": "x", "scale": 8.0}}]},
    {"sum": ["$score", {"mult": [0.5, {"key": "k", "match": {"value": 2}}]}, "x"]},
])


@st.composite
def tree(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    node: dict[str, Any] = {"limit": draw(st.integers(3, 30))}
    flt = draw(st.sampled_from(FILTERS))
    if flt is not None:
        node["filter"] = flt
    merge = depth < 2 and draw(st.booleans())
    if merge:
        node["prefetch"] = draw(st.lists(tree(depth + 1), min_size=1, max_size=2))
        how = draw(st.sampled_from(["formula", "rrf", "vector"]))
        if how == "formula":
            node["query"] = {"formula": draw(FORMULA), "defaults": {"x": 0.0}}
            return node
        if how == "rrf":
            node["query"] = {"fusion": "rrf"}
            return node
    name = draw(st.sampled_from(DENSE))
    node["using"] = name
    node["query"] = draw(vector_query(name))
    return node


def _stages(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for child in node.get("prefetch", []):
        out.append(child)
        out.extend(_stages(child))
    return out


def _tied(scores: list[float]) -> bool:
    s = np.asarray(scores)
    return bool(len(s) > 1 and (np.abs(np.diff(s)) <= TIE * np.maximum(1.0, np.abs(s[1:]))).any())


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(body=tree(), mmr=st.booleans(), seed=st.integers(0, 2**31))
def test_random_trees_match_the_engine(env: Any, body: dict[str, Any], mmr: bool,
                                       seed: int) -> None:
    http, oracle = env
    for stage in _stages(body):
        alone = dict(stage)
        alone["limit"] = stage["limit"] + 1
        assume(not _tied([s for _, s in oracle.query(alone)]))
    if mmr and "prefetch" in body:
        rng = np.random.default_rng(seed)
        name = str(rng.choice(DENSE))
        size = DIMS[name]
        vec = rng.normal(size=(2, size) if name == "m" else size).astype(np.float32).tolist()
        body = body | {"using": name, "query": {
            "nearest": vec, "mmr": {"diversity": float(rng.uniform(0, 1)),
                                    "candidates_limit": int(rng.integers(5, 40))}}}
    assert_same(heron_query(http, body), oracle.query(body))
