"""Every Foundation endpoint through the official client, plus a few raw-HTTP checks."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models

DIM = 4


def _wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _norm(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _close(a: list[float], b: list[float], tol: float = 1e-5) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def _make_named(client: QdrantClient, name: str) -> None:
    """A collection with two named vectors: ``img`` (Cosine) and ``txt`` (Dot)."""
    client.create_collection(
        name,
        vectors_config={
            "img": models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            "txt": models.VectorParams(size=2, distance=models.Distance.DOT),
        },
    )


def _make_plain(client: QdrantClient, name: str, distance: models.Distance) -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=DIM, distance=distance)
    )


def _seed(client: QdrantClient, name: str, n: int = 10) -> None:
    """Points 1..n with vector [i, 1, 0, 0] and payload {"i": i, "even": i % 2 == 0}."""
    client.upsert(
        name,
        points=[
            models.PointStruct(
                id=i, vector=[float(i), 1.0, 0.0, 0.0], payload={"i": i, "even": i % 2 == 0}
            )
            for i in range(1, n + 1)
        ],
    )


# --- service endpoints -------------------------------------------------------------------


def is_bare(client: QdrantClient, point: Any) -> bool:
    """No payload and no vector. gRPC has no absent map, so there no payload reads as ``{}``."""
    no_payload: tuple[Any, ...] = (None, {}) if client.init_options.get("prefer_grpc") else (None,)
    return point.payload in no_payload and point.vector is None


def test_root_reports_version(http: httpx.Client) -> None:
    """GET / answers the Qdrant version the wire contract follows."""
    r = http.get("/")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "1.19.0"
    assert isinstance(body["title"], str) and body["title"]


@pytest.mark.parametrize("probe", ["/healthz", "/livez", "/readyz"])
def test_health_probes(http: httpx.Client, probe: str) -> None:
    """Each health probe answers 200."""
    r = http.get(probe)
    assert r.status_code == 200
    assert r.text


# --- collections -------------------------------------------------------------------------


def test_collection_lifecycle(client: QdrantClient, collection_name: str) -> None:
    """Create, inspect, list, check existence, delete."""
    assert not client.collection_exists(collection_name)
    assert client.create_collection(
        collection_name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.EUCLID),
    )
    assert client.collection_exists(collection_name)
    names = {c.name for c in client.get_collections().collections}
    assert collection_name in names

    info = client.get_collection(collection_name)
    assert info.status == models.CollectionStatus.GREEN
    assert info.points_count == 0
    params = info.config.params.vectors
    assert isinstance(params, models.VectorParams)
    assert params.size == DIM
    assert params.distance == models.Distance.EUCLID
    assert info.payload_schema == {}

    assert client.delete_collection(collection_name)
    assert not client.collection_exists(collection_name)
    names = {c.name for c in client.get_collections().collections}
    assert collection_name not in names
    with pytest.raises(Exception):  # noqa: B017 - any client error is fine: it is a 404
        client.get_collection(collection_name)


def test_named_vectors_config_reported(client: QdrantClient, collection_name: str) -> None:
    """Named vector params come back per name."""
    _make_named(client, collection_name)
    vectors = client.get_collection(collection_name).config.params.vectors
    assert isinstance(vectors, dict)
    assert set(vectors) == {"img", "txt"}
    assert vectors["img"].size == DIM and vectors["img"].distance == models.Distance.COSINE
    assert vectors["txt"].size == 2 and vectors["txt"].distance == models.Distance.DOT


def test_delete_missing_collection_is_false(http: httpx.Client, collection_name: str) -> None:
    """Deleting a collection that does not exist answers result false (as Qdrant does)."""
    r = http.delete(f"/collections/{collection_name}")
    assert r.status_code == 200
    assert r.json()["result"] is False


def test_update_collection_diff(client: QdrantClient, collection_name: str) -> None:
    """PATCH with optimizers and hnsw diffs changes only the given fields."""
    _make_plain(client, collection_name, models.Distance.DOT)
    before = client.get_collection(collection_name).config
    assert client.update_collection(
        collection_name,
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=12345),
        hnsw_config=models.HnswConfigDiff(m=32, ef_construct=150),
    )
    after = client.get_collection(collection_name).config
    assert after.optimizer_config.indexing_threshold == 12345
    assert after.hnsw_config.m == 32
    assert after.hnsw_config.ef_construct == 150
    # untouched fields keep their values
    assert after.optimizer_config.deleted_threshold == before.optimizer_config.deleted_threshold
    assert after.hnsw_config.full_scan_threshold == before.hnsw_config.full_scan_threshold
    assert after.params.vectors == before.params.vectors


def test_update_collection_vector_params(client: QdrantClient, collection_name: str) -> None:
    """PATCH of a named vector's hnsw config is reflected in that vector's params."""
    _make_named(client, collection_name)
    assert client.update_collection(
        collection_name,
        vectors_config={"img": models.VectorParamsDiff(hnsw_config=models.HnswConfigDiff(m=8))},
    )
    vectors = client.get_collection(collection_name).config.params.vectors
    assert isinstance(vectors, dict)
    assert vectors["img"].hnsw_config is not None
    assert vectors["img"].hnsw_config.m == 8
    assert vectors["img"].size == DIM


# --- upsert / retrieve -------------------------------------------------------------------


def test_upsert_point_structs_and_retrieve(client: QdrantClient, collection_name: str) -> None:
    """Upsert a PointStruct list, read it back with and without payload/vectors."""
    _make_plain(client, collection_name, models.Distance.DOT)
    res = client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=1, vector=[1.0, 2.0, 3.0, 4.0], payload={"a": 1}),
            models.PointStruct(id=2, vector=[0.5, 0.0, 0.0, 0.0], payload={"b": [1, "x"]}),
        ],
    )
    assert res.status == models.UpdateStatus.COMPLETED
    assert client.count(collection_name).count == 2

    got = {p.id: p for p in client.retrieve(collection_name, [1, 2, 99], with_vectors=True)}
    assert set(got) == {1, 2}
    assert got[1].payload == {"a": 1}
    assert got[1].vector == [1.0, 2.0, 3.0, 4.0]
    assert got[2].payload == {"b": [1, "x"]}

    bare = client.retrieve(collection_name, [1], with_payload=False, with_vectors=False)
    assert len(bare) == 1 and is_bare(client, bare[0])

    # upsert overwrites the whole point
    client.upsert(
        collection_name,
        points=[models.PointStruct(id=1, vector=[0.0, 0.0, 0.0, 1.0], payload={"z": True})],
    )
    again = client.retrieve(collection_name, [1], with_vectors=True)[0]
    assert again.payload == {"z": True}
    assert again.vector == [0.0, 0.0, 0.0, 1.0]
    assert client.count(collection_name).count == 2


def test_upsert_batch_form(client: QdrantClient, collection_name: str) -> None:
    """The columnar ``batch`` form inserts the same points as the list form."""
    _make_plain(client, collection_name, models.Distance.EUCLID)
    uid = str(uuid.uuid4())
    client.upsert(
        collection_name,
        points=models.Batch(
            ids=[10, 11, uid],
            vectors=[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
            payloads=[{"k": "a"}, {"k": "b"}, {}],
        ),
    )
    got = {p.id: p for p in client.retrieve(collection_name, [10, 11, uid], with_vectors=True)}
    assert set(got) == {10, 11, uid}
    assert got[10].payload == {"k": "a"}
    assert got[11].vector == [0.0, 1.0, 0.0, 0.0]
    assert got[uid].payload == {}


def test_upsert_batch_form_named_vectors(client: QdrantClient, collection_name: str) -> None:
    """Batch with named vectors, without payloads."""
    _make_named(client, collection_name)
    client.upsert(
        collection_name,
        points=models.Batch(
            ids=[1, 2],
            vectors={
                "img": [[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]],
                "txt": [[1.0, 2.0], [3.0, 4.0]],
            },
        ),
    )
    got = {p.id: p for p in client.retrieve(collection_name, [1, 2], with_vectors=True)}
    assert got[2].vector == {"img": [0.0, 1.0, 0.0, 0.0], "txt": [3.0, 4.0]}
    assert got[1].payload == {}


def test_cosine_vectors_come_back_normalised(client: QdrantClient, collection_name: str) -> None:
    """A Cosine collection stores (and returns) unit vectors."""
    _make_plain(client, collection_name, models.Distance.COSINE)
    client.upsert(
        collection_name, points=[models.PointStruct(id=1, vector=[3.0, 4.0, 0.0, 0.0])]
    )
    vec = client.retrieve(collection_name, [1], with_vectors=True)[0].vector
    assert isinstance(vec, list)
    assert _close(vec, [0.6, 0.8, 0.0, 0.0])


def test_named_vectors_partial_and_selected(client: QdrantClient, collection_name: str) -> None:
    """A point may lack a named vector; with_vectors by name returns only those."""
    _make_named(client, collection_name)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=1, vector={"img": [0.0, 0.0, 2.0, 0.0], "txt": [1.0, 1.0]}),
            models.PointStruct(id=2, vector={"txt": [5.0, 6.0]}),
        ],
    )
    got = {p.id: p for p in client.retrieve(collection_name, [1, 2], with_vectors=True)}
    assert got[1].vector == {"img": [0.0, 0.0, 1.0, 0.0], "txt": [1.0, 1.0]}
    assert got[2].vector == {"txt": [5.0, 6.0]}
    only = client.retrieve(collection_name, [1, 2], with_vectors=["img"])
    by_id = {p.id: p.vector for p in only}
    assert by_id[1] == {"img": [0.0, 0.0, 1.0, 0.0]}
    assert by_id[2] == {}


def test_retrieve_payload_selectors(client: QdrantClient, collection_name: str) -> None:
    """with_payload as a list, include and exclude selectors."""
    _make_plain(client, collection_name, models.Distance.DOT)
    payload = {"a": 1, "b": {"c": 2, "d": 3}, "e": "x"}
    client.upsert(
        collection_name, points=[models.PointStruct(id=7, vector=[1.0] * DIM, payload=payload)]
    )
    p = client.retrieve(collection_name, [7], with_payload=["a", "e"])[0]
    assert p.payload == {"a": 1, "e": "x"}
    p = client.retrieve(
        collection_name, [7], with_payload=models.PayloadSelectorInclude(include=["b.c"])
    )[0]
    assert p.payload == {"b": {"c": 2}}
    p = client.retrieve(
        collection_name, [7], with_payload=models.PayloadSelectorExclude(exclude=["b", "e"])
    )[0]
    assert p.payload == {"a": 1}


# --- delete ------------------------------------------------------------------------------


def test_delete_by_ids_and_filter(client: QdrantClient, collection_name: str) -> None:
    """Delete by a list of ids, then by a FilterSelector."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 10)
    client.delete(collection_name, points_selector=models.PointIdsList(points=[1, 2, 42]))
    assert client.count(collection_name).count == 8
    assert client.retrieve(collection_name, [1, 2]) == []

    client.delete(
        collection_name,
        points_selector=models.FilterSelector(
            filter=models.Filter(
                must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))]
            )
        ),
    )
    left = sorted(p.id for p in client.scroll(collection_name, limit=100)[0])
    assert left == [3, 5, 7, 9]


