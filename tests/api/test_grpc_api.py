"""heron's gRPC port with raw stubs and qdrant-client: health, the RPC table, errors (code and the
REST error text), ids above 2^53, the legacy vector fields, big messages, gzip, keepalive pings,
and the same answers over gRPC and REST on random data of every vector kind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as q

from server.grpc import schema
from server.grpc.services import ROUTES
from tests.api.test_vector_kinds import (
    DENSE,
    KINDS,
    POINTS,
    assert_same_hits,
    assert_same_records,
    load,
    make_query,
    scroll_all,
)
from tests.server import HeronProcess

C = grpc.StatusCode


@pytest.fixture(scope="module")
def channel(heron: HeronProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{heron.grpc_port}") as ch:
        yield ch


@pytest.fixture()
def grpc_client(heron: HeronProcess) -> Iterator[QdrantClient]:
    c = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=30)
    yield c
    c.close()


def rpc_error(call: Any, *args: Any, **kw: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kw)
    return info.value


def rest_error(r: httpx.Response) -> str:
    assert r.status_code >= 400, r.text
    return str(r.json()["status"]["error"])


def test_health_checks(channel: grpc.Channel) -> None:
    reply = q.QdrantStub(channel).HealthCheck(q.HealthCheckRequest())
    assert reply.version == "1.19.0" and "heron" in reply.title
    request = schema.message("grpc.health.v1.HealthCheckRequest")
    response = schema.message("grpc.health.v1.HealthCheckResponse")
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )
    assert check(request()).status == 1  # SERVING


def test_every_rpc_is_registered(channel: grpc.Channel, heron: HeronProcess) -> None:
    """Each RPC of the five services answers; those without a REST side say UNIMPLEMENTED and
    name themselves, the others never do."""
    paths = httpx.get(heron.url + "/openapi.json").json()["paths"]
    served = {op["operationId"] for methods in paths.values() for op in methods.values()}
    checked = 0
    for service in schema.SERVICES:
        for method in schema.methods(service):
            if service in ("qdrant.Qdrant", "grpc.health.v1.Health"):
                continue
            call = channel.unary_unary(
                f"/{service}/{method.name}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=schema.message(method.output_type.full_name).FromString,
            )
            request = schema.message(method.input_type.full_name)()
            op = ROUTES[service][method.name].op
            try:
                call(request, timeout=10)
                code, details = C.OK, ""
            except grpc.RpcError as exc:
                code, details = exc.code(), exc.details() or ""
            if op in served:
                assert code != C.UNIMPLEMENTED, (service, method.name, details)
            else:
                assert code == C.UNIMPLEMENTED, (service, method.name, code, details)
                assert f"{service}/{method.name}" in details
            checked += 1
    assert checked == 50


def _plain(client: QdrantClient, name: str, size: int = 4) -> None:
    client.create_collection(name, vectors_config=models.VectorParams(size=size, distance="Dot"))


def test_errors_have_the_rest_code_and_text(
    channel: grpc.Channel, http: httpx.Client, grpc_client: QdrantClient, collection_name: str
) -> None:
    collections, points = q.CollectionsStub(channel), q.PointsStub(channel)
    err = rpc_error(collections.Get, q.GetCollectionInfoRequest(collection_name="nope_x"))
    assert err.code() == C.NOT_FOUND
    assert err.details() == rest_error(http.get("/collections/nope_x"))

    _plain(grpc_client, collection_name)
    create = q.CreateCollection(collection_name=collection_name, vectors_config=q.VectorsConfig(
        params=q.VectorParams(size=4, distance=q.Distance.Dot)))
    err = rpc_error(collections.Create, create)
    assert err.code() == C.ALREADY_EXISTS
    rest = http.put(f"/collections/{collection_name}",
                    json={"vectors": {"size": 4, "distance": "Dot"}})
    assert err.details() == rest_error(rest)

    wrong_dim = q.UpsertPoints(collection_name=collection_name, wait=True, points=[q.PointStruct(
        id=q.PointId(num=1), vectors=q.Vectors(vector=q.Vector(dense=q.DenseVector(data=[1, 2]))))])
    err = rpc_error(points.Upsert, wrong_dim)
    assert err.code() == C.INVALID_ARGUMENT
    rest = http.put(f"/collections/{collection_name}/points?wait=true",
                    json={"points": [{"id": 1, "vector": [1, 2]}]})
    assert err.details() == rest_error(rest)

    bad_name = q.QueryPoints(collection_name=collection_name, using="no_such_vector",
                             query=q.Query(nearest=q.VectorInput(dense=q.DenseVector(data=[1] * 4))))
    err = rpc_error(points.Query, bad_name)
    assert err.code() == C.INVALID_ARGUMENT
    rest = http.post(f"/collections/{collection_name}/points/query",
                     json={"query": [1, 1, 1, 1], "using": "no_such_vector"})
    assert err.details() == rest_error(rest)
    assert grpc_client.count(collection_name).count == 0, "nothing half-applied"


def test_ids_above_2_53_stay_exact(
    grpc_client: QdrantClient, http: httpx.Client, collection_name: str
) -> None:
    _plain(grpc_client, collection_name)
    ids = [2**64 - 1, 2**53 + 1, 2**63 + 7]
    grpc_client.upsert(collection_name, [
        models.PointStruct(id=i, vector=[1.0, 0.0, 0.0, float(k)], payload={"big": i - 2**63})
        for k, i in enumerate(ids)])
    got = grpc_client.retrieve(collection_name, ids)
    assert sorted(p.id for p in got) == sorted(ids)
    assert {p.id: p.payload["big"] for p in got} == {i: i - 2**63 for i in ids}
    raw = http.post(f"/collections/{collection_name}/points", json={"ids": ids}).json()["result"]
    assert sorted(p["id"] for p in raw) == sorted(ids)
    hits = grpc_client.query_points(collection_name, query=2**53 + 1, limit=5).points
    assert {h.id for h in hits} == {2**64 - 1, 2**63 + 7}


def test_payload_values_keep_their_types(grpc_client: QdrantClient, collection_name: str) -> None:
    _plain(grpc_client, collection_name)
    payload = {"t": True, "f": False, "one": 1, "one_f": 1.0, "neg": -(2**62), "s": "x",
               "none": None, "list": [1, 2.5, "a", [True]], "obj": {"a": {"b": [None, 0]}}}
    grpc_client.upsert(collection_name, [models.PointStruct(id=1, vector=[1.0] * 4,
                                                            payload=payload)])
    back = grpc_client.retrieve(collection_name, [1])[0].payload
    assert back == payload
    assert [type(back[k]) for k in ("t", "one", "one_f")] == [bool, int, float]


def test_legacy_vector_fields(
    channel: grpc.Channel, http: httpx.Client, grpc_client: QdrantClient, collection_name: str
) -> None:
    """What older clients (Java) send: ``Vector.data`` plus ``indices`` or ``vectors_count``."""
    grpc_client.create_collection(
        collection_name,
        vectors_config={
            "d": models.VectorParams(size=3, distance="Dot"),
            "m": models.VectorParams(size=2, distance="Dot", multivector_config=models.MultiVectorConfig(
                comparator=models.MultiVectorComparator.MAX_SIM)),
        },
        sparse_vectors_config={"s": models.SparseVectorParams()},
    )
    named = q.NamedVectors(vectors={
        "d": q.Vector(data=[1, 2, 3]),
        "m": q.Vector(data=[1, 2, 3, 4, 5, 6], vectors_count=3),
        "s": q.Vector(data=[0.5, 0.25], indices=q.SparseIndices(data=[7, 3])),
    })
    q.PointsStub(channel).Upsert(q.UpsertPoints(collection_name=collection_name, wait=True, points=[
        q.PointStruct(id=q.PointId(num=5), vectors=q.Vectors(vectors=named))]))
    got = http.post(f"/collections/{collection_name}/points",
                    json={"ids": [5], "with_vector": True}).json()["result"][0]["vector"]
    assert got["d"] == [1, 2, 3]
    assert got["m"] == [[1, 2], [3, 4], [5, 6]]
    assert got["s"] == {"indices": [3, 7], "values": [0.25, 0.5]}
    bad = q.NamedVectors(vectors={"m": q.Vector(data=[1, 2, 3, 4, 5], vectors_count=3)})
    err = rpc_error(q.PointsStub(channel).Upsert, q.UpsertPoints(
        collection_name=collection_name, points=[
            q.PointStruct(id=q.PointId(num=6), vectors=q.Vectors(vectors=bad))]))
    assert err.code() == C.INVALID_ARGUMENT


def test_big_messages_gzip_and_keepalive_pings(heron: HeronProcess, collection_name: str) -> None:
    """Over 4 MB each way (no size limit), gzip-compressed calls, and a client pinging every
    0.2 s for 2 s is not sent away for too many pings."""
    options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1),
               ("grpc.keepalive_time_ms", 200), ("grpc.keepalive_permit_without_calls", 1),
               ("grpc.http2.max_pings_without_data", 0)]
    with grpc.insecure_channel(f"127.0.0.1:{heron.grpc_port}", options=options,
                               compression=grpc.Compression.Gzip) as ch:
        collections, points = q.CollectionsStub(ch), q.PointsStub(ch)
        collections.Create(q.CreateCollection(
            collection_name=collection_name,
            vectors_config=q.VectorsConfig(params=q.VectorParams(size=512, distance=q.Distance.Dot))))
        rng = np.random.default_rng(5)
        batch = [q.PointStruct(id=q.PointId(num=i), vectors=q.Vectors(vector=q.Vector(
            dense=q.DenseVector(data=rng.random(512, dtype=np.float32).tolist()))))
            for i in range(2500)]
        request = q.UpsertPoints(collection_name=collection_name, wait=True, points=batch)
        assert request.ByteSize() > 4 * 1024 * 1024
        points.Upsert(request, timeout=60)
        time.sleep(2.0)
        back = points.Scroll(q.ScrollPoints(
            collection_name=collection_name, limit=2500,
            with_vectors=q.WithVectorsSelector(enable=True)), timeout=60)
        assert back.ByteSize() > 4 * 1024 * 1024 and len(back.result) == 2500
        assert points.Count(q.CountPoints(collection_name=collection_name, exact=True)).result.count == 2500


def test_deadlines_cancel_calls_and_the_server_stays_well(
    channel: grpc.Channel, heron: HeronProcess, grpc_client: QdrantClient, collection_name: str
) -> None:
    """Calls whose deadline passes at every stage (before sending, in the operation, while
    answering) end DEADLINE_EXCEEDED; the server answers normally afterwards, logging nothing."""
    _plain(grpc_client, collection_name)
    grpc_client.upsert(collection_name, [models.PointStruct(id=i, vector=[1.0, 0.5, 0.0, i])
                                         for i in range(200)])
    points = q.PointsStub(channel)
    query = q.QueryPoints(collection_name=collection_name, limit=50, query=q.Query(
        nearest=q.VectorInput(dense=q.DenseVector(data=[1.0, 2.0, 3.0, 4.0]))),
        with_payload=q.WithPayloadSelector(enable=True))
    codes = set()
    for timeout in np.geomspace(1e-6, 2e-2, 40):
        try:
            points.Query(query, timeout=float(timeout))
            codes.add(C.OK)
        except grpc.RpcError as exc:
            codes.add(exc.code())
    # gRPC's deadline timer is coarse, so a short call may still end OK; this batch takes the
    # server far longer than its deadline, so it must end DEADLINE_EXCEEDED.
    heavy = q.QueryBatchPoints(collection_name=collection_name, query_points=[q.QueryPoints(
        collection_name=collection_name, limit=200, query=query.query,
        with_payload=q.WithPayloadSelector(enable=True),
        with_vectors=q.WithVectorsSelector(enable=True))] * 10)
    try:
        points.QueryBatch(heavy, timeout=2e-3)
        codes.add(C.OK)
    except grpc.RpcError as exc:
        codes.add(exc.code())
    assert C.DEADLINE_EXCEEDED in codes and codes <= {C.OK, C.DEADLINE_EXCEEDED}, codes
    assert len(points.QueryBatch(heavy, timeout=10).result) == 10
    assert len(points.Query(query, timeout=10).result) == 50
    assert grpc_client.count(collection_name).count == 200
    assert "Traceback" not in heron.log()


@pytest.fixture(scope="module")
def twins(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """The same random points of every kind, loaded over gRPC ("via_grpc") and REST ("via_rest")."""
    g = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=30)
    r = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    load(g, "via_grpc", POINTS)
    load(r, "via_rest", POINTS)
    yield g, r
    g.close()
    r.close()


def test_grpc_and_rest_store_the_same(twins: tuple[QdrantClient, QdrantClient]) -> None:
    g, r = twins
    assert_same_records(scroll_all(g, "via_grpc", with_vectors=True),
                        scroll_all(r, "via_rest", with_vectors=True))
    assert_same_records(scroll_all(r, "via_grpc", with_vectors=True),
                        scroll_all(g, "via_rest", with_vectors=True))


@pytest.mark.parametrize("using", KINDS)
def test_grpc_and_rest_answer_the_same(
    twins: tuple[QdrantClient, QdrantClient], using: str
) -> None:
    """Same query, one over each transport on its own copy: same ids, scores, payloads and
    vectors (plain, filtered with offset and threshold, by id, and grouped)."""
    g, r = twins
    rng = np.random.default_rng(1000 + KINDS.index(using))
    flt = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchAny(any=["x", "y"]))])
    for _ in range(3):
        vec = make_query(rng, using)
        if isinstance(vec, dict):
            vec = models.SparseVector(**vec)
        for kw in ({"limit": 10}, {"limit": 7, "offset": 3, "query_filter": flt},
                   {"limit": 5, "with_vectors": [using]}):
            got = g.query_points("via_grpc", query=vec, using=using, with_payload=True, **kw)
            want = r.query_points("via_rest", query=vec, using=using, with_payload=True, **kw)
            assert_same_hits(got.points, want.points)
            if using == "half" or not want.points:
                continue
            threshold = want.points[len(want.points) // 2].score
            got = g.query_points("via_grpc", query=vec, using=using, score_threshold=threshold)
            want = r.query_points("via_rest", query=vec, using=using, score_threshold=threshold)
            assert [p.id for p in got.points] == [p.id for p in want.points]
    pid = next(p.id for p in POINTS if using in p.vector)  # type: ignore[operator]
    assert_same_hits(g.query_points("via_grpc", query=pid, using=using, limit=8).points,
                     r.query_points("via_rest", query=pid, using=using, limit=8).points)
    if using in DENSE and DENSE[using].multivector_config is None:
        vec = make_query(rng, using)
        got_groups = g.query_points_groups("via_grpc", "group", query=vec, using=using, limit=3)
        want_groups = r.query_points_groups("via_rest", "group", query=vec, using=using, limit=3)
        assert [x.id for x in got_groups.groups] == [x.id for x in want_groups.groups]
        for a, b in zip(got_groups.groups, want_groups.groups, strict=True):
            assert_same_hits(a.hits, b.hits)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    storage = tmp_path_factory.mktemp("grpc_keyed") / "storage"
    env = {"HERON__SERVICE__API_KEY": "full-key", "HERON__SERVICE__READ_ONLY_API_KEY": "ro-key"}
    server = HeronProcess(storage, env=env).start()
    yield server
    assert server.stop() == 0


def test_api_keys_are_enforced(keyed: HeronProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{keyed.grpc_port}") as ch:
        collections, points = q.CollectionsStub(ch), q.PointsStub(ch)
        listing = q.ListCollectionsRequest()
        err = rpc_error(collections.List, listing)
        assert err.code() == C.UNAUTHENTICATED and err.details()
        err = rpc_error(collections.List, listing, metadata=[("api-key", "wrong")])
        assert err.code() == C.UNAUTHENTICATED
        torn = q.UpsertPoints(collection_name="k", points=[q.PointStruct(
            id=q.PointId(num=1), vectors=q.Vectors(vector=q.Vector(data=[1, 2, 3], vectors_count=2)))])
        err = rpc_error(points.Upsert, torn)  # the key is checked before the body is read
        assert err.code() == C.UNAUTHENTICATED
        full = [("api-key", "full-key")]
        collections.Create(q.CreateCollection(
            collection_name="k", vectors_config=q.VectorsConfig(
                params=q.VectorParams(size=2, distance=q.Distance.Dot))), metadata=full)
        collections.List(listing, metadata=[("authorization", "Bearer full-key")])
        read_only = [("api-key", "ro-key")]
        upsert = q.UpsertPoints(collection_name="k", wait=True, points=[q.PointStruct(
            id=q.PointId(num=1), vectors=q.Vectors(vector=q.Vector(dense=q.DenseVector(data=[1, 0]))))])
        err = rpc_error(points.Upsert, upsert, metadata=read_only)
        assert err.code() == C.PERMISSION_DENIED and err.details()
        err = rpc_error(collections.Delete, q.DeleteCollection(collection_name="k"),
                        metadata=[("authorization", "Bearer ro-key")])
        assert err.code() == C.PERMISSION_DENIED
        points.Upsert(upsert, metadata=full)
        assert points.Count(q.CountPoints(collection_name="k"), metadata=read_only).result.count == 1
        query = q.QueryPoints(collection_name="k", query=q.Query(
            nearest=q.VectorInput(dense=q.DenseVector(data=[1, 0]))))
        assert [p.id.num for p in points.Query(query, metadata=read_only).result] == [1]
        assert q.QdrantStub(ch).HealthCheck(q.HealthCheckRequest()).version == "1.19.0"
    client = QdrantClient(url=keyed.url, grpc_port=keyed.grpc_port, prefer_grpc=True,
                          api_key="ro-key", https=False)
    assert client.count("k").count == 1
    client.close()


def test_legacy_search_rpcs(
    twins: tuple[QdrantClient, QdrantClient], channel: grpc.Channel, http: httpx.Client
) -> None:
    """Search (named dense, sparse via ``sparse_indices``), SearchBatch and SearchGroups answer
    what REST's search and query/groups answer."""
    points = q.PointsStub(channel)
    rng = np.random.default_rng(9)
    dense = make_query(rng, "dense")
    sparse = make_query(rng, "sparse")
    sparse = {"indices": list(sparse.indices), "values": list(sparse.values)}
    searches = [
        q.SearchPoints(collection_name="via_grpc", vector=dense, vector_name="dense", limit=6,
                       with_payload=q.WithPayloadSelector(enable=True)),
        q.SearchPoints(collection_name="via_grpc", vector=sparse["values"], vector_name="sparse",
                       sparse_indices=q.SparseIndices(data=sparse["indices"]), limit=4, offset=1),
    ]
    bodies = [
        {"vector": {"name": "dense", "vector": dense}, "limit": 6, "with_payload": True},
        {"vector": {"name": "sparse", "vector": sparse}, "limit": 4, "offset": 1},
    ]

    def ids(hits: Any) -> list[Any]:
        return [h.id.num or h.id.uuid for h in hits]

    rest = [http.post("/collections/via_grpc/points/search", json=b).json()["result"]
            for b in bodies]
    for search, want in zip(searches, rest, strict=True):
        got = points.Search(search).result
        assert ids(got) == [w["id"] for w in want] and want
        assert [round(g.score, 4) for g in got] == [round(w["score"], 4) for w in want]
    batch = points.SearchBatch(q.SearchBatchPoints(collection_name="via_grpc",
                                                   search_points=searches)).result
    assert [ids(b.result) for b in batch] == [[w["id"] for w in r] for r in rest]
    groups = points.SearchGroups(q.SearchPointGroups(
        collection_name="via_grpc", vector=dense, vector_name="dense", group_by="group",
        limit=3, group_size=2)).result.groups
    want_groups = http.post("/collections/via_grpc/points/query/groups", json={
        "query": dense, "using": "dense", "group_by": "group", "limit": 3, "group_size": 2,
    }).json()["result"]["groups"]
    assert [g.id.unsigned_value for g in groups] == [w["id"] for w in want_groups]
    assert [ids(g.hits) for g in groups] == [[h["id"] for h in w["hits"]] for w in want_groups]


