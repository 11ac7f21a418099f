"""Quantization through the API: scalar and binary collections, indexed over several segments,
queried with and without rescoring, oversampling and ``ignore``; exact search as reference."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server import HeronProcess

N = 2000
SEGMENT = 400
LIMIT = 10
QUERIES = 15
SCALAR = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(
        type=models.ScalarType.INT8, quantile=0.99, always_ram=True
    )
)
BINARY = models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))
VECTORS = {  # name: (dim, distance, own quantization)
    "bin": (128, models.Distance.COSINE, BINARY),
    "dot": (32, models.Distance.DOT, None),  # inherits the collection's scalar config
    "l2": (16, models.Distance.EUCLID, models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8))),
}


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))
    return (centers[rng.integers(20, size=n)] + rng.normal(size=(n, dim))).astype(np.float32)


def near(data: np.ndarray, count: int, seed: int) -> list[list[float]]:
    """Queries close to stored points."""
    rng = np.random.default_rng(seed)
    picks = data[rng.integers(len(data), size=count)]
    return (picks + 0.5 * rng.normal(size=picks.shape)).astype(np.float32).tolist()


DATA = {
    "plain": clustered(N, 32, seed=1),
    **{name: clustered(N, dim, seed=10 + i) for i, (name, (dim, _, _)) in enumerate(
        VECTORS.items())},
}


def _wait_indexed(client: QdrantClient, name: str, vectors: int, timeout: float = 120) -> None:
    """Until the optimizer is done and (nearly) every vector sits in an indexed segment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.get_collection(name)
        if (
            info.status == models.CollectionStatus.GREEN
            and (info.indexed_vectors_count or 0) >= 0.9 * vectors
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} was not indexed in {timeout}s: {client.get_collection(name)}")


def _upload(client: QdrantClient, name: str, vectors: Any) -> None:
    for start in range(0, N, 250):
        ids = range(start, min(N, start + 250))
        client.upsert(name, wait=True, points=[
            models.PointStruct(id=i, vector=vectors(i), payload={"even": i % 2 == 0})
            for i in ids
        ])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    storage: Path = tmp_path_factory.mktemp("quant") / "storage"
    proc = HeronProcess(storage, env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": str(SEGMENT),
    }).start()
    yield proc
    code = proc.stop()
    assert code == 0, f"heron exited with {code}:\n{proc.log()}"


@pytest.fixture(scope="module")
def client(server: HeronProcess) -> Iterator[QdrantClient]:
    c = QdrantClient(url=server.url, prefer_grpc=False, timeout=60)
    c.create_collection(
        "scalar",
        vectors_config=models.VectorParams(size=32, distance=models.Distance.COSINE),
        quantization_config=SCALAR,
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
    )
    c.create_collection(
        "mixed",
        vectors_config={
            name: models.VectorParams(size=dim, distance=dist, quantization_config=own)
            for name, (dim, dist, own) in VECTORS.items()
        },
        quantization_config=SCALAR,
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
    )
    _upload(c, "scalar", lambda i: DATA["plain"][i].tolist())
    _upload(c, "mixed", lambda i: {name: DATA[name][i].tolist() for name in VECTORS})
    _wait_indexed(c, "scalar", N)
    _wait_indexed(c, "mixed", N * len(VECTORS))
    yield c
    c.close()