# --- scroll / count ----------------------------------------------------------------------


def test_scroll_pagination(client: QdrantClient, collection_name: str) -> None:
    """Scrolling page by page visits every point once, in id order."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 23)
    seen: list[Any] = []
    offset: Any = None
    pages = 0
    while True:
        points, offset = client.scroll(
            collection_name, limit=5, offset=offset, with_payload=True, with_vectors=True
        )
        pages += 1
        seen.extend(p.id for p in points)
        for p in points:
            assert p.payload == {"i": p.id, "even": p.id % 2 == 0}
            assert p.vector == [float(p.id), 1.0, 0.0, 0.0]
        if offset is None:
            break
        assert offset == seen[-1] + 1
    assert pages == 5
    assert seen == list(range(1, 24))


def test_scroll_with_filter_and_offset(client: QdrantClient, collection_name: str) -> None:
    """Scroll with a filter, a starting offset and no payload/vectors."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 20)
    flt = models.Filter(
        must=[models.FieldCondition(key="i", range=models.Range(gte=5, lt=15))]
    )
    points, nxt = client.scroll(
        collection_name, scroll_filter=flt, limit=3, offset=8, with_payload=False
    )
    assert [p.id for p in points] == [8, 9, 10]
    assert nxt == 11
    assert all(is_bare(client, p) for p in points)
    points, nxt = client.scroll(collection_name, scroll_filter=flt, limit=100, offset=11)
    assert [p.id for p in points] == [11, 12, 13, 14]
    assert nxt is None


