"""Answers shaped exactly as Qdrant's (issue 12, items 2-4), checked on the raw HTTP text:
float32 numbers written shortest, vector output shapes, and the inputs Qdrant is lenient about
(a flat multivector, uint8 conversion, any u64 limit, ``with_vectors``, ``update_mode``)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import numpy as np
import pytest

U64_MAX = 2**64 - 1


def _ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()["result"]


def _create(http: httpx.Client, name: str, body: dict[str, Any]) -> None:
    _ok(http.put(f"/collections/{name}", json=body))


def _upsert(http: httpx.Client, name: str, points: list[dict[str, Any]], **extra: Any) -> Any:
    return _ok(http.put(f"/collections/{name}/points?wait=true", json={"points": points, **extra}))


def _get(http: httpx.Client, name: str, ids: list[Any], **body: Any) -> list[dict[str, Any]]:
    return _ok(http.post(f"/collections/{name}/points", json={"ids": ids, **body}))  # type: ignore[no-any-return]


# --- item 2: numbers ----------------------------------------------------------------------------


def test_vectors_and_scores_are_shortest_float32(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {"vectors": {"size": 3, "distance": "Dot"}})
    _upsert(http, collection_name, [
        {"id": 1, "vector": [0.15, 0.1, 0.3], "payload": {"x": 0.15000000596046448, "n": 7}},
    ])
    raw = http.post(f"/collections/{collection_name}/points",
                    json={"ids": [1], "with_vector": True}).text
    assert '"vector":[0.15,0.1,0.3]' in raw
    assert '"x":0.15000000596046448' in raw and '"n":7' in raw  # payload numbers as given
    raw = http.post(f"/collections/{collection_name}/points/query",
                    json={"query": [1.0, 1.0, 1.0], "with_vector": True}).text
    score = re.search(r'"score":([^,}]+)', raw)
    assert score is not None
    want = np.float32(0.15) + np.float32(0.1) + np.float32(0.3)
    assert score.group(1) == np.format_float_positional(np.float32(want), unique=True).rstrip(".")
    # the classic Euclid example: sqrt(19) is 4.358899 as a float32
    other = collection_name + "_e"
    _create(http, other, {"vectors": {"size": 2, "distance": "Euclid"}})
    _upsert(http, other, [{"id": 1, "vector": [3.0, 3.0]}])
    raw = http.post(f"/collections/{other}/points/query", json={"query": [0.0, -1.0]}).text
    assert '"score":5.0' in raw
    raw = http.post(f"/collections/{other}/points/search",
                    json={"vector": [0.0, 4.0], "limit": 1}).text
    assert '"score":3.1622777' in raw


def test_sparse_and_multivector_numbers_are_float32(
    http: httpx.Client, collection_name: str
) -> None:
    _create(http, collection_name, {
        "vectors": {"m": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"s": {}},
    })
    _upsert(http, collection_name, [{
        "id": 1, "vector": {"m": [[0.1, 0.7]], "s": {"indices": [3], "values": [0.15]}},
    }])
    raw = http.post(f"/collections/{collection_name}/points",
                    json={"ids": [1], "with_vector": True}).text
    assert '"m":[[0.1,0.7]]' in raw
    assert '"s":{"indices":[3],"values":[0.15]}' in raw


# --- item 3: lenient inputs ---------------------------------------------------------------------


def test_flat_list_is_a_one_row_multivector(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {
        "vectors": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}},
    })
    _upsert(http, collection_name, [{"id": 1, "vector": [0.5, 0.25]}])
    _ok(http.put(f"/collections/{collection_name}/points?wait=true", json={
        "batch": {"ids": [2], "vectors": [[1.0, 2.0]]}}))
    got = _get(http, collection_name, [1, 2], with_vector=True)
    assert [p["vector"] for p in got] == [[[0.5, 0.25]], [[1.0, 2.0]]]


def test_uint8_values_convert_as_rust_casts(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {
        "vectors": {"size": 5, "distance": "Dot", "datatype": "uint8"},
    })
    _upsert(http, collection_name, [{"id": 1, "vector": [1.9, -3.0, 300.0, 255.5, 7]}])
    got = _get(http, collection_name, [1], with_vector=True)
    assert got[0]["vector"] == [1.0, 0.0, 255.0, 255.0, 7.0]


@pytest.mark.parametrize("limit", [U64_MAX, 10**12])
def test_limit_takes_any_u64(http: httpx.Client, collection_name: str, limit: int) -> None:
    _create(http, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    _upsert(http, collection_name, [{"id": i, "vector": [1.0, float(i)]} for i in range(1, 6)])
    base = f"/collections/{collection_name}/points"
    assert len(_ok(http.post(base + "/query", json={"query": [1, 1], "limit": limit}))["points"]) == 5
    assert len(_ok(http.post(base + "/search", json={"vector": [1, 1], "limit": limit}))) == 5
    assert len(_ok(http.post(base + "/scroll", json={"limit": limit}))["points"]) == 5
    groups = _ok(http.post(base + "/query/groups", json={
        "query": [1, 1], "group_by": "g", "limit": limit, "group_size": limit}))
    assert groups == {"groups": []}  # no point has a `g`
    assert _ok(http.post(base + "/query", json={
        "query": [1, 1], "limit": limit, "offset": limit}))["points"] == []


def test_with_vectors_is_an_alias(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    _upsert(http, collection_name, [{"id": 1, "vector": [0.5, 1.5]}])
    base = f"/collections/{collection_name}/points"
    assert _get(http, collection_name, [1], with_vectors=True)[0]["vector"] == [0.5, 1.5]
    scrolled = _ok(http.post(base + "/scroll", json={"with_vectors": True}))["points"]
    assert scrolled[0]["vector"] == [0.5, 1.5]
    queried = _ok(http.post(base + "/query", json={"query": [1, 1], "with_vectors": True}))
    assert queried["points"][0]["vector"] == [0.5, 1.5]
    batch = _ok(http.post(base + "/query/batch", json={"searches": [
        {"query": [1, 1], "with_vectors": True}, {"query": [1, 1]}]}))
    assert batch[0]["points"][0]["vector"] == [0.5, 1.5]
    assert "vector" not in batch[1]["points"][0] or batch[1]["points"][0]["vector"] is None
    searched = _ok(http.post(base + "/search/batch", json={"searches": [
        {"vector": [1, 1], "limit": 1, "with_vectors": True}]}))
    assert searched[0][0]["vector"] == [0.5, 1.5]


def test_update_mode(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    _upsert(http, collection_name, [{"id": 1, "vector": [1, 1], "payload": {"v": 1}}])
    _upsert(http, collection_name, [
        {"id": 1, "vector": [2, 2], "payload": {"v": 2}},
        {"id": 2, "vector": [2, 2], "payload": {"v": 2}},
    ], update_mode="insert_only")
    got = {p["id"]: p["payload"]["v"] for p in _get(http, collection_name, [1, 2, 3])}
    assert got == {1: 1, 2: 2}
    _upsert(http, collection_name, [
        {"id": 2, "vector": [3, 3], "payload": {"v": 3}},
        {"id": 3, "vector": [3, 3], "payload": {"v": 3}},
    ], update_mode="update_only")
    got = {p["id"]: p["payload"]["v"] for p in _get(http, collection_name, [1, 2, 3])}
    assert got == {1: 1, 2: 3}
    _ok(http.put(f"/collections/{collection_name}/points?wait=true", json={
        "batch": {"ids": [3], "vectors": [[4, 4]], "payloads": [{"v": 4}]},
        "update_mode": "upsert"}))
    got = {p["id"]: p["payload"]["v"] for p in _get(http, collection_name, [1, 2, 3])}
    assert got == {1: 1, 2: 3, 3: 4}
    bad = http.put(f"/collections/{collection_name}/points?wait=true", json={
        "points": [{"id": 9, "vector": [1, 1]}], "update_mode": "sometimes"})
    assert bad.status_code == 400 and "update_mode" in bad.json()["status"]["error"]
    assert len(_get(http, collection_name, [9])) == 0


# --- item 4: vector output shape ----------------------------------------------------------------


def test_vector_output_shapes(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {
        "vectors": {"size": 2, "distance": "Dot"},
        "sparse_vectors": {"text": {}},
    })
    _upsert(http, collection_name, [
        {"id": 1, "vector": {"": [1.0, 2.0], "text": {"indices": [1], "values": [0.5]}}},
        {"id": 2, "vector": [3.0, 4.0]},
        {"id": 3, "vector": {"text": {"indices": [2], "values": [1.5]}}},
    ])
    got = {p["id"]: p["vector"] for p in _get(http, collection_name, [1, 2, 3], with_vector=True)}
    assert got == {
        1: {"": [1.0, 2.0], "text": {"indices": [1], "values": [0.5]}},
        2: [3.0, 4.0],
        3: {"text": {"indices": [2], "values": [1.5]}},
    }
    only_default = _get(http, collection_name, [1, 3], with_vector=[""])
    assert [p["vector"] for p in only_default] == [[1.0, 2.0], {}]
    only_sparse = _get(http, collection_name, [1, 2], with_vector=["text"])
    assert [p["vector"] for p in only_sparse] == [{"text": {"indices": [1], "values": [0.5]}}, {}]
    hits = _ok(http.post(f"/collections/{collection_name}/points/query", json={
        "query": {"indices": [1], "values": [1.0]}, "using": "text", "with_vector": True}))
    assert hits["points"][0]["vector"] == got[1]


def test_named_only_collection_answers_by_name(http: httpx.Client, collection_name: str) -> None:
    _create(http, collection_name, {"vectors": {"a": {"size": 2, "distance": "Dot"}}})
    _upsert(http, collection_name, [{"id": 1, "vector": {"a": [1.0, 0.5]}}, {"id": 2, "vector": {}}])
    got = [p["vector"] for p in _get(http, collection_name, [1, 2], with_vector=True)]
    assert got == [{"a": [1.0, 0.5]}, {}]