@pytest.fixture()
def http(server: HeronProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


CASES = [("scalar", None), *(("mixed", name) for name in VECTORS)]


def _query(
    client: QdrantClient, coll: str, using: str | None, vector: list[float],
    params: models.SearchParams | None = None, limit: int = LIMIT,
    flt: models.Filter | None = None,
) -> list[models.ScoredPoint]:
    return client.query_points(
        coll, query=vector, using=using, limit=limit, search_params=params, query_filter=flt
    ).points


def _quant(**kw: Any) -> models.SearchParams:
    return models.SearchParams(quantization=models.QuantizationSearchParams(**kw))


def _recall(got: list[models.ScoredPoint], exact: list[models.ScoredPoint]) -> float:
    return len({p.id for p in got} & {p.id for p in exact}) / max(1, len(exact))


def _check_exact_scores(got: list[models.ScoredPoint], exact: list[models.ScoredPoint]) -> None:
    """Re-scored hits carry the full-precision score exact search gives the same point."""
    want = {p.id: p.score for p in exact}
    for p in got:
        if p.id in want:
            assert p.score == pytest.approx(want[p.id], rel=1e-5, abs=1e-6)


def test_info_shows_the_quantization_config(client: QdrantClient) -> None:
    info = client.get_collection("scalar")
    assert info.config.quantization_config == SCALAR
    assert info.segments_count >= N // SEGMENT
    mixed = client.get_collection("mixed")
    assert mixed.config.quantization_config == SCALAR
    vectors = mixed.config.params.vectors
    assert isinstance(vectors, dict)
    assert vectors["bin"].quantization_config == BINARY
    assert vectors["dot"].quantization_config is None
    assert vectors["l2"].quantization_config == VECTORS["l2"][2]


@pytest.mark.parametrize(("coll", "using"), CASES)
def test_every_quantization_param_answers(client: QdrantClient, coll: str, using: str | None
                                          ) -> None:
    vector = near(DATA[using or "plain"], 1, seed=99)[0]
    for params in (None, _quant(), _quant(rescore=False), _quant(oversampling=2.0),
                   _quant(ignore=True), _quant(ignore=False, rescore=True, oversampling=1.5),
                   models.SearchParams(exact=True, quantization=models.QuantizationSearchParams(
                       rescore=False))):
        points = _query(client, coll, using, vector, params)
        assert len(points) == LIMIT
        scores = [p.score for p in points]
        higher = VECTORS.get(using or "", (0, models.Distance.COSINE))[1] != (
            models.Distance.EUCLID)
        assert scores == sorted(scores, reverse=higher)


@pytest.mark.parametrize(("coll", "using"), CASES)
def test_rescored_results_match_exact_search(client: QdrantClient, coll: str, using: str | None
                                             ) -> None:
    """Default params (rescore, no oversampling) for scalar; oversampling 4 for binary, as
    one-bit codes need it. Scores are the exact ones; ids agree at recall >= 0.95."""
    data = DATA[using or "plain"]
    params = _quant(oversampling=4.0) if using == "bin" else None
    recalls, raw_recalls = [], []
    for vector in near(data, QUERIES, seed=5):
        exact = _query(client, coll, using, vector, models.SearchParams(exact=True))
        got = _query(client, coll, using, vector, params)
        _check_exact_scores(got, exact)
        recalls.append(_recall(got, exact))
        raw = _query(client, coll, using, vector, _quant(rescore=False))
        raw_recalls.append(_recall(raw, exact))
        ignored = _query(client, coll, using, vector, _quant(ignore=True))
        _check_exact_scores(ignored, exact)  # HNSW over the originals
    mean = float(np.mean(recalls))
    print(f"{coll}/{using}: recall@{LIMIT} rescored {mean:.3f}, "
          f"without rescore {float(np.mean(raw_recalls)):.3f}")
    assert mean >= 0.95


@pytest.mark.parametrize(("coll", "using", "tolerance"), [
    ("scalar", None, 0.05),  # Cosine, quantile 0.99: the clipped tails cost some accuracy
    ("mixed", "l2", 0.02),  # Euclid over the whole range: close
])
def test_without_rescore_scores_are_approximate(
    client: QdrantClient, coll: str, using: str | None, tolerance: float
) -> None:
    errors = []
    for vector in near(DATA[using or "plain"], 5, seed=7):
        exact = {p.id: p.score for p in _query(client, coll, using, vector, limit=300,
                                               params=models.SearchParams(exact=True))}
        for p in _query(client, coll, using, vector, _quant(rescore=False)):
            assert p.id in exact
            errors.append(abs(p.score - exact[p.id]) / max(1.0, abs(exact[p.id])))
    print(f"{coll}/{using}: relative error of unrescored scores mean {np.mean(errors):.4f}, "
          f"max {np.max(errors):.4f}")
    assert 0 < np.mean(errors) < tolerance


def test_binary_oversampling_helps(client: QdrantClient) -> None:
    data = DATA["bin"]
    by_factor: dict[float, list[float]] = {1.0: [], 4.0: []}
    for vector in near(data, QUERIES, seed=11):
        exact = _query(client, "mixed", "bin", vector, models.SearchParams(exact=True))
        for factor, out in by_factor.items():
            out.append(_recall(_query(client, "mixed", "bin", vector,
                                      _quant(oversampling=factor)), exact))
    means = {k: float(np.mean(v)) for k, v in by_factor.items()}
    print(f"binary recall@{LIMIT} by oversampling: {means}")
    assert means[4.0] >= means[1.0]


def test_filters_apply_to_quantized_search(client: QdrantClient) -> None:
    even = models.Filter(must=[models.FieldCondition(key="even",
                                                     match=models.MatchValue(value=True))])
    for coll, using in CASES:
        vector = near(DATA[using or "plain"], 1, seed=3)[0]
        for params in (None, _quant(rescore=False)):
            points = _query(client, coll, using, vector, params, flt=even)
            assert len(points) == LIMIT and all(p.id % 2 == 0 for p in points)


def test_legacy_search_and_prefetch_take_quantization_params(
    client: QdrantClient, http: httpx.Client
) -> None:
    vector = near(DATA["plain"], 1, seed=4)[0]
    params = {"quantization": {"rescore": True, "oversampling": 2.0}}
    r = http.post("/collections/scalar/points/search",
                  json={"vector": vector, "limit": 5, "params": params})
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]) == 5
    r = http.post("/collections/scalar/points/query", json={
        "prefetch": {"query": vector, "limit": 20,
                     "params": {"quantization": {"rescore": False}}},
        "query": vector, "limit": 5,
    })
    assert r.status_code == 200, r.text
    exact = _query(client, "scalar", None, vector, models.SearchParams(exact=True), limit=5)
    got = r.json()["result"]["points"]
    assert [p["id"] for p in got] == [p.id for p in exact]