def test_count(client: QdrantClient, collection_name: str) -> None:
    """Count all and filtered, exact and not."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 11)
    assert client.count(collection_name).count == 11
    flt = models.Filter(
        must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))]
    )
    assert client.count(collection_name, count_filter=flt, exact=True).count == 5
    assert client.count(collection_name, count_filter=flt, exact=False).count == 5


# --- payload updates ---------------------------------------------------------------------


def test_set_payload_merges(client: QdrantClient, collection_name: str) -> None:
    """set_payload merges keys into the existing payload; by ids and by filter."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 4)
    client.set_payload(collection_name, payload={"tag": "x", "i": 100}, points=[1, 2])
    got = {p.id: p.payload for p in client.retrieve(collection_name, [1, 2, 3])}
    assert got[1] == {"i": 100, "even": False, "tag": "x"}
    assert got[2] == {"i": 100, "even": True, "tag": "x"}
    assert got[3] == {"i": 3, "even": False}

    client.set_payload(
        collection_name,
        payload={"odd": True},
        points=models.Filter(
            must=[models.FieldCondition(key="even", match=models.MatchValue(value=False))]
        ),
    )
    odd = sorted(
        p.id
        for p in client.scroll(
            collection_name,
            scroll_filter=models.Filter(
                must=[models.FieldCondition(key="odd", match=models.MatchValue(value=True))]
            ),
        )[0]
    )
    assert odd == [1, 3]


