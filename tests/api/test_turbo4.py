"""The ``turbo4`` datatype (Qdrant 1.19) over REST and gRPC: dense vectors of every distance
and multivectors stored as 4-bit TurboQuant codes, searched (exact and HNSW) with recall
against numpy's float32 ground truth, returned dequantised, reported in collection info,
surviving SIGKILL; sparse vectors refuse it with a 422."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as q

from tests.checks import assert_rejected
from tests.server import HeronProcess

DIM, MULTI_DIM, N = 48, 12, 1200
DENSE = {"cos": "Cosine", "dot": "Dot", "l2": "Euclid", "l1": "Manhattan"}
COLL = "t4"
SPARSE_TEXT = "turbo4 datatype is not supported for sparse vectors"


def _config(threshold_kb: int = 1) -> dict[str, Any]:
    vectors: dict[str, Any] = {
        name: {"size": DIM, "distance": dist, "datatype": "turbo4"} for name, dist in DENSE.items()
    }
    vectors["multi"] = {"size": MULTI_DIM, "distance": "Dot", "datatype": "turbo4",
                        "multivector_config": {"comparator": "max_sim"}}
    return {
        "vectors": vectors,
        "sparse_vectors": {"s": {}},
        "optimizers_config": {"indexing_threshold": threshold_kb},
        "hnsw_config": {"full_scan_threshold": 1},
    }


def _data(seed: int = 1, n: int = N) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    dense = {name: rng.standard_normal((n, DIM)).astype(np.float32) for name in DENSE}
    multi = [rng.standard_normal((int(rng.integers(1, 4)), MULTI_DIM)).astype(np.float32)
             for _ in range(n)]
    return dense, multi


def _load(http: httpx.Client, coll: str, dense: dict[str, np.ndarray], multi: list[np.ndarray],
          batch: int = 200) -> None:
    for start in range(0, len(multi), batch):
        points = [
            {"id": i, "payload": {"i": i},
             "vector": {**{name: rows[i].tolist() for name, rows in dense.items()},
                        "multi": multi[i].tolist(),
                        "s": {"indices": [i % 7], "values": [1.0]}}}
            for i in range(start, min(start + batch, len(multi)))
        ]
        r = http.put(f"/collections/{coll}/points?wait=true", json={"points": points})
        assert r.status_code == 200, r.text


def _wait_green(http: httpx.Client, coll: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = http.get(f"/collections/{coll}").json()["result"]
        if info["status"] == "green" or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


def _truth(rows: np.ndarray, query: np.ndarray, distance: str, k: int = 10) -> list[int]:
    if distance == "Cosine":
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        query = query / np.linalg.norm(query)
    if distance in ("Cosine", "Dot"):
        return np.argsort(-(rows @ query))[:k].tolist()
    if distance == "Euclid":
        return np.argsort(np.linalg.norm(rows - query, axis=1))[:k].tolist()
    return np.argsort(np.abs(rows - query).sum(axis=1))[:k].tolist()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    """A server cutting segments at 400 points, so the optimizer indexes and merges them."""
    srv = HeronProcess(tmp_path_factory.mktemp("turbo4") / "storage", env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "400",
        "HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.3",
    }).start()
    yield srv
    assert srv.stop() == 0, srv.log()


@pytest.fixture(scope="module")
def loaded(server: HeronProcess) -> Iterator[tuple[httpx.Client, dict[str, np.ndarray],
                                                  list[np.ndarray]]]:
    dense, multi = _data()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        r = http.put(f"/collections/{COLL}", json=_config())
        assert r.status_code == 200, r.text
        _load(http, COLL, dense, multi)
        _wait_green(http, COLL)
        yield http, dense, multi


def test_info_reports_turbo4(loaded: Any) -> None:
    http, _, _ = loaded
    info = http.get(f"/collections/{COLL}").json()["result"]
    params = info["config"]["params"]
    for name in [*DENSE, "multi"]:
        assert params["vectors"][name]["datatype"] == "turbo4", params
    assert params["vectors"]["multi"]["multivector_config"] == {"comparator": "max_sim"}
    assert info["points_count"] == N
    assert info["segments_count"] >= 1


@pytest.mark.parametrize("name", list(DENSE))
def test_recall_against_float32_ground_truth(loaded: Any, name: str) -> None:
    """Top 10 over turbo4 (HNSW on the indexed segments, exact elsewhere, then rescored
    against the codes) holds most of the exact float32 top 10."""
    http, dense, _ = loaded
    rng = np.random.default_rng(2)
    recall = []
    for _ in range(20):
        query = rng.standard_normal(DIM).astype(np.float32)
        for exact in (False, True):
            r = http.post(f"/collections/{COLL}/points/query", json={
                "query": query.tolist(), "using": name, "limit": 10,
                "params": {"exact": exact}})
            assert r.status_code == 200, r.text
            got = [p["id"] for p in r.json()["result"]["points"]]
            recall.append(len(set(got) & set(_truth(dense[name], query, DENSE[name]))) / 10)
    assert np.mean(recall) >= 0.8, np.mean(recall)


def test_multivector_recall(loaded: Any) -> None:
    http, _, multi = loaded
    rng = np.random.default_rng(3)
    recall = []
    for _ in range(15):
        query = rng.standard_normal((2, MULTI_DIM)).astype(np.float32)
        exact = np.array([(m @ query.T).max(axis=0).sum() for m in multi])
        r = http.post(f"/collections/{COLL}/points/query",
                      json={"query": query.tolist(), "using": "multi", "limit": 10})
        assert r.status_code == 200, r.text
        got = [p["id"] for p in r.json()["result"]["points"]]
        recall.append(len(set(got) & set(np.argsort(-exact)[:10].tolist())) / 10)
    assert np.mean(recall) >= 0.8, np.mean(recall)


def test_vectors_come_back_dequantised(loaded: Any) -> None:
    """Returned vectors are the stored codes decoded: near what was sent (4-bit error), unit
    length for Cosine, and what the scores were computed against (asymmetric scoring)."""
    http, dense, multi = loaded
    ids = list(range(0, N, 37))
    r = http.post(f"/collections/{COLL}/points", json={"ids": ids, "with_vector": True})
    assert r.status_code == 200, r.text
    got = {p["id"]: p["vector"] for p in r.json()["result"]}
    errors = []
    for pid in ids:
        for name in DENSE:
            back = np.asarray(got[pid][name], dtype=np.float64)
            sent = dense[name][pid].astype(np.float64)
            if name == "cos":
                sent = sent / np.linalg.norm(sent)
                assert abs(np.linalg.norm(back) - 1.0) < 1e-4
            errors.append(np.linalg.norm(back - sent) / np.linalg.norm(sent))
        rows = np.asarray(got[pid]["multi"])
        assert rows.shape == multi[pid].shape
        assert np.linalg.norm(rows - multi[pid]) / np.linalg.norm(multi[pid]) < 0.3
    assert 0 < np.mean(errors) < 0.13 and max(errors) < 0.3, (np.mean(errors), max(errors))
    query = np.random.default_rng(4).standard_normal(DIM).astype(np.float32)
    for name, dist in DENSE.items():
        r = http.post(f"/collections/{COLL}/points/query", json={
            "query": query.tolist(), "using": name, "limit": 5, "with_vector": [name]})
        for p in r.json()["result"]["points"]:
            v = np.asarray(p["vector"][name], dtype=np.float64)
            qq = query / np.linalg.norm(query) if dist == "Cosine" else query.astype(np.float64)
            want = {"Cosine": v @ qq, "Dot": v @ qq, "Euclid": np.linalg.norm(v - qq),
                    "Manhattan": np.abs(v - qq).sum()}[dist]
            assert p["score"] == pytest.approx(want, rel=1e-4, abs=1e-4), (name, p["id"])


def test_a_point_is_its_own_best_match(loaded: Any) -> None:
    """Queried with its own (dequantised) vector a point comes first, scoring 1 for Cosine
    and 0 for Euclid; queried by id it is left out, as Qdrant does."""
    http, _, _ = loaded
    got = http.post(f"/collections/{COLL}/points", json={"ids": [7], "with_vector": True})
    vectors = got.json()["result"][0]["vector"]
    for name, best in (("cos", 1.0), ("l2", 0.0), ("l1", 0.0)):
        top = http.post(f"/collections/{COLL}/points/query", json={
            "query": vectors[name], "using": name, "limit": 1}).json()["result"]["points"][0]
        assert top["id"] == 7 and top["score"] == pytest.approx(best, abs=1e-4), (name, top)
    r = http.post(f"/collections/{COLL}/points/query",
                  json={"query": 7, "using": "dot", "limit": 5})
    assert r.status_code == 200, r.text
    assert 7 not in [p["id"] for p in r.json()["result"]["points"]]


def test_grpc_create_info_and_search(server: HeronProcess, loaded: Any) -> None:
    """Over gRPC: a collection created with ``Datatype.Turbo4`` reports it and answers as the
    same data does over REST."""
    http, dense, _ = loaded
    client = QdrantClient(url=server.url, grpc_port=server.grpc_port, prefer_grpc=True,
                          timeout=30, check_compatibility=False)
    try:
        client.create_collection("t4g", vectors_config={
            "v": models.VectorParams(size=DIM, distance=models.Distance.EUCLID,
                                     datatype=models.Datatype.TURBO4),
            "m": models.VectorParams(size=MULTI_DIM, distance=models.Distance.COSINE,
                                     datatype=models.Datatype.TURBO4,
                                     multivector_config=models.MultiVectorConfig(
                                         comparator=models.MultiVectorComparator.MAX_SIM)),
        })
        params = client.get_collection("t4g").config.params
        assert isinstance(params.vectors, dict)
        assert params.vectors["v"].datatype == models.Datatype.TURBO4
        assert params.vectors["m"].datatype == models.Datatype.TURBO4
        rows = dense["l2"][:300]
        client.upsert("t4g", points=[
            models.PointStruct(id=i, vector={"v": rows[i].tolist(), "m": [rows[i][:MULTI_DIM].tolist()]})
            for i in range(300)])
        client.create_vector_name("t4g", "extra", models.DenseVectorNameConfig(
            dense=models.DenseVectorConfig(size=4, distance=models.Distance.DOT,
                                           datatype=models.Datatype.TURBO4)))
        assert client.get_collection("t4g").config.params.vectors["extra"].datatype == (  # type: ignore[index]
            models.Datatype.TURBO4)
        query = np.random.default_rng(5).standard_normal(DIM).astype(np.float32)
        over_grpc = client.query_points("t4g", query=query.tolist(), using="v", limit=10,
                                        with_vectors=["v"]).points
        over_rest = http.post("/collections/t4g/points/query", json={
            "query": query.tolist(), "using": "v", "limit": 10, "with_vector": ["v"]}
        ).json()["result"]["points"]
        assert [p.id for p in over_grpc] == [p["id"] for p in over_rest]
        for g, r in zip(over_grpc, over_rest, strict=True):
            assert np.float32(g.score) == np.float32(r["score"])
            assert np.array_equal(np.float32(g.vector["v"]), np.float32(r["vector"]["v"]))  # type: ignore[index]
        got = [p.id for p in over_grpc]
        assert len(set(got) & set(_truth(rows, query, "Euclid"))) >= 7
    finally:
        client.close()


def test_sparse_vectors_refuse_turbo4(server: HeronProcess, loaded: Any) -> None:
    """Wherever a sparse vector could take a datatype: create, update, a new vector name."""
    http, _, _ = loaded
    cases = [
        ("PUT", "/collections/sparse4", {"sparse_vectors": {"text": {"index": {"datatype": "turbo4"}}}},
         "sparse_vectors.text.index.datatype"),
        ("PATCH", f"/collections/{COLL}", {"sparse_vectors": {"s": {"index": {"datatype": "turbo4"}}}},
         "sparse_vectors.s.index.datatype"),
        ("PATCH", "/collections/missing4", {"sparse_vectors": {"s": {"index": {"datatype": "turbo4"}}}},
         "sparse_vectors.s.index.datatype"),  # the body is checked before the lookup: not a 404
        ("PUT", f"/collections/{COLL}/vectors/s4", {"sparse": {"datatype": "turbo4"}},
         "sparse.datatype"),
    ]
    for method, path, body, where in cases:
        r = http.request(method, path, json=body)
        error = assert_rejected(r, 422)["status"]["error"]
        assert error == f"Validation error in JSON body: [{where}: {SPARSE_TEXT}]", error
    assert http.get("/collections/sparse4/exists").json()["result"]["exists"] is False
    assert "s4" not in http.get(f"/collections/{COLL}").json()["result"]["config"]["params"][
        "sparse_vectors"]
    # other sparse datatypes are fine, and a new sparse vector keeps its datatype
    r = http.put(f"/collections/{COLL}/vectors/s16", json={"sparse": {"datatype": "float16"}})
    assert r.status_code == 200, r.text
    sparse = http.get(f"/collections/{COLL}").json()["result"]["config"]["params"]["sparse_vectors"]
    assert sparse["s16"] == {"index": {"datatype": "float16"}}
    # 1.19 knows no turbo8: an unknown variant can't be read (400)
    r = http.put("/collections/t8", json={"vectors": {"size": 4, "distance": "Dot",
                                                      "datatype": "turbo8"}})
    assert assert_rejected(r, 400)["status"]["error"].startswith("Format error in JSON body: ")
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        with pytest.raises(grpc.RpcError) as info:
            q.CollectionsStub(channel).Create(q.CreateCollection(
                collection_name="sparse4g",
                sparse_vectors_config=q.SparseVectorConfig(map={
                    "text": q.SparseVectorParams(index=q.SparseIndexConfig(datatype=q.Datatype.Turbo4))
                })))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == (
            f"Validation error in JSON body: [sparse_vectors.text.index.datatype: {SPARSE_TEXT}]")


# --- crash recovery ----------------------------------------------------------------------


def _dump(http: httpx.Client, coll: str) -> dict[str, Any]:
    r = http.post(f"/collections/{coll}/points/scroll",
                  json={"limit": 10_000, "with_vector": True, "with_payload": True})
    assert r.status_code == 200, r.text
    state: dict[str, Any] = {"points": r.json()["result"]["points"], "queries": {}}
    rng = np.random.default_rng(6)
    for name in [*DENSE, "multi"]:
        shape = (2, MULTI_DIM) if name == "multi" else (DIM,)
        r = http.post(f"/collections/{coll}/points/query", json={
            "query": rng.standard_normal(shape).tolist(), "using": name, "limit": 10})
        assert r.status_code == 200, r.text
        state["queries"][name] = [(p["id"], p["score"]) for p in r.json()["result"]["points"]]
    state["params"] = http.get(f"/collections/{coll}").json()["result"]["config"]["params"]
    return state


@pytest.mark.parametrize("mode", ["wal-only", "flushed-and-indexed"])
def test_turbo4_survives_sigkill(tmp_path: Path, mode: str) -> None:
    """The codes come back bit for bit after SIGKILL, replayed from the WAL (re-encoded from
    the floats it logged) or loaded from flushed, indexed and merged segments."""
    flushed = mode != "wal-only"
    server = HeronProcess(tmp_path / "storage", env={
        "HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.3" if flushed else "600",
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "150",
    }).start()
    try:
        dense, multi = _data(seed=7, n=500)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            r = http.put("/collections/crash4",
                         json=_config(threshold_kb=1 if flushed else 1_000_000))
            assert r.status_code == 200, r.text
            _load(http, "crash4", dense, multi, batch=100)
            r = http.post("/collections/crash4/points/delete?wait=true",
                          json={"points": [3, 4, 5]})
            assert r.status_code == 200, r.text
            if flushed:
                info = _wait_green(http, "crash4")
                assert info["indexed_vectors_count"] > 0, info
                time.sleep(1.0)  # let the flusher persist the rebuilt segments
            before = _dump(http, "crash4")
        server.kill()
        server.start()
        if not flushed:
            assert "replayed 6 operations" in server.log(), server.log()
        with httpx.Client(base_url=server.url, timeout=60) as http:
            after = _dump(http, "crash4")
        assert len(after["points"]) == 497
        assert after["params"] == before["params"]
        assert after["points"] == before["points"]
        for name, hits in before["queries"].items():
            assert [h[0] for h in after["queries"][name]] == [h[0] for h in hits], name
            np.testing.assert_allclose([h[1] for h in after["queries"][name]],
                                       [h[1] for h in hits], rtol=1e-5, atol=1e-6)
    finally:
        server.stop()
