"""``turbo`` quantization (Qdrant 1.19's ``TurboQuantization``) through the API, over REST and
gRPC: configs created, reported and patched exactly as given; indexed segments searched through
the turbo codes (every bit size) and re-scored, against numpy's exact ground truth; errors."""

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
from qdrant_client.grpc import (
    CollectionsStub,
    QuantizationConfigDiff,
    TurboQuantization,
    UpdateCollection,
)
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server import HeronProcess

N = 2000
SEGMENT = 400
LIMIT = 10
QUERIES = 12
Bits = models.TurboQuantBitSize


def turbo(bits: models.TurboQuantBitSize | None = None, **kw: Any) -> models.TurboQuantization:
    return models.TurboQuantization(turbo=models.TurboQuantQuantizationConfig(bits=bits, **kw))


COLLECTION_TURBO = turbo(always_ram=True)  # bits omitted: built as bits4, reported as given
VECTORS = {  # name: (dim, distance, own quantization, oversampling, least recall@10)
    "b4": (64, models.Distance.COSINE, None, 2.0, 0.95),
    "b2": (32, models.Distance.EUCLID, turbo(Bits.BITS2), 4.0, 0.9),
    "b15": (48, models.Distance.DOT, turbo(Bits.BITS1_5), 8.0, 0.9),
    "b1": (128, models.Distance.COSINE, turbo(Bits.BITS1, memory=models.Memory.CACHED),
           8.0, 0.8),
}
REST_SHAPES = {  # what GET /collections/{c} holds for each
    "collection": {"turbo": {"always_ram": True}},
    "b4": None,
    "b2": {"turbo": {"bits": "bits2"}},
    "b15": {"turbo": {"bits": "bits1_5"}},
    "b1": {"turbo": {"memory": "cached", "bits": "bits1"}},
}


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))
    return (centers[rng.integers(20, size=n)] + rng.normal(size=(n, dim))).astype(np.float32)