def test_set_payload_with_key(client: QdrantClient, collection_name: str) -> None:
    """set_payload with ``key`` merges into the object at that path, creating it if absent."""
    _make_plain(client, collection_name, models.Distance.DOT)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=1, vector=[1.0] * DIM, payload={"a": {"b": 1}, "k": 0}),
            models.PointStruct(id=2, vector=[1.0] * DIM, payload={"k": 0}),
        ],
    )
    client.set_payload(collection_name, payload={"c": 2}, points=[1, 2], key="a")
    got = {p.id: p.payload for p in client.retrieve(collection_name, [1, 2])}
    assert got[1] == {"a": {"b": 1, "c": 2}, "k": 0}
    assert got[2] == {"a": {"c": 2}, "k": 0}


def test_overwrite_payload(client: QdrantClient, collection_name: str) -> None:
    """overwrite_payload replaces the whole payload."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 3)
    client.overwrite_payload(collection_name, payload={"only": "this"}, points=[2, 3])
    got = {p.id: p.payload for p in client.retrieve(collection_name, [1, 2, 3])}
    assert got == {1: {"i": 1, "even": False}, 2: {"only": "this"}, 3: {"only": "this"}}


def test_delete_payload_keys(client: QdrantClient, collection_name: str) -> None:
    """delete_payload removes the listed keys (nested keys too) and nothing else."""
    _make_plain(client, collection_name, models.Distance.DOT)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(
                id=1, vector=[1.0] * DIM, payload={"a": 1, "b": 2, "n": {"x": 1, "y": 2}}
            ),
            models.PointStruct(id=2, vector=[1.0] * DIM, payload={"a": 1, "b": 2}),
        ],
    )
    client.delete_payload(collection_name, keys=["a", "n.x", "missing"], points=[1])
    got = {p.id: p.payload for p in client.retrieve(collection_name, [1, 2])}
    assert got[1] == {"b": 2, "n": {"y": 2}}
    assert got[2] == {"a": 1, "b": 2}


def test_clear_payload(client: QdrantClient, collection_name: str) -> None:
    """clear_payload empties the payload of the selected points; vectors stay."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 3)
    client.clear_payload(collection_name, points_selector=models.PointIdsList(points=[1, 3]))
    got = {p.id: p for p in client.retrieve(collection_name, [1, 2, 3], with_vectors=True)}
    assert got[1].payload == {} and got[3].payload == {}
    assert got[2].payload == {"i": 2, "even": True}
    assert got[1].vector == [1.0, 1.0, 0.0, 0.0]


# --- vector updates ----------------------------------------------------------------------


def test_update_and_delete_vectors(client: QdrantClient, collection_name: str) -> None:
    """update_vectors replaces only the given named vectors; delete_vectors removes them."""
    _make_named(client, collection_name)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(
                id=1, vector={"img": [1.0, 0.0, 0.0, 0.0], "txt": [1.0, 2.0]}, payload={"p": 1}
            ),
            models.PointStruct(id=2, vector={"txt": [3.0, 4.0]}),
        ],
    )
    client.update_vectors(
        collection_name,
        points=[
            models.PointVectors(id=1, vector={"txt": [9.0, 9.0]}),
            models.PointVectors(id=2, vector={"img": [0.0, 0.0, 0.0, 5.0]}),
        ],
    )
    got = {p.id: p for p in client.retrieve(collection_name, [1, 2], with_vectors=True)}
    assert got[1].vector == {"img": [1.0, 0.0, 0.0, 0.0], "txt": [9.0, 9.0]}
    assert got[2].vector == {"img": [0.0, 0.0, 0.0, 1.0], "txt": [3.0, 4.0]}
    assert got[1].payload == {"p": 1}

    client.delete_vectors(collection_name, vectors=["txt"], points=[1, 2])
    got = {p.id: p for p in client.retrieve(collection_name, [1, 2], with_vectors=True)}
    assert got[1].vector == {"img": [1.0, 0.0, 0.0, 0.0]}
    assert got[2].vector == {"img": [0.0, 0.0, 0.0, 1.0]}
    assert client.count(collection_name).count == 2


