"""Named vectors created on and deleted from a live collection (``PUT`` / ``DELETE
/collections/{c}/vectors/{name}``, Qdrant 1.19): the new vector takes writes and queries at
once, survives a restart (also a kill), and a deleted one is gone from config and points."""

from __future__ import annotations

import httpx
import pytest
from qdrant_client import QdrantClient

from tests.checks import assert_rejected
from tests.server import HeronProcess


def _ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


def _params(http: httpx.Client, name: str) -> dict:
    return _ok(http.get(f"/collections/{name}"))["result"]["config"]["params"]


def test_create_and_delete_named_vectors(
    heron: HeronProcess, http: httpx.Client, collection_name: str
) -> None:
    c = f"/collections/{collection_name}"
    _ok(http.put(c, json={"vectors": {"a": {"size": 2, "distance": "Dot"}}}))
    _ok(http.put(c + "/points?wait=true", json={"points": [
        {"id": i, "vector": {"a": [1.0, float(i)]}} for i in range(1, 6)
    ]}))
    result = _ok(http.put(c + "/vectors/b", json={"dense": {"size": 3, "distance": "Cosine"}}))
    assert result["result"]["status"] == "completed"
    _ok(http.put(c + "/vectors/s?wait=true", json={"sparse": {"modifier": "idf"}}))
    _ok(http.put(c + "/vectors/m", json={"dense": {
        "size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}}))
    params = _params(http, collection_name)
    assert params["vectors"]["b"] == {"size": 3, "distance": "Cosine"}
    assert params["vectors"]["m"]["multivector_config"] == {"comparator": "max_sim"}
    assert params["sparse_vectors"]["s"] == {"modifier": "idf"}

    # the new vectors take writes on old points and new ones, and answer queries
    _ok(http.put(c + "/points/vectors?wait=true", json={"points": [
        {"id": 2, "vector": {"b": [0.0, 1.0, 0.0], "s": {"indices": [7], "values": [1.5]}}},
    ]}))
    _ok(http.put(c + "/points?wait=true", json={"points": [
        {"id": 9, "vector": {"a": [0.0, 1.0], "b": [1.0, 0.0, 0.0], "m": [[1.0, 0.0]]}},
    ]}))
    hits = _ok(http.post(c + "/points/query", json={"query": [0.0, 1.0, 0.0], "using": "b"}))
    assert [p["id"] for p in hits["result"]["points"]] == [2, 9]
    hits = _ok(http.post(c + "/points/query",
                         json={"query": {"indices": [7], "values": [1.0]}, "using": "s"}))
    assert [p["id"] for p in hits["result"]["points"]] == [2]

    # restart (a kill: the WAL and flushed segments must agree with the config)
    heron.restart()
    params = _params(http, collection_name)
    assert set(params["vectors"]) == {"a", "b", "m"}
    got = _ok(http.post(c + "/points", json={"ids": [2], "with_vector": True}))["result"][0]
    assert got["vector"]["b"] == [0.0, 1.0, 0.0]

    _ok(http.delete(c + "/vectors/b?wait=true"))
    _ok(http.delete(c + "/vectors/s"))
    params = _params(http, collection_name)
    assert set(params["vectors"]) == {"a", "m"} and "sparse_vectors" not in params
    got = _ok(http.post(c + "/points", json={"ids": [2, 9], "with_vector": True}))["result"]
    assert all(set(p["vector"]) <= {"a", "m"} for p in got), got
    err = assert_rejected(http.post(c + "/points/query", json={"query": [0, 1, 0], "using": "b"}))
    assert "b" in err["status"]["error"]
    heron.restart()
    assert set(_params(http, collection_name)["vectors"]) == {"a", "m"}

    # a name can be created again, empty
    _ok(http.put(c + "/vectors/b", json={"dense": {"size": 2, "distance": "Euclid"}}))
    got = _ok(http.post(c + "/points", json={"ids": [2], "with_vector": ["b"]}))["result"][0]
    assert got["vector"] in ({}, None)


@pytest.mark.parametrize(("body", "status", "start"), [
    ({"dense": {"size": 0, "distance": "Dot"}}, 422, "Validation error in JSON body: [dense.size"),
    ({"dense": {"size": 65537, "distance": "Dot"}}, 422, "Validation error in JSON body: [dense.size"),
    ({"dense": {"size": -1, "distance": "Dot"}}, 400, "Format error in JSON body"),
    ({"dense": {"size": 2, "distance": "Nope"}}, 400, "Format error in JSON body"),
    ({"dense": {"size": 2}}, 400, "Format error in JSON body"),
    ({}, 400, "Format error in JSON body"),
    ({"dense": {"size": 2, "distance": "Dot"}, "sparse": {}}, 400, "Format error in JSON body"),
    ({"dense": {"size": 2, "distance": "Dot"}}, 400, "Wrong input: Vector with name `a` already"),
])
def test_create_vector_name_refusals(
    http: httpx.Client, collection_name: str, body: dict, status: int, start: str
) -> None:
    c = f"/collections/{collection_name}"
    _ok(http.put(c, json={"vectors": {"a": {"size": 2, "distance": "Dot"}}}))
    before = _params(http, collection_name)
    name = "a" if start.startswith("Wrong input") else "n"
    err = assert_rejected(http.put(f"{c}/vectors/{name}", json=body), status)
    assert err["status"]["error"].startswith(start), err
    assert _params(http, collection_name) == before


def test_delete_unknown_vector_and_collection(http: httpx.Client, collection_name: str) -> None:
    c = f"/collections/{collection_name}"
    err = assert_rejected(http.delete(c + "/vectors/a"), 404)
    assert err["status"]["error"].startswith("Not found: Collection"), err
    _ok(http.put(c, json={"vectors": {"a": {"size": 2, "distance": "Dot"}}}))
    err = assert_rejected(http.delete(c + "/vectors/zz"), 400)
    assert err["status"]["error"] == "Wrong input: Not existing vector name error: zz"


def test_official_client_sees_the_new_vector(
    heron: HeronProcess, client: QdrantClient, collection_name: str
) -> None:
    from qdrant_client import models

    client.create_collection(collection_name, vectors_config={
        "a": models.VectorParams(size=2, distance=models.Distance.DOT)})
    with httpx.Client(base_url=heron.url, timeout=30) as http:
        _ok(http.put(f"/collections/{collection_name}/vectors/b",
                     json={"dense": {"size": 2, "distance": "Dot"}}))
    info = client.get_collection(collection_name)
    assert isinstance(info.config.params.vectors, dict)
    assert set(info.config.params.vectors) == {"a", "b"}


def test_vector_names_over_grpc(heron: HeronProcess, http: httpx.Client, collection_name: str) -> None:
    """CreateVectorName / DeleteVectorName: the same operation and the same error texts."""
    import grpc
    from qdrant_client import grpc as q

    _ok(http.put(f"/collections/{collection_name}",
                 json={"vectors": {"a": {"size": 2, "distance": "Dot"}}}))
    with grpc.insecure_channel(f"127.0.0.1:{heron.grpc_port}") as channel:
        points = q.PointsStub(channel)
        reply = points.CreateVectorName(q.CreateVectorNameRequest(
            collection_name=collection_name, vector_name="b", wait=True,
            dense_config=q.DenseVectorCreationConfig(size=3, distance=q.Distance.Euclid),
        ))
        assert reply.result.status == q.UpdateStatus.Completed
        points.CreateVectorName(q.CreateVectorNameRequest(
            collection_name=collection_name, vector_name="s",
            sparse_config=q.SparseVectorCreationConfig(modifier=q.Modifier.Idf),
        ))
        params = _params(http, collection_name)
        assert params["vectors"]["b"] == {"size": 3, "distance": "Euclid"}
        assert params["sparse_vectors"]["s"] == {"modifier": "idf"}

        with pytest.raises(grpc.RpcError) as info:
            points.CreateVectorName(q.CreateVectorNameRequest(
                collection_name=collection_name, vector_name="z",
                dense_config=q.DenseVectorCreationConfig(size=0, distance=q.Distance.Dot),
            ))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details().startswith("Validation error in JSON body: [dense.size")

        points.DeleteVectorName(q.DeleteVectorNameRequest(
            collection_name=collection_name, vector_name="b", wait=True))
        assert set(_params(http, collection_name)["vectors"]) == {"a"}
        with pytest.raises(grpc.RpcError) as info:
            points.DeleteVectorName(q.DeleteVectorNameRequest(
                collection_name="no_such_collection", vector_name="b"))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert info.value.details().startswith("Not found: Collection")