def near(data: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = data[rng.integers(len(data), size=count)]
    return (picks + 0.5 * rng.normal(size=picks.shape)).astype(np.float32)


DATA = {name: clustered(N, dim, seed=30 + i) for i, (name, (dim, *_)) in enumerate(
    VECTORS.items())}


def truth(name: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """numpy's exact top ``k`` (ids, scores) in heron's / Qdrant's score scale."""
    rows, distance = DATA[name].astype(np.float64), VECTORS[name][1]
    q = query.astype(np.float64)
    if distance == models.Distance.COSINE:
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        q = q / np.linalg.norm(q)
    if distance == models.Distance.EUCLID:
        scores = np.linalg.norm(rows - q, axis=1)
        order = np.argsort(scores, kind="stable")[:k]
    else:
        scores = rows @ q
        order = np.argsort(-scores, kind="stable")[:k]
    return order, scores


def _wait_indexed(client: QdrantClient, name: str, vectors: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.get_collection(name)
        if (info.status == models.CollectionStatus.GREEN
                and (info.indexed_vectors_count or 0) >= 0.9 * vectors):
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} was not indexed in {timeout}s: {client.get_collection(name)}")


def _create(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name,
        vectors_config={n: models.VectorParams(size=dim, distance=dist, quantization_config=own)
                        for n, (dim, dist, own, *_) in VECTORS.items()},
        quantization_config=COLLECTION_TURBO,
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
    )
    for start in range(0, N, 250):
        client.upsert(name, wait=True, points=[
            models.PointStruct(id=i, vector={n: DATA[n][i].tolist() for n in VECTORS})
            for i in range(start, min(N, start + 250))
        ])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    storage: Path = tmp_path_factory.mktemp("turboq") / "storage"
    proc = HeronProcess(storage, env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": str(SEGMENT)}).start()
    yield proc
    code = proc.stop()
    assert code == 0, f"heron exited with {code}:\n{proc.log()}"


@pytest.fixture(scope="module")
def clients(server: HeronProcess) -> Iterator[dict[str, QdrantClient]]:
    """One client per transport; collection ``via_<transport>`` was created through it."""
    out = {
        "rest": QdrantClient(url=server.url, prefer_grpc=False, timeout=60),
        "grpc": QdrantClient(url=server.url, grpc_port=server.grpc_port, prefer_grpc=True,
                             timeout=60),
    }
    for transport, client in out.items():
        _create(client, f"via_{transport}")
    for client_name in out:
        _wait_indexed(out["rest"], f"via_{client_name}", N * len(VECTORS))
    yield out
    for c in out.values():
        c.close()


@pytest.fixture()
def http(server: HeronProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


TRANSPORTS = ["rest", "grpc"]


@pytest.mark.parametrize("created", TRANSPORTS)
@pytest.mark.parametrize("read", TRANSPORTS)
def test_info_reports_the_config_as_given(
    clients: dict[str, QdrantClient], http: httpx.Client, created: str, read: str
) -> None:
    name = f"via_{created}"
    config = clients[read].get_collection(name).config
    assert config.quantization_config == COLLECTION_TURBO
    vectors = config.params.vectors
    assert isinstance(vectors, dict)
    for n, (_, _, own, *_) in VECTORS.items():
        assert vectors[n].quantization_config == own, n
    raw = http.get(f"/collections/{name}").json()["result"]["config"]
    assert raw["quantization_config"] == REST_SHAPES["collection"]
    for n, params in raw["params"]["vectors"].items():
        assert params.get("quantization_config") == REST_SHAPES[n], n


def _search(client: QdrantClient, coll: str, using: str, query: np.ndarray,
            **quant: Any) -> list[models.ScoredPoint]:
    params = models.SearchParams(quantization=models.QuantizationSearchParams(**quant))
    return client.query_points(coll, query=query.tolist(), using=using, limit=LIMIT,
                               search_params=params).points


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("using", list(VECTORS))
def test_rescored_turbo_search_recalls_numpy_truth(
    clients: dict[str, QdrantClient], transport: str, using: str
) -> None:
    client, coll = clients[transport], f"via_{transport}"
    over, least = VECTORS[using][3], VECTORS[using][4]
    recalls, plain_recalls, raw_recalls, raw_errors = [], [], [], []
    for query in near(DATA[using], QUERIES, seed=7):
        ids, scores = truth(using, query, LIMIT)
        got = _search(client, coll, using, query, oversampling=over)
        assert len(got) == LIMIT
        for p in got:  # re-scored: the exact full-precision score
            assert p.score == pytest.approx(float(scores[p.id]), rel=1e-4, abs=1e-4)
        recalls.append(len({p.id for p in got} & set(ids.tolist())) / LIMIT)
        plain = _search(client, coll, using, query)  # rescore, no oversampling
        plain_recalls.append(len({p.id for p in plain} & set(ids.tolist())) / LIMIT)
        raw = _search(client, coll, using, query, rescore=False)
        raw_recalls.append(len({p.id for p in raw} & set(ids.tolist())) / LIMIT)
        raw_errors += [abs(p.score - float(scores[p.id])) for p in raw]
    mean, raw_mean = float(np.mean(recalls)), float(np.mean(raw_recalls))
    plain_mean = float(np.mean(plain_recalls))
    print(f"{transport} {using}: recall@{LIMIT} rescored (oversampling {over}) {mean:.3f}, "
          f"rescored without oversampling {plain_mean:.3f}, without rescore {raw_mean:.3f}, "
          f"mean |score error| {np.mean(raw_errors):.4f}")
    assert mean >= least
    assert mean >= plain_mean >= raw_mean
    assert np.mean(raw_errors) > 0  # the turbo codes were searched: their scores are estimates


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ignore_searches_the_originals(clients: dict[str, QdrantClient], transport: str) -> None:
    client, coll = clients[transport], f"via_{transport}"
    query = near(DATA["b1"], 1, seed=9)[0]
    _, scores = truth("b1", query, LIMIT)
    for p in _search(client, coll, "b1", query, ignore=True, rescore=False):
        assert p.score == pytest.approx(float(scores[p.id]), rel=1e-4, abs=1e-4)


SWITCH_N = 1200
SWITCH = [  # (config to set, REST shape reported, quantized: whether unrescored scores differ)
    (turbo(Bits.BITS4), {"turbo": {"bits": "bits4"}}, True),
    (models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8)),
     {"scalar": {"type": "int8"}}, True),
    (turbo(Bits.BITS1_5), {"turbo": {"bits": "bits1_5"}}, True),
    (models.BinaryQuantization(binary=models.BinaryQuantizationConfig()), {"binary": {}}, True),
    (turbo(), {"turbo": {}}, True),
    (models.Disabled.DISABLED, None, False),
    (turbo(Bits.BITS1, always_ram=False), {"turbo": {"always_ram": False, "bits": "bits1"}}, True),
]


def _unrescored_differs(client: QdrantClient, coll: str, using: str | None,
                        data: np.ndarray) -> bool:
    query = near(data, 1, seed=13)[0]
    raw = client.query_points(coll, query=query.tolist(), using=using, limit=LIMIT,
                              search_params=models.SearchParams(
                                  quantization=models.QuantizationSearchParams(rescore=False)))
    exact = client.query_points(coll, query=query.tolist(), using=using, limit=200,
                                search_params=models.SearchParams(exact=True))
    want = {p.id: p.score for p in exact.points}
    return any(abs(p.score - want[p.id]) > 1e-5 for p in raw.points)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("level", ["collection", "vector"])
def test_patch_switches_to_and_from_turbo(
    clients: dict[str, QdrantClient], http: httpx.Client, transport: str, level: str
) -> None:
    """Each PATCH is reported back at once and the indexed segments follow it."""
    client = clients[transport]
    coll = f"switch_{transport}_{level}"
    data = clustered(SWITCH_N, 24, seed=3)
    client.create_collection(
        coll, vectors_config={"v": models.VectorParams(size=24, distance=models.Distance.DOT)},
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1))
    try:
        client.upsert(coll, wait=True, points=[
            models.PointStruct(id=i, vector={"v": data[i].tolist()}) for i in range(SWITCH_N)])
        _wait_indexed(clients["rest"], coll, SWITCH_N)
        assert not _unrescored_differs(client, coll, "v", data)
        for config, shape, quantized in SWITCH:
            if level == "collection":
                client.update_collection(coll, quantization_config=config)
            else:
                client.update_collection(coll, vectors_config={
                    "v": models.VectorParamsDiff(quantization_config=config)})
            raw = http.get(f"/collections/{coll}").json()["result"]["config"]
            held = (raw["quantization_config"] if level == "collection"
                    else raw["params"]["vectors"]["v"].get("quantization_config"))
            assert held == shape
            info = client.get_collection(coll).config
            got = (info.quantization_config if level == "collection" else
                   info.params.vectors["v"].quantization_config)  # type: ignore[index]
            assert got == (None if config == models.Disabled.DISABLED else config)
            assert _unrescored_differs(client, coll, "v", data) == quantized, shape
    finally:
        client.delete_collection(coll)


BAD = [
    ({"turbo": {"bits": "bits8"}}, "unknown variant `bits8`"),
    ({"turbo": {"bits": "bits3"}}, "unknown variant `bits3`"),
    ({"turbo": {"bits": 4}}, "bits must be a string"),
    ({"turbo": {"always_ram": "yes"}}, "always_ram must be a boolean"),
    ({"turbo": {"memory": 2}}, "memory must be a string"),
    ({"turbo": {"memory": "ram"}}, "memory: unknown variant `ram`, expected one of `cold`"),
    ({"turbo": "bits4"}, "turbo must be an object"),
    ({"turbo": {}, "scalar": {"type": "int8"}}, "exactly one"),
]


@pytest.mark.parametrize(("config", "text"), BAD)
def test_bad_turbo_configs_are_4xx(http: httpx.Client, clients: dict[str, QdrantClient],
                                   config: Any, text: str) -> None:
    for method, path, body in (
        ("PUT", "/collections/bad_turbo",
         {"vectors": {"size": 4, "distance": "Dot"}, "quantization_config": config}),
        ("PUT", "/collections/bad_turbo",
         {"vectors": {"v": {"size": 4, "distance": "Dot", "quantization_config": config}}}),
        ("PATCH", "/collections/via_rest", {"quantization_config": config}),
        ("PATCH", "/collections/via_rest", {"vectors": {"b2": {"quantization_config": config}}}),
    ):
        r = http.request(method, path, json=body)
        assert r.status_code in (400, 422), (method, path, r.status_code, r.text)
        assert text in r.json()["status"]["error"], r.text
    assert http.get("/collections/bad_turbo").status_code == 404
    raw = http.get("/collections/via_rest").json()["result"]["config"]
    assert raw["quantization_config"] == REST_SHAPES["collection"]  # nothing was changed
    assert raw["params"]["vectors"]["b2"]["quantization_config"] == REST_SHAPES["b2"]


def test_bad_bit_sizes_over_grpc(clients: dict[str, QdrantClient], server: HeronProcess) -> None:
    """A bit size Qdrant 1.19 lacks (the client's ``bits8``) or an out-of-range enum number."""
    with pytest.raises(grpc.RpcError) as err:
        clients["grpc"].update_collection("via_grpc", quantization_config=turbo(Bits.BITS8))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "TurboQuantBitSize" in str(err.value.details())
    with pytest.raises((UnexpectedResponse, ValueError)):
        clients["rest"].update_collection("via_rest", quantization_config=turbo(Bits.BITS8))
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:  # enum value 9
        stub = CollectionsStub(channel)
        request = UpdateCollection(collection_name="via_grpc",
                                   quantization_config=QuantizationConfigDiff(
                                       turboquant=TurboQuantization(bits=9)))  # type: ignore[arg-type]
        with pytest.raises(grpc.RpcError) as err:
            stub.Update(request, timeout=30)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert clients["grpc"].get_collection("via_grpc").config.quantization_config == (
        COLLECTION_TURBO)


def test_turbo_search_survives_a_restart(tmp_path: Path) -> None:
    """The config persists; the codes are rebuilt on load and give the same answers."""
    proc = HeronProcess(tmp_path / "storage", env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": str(SEGMENT)}).start()
    data = DATA["b15"][:1000]
    try:
        c = QdrantClient(url=proc.url, prefer_grpc=False, timeout=60)
        c.create_collection("t", vectors_config=models.VectorParams(
            size=data.shape[1], distance=models.Distance.DOT), quantization_config=turbo(
            Bits.BITS2), optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1))
        c.upsert("t", wait=True, points=[models.PointStruct(id=i, vector=data[i].tolist())
                                         for i in range(len(data))])
        _wait_indexed(c, "t", len(data))
        queries = near(data, 4, seed=21)

        def answers(client: QdrantClient) -> list[list[tuple[int | str, float]]]:
            return [[(p.id, p.score) for p in client.query_points(
                "t", query=q.tolist(), limit=LIMIT, search_params=models.SearchParams(
                    quantization=models.QuantizationSearchParams(rescore=False))).points]
                for q in queries]

        before = answers(c)
        c.close()
        assert proc.stop() == 0, proc.log()
        proc.start()
        c = QdrantClient(url=proc.url, prefer_grpc=False, timeout=60)
        _wait_indexed(c, "t", len(data))
        assert c.get_collection("t").config.quantization_config == turbo(Bits.BITS2)
        assert answers(c) == before
        c.close()
    finally:
        code = proc.stop()
    assert code == 0, proc.log()