def test_delete_vectors_by_filter(client: QdrantClient, collection_name: str) -> None:
    """delete_vectors with a filter selector."""
    _make_named(client, collection_name)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(
                id=i, vector={"img": [1.0, 0.0, 0.0, 0.0], "txt": [1.0, 2.0]}, payload={"i": i}
            )
            for i in range(1, 5)
        ],
    )
    client.delete_vectors(
        collection_name,
        vectors=["img"],
        points=models.FilterSelector(
            filter=models.Filter(must=[models.FieldCondition(key="i", range=models.Range(gt=2))])
        ),
    )
    got = {p.id: p.vector for p in client.retrieve(collection_name, [1, 2, 3, 4], with_vectors=True)}
    assert got[1] == {"img": [1.0, 0.0, 0.0, 0.0], "txt": [1.0, 2.0]}
    assert got[3] == {"txt": [1.0, 2.0]}
    assert got[4] == {"txt": [1.0, 2.0]}


def test_update_vectors_unnamed(client: QdrantClient, collection_name: str) -> None:
    """update_vectors on the unnamed default vector."""
    _make_plain(client, collection_name, models.Distance.EUCLID)
    _seed(client, collection_name, 2)
    client.update_vectors(
        collection_name, points=[models.PointVectors(id=2, vector=[7.0, 7.0, 7.0, 7.0])]
    )
    got = {p.id: p.vector for p in client.retrieve(collection_name, [1, 2], with_vectors=True)}
    assert got == {1: [1.0, 1.0, 0.0, 0.0], 2: [7.0, 7.0, 7.0, 7.0]}


# --- batch -------------------------------------------------------------------------------


def test_batch_update_points(client: QdrantClient, collection_name: str) -> None:
    """A batch applies its operations in order."""
    _make_named(client, collection_name)
    ops: list[Any] = [
        models.UpsertOperation(
            upsert=models.PointsList(
                points=[
                    models.PointStruct(
                        id=i,
                        vector={"img": [1.0, float(i), 0.0, 0.0], "txt": [1.0, 1.0]},
                        payload={"i": i},
                    )
                    for i in range(1, 6)
                ]
            )
        ),
        models.DeleteOperation(delete=models.PointIdsList(points=[5])),
        models.SetPayloadOperation(
            set_payload=models.SetPayload(payload={"s": 1}, points=[1, 2])
        ),
        models.OverwritePayloadOperation(
            overwrite_payload=models.SetPayload(payload={"o": 1}, points=[3])
        ),
        models.DeletePayloadOperation(
            delete_payload=models.DeletePayload(keys=["i"], points=[2])
        ),
        models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[4])),
        models.UpdateVectorsOperation(
            update_vectors=models.UpdateVectors(
                points=[models.PointVectors(id=1, vector={"txt": [2.0, 3.0]})]
            )
        ),
        models.DeleteVectorsOperation(
            delete_vectors=models.DeleteVectors(points=[2], vector=["img"])
        ),
    ]
    results = client.batch_update_points(collection_name, update_operations=ops)
    assert len(results) == len(ops)
    assert all(r.status == models.UpdateStatus.COMPLETED for r in results)

    got = {p.id: p for p in client.retrieve(collection_name, [1, 2, 3, 4, 5], with_vectors=True)}
    assert set(got) == {1, 2, 3, 4}
    assert got[1].payload == {"i": 1, "s": 1}
    assert got[2].payload == {"s": 1}
    assert got[3].payload == {"o": 1}
    assert got[4].payload == {}
    assert isinstance(got[1].vector, dict) and got[1].vector["txt"] == [2.0, 3.0]
    assert got[2].vector == {"txt": [1.0, 1.0]}


# --- payload indexes ---------------------------------------------------------------------