def test_legacy_recommend_and_discover_rpcs(
    twins: tuple[QdrantClient, QdrantClient], channel: grpc.Channel, http: httpx.Client
) -> None:
    """Recommend / RecommendBatch / RecommendGroups / Discover answer what REST's query with a
    ``recommend`` / ``discover`` query answers."""
    points = q.PointsStub(channel)
    ids = [p.id for p in POINTS if "dense" in p.vector][:4]  # type: ignore[operator]
    pid = [q.PointId(num=i) if isinstance(i, int) else q.PointId(uuid=i) for i in ids]
    vec = make_query(np.random.default_rng(3), "dense")
    recommend = q.RecommendPoints(
        collection_name="via_grpc", positive=pid[:2], negative=pid[2:3], using="dense", limit=6,
        positive_vectors=[q.Vector(dense=q.DenseVector(data=vec))],
        strategy=q.RecommendStrategy.BestScore)
    body = {"query": {"recommend": {"positive": [*ids[:2], vec], "negative": ids[2:3],
                                    "strategy": "best_score"}}, "using": "dense", "limit": 6}
    want = http.post("/collections/via_grpc/points/query", json=body).json()["result"]["points"]

    def ids_of(hits: Any) -> list[Any]:
        return [h.id.num or h.id.uuid for h in hits]

    assert want and ids_of(points.Recommend(recommend).result) == [w["id"] for w in want]
    batch = points.RecommendBatch(q.RecommendBatchPoints(
        collection_name="via_grpc", recommend_points=[recommend, recommend])).result
    assert [ids_of(b.result) for b in batch] == [[w["id"] for w in want]] * 2
    grouped = q.RecommendPointGroups(collection_name="via_grpc", positive=pid[:2], using="dense",
                                     group_by="group", limit=2, group_size=2)
    assert len(points.RecommendGroups(grouped).result.groups) == 2
    discover = q.DiscoverPoints(
        collection_name="via_grpc", using="dense", limit=5,
        target=q.TargetVector(single=q.VectorExample(vector=q.Vector(dense=q.DenseVector(data=vec)))),
        context=[q.ContextExamplePair(positive=q.VectorExample(id=pid[0]),
                                      negative=q.VectorExample(id=pid[1]))])
    body = {"query": {"discover": {"target": vec, "context": [
        {"positive": ids[0], "negative": ids[1]}]}}, "using": "dense", "limit": 5}
    want = http.post("/collections/via_grpc/points/query", json=body).json()["result"]["points"]
    assert want and ids_of(points.Discover(discover).result) == [w["id"] for w in want]