BAD_PARAMS = [
    {"quantization": {"oversampling": 0.5}},
    {"quantization": {"oversampling": -1}},
    {"quantization": {"oversampling": "2"}},
    {"quantization": {"rescore": "yes"}},
    {"quantization": {"ignore": 1}},
    {"quantization": "fast"},
    {"quantization": [True]},
]


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_bad_quantization_params_are_4xx(http: httpx.Client, params: dict[str, Any]) -> None:
    vector = DATA["plain"][0].tolist()
    for path, body in (
        ("/collections/scalar/points/query", {"query": vector, "params": params}),
        ("/collections/scalar/points/search", {"vector": vector, "limit": 3, "params": params}),
        ("/collections/scalar/points/query",
         {"prefetch": {"query": vector, "params": params}, "query": vector}),
    ):
        r = http.post(path, json=body)
        assert 400 <= r.status_code < 500, (path, params, r.status_code, r.text)
        assert r.json()["status"]["error"]


def test_bad_params_through_the_client(client: QdrantClient) -> None:
    with pytest.raises((UnexpectedResponse, ValueError)):
        client.query_points("scalar", query=DATA["plain"][0].tolist(),
                            search_params=_quant(oversampling=0.25))


BAD_CONFIGS = [
    {"product": {"compression": "x16", "always_ram": True}},
    {"scalar": {"type": "int4"}},
    {"scalar": {"type": "int8", "quantile": 0.1}},
    {"binary": {"encoding": "two_bits"}},
    {"scalar": {"type": "int8"}, "binary": {}},
    "scalar",
]


@pytest.mark.parametrize("config", BAD_CONFIGS)
def test_bad_quantization_configs_are_4xx(http: httpx.Client, config: Any) -> None:
    r = http.put("/collections/bad_quant", json={
        "vectors": {"size": 4, "distance": "Dot"}, "quantization_config": config})
    assert 400 <= r.status_code < 500, (config, r.status_code, r.text)
    assert "error" in r.json()["status"]
    r = http.put("/collections/bad_quant", json={
        "vectors": {"v": {"size": 4, "distance": "Dot", "quantization_config": config}}})
    assert 400 <= r.status_code < 500, (config, r.status_code, r.text)
    r = http.patch("/collections/scalar", json={"quantization_config": config})
    assert 400 <= r.status_code < 500, (config, r.status_code, r.text)
    assert http.get("/collections/bad_quant").status_code == 404


def test_product_quantization_is_refused_by_name(client: QdrantClient) -> None:
    with pytest.raises(UnexpectedResponse) as err:
        client.create_collection(
            "product_quant",
            vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT),
            quantization_config=models.ProductQuantization(
                product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16)
            ),
        )
    assert 400 <= err.value.status_code < 500
    assert "product quantization is not supported" in str(err.value)


def test_update_and_disable_quantization(client: QdrantClient) -> None:
    name = "quant_update"
    client.create_collection(
        name, vectors_config={"v": models.VectorParams(size=8, distance=models.Distance.DOT)})
    try:
        assert client.get_collection(name).config.quantization_config is None
        client.update_collection(name, quantization_config=BINARY)
        assert client.get_collection(name).config.quantization_config == BINARY
        client.update_collection(name, vectors_config={
            "v": models.VectorParamsDiff(quantization_config=SCALAR)})
        vectors = client.get_collection(name).config.params.vectors
        assert isinstance(vectors, dict) and vectors["v"].quantization_config == SCALAR
        client.update_collection(name, quantization_config=models.Disabled.DISABLED)
        client.update_collection(name, vectors_config={
            "v": models.VectorParamsDiff(quantization_config=models.Disabled.DISABLED)})
        info = client.get_collection(name)
        assert info.config.quantization_config is None
        assert isinstance(info.config.params.vectors, dict)
        assert info.config.params.vectors["v"].quantization_config is None
    finally:
        client.delete_collection(name)


def test_quantized_search_survives_a_restart(tmp_path: Path) -> None:
    """Quantized codes are rebuilt when indexed segments load: same answers after restart."""
    proc = HeronProcess(tmp_path / "storage", env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": str(SEGMENT),
    }).start()
    try:
        c = QdrantClient(url=proc.url, prefer_grpc=False, timeout=60)
        c.create_collection(
            "q",
            vectors_config=models.VectorParams(size=32, distance=models.Distance.COSINE),
            quantization_config=SCALAR,
            optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
        )
        _upload(c, "q", lambda i: DATA["plain"][i].tolist())
        _wait_indexed(c, "q", N)
        queries = near(DATA["plain"], 5, seed=21)
        before = [[(p.id, p.score) for p in _query(c, "q", None, v, _quant(rescore=False))]
                  for v in queries]
        c.close()
        assert proc.stop() == 0, proc.log()
        proc.start()
        c = QdrantClient(url=proc.url, prefer_grpc=False, timeout=60)
        _wait_indexed(c, "q", N)
        after = [[(p.id, p.score) for p in _query(c, "q", None, v, _quant(rescore=False))]
                 for v in queries]
        c.close()
        assert after == before
    finally:
        code = proc.stop()
    assert code == 0, proc.log()