def test_payload_index_create_and_delete(client: QdrantClient, collection_name: str) -> None:
    """Indexes show up in payload_schema with their type and points count, then go away."""
    _make_plain(client, collection_name, models.Distance.DOT)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=1, vector=[1.0] * DIM, payload={"city": "a", "n": 1}),
            models.PointStruct(id=2, vector=[1.0] * DIM, payload={"city": ["b", "c"], "n": 2}),
            models.PointStruct(id=3, vector=[1.0] * DIM, payload={"n": 3.5}),
            models.PointStruct(id=4, vector=[1.0] * DIM, payload={"other": 1}),
        ],
    )
    client.create_payload_index(
        collection_name, "city", field_schema=models.PayloadSchemaType.KEYWORD
    )
    client.create_payload_index(
        collection_name, "n", field_schema=models.PayloadSchemaType.FLOAT
    )
    schema = client.get_collection(collection_name).payload_schema
    assert set(schema) == {"city", "n"}
    assert schema["city"].data_type == models.PayloadSchemaType.KEYWORD
    assert schema["city"].points == 2
    assert schema["n"].data_type == models.PayloadSchemaType.FLOAT
    assert schema["n"].points == 3

    # filtering still works (and agrees) on an indexed field
    flt = models.Filter(
        must=[models.FieldCondition(key="city", match=models.MatchAny(any=["a", "c"]))]
    )
    assert client.count(collection_name, count_filter=flt).count == 2

    # points added later are counted too
    client.upsert(
        collection_name,
        points=[models.PointStruct(id=5, vector=[1.0] * DIM, payload={"city": "z"})],
    )
    assert client.get_collection(collection_name).payload_schema["city"].points == 3

    client.delete_payload_index(collection_name, "city")
    schema = client.get_collection(collection_name).payload_schema
    assert set(schema) == {"n"}


def test_payload_index_nested_key(client: QdrantClient, collection_name: str) -> None:
    """An index on a nested key is listed under its full path."""
    _make_plain(client, collection_name, models.Distance.DOT)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=1, vector=[1.0] * DIM, payload={"a": {"b": [{"c": 1}]}}),
        ],
    )
    client.create_payload_index(
        collection_name, "a.b[].c", field_schema=models.PayloadSchemaType.INTEGER
    )
    schema = client.get_collection(collection_name).payload_schema
    assert schema["a.b[].c"].data_type == models.PayloadSchemaType.INTEGER
    assert schema["a.b[].c"].points == 1
    client.delete_payload_index(collection_name, "a.b[].c")
    assert client.get_collection(collection_name).payload_schema == {}


# --- query -------------------------------------------------------------------------------


def test_query_points_by_vector(client: QdrantClient, collection_name: str) -> None:
    """Nearest neighbours by a dense vector, with limit, offset, filter and threshold."""
    _make_plain(client, collection_name, models.Distance.EUCLID)
    _seed(client, collection_name, 10)
    q = [3.2, 1.0, 0.0, 0.0]
    hits = client.query_points(collection_name, query=q, limit=3).points
    assert [h.id for h in hits] == [3, 4, 2]
    assert abs(hits[0].score - 0.2) < 1e-4
    assert abs(hits[1].score - 0.8) < 1e-4
    assert hits[0].payload == {"i": 3, "even": False}
    assert hits[0].vector is None

    page = client.query_points(collection_name, query=q, limit=2, offset=2).points
    assert [h.id for h in page] == [2, 5]

    flt = models.Filter(
        must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))]
    )
    hits = client.query_points(
        collection_name, query=q, query_filter=flt, limit=3, with_vectors=True
    ).points
    assert [h.id for h in hits] == [4, 2, 6]
    assert hits[0].vector == [4.0, 1.0, 0.0, 0.0]

    # Euclid: smaller is better, threshold is an upper bound
    hits = client.query_points(collection_name, query=q, limit=10, score_threshold=1.5).points
    assert [h.id for h in hits] == [3, 4, 2]


