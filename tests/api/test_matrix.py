"""``/points/search/matrix/pairs`` and ``/offsets``: the sample is drawn from the right points
and every sampled point's neighbours among the sample agree with numpy."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.checks import assert_rejected

N, DIM = 120, 6


def setup(client: QdrantClient, name: str, rng: np.random.Generator) -> dict[str, Any]:
    """Points with dense vectors of three distances, a sparse vector on most, a group."""
    client.create_collection(
        name,
        vectors_config={
            "cos": models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            "dot": models.VectorParams(size=DIM, distance=models.Distance.DOT),
            "l2": models.VectorParams(size=DIM, distance=models.Distance.EUCLID),
        },
        sparse_vectors_config={"sp": models.SparseVectorParams()},
    )
    data: dict[str, Any] = {"dense": rng.normal(size=(N, DIM)).astype(np.float32),
                            "sparse": {}, "group": rng.integers(0, 3, size=N)}
    points = []
    for i in range(N):
        vec: dict[str, Any] = {n: data["dense"][i].tolist() for n in ("cos", "dot", "l2")}
        if i % 5:
            idx = sorted(rng.choice(30, size=4, replace=False).tolist())
            val = rng.uniform(0.1, 1.0, size=4).astype(np.float32).tolist()
            data["sparse"][i] = dict(zip(idx, val, strict=True))
            vec["sp"] = models.SparseVector(indices=idx, values=val)
        points.append(models.PointStruct(id=i, vector=vec, payload={"g": int(data["group"][i])}))
    client.upsert(name, points)
    return data


def score(data: dict[str, Any], using: str, a: int, b: int) -> float:
    x, y = data["dense"][a].astype(np.float64), data["dense"][b].astype(np.float64)
    if using == "cos":
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
    if using == "dot":
        return float(x @ y)
    if using == "l2":
        return float(np.linalg.norm(x - y))
    sa, sb = data["sparse"][a], data["sparse"][b]
    return float(sum(v * sb[k] for k, v in sa.items() if k in sb))


def check_neighbours(data: dict[str, Any], using: str, ids: list[int],
                     rows: list[list[tuple[int, float]]], limit: int) -> None:
    """Row i holds sampled point i's best ``limit`` others, best first, with true scores."""
    lower = using == "l2"
    for a, row in zip(ids, rows, strict=True):
        truth = [(b, score(data, using, a, b)) for b in ids if b != a]
        if using == "sp":
            truth = [(b, s) for b, s in truth if any(k in data["sparse"][b]
                                                      for k in data["sparse"][a])]
        truth.sort(key=lambda t: t[1] if lower else -t[1])
        assert len(row) == min(limit, len(truth)), (a, row)
        for (b, s), (_, want) in zip(row, truth, strict=False):
            assert s == pytest.approx(score(data, using, a, b), rel=1e-4, abs=1e-5)
            assert s == pytest.approx(want, rel=1e-4, abs=1e-5)  # as good as the true rank


@pytest.mark.parametrize("using", ["cos", "dot", "l2", "sp"])
def test_pairs_and_offsets_agree_with_numpy(
    client: QdrantClient, collection_name: str, using: str
) -> None:
    data = setup(client, collection_name, np.random.default_rng(4))
    flt = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=1))])
    allowed = {i for i in range(N) if data["group"][i] == 1
               and (using != "sp" or i in data["sparse"])}
    for sample, limit in ((10, 3), (25, 5), (500, 2)):
        got = client.search_matrix_pairs(collection_name, query_filter=flt, sample=sample,
                                         limit=limit, using=using)
        sampled: list[int] = []
        rows: dict[int, list[tuple[int, float]]] = {}
        for pair in got.pairs:
            if pair.a not in rows:
                sampled.append(pair.a)
                rows[pair.a] = []
            rows[pair.a].append((pair.b, pair.score))
        assert set(sampled) <= allowed
        assert {b for r in rows.values() for b, _ in r} <= allowed
        off = client.search_matrix_offsets(collection_name, query_filter=flt, sample=sample,
                                           limit=limit, using=using)
        assert len(off.ids) == min(sample, len(allowed)) and len(set(off.ids)) == len(off.ids)
        assert set(off.ids) <= allowed
        assert len(off.offsets_row) == len(off.offsets_col) == len(off.scores)
        by_row: list[list[tuple[int, float]]] = [[] for _ in off.ids]
        for r, c, s in zip(off.offsets_row, off.offsets_col, off.scores, strict=True):
            assert r != c
            by_row[r].append((off.ids[c], s))
        assert off.offsets_row == sorted(off.offsets_row)
        check_neighbours(data, using, list(off.ids), by_row, limit)
        if sample >= len(allowed) and using != "sp":  # every allowed point sampled
            assert set(off.ids) == allowed
            check_neighbours(data, using, sampled, [rows[a] for a in sampled], limit)


def test_defaults_and_refusals(client: QdrantClient, http: httpx.Client,
                               collection_name: str) -> None:
    setup(client, collection_name, np.random.default_rng(8))
    url = f"/collections/{collection_name}/points/search/matrix"
    r = http.post(url + "/offsets", json={"using": "dot"})
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    assert len(res["ids"]) == 10 and len(res["scores"]) == 30  # sample 10, limit 3
    r = http.post(url + "/pairs", json={"using": "l2", "sample": 2, "limit": 1})
    assert r.status_code == 200 and len(r.json()["result"]["pairs"]) == 2, r.text
    for bad in ({"sample": "5", "using": "dot"}, {"using": "nope"}, {"using": 3},
                {"using": "dot", "filter": {"must": "x"}}, {}):
        for kind in ("pairs", "offsets"):
            assert_rejected(http.post(f"{url}/{kind}", json=bad), 400)
    for bad in ({"sample": 1, "using": "dot"}, {"limit": 0, "using": "dot"}):  # schema minimums
        for kind in ("pairs", "offsets"):
            assert_rejected(http.post(f"{url}/{kind}", json=bad), 422)
    assert_rejected(http.post("/collections/nope/points/search/matrix/pairs", json={}), 404)
    # nothing matches: an empty matrix
    r = http.post(url + "/pairs", json={"using": "dot", "filter": {
        "must": [{"key": "g", "match": {"value": 99}}]}})
    assert r.status_code == 200 and r.json()["result"] == {"pairs": []}, r.text