def test_query_points_dot_threshold(client: QdrantClient, collection_name: str) -> None:
    """Dot: larger is better, threshold is a lower bound."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 10)
    hits = client.query_points(
        collection_name, query=[1.0, 0.0, 0.0, 0.0], limit=100, score_threshold=7.5,
        with_payload=False,
    ).points
    assert [h.id for h in hits] == [10, 9, 8]
    assert [h.score for h in hits] == pytest.approx([10.0, 9.0, 8.0])
    assert all(h.payload is None for h in hits)


def test_query_points_by_id_named(client: QdrantClient, collection_name: str) -> None:
    """Query by a point id on a named vector: the point itself is not in the results."""
    _make_named(client, collection_name)
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(
                id=i,
                vector={"img": [1.0, 0.1 * i, 0.0, 0.0], "txt": [float(i), 1.0]},
                payload={"i": i},
            )
            for i in range(1, 8)
        ],
    )
    hits = client.query_points(collection_name, query=4, using="img", limit=3).points
    ids = [h.id for h in hits]
    assert 4 not in ids
    assert ids[:2] in ([3, 5], [5, 3])
    hits = client.query_points(
        collection_name, query=[1.0, 0.0], using="txt", limit=2, with_vectors=["txt"],
        with_payload=models.PayloadSelectorInclude(include=["i"]),
    ).points
    assert [h.id for h in hits] == [7, 6]
    assert hits[0].vector == {"txt": [7.0, 1.0]}
    assert hits[0].payload == {"i": 7}


def test_query_points_manhattan_and_cosine(client: QdrantClient, collection_name: str) -> None:
    """Manhattan scores are L1 distances; cosine scores are cosines."""
    client.create_collection(
        collection_name,
        vectors_config={
            "m": models.VectorParams(size=2, distance=models.Distance.MANHATTAN),
            "c": models.VectorParams(size=2, distance=models.Distance.COSINE),
        },
    )
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=1, vector={"m": [0.0, 0.0], "c": [1.0, 0.0]}),
            models.PointStruct(id=2, vector={"m": [1.0, 2.0], "c": [1.0, 1.0]}),
            models.PointStruct(id=3, vector={"m": [5.0, 5.0], "c": [0.0, 3.0]}),
        ],
    )
    hits = client.query_points(collection_name, query=[1.0, 1.0], using="m", limit=3).points
    assert [h.id for h in hits] == [2, 1, 3]
    assert [h.score for h in hits] == pytest.approx([1.0, 2.0, 8.0], abs=1e-4)
    hits = client.query_points(collection_name, query=[2.0, 0.0], using="c", limit=3).points
    assert [h.id for h in hits] == [1, 2, 3]
    assert [h.score for h in hits] == pytest.approx([1.0, math.sqrt(0.5), 0.0], abs=1e-4)


# --- raw HTTP ----------------------------------------------------------------------------


def test_get_point_by_id(
    client: QdrantClient, http: httpx.Client, collection_name: str
) -> None:
    """GET /collections/{c}/points/{id} returns the point with payload and vector; 404 if absent."""
    _make_plain(client, collection_name, models.Distance.DOT)
    uid = str(uuid.uuid4())
    client.upsert(
        collection_name,
        points=[
            models.PointStruct(id=5, vector=[1.0, 2.0, 3.0, 4.0], payload={"a": 1}),
            models.PointStruct(id=uid, vector=[0.0] * DIM, payload={"b": 2}),
        ],
    )
    r = http.get(f"/collections/{collection_name}/points/5")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["result"]["id"] == 5
    assert body["result"]["payload"] == {"a": 1}
    assert body["result"]["vector"] == [1.0, 2.0, 3.0, 4.0]

    r = http.get(f"/collections/{collection_name}/points/{uid}")
    assert r.status_code == 200
    assert r.json()["result"]["id"] == uid
    assert r.json()["result"]["payload"] == {"b": 2}

    r = http.get(f"/collections/{collection_name}/points/6")
    assert r.status_code == 404
    assert r.json()["status"]["error"]


def test_wait_false_acknowledged(
    client: QdrantClient, http: httpx.Client, collection_name: str
) -> None:
    """With wait=false an update answers status "acknowledged"; the data shows up soon after."""
    _make_plain(client, collection_name, models.Distance.DOT)
    points = [{"id": i, "vector": [float(i), 0.0, 0.0, 0.0], "payload": {"i": i}} for i in range(50)]
    r = http.put(f"/collections/{collection_name}/points?wait=false", json={"points": points})
    assert r.status_code == 200
    assert r.json()["result"]["status"] == "acknowledged"
    assert isinstance(r.json()["result"]["operation_id"], int)
    assert _wait_for(lambda: client.count(collection_name).count == 50)

    r = http.post(
        f"/collections/{collection_name}/points/payload?wait=false",
        json={"payload": {"late": True}, "points": [3]},
    )
    assert r.status_code == 200
    assert r.json()["result"]["status"] == "acknowledged"
    assert _wait_for(
        lambda: client.retrieve(collection_name, [3])[0].payload == {"i": 3, "late": True}
    )

    r = http.put(f"/collections/{collection_name}/points?wait=true", json={"points": points[:1]})
    assert r.json()["result"]["status"] == "completed"


def test_wait_false_batch_form(
    client: QdrantClient, http: httpx.Client, collection_name: str
) -> None:
    """Columnar batch upsert through raw HTTP with wait=false."""
    _make_plain(client, collection_name, models.Distance.DOT)
    r = http.put(
        f"/collections/{collection_name}/points",
        params={"wait": "false"},
        json={
            "batch": {
                "ids": [1, 2],
                "vectors": [[1.0, 0, 0, 0], [0, 1.0, 0, 0]],
                "payloads": [{"a": 1}, None],
            }
        },
    )
    assert r.status_code == 200
    assert r.json()["result"]["status"] == "acknowledged"
    assert _wait_for(lambda: client.count(collection_name).count == 2)
    got = {p.id: p.payload for p in client.retrieve(collection_name, [1, 2])}
    assert got == {1: {"a": 1}, 2: {}}


@pytest.mark.parametrize(
    "form",
    [
        lambda u: u.hex,
        lambda u: str(u).upper(),
        lambda u: "{" + str(u) + "}",
        lambda u: u.urn,
        lambda u: u.hex.upper(),
    ],
    ids=["simple", "upper", "braced", "urn", "simple-upper"],
)
def test_uuid_forms_answered_canonical(
    client: QdrantClient, http: httpx.Client, collection_name: str, form: Callable[[uuid.UUID], str]
) -> None:
    """Any textual UUID form is accepted and always answered in canonical form."""
    _make_plain(client, collection_name, models.Distance.DOT)
    u = uuid.uuid4()
    text = form(u)
    canonical = str(u)
    r = http.put(
        f"/collections/{collection_name}/points?wait=true",
        json={"points": [{"id": text, "vector": [1.0, 0, 0, 0], "payload": {"x": 1}}]},
    )
    assert r.status_code == 200, r.text

    r = http.post(f"/collections/{collection_name}/points", json={"ids": [text]})
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["result"]] == [canonical]

    r = http.post(f"/collections/{collection_name}/points/scroll", json={"limit": 10})
    assert [p["id"] for p in r.json()["result"]["points"]] == [canonical]

    r = http.post(
        f"/collections/{collection_name}/points/query",
        json={"query": [1.0, 0, 0, 0], "limit": 1},
    )
    assert [p["id"] for p in r.json()["result"]["points"]] == [canonical]

    # the same point, whatever the spelling: a second upsert does not add a point
    r = http.put(
        f"/collections/{collection_name}/points?wait=true",
        json={"points": [{"id": canonical, "vector": [0, 1.0, 0, 0]}]},
    )
    assert r.status_code == 200
    assert client.count(collection_name).count == 1

    r = http.post(
        f"/collections/{collection_name}/points/count",
        json={"filter": {"must": [{"has_id": [text]}]}},
    )
    assert r.json()["result"]["count"] == 1

    r = http.get(f"/collections/{collection_name}/points/{text}")
    assert r.status_code == 200, r.text
    assert r.json()["result"]["id"] == canonical


def test_largest_u64_id(client: QdrantClient, http: httpx.Client, collection_name: str) -> None:
    """2**64 - 1 is a valid id and comes back exactly."""
    _make_plain(client, collection_name, models.Distance.DOT)
    big = 2**64 - 1
    r = http.put(
        f"/collections/{collection_name}/points?wait=true",
        json={"points": [{"id": big, "vector": [1.0, 0, 0, 0]}, {"id": 0, "vector": [0, 1.0, 0, 0]}]},
    )
    assert r.status_code == 200, r.text
    r = http.post(f"/collections/{collection_name}/points/scroll", json={"limit": 10})
    assert [p["id"] for p in r.json()["result"]["points"]] == [0, big]
    r = http.get(f"/collections/{collection_name}/points/{big}")
    assert r.status_code == 200 and r.json()["result"]["id"] == big


def test_recreated_collection_is_empty(client: QdrantClient, collection_name: str) -> None:
    """Delete then create under the same name: no points or indexes survive."""
    _make_plain(client, collection_name, models.Distance.DOT)
    _seed(client, collection_name, 5)
    client.create_payload_index(collection_name, "i", field_schema=models.PayloadSchemaType.INTEGER)
    assert client.delete_collection(collection_name)
    _make_plain(client, collection_name, models.Distance.EUCLID)
    info = client.get_collection(collection_name)
    assert info.points_count == 0
    assert info.payload_schema == {}
    assert client.count(collection_name).count == 0
    assert client.scroll(collection_name)[0] == []
