"""Every example of the hybrid-queries guide, run on heron and on qdrant-client's local mode.

Seeded data shaped like the guide's collections (named vectors ``dense``, ``sparse``,
``sparse_idf``, ``mrl_byte``, ``full``, ``colbert``; payloads with ``document_id``, ``price``,
``color``, ``category``, ``timestamp``) is loaded into heron and into ``QdrantClient(":memory:")``,
plus ``another_collection`` for ``lookup_from`` / ``with_lookup`` and a 3-d ``plain`` collection
with an unnamed vector for the examples that use the default vector.

Each example is sent through the Python client to both (same ids in order, scores within
rel 1e-4, order values for ``order_by``) and, as the guide's HTTP tab, as a raw POST to heron
(same answer as the Python client). The guide's vectors are padded to the collection's sizes.
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

pytestmark = pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")

SEED = 57_011_010
DENSE_DIM = 32
FULL_DIM = 64
MRL_DIM = 4
COLBERT_DIM = 16
PLAIN_DIM = 3
VOCAB = 100
N_INT_IDS = 1000
N_UUID_IDS = 40
N_DOCUMENTS = 80
GUIDE_UUID = "43cf51e2-8777-4f52-bc74-c2cbde0c8b04"
COLORS = ["red", "green", "blue", "yellow"]
CATEGORIES = ["book", "music", "film", "game"]
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
REL = 1e-4

MAXSIM = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
MAIN_VECTORS: dict[str, models.VectorParams] = {
    "dense": models.VectorParams(size=DENSE_DIM, distance=models.Distance.COSINE),
    "full": models.VectorParams(size=FULL_DIM, distance=models.Distance.COSINE),
    "mrl_byte": models.VectorParams(
        size=MRL_DIM, distance=models.Distance.COSINE, datatype=models.Datatype.UINT8
    ),
    "colbert": models.VectorParams(
        size=COLBERT_DIM, distance=models.Distance.COSINE, multivector_config=MAXSIM
    ),
}
MAIN_SPARSE: dict[str, models.SparseVectorParams] = {
    "sparse": models.SparseVectorParams(),
    "sparse_idf": models.SparseVectorParams(modifier=models.Modifier.IDF),
}
PAYLOAD_INDEXES: dict[str, models.PayloadSchemaType] = {
    "price": models.PayloadSchemaType.FLOAT,
    "timestamp": models.PayloadSchemaType.DATETIME,
    "color": models.PayloadSchemaType.KEYWORD,
    "document_id": models.PayloadSchemaType.INTEGER,
}


def _pad(head: Sequence[float], dim: int, salt: int) -> list[float]:
    """The guide's leading values, completed to ``dim`` with seeded values (4 decimals, so
    the raw JSON and the Python client send exactly the same numbers)."""
    rng = np.random.default_rng(SEED + salt)
    tail = np.round(rng.normal(0.0, 0.3, size=dim - len(head)), 4)
    return [float(x) for x in head] + [float(x) for x in tail]


Q_DENSE = _pad([0.01, 0.45, 0.67], DENSE_DIM, 1)
Q_FULL = _pad([0.01, 0.299, 0.45, 0.67], FULL_DIM, 2)
Q_FULL_NESTED = _pad([0.01, 0.45, 0.67], FULL_DIM, 3)
Q_MRL = [1, 23, 45, 67]
Q_COLBERT = [
    _pad([0.1, 0.2], COLBERT_DIM, 4),
    _pad([0.2, 0.1], COLBERT_DIM, 5),
    _pad([0.8, 0.9], COLBERT_DIM, 6),
]
Q_SPARSE = {"indices": [1, 42], "values": [0.22, 0.8]}
Q_PLAIN = [0.01, 0.45, 0.67]


def _color(value: str) -> dict[str, Any]:
    return {"must": {"key": "color", "match": {"value": value}}}


def _color_filter(value: str) -> models.Filter:
    return models.Filter(must=models.FieldCondition(key="color", match=models.MatchValue(value=value)))


# --- data --------------------------------------------------------------------------------


def _ids() -> list[int | str]:
    rng = np.random.default_rng(SEED + 10)
    uuids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(N_UUID_IDS - 1)]
    return [*range(N_INT_IDS), GUIDE_UUID, *uuids]


def _sparse(rng: np.random.Generator) -> models.SparseVector:
    popularity = 1.0 / np.arange(1, VOCAB + 1) ** 0.8
    popularity /= popularity.sum()
    nnz = int(rng.integers(2, 11))
    indices = rng.choice(VOCAB, size=nnz, replace=False, p=popularity)
    values = rng.uniform(0.05, 2.0, size=nnz).astype(np.float32)
    return models.SparseVector(indices=[int(i) for i in indices], values=values.tolist())


def _main_points() -> list[models.PointStruct]:
    """The main collection: every vector kind; some points lack ``sparse`` or ``colbert``;
    prices and timestamps are distinct, so ``order_by`` has no ties."""
    rng = np.random.default_rng(SEED)
    ids = _ids()
    prices = rng.permutation(len(ids))
    minutes = rng.permutation(len(ids))
    points = []
    for i, pid in enumerate(ids):
        vector: dict[str, Any] = {
            "dense": rng.normal(size=DENSE_DIM).astype(np.float32).tolist(),
            "full": rng.normal(size=FULL_DIM).astype(np.float32).tolist(),
            "mrl_byte": [float(x) for x in rng.integers(0, 256, size=MRL_DIM)],
        }
        if rng.random() < 0.95:
            rows = int(rng.integers(2, 6))
            vector["colbert"] = rng.normal(size=(rows, COLBERT_DIM)).astype(np.float32).tolist()
        if rng.random() < 0.9:
            sparse = _sparse(rng)
            vector["sparse"] = sparse
            vector["sparse_idf"] = sparse
        payload: dict[str, Any] = {
            "price": round(1.0 + 0.37 * int(prices[i]), 2),
            "color": COLORS[int(rng.integers(len(COLORS)))],
            "category": CATEGORIES[int(rng.integers(len(CATEGORIES)))],
            "timestamp": (EPOCH + timedelta(minutes=7 * int(minutes[i]))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
        if rng.random() < 0.97:
            payload["document_id"] = int(rng.integers(N_DOCUMENTS))
        points.append(models.PointStruct(id=pid, vector=vector, payload=payload))
    return points


def _other_points() -> list[models.PointStruct]:
    """``another_collection``: one point per document (the ``with_lookup`` target) plus the
    guide's UUID, each with an ``image-512`` vector of the main ``dense`` size."""
    rng = np.random.default_rng(SEED + 20)
    ids: list[int | str] = [*range(N_DOCUMENTS), GUIDE_UUID]
    return [
        models.PointStruct(
            id=pid,
            vector={"image-512": rng.normal(size=DENSE_DIM).astype(np.float32).tolist()},
            payload={"title": f"document {pid}", "pages": int(rng.integers(1, 400))},
        )
        for pid in ids
    ]


def _plain_points(main: list[models.PointStruct]) -> list[models.PointStruct]:
    """The ``plain`` collection: an unnamed 3-d vector, the main payloads, the main ids."""
    rng = np.random.default_rng(SEED + 30)
    return [
        models.PointStruct(
            id=p.id,
            vector=rng.normal(size=PLAIN_DIM).astype(np.float32).tolist(),
            payload=p.payload,
        )
        for p in main[:300] + main[N_INT_IDS:]
    ]


@dataclass
class World:
    """The same collections in heron (``remote``, ``http``) and in local mode (``local``)."""

    remote: QdrantClient
    local: QdrantClient
    http: httpx.Client
    main: str
    other: str
    plain: str
    points: dict[Any, models.PointStruct] = field(default_factory=dict)


def _load(
    clients: Sequence[QdrantClient], name: str, points: list[models.PointStruct], **config: Any
) -> None:
    for c in clients:
        c.create_collection(name, **config)
        for start in range(0, len(points), 250):
            c.upsert(name, points=points[start : start + 250], wait=True)


@pytest.fixture(scope="module")
def world(heron: HeronProcess) -> Iterator[World]:
    yield from build_world(heron, QdrantClient(url=heron.url, prefer_grpc=False, timeout=60))


def build_world(heron: HeronProcess, remote: QdrantClient) -> Iterator[World]:
    """Load the guide's collections through ``remote`` (REST or gRPC) and into local mode."""
    local = QdrantClient(":memory:")
    suffix = uuid.uuid4().hex[:8]
    main, other, plain = f"guide_{suffix}", f"another_collection_{suffix}", f"plain_{suffix}"
    main_points = _main_points()
    _load(
        [remote, local], main, main_points,
        vectors_config=MAIN_VECTORS, sparse_vectors_config=MAIN_SPARSE,
    )
    for key, schema in PAYLOAD_INDEXES.items():
        remote.create_payload_index(main, key, field_schema=schema, wait=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no effect in the local Qdrant"
            local.create_payload_index(main, key, field_schema=schema, wait=True)
    _load(
        [remote, local], other, _other_points(),
        vectors_config={
            "image-512": models.VectorParams(size=DENSE_DIM, distance=models.Distance.COSINE)
        },
    )
    _load(
        [remote, local], plain, _plain_points(main_points),
        vectors_config=models.VectorParams(size=PLAIN_DIM, distance=models.Distance.COSINE),
    )
    with httpx.Client(base_url=heron.url, timeout=60) as http:
        yield World(remote, local, http, main, other, plain, {p.id: p for p in main_points})
    remote.close()
    local.close()


# --- comparing ---------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-6)


def assert_same_points(
    got: Sequence[models.ScoredPoint], want: Sequence[models.ScoredPoint], order_by: bool = False
) -> None:
    """Same ids in the same order; same scores (rel 1e-4), or same order values."""
    assert [p.id for p in got] == [p.id for p in want], (
        [(p.id, p.score) for p in got],
        [(p.id, p.score) for p in want],
    )
    for g, w in zip(got, want, strict=True):
        if order_by:
            assert g.order_value is not None and w.order_value is not None, (g, w)
            assert _close(float(g.order_value), float(w.order_value)), (g.id, g.order_value, w.order_value)
        else:
            assert _close(g.score, w.score), (g.id, g.score, w.score)


def assert_same_groups(got: models.GroupsResult, want: models.GroupsResult) -> None:
    """Same groups in order, same hits per group, same lookup records."""
    assert [g.id for g in got.groups] == [g.id for g in want.groups]
    for g, w in zip(got.groups, want.groups, strict=True):
        assert_same_points(g.hits, w.hits)
        assert [h.payload for h in g.hits] == [h.payload for h in w.hits]
        if w.lookup is None:
            assert g.lookup is None, g
        else:
            assert g.lookup is not None, (g.id, "no lookup")
            assert (g.lookup.id, g.lookup.payload) == (w.lookup.id, w.lookup.payload)


def _raw_points(raw: list[dict[str, Any]]) -> list[models.ScoredPoint]:
    return [models.ScoredPoint.model_validate(p) for p in raw]


def post(w: World, path: str, body: dict[str, Any], **params: str) -> Any:
    """POST ``body`` to heron; the response's ``result``."""
    r = w.http.post(path, json=body, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text)
    data = r.json()
    assert data["status"] == "ok", data
    return data["result"]


# --- the guide's examples: (Python client kwargs, HTTP body) -------------------------------


@dataclass
class Example:
    """One query as the guide's Python tab (``kwargs``) and HTTP tab (``body``)."""

    collection: str  # "main" or "plain"
    kwargs: dict[str, Any]
    body: dict[str, Any]
    order_by: bool = False


def _hybrid_rrf(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse", limit=20
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=20),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse", "limit": 20},
                {"query": Q_DENSE, "using": "dense", "limit": 20},
            ],
            "query": {"fusion": "rrf"},
            "limit": 10,
        },
    )


def _hybrid_rrf_idf(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse_idf", limit=20
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=20),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=15,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse_idf", "limit": 20},
                {"query": Q_DENSE, "using": "dense", "limit": 20},
            ],
            "query": {"fusion": "rrf"},
            "limit": 15,
        },
    )


def _hybrid_dbsf(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse_idf", limit=25
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=25),
                models.Prefetch(query=Q_FULL, using="full", limit=10),
            ],
            query=models.FusionQuery(fusion=models.Fusion.DBSF),
            limit=12,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse_idf", "limit": 25},
                {"query": Q_DENSE, "using": "dense", "limit": 25},
                {"query": Q_FULL, "using": "full", "limit": 10},
            ],
            "query": {"fusion": "dbsf"},
            "limit": 12,
        },
    )


def _rrf_k_weights(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse", limit=30
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=30),
                models.Prefetch(query=Q_FULL, using="full", limit=30),
            ],
            query=models.RrfQuery(rrf=models.Rrf(k=60, weights=[3.0, 1.0, 0.5])),
            limit=20,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse", "limit": 30},
                {"query": Q_DENSE, "using": "dense", "limit": 30},
                {"query": Q_FULL, "using": "full", "limit": 30},
            ],
            "query": {"rrf": {"k": 60, "weights": [3.0, 1.0, 0.5]}},
            "limit": 20,
        },
    )


def _rrf_k_only(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(query=Q_DENSE, using="dense", limit=15),
                models.Prefetch(query=Q_FULL, using="full", limit=15),
            ],
            query=models.RrfQuery(rrf=models.Rrf(k=5)),
        ),
        {
            "prefetch": [
                {"query": Q_DENSE, "using": "dense", "limit": 15},
                {"query": Q_FULL, "using": "full", "limit": 15},
            ],
            "query": {"rrf": {"k": 5}},
        },
    )


def _mrl_then_full(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=1000),
            query=Q_FULL,
            using="full",
            limit=10,
        ),
        {
            "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 1000},
            "query": Q_FULL,
            "using": "full",
            "limit": 10,
        },
    )


def _mrl_then_full_small(w: World) -> Example:
    """The same two stages with a cut that matters: 100 of 1040 candidates."""
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=100),
            query=Q_FULL,
            using="full",
            limit=10,
        ),
        {
            "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 100},
            "query": Q_FULL,
            "using": "full",
            "limit": 10,
        },
    )


def _dense_then_colbert(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_DENSE, using="dense", limit=100),
            query=Q_COLBERT,
            using="colbert",
            limit=10,
        ),
        {
            "prefetch": {"query": Q_DENSE, "using": "dense", "limit": 100},
            "query": Q_COLBERT,
            "using": "colbert",
            "limit": 10,
        },
    )


def _nested_three_stages(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(
                prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=1000),
                query=Q_FULL_NESTED,
                using="full",
                limit=100,
            ),
            query=Q_COLBERT,
            using="colbert",
            limit=10,
        ),
        {
            "prefetch": {
                "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 1000},
                "query": Q_FULL_NESTED,
                "using": "full",
                "limit": 100,
            },
            "query": Q_COLBERT,
            "using": "colbert",
            "limit": 10,
        },
    )


def _nested_three_stages_tight(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(
                prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=200),
                query=Q_FULL_NESTED,
                using="full",
                limit=40,
            ),
            query=Q_COLBERT,
            using="colbert",
            limit=7,
        ),
        {
            "prefetch": {
                "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 200},
                "query": Q_FULL_NESTED,
                "using": "full",
                "limit": 40,
            },
            "query": Q_COLBERT,
            "using": "colbert",
            "limit": 7,
        },
    )


def _query_by_id_plain(w: World) -> Example:
    return Example("plain", dict(query=GUIDE_UUID), {"query": GUIDE_UUID})


def _query_by_id_named(w: World) -> Example:
    return Example(
        "main",
        dict(query=GUIDE_UUID, using="dense", limit=8),
        {"query": GUIDE_UUID, "using": "dense", "limit": 8},
    )


def _query_by_int_id_in_prefetch(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(query=17, using="colbert", limit=20),
                models.Prefetch(query=17, using="sparse", limit=20),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
        ),
        {
            "prefetch": [
                {"query": 17, "using": "colbert", "limit": 20},
                {"query": 17, "using": "sparse", "limit": 20},
            ],
            "query": {"fusion": "rrf"},
        },
    )


def _lookup_from(w: World) -> Example:
    return Example(
        "main",
        dict(
            query=GUIDE_UUID,
            using="dense",
            lookup_from=models.LookupLocation(collection=w.other, vector="image-512"),
        ),
        {
            "query": GUIDE_UUID,
            "using": "dense",
            "lookup_from": {"collection": w.other, "vector": "image-512"},
        },
    )


def _lookup_from_in_prefetch(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(
                query=5,
                using="dense",
                lookup_from=models.LookupLocation(collection=w.other, vector="image-512"),
                limit=50,
            ),
            query=Q_FULL,
            using="full",
            limit=6,
        ),
        {
            "prefetch": {
                "query": 5,
                "using": "dense",
                "lookup_from": {"collection": w.other, "vector": "image-512"},
                "limit": 50,
            },
            "query": Q_FULL,
            "using": "full",
            "limit": 6,
        },
    )


def _order_by_price(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(query=Q_DENSE, using="dense", filter=_color_filter("red"), limit=10),
                models.Prefetch(
                    query=Q_DENSE, using="dense", filter=_color_filter("green"), limit=10
                ),
            ],
            query=models.OrderByQuery(order_by="price"),
        ),
        {
            "prefetch": [
                {"query": Q_DENSE, "using": "dense", "filter": _color("red"), "limit": 10},
                {"query": Q_DENSE, "using": "dense", "filter": _color("green"), "limit": 10},
            ],
            "query": {"order_by": "price"},
        },
        order_by=True,
    )


def _order_by_price_desc_start(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(query=Q_DENSE, using="dense", filter=_color_filter("red"), limit=40),
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse",
                    filter=_color_filter("blue"), limit=40,
                ),
            ],
            query=models.OrderByQuery(
                order_by=models.OrderBy(
                    key="price", direction=models.Direction.DESC, start_from=250.0
                )
            ),
            limit=15,
        ),
        {
            "prefetch": [
                {"query": Q_DENSE, "using": "dense", "filter": _color("red"), "limit": 40},
                {"query": Q_SPARSE, "using": "sparse", "filter": _color("blue"), "limit": 40},
            ],
            "query": {"order_by": {"key": "price", "direction": "desc", "start_from": 250.0}},
            "limit": 15,
        },
        order_by=True,
    )


def _order_by_timestamp_start(w: World) -> Example:
    start = "2024-01-03T00:00:00Z"
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_FULL, using="full", limit=200),
            query=models.OrderByQuery(
                order_by=models.OrderBy(
                    key="timestamp", direction=models.Direction.ASC, start_from=start
                )
            ),
            limit=12,
        ),
        {
            "prefetch": {"query": Q_FULL, "using": "full", "limit": 200},
            "query": {"order_by": {"key": "timestamp", "direction": "asc", "start_from": start}},
            "limit": 12,
        },
        order_by=True,
    )


def _root_filter_propagates(w: World) -> Example:
    flt = {"must": [{"key": "color", "match": {"any": ["red", "blue"]}}]}
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse", limit=20
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=20),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            query_filter=models.Filter.model_validate(flt),
            limit=25,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse", "limit": 20},
                {"query": Q_DENSE, "using": "dense", "limit": 20},
            ],
            "query": {"fusion": "rrf"},
            "filter": flt,
            "limit": 25,
        },
    )


def _root_filter_nested(w: World) -> Example:
    flt = {"must": [{"key": "category", "match": {"value": "book"}}],
           "must_not": [{"key": "price", "range": {"gt": 300}}]}
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(
                prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=150),
                query=Q_FULL_NESTED,
                using="full",
                limit=30,
            ),
            query=Q_COLBERT,
            using="colbert",
            query_filter=models.Filter.model_validate(flt),
            limit=10,
        ),
        {
            "prefetch": {
                "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 150},
                "query": Q_FULL_NESTED,
                "using": "full",
                "limit": 30,
            },
            "query": Q_COLBERT,
            "using": "colbert",
            "filter": flt,
            "limit": 10,
        },
    )


def _offset_at_root(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse", limit=20
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=20),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=5,
            offset=5,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse", "limit": 20},
                {"query": Q_DENSE, "using": "dense", "limit": 20},
            ],
            "query": {"fusion": "rrf"},
            "limit": 5,
            "offset": 5,
        },
    )


def _score_threshold_fusion(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse", limit=20
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=20, score_threshold=0.3),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            score_threshold=0.2,
            limit=30,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse", "limit": 20},
                {"query": Q_DENSE, "using": "dense", "limit": 20, "score_threshold": 0.3},
            ],
            "query": {"fusion": "rrf"},
            "score_threshold": 0.2,
            "limit": 30,
        },
    )


def _score_threshold_rescore(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=300),
            query=Q_FULL,
            using="full",
            score_threshold=0.3,
            limit=50,
        ),
        {
            "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 300},
            "query": Q_FULL,
            "using": "full",
            "score_threshold": 0.3,
            "limit": 50,
        },
    )


def _fusion_inside_prefetch_then_colbert(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(
                prefetch=[
                    models.Prefetch(
                        query=models.SparseVector(**Q_SPARSE), using="sparse_idf", limit=30
                    ),
                    models.Prefetch(query=Q_DENSE, using="dense", limit=30),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=25,
            ),
            query=Q_COLBERT,
            using="colbert",
            limit=10,
        ),
        {
            "prefetch": {
                "prefetch": [
                    {"query": Q_SPARSE, "using": "sparse_idf", "limit": 30},
                    {"query": Q_DENSE, "using": "dense", "limit": 30},
                ],
                "query": {"fusion": "rrf"},
                "limit": 25,
            },
            "query": Q_COLBERT,
            "using": "colbert",
            "limit": 10,
        },
    )


def _dense_then_sparse_idf(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_DENSE, using="dense", limit=300),
            query=models.SparseVector(**Q_SPARSE),
            using="sparse_idf",
            limit=10,
            search_params=models.SearchParams(hnsw_ef=128, exact=True),
        ),
        {
            "prefetch": {"query": Q_DENSE, "using": "dense", "limit": 300},
            "query": Q_SPARSE,
            "using": "sparse_idf",
            "limit": 10,
            "params": {"hnsw_ef": 128, "exact": True},
        },
    )


def _order_by_without_prefetch(w: World) -> Example:
    return Example(
        "main",
        dict(
            query=models.OrderByQuery(
                order_by=models.OrderBy(key="timestamp", direction=models.Direction.DESC)
            ),
            query_filter=_color_filter("yellow"),
            limit=9,
        ),
        {
            "query": {"order_by": {"key": "timestamp", "direction": "desc"}},
            "filter": _color("yellow"),
            "limit": 9,
        },
        order_by=True,
    )


def _dbsf_with_threshold(w: World) -> Example:
    return Example(
        "main",
        dict(
            prefetch=[
                models.Prefetch(query=Q_COLBERT, using="colbert", limit=30),
                models.Prefetch(query=Q_FULL, using="full", limit=30),
            ],
            query=models.FusionQuery(fusion=models.Fusion.DBSF),
            score_threshold=0.9,
            limit=40,
        ),
        {
            "prefetch": [
                {"query": Q_COLBERT, "using": "colbert", "limit": 30},
                {"query": Q_FULL, "using": "full", "limit": 30},
            ],
            "query": {"fusion": "dbsf"},
            "score_threshold": 0.9,
            "limit": 40,
        },
    )


EXAMPLES: dict[str, Callable[[World], Example]] = {
    "hybrid_rrf": _hybrid_rrf,
    "hybrid_rrf_idf": _hybrid_rrf_idf,
    "hybrid_dbsf": _hybrid_dbsf,
    "rrf_k_weights": _rrf_k_weights,
    "rrf_k_only": _rrf_k_only,
    "mrl_then_full": _mrl_then_full,
    "mrl_then_full_small": _mrl_then_full_small,
    "dense_then_colbert": _dense_then_colbert,
    "nested_three_stages": _nested_three_stages,
    "nested_three_stages_tight": _nested_three_stages_tight,
    "query_by_id_plain": _query_by_id_plain,
    "query_by_id_named": _query_by_id_named,
    "query_by_int_id_in_prefetch": _query_by_int_id_in_prefetch,
    "lookup_from": _lookup_from,
    "lookup_from_in_prefetch": _lookup_from_in_prefetch,
    "order_by_price": _order_by_price,
    "order_by_price_desc_start": _order_by_price_desc_start,
    "order_by_timestamp_start": _order_by_timestamp_start,
    "root_filter_propagates": _root_filter_propagates,
    "root_filter_nested": _root_filter_nested,
    "offset_at_root": _offset_at_root,
    "score_threshold_fusion": _score_threshold_fusion,
    "score_threshold_rescore": _score_threshold_rescore,
    "fusion_inside_prefetch_then_colbert": _fusion_inside_prefetch_then_colbert,
    "dense_then_sparse_idf": _dense_then_sparse_idf,
    "order_by_without_prefetch": _order_by_without_prefetch,
    "dbsf_with_threshold": _dbsf_with_threshold,
}


def _name(w: World, which: str) -> str:
    return w.main if which == "main" else w.plain


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_example_matches_local_mode(world: World, example: str) -> None:
    """The Python tab: heron's points equal local mode's."""
    ex = EXAMPLES[example](world)
    name = _name(world, ex.collection)
    got = world.remote.query_points(name, **ex.kwargs).points
    want = world.local.query_points(name, **ex.kwargs).points
    assert want, "the example should find something"
    assert_same_points(got, want, ex.order_by)
    assert [p.payload for p in got] == [p.payload for p in want]


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_example_http_body_matches_client(world: World, example: str) -> None:
    """The HTTP tab: the raw JSON body gets the answer the Python client gets."""
    ex = EXAMPLES[example](world)
    name = _name(world, ex.collection)
    raw = post(world, f"/collections/{name}/points/query", ex.body)
    assert set(raw) == {"points"}, raw.keys()
    via_client = world.remote.query_points(name, **ex.kwargs, with_payload=False).points
    got = _raw_points(raw["points"])
    assert_same_points(got, via_client, ex.order_by)
    assert all("payload" not in p for p in raw["points"]), "with_payload defaults to false"


# --- properties the examples rely on -------------------------------------------------------


def test_order_by_respects_direction_and_start_from(world: World) -> None:
    ex = _order_by_price_desc_start(world)
    points = world.remote.query_points(world.main, **ex.kwargs).points
    values = [p.order_value for p in points]
    assert values == sorted(values, reverse=True)
    assert all(v is not None and v <= 250.0 for v in values)
    assert all(p.payload and p.payload["color"] in ("red", "blue") for p in points)


def test_order_by_guide_samples_both_colors_cheapest_first(world: World) -> None:
    ex = _order_by_price(world)
    points = world.remote.query_points(world.main, **ex.kwargs, limit=20).points
    assert len(points) == 20
    assert sorted(p.payload["color"] for p in points if p.payload) == ["green"] * 10 + ["red"] * 10
    prices = [p.payload["price"] for p in points if p.payload]
    assert prices == sorted(prices) == [p.order_value for p in points]


def test_root_filter_equals_filter_in_every_prefetch(world: World) -> None:
    ex = _root_filter_propagates(world)
    flt = ex.kwargs["query_filter"]
    at_root = world.remote.query_points(world.main, **ex.kwargs).points
    pushed = world.remote.query_points(
        world.main,
        prefetch=[
            models.Prefetch(
                query=models.SparseVector(**Q_SPARSE), using="sparse", filter=flt, limit=20
            ),
            models.Prefetch(query=Q_DENSE, using="dense", filter=flt, limit=20),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=25,
    ).points
    assert_same_points(at_root, pushed)
    assert all(p.payload and p.payload["color"] in ("red", "blue") for p in at_root)
    # 20 filtered candidates per prefetch, not 20 candidates filtered afterwards
    assert len(at_root) >= 20


def test_offset_applies_at_the_root_only(world: World) -> None:
    ex = _offset_at_root(world)
    kwargs = {k: v for k, v in ex.kwargs.items() if k not in ("limit", "offset")}
    first_ten = world.remote.query_points(world.main, **kwargs, limit=10).points
    page = world.remote.query_points(world.main, **ex.kwargs).points
    assert_same_points(page, first_ten[5:])


def test_score_threshold_is_respected(world: World) -> None:
    fused = world.remote.query_points(world.main, **_score_threshold_fusion(world).kwargs).points
    assert fused and all(p.score >= 0.2 for p in fused)
    rescored = world.remote.query_points(
        world.main, **_score_threshold_rescore(world).kwargs
    ).points
    assert rescored and all(p.score > 0.3 for p in rescored)


def test_query_by_id_excludes_the_point_but_lookup_from_does_not(world: World) -> None:
    own = world.remote.query_points(world.main, query=GUIDE_UUID, using="dense", limit=50).points
    assert GUIDE_UUID not in [p.id for p in own]
    by_vector = world.remote.query_points(
        world.main, query=world.points[GUIDE_UUID].vector["dense"], using="dense", limit=51
    ).points
    assert by_vector[0].id == GUIDE_UUID
    assert_same_points(own, by_vector[1:])
    ex = _lookup_from(world)
    other_vector = world.remote.retrieve(world.other, [GUIDE_UUID], with_vectors=True)[0].vector
    assert isinstance(other_vector, dict)
    looked_up = world.remote.query_points(world.main, **ex.kwargs, limit=1040).points
    direct = world.remote.query_points(
        world.main, query=other_vector["image-512"], using="dense", limit=1040
    ).points
    assert_same_points(looked_up, direct)
    assert GUIDE_UUID in [p.id for p in looked_up]


def test_multi_stage_rescores_only_prefetched_points(world: World) -> None:
    ex = _mrl_then_full_small(world)
    candidates = world.remote.query_points(world.main, query=Q_MRL, using="mrl_byte", limit=100)
    ids = {p.id for p in candidates.points}
    final = world.remote.query_points(world.main, **{**ex.kwargs, "limit": 100}).points
    assert {p.id for p in final} == ids
    scores = [p.score for p in final]
    assert scores == sorted(scores, reverse=True)


# --- grouping ------------------------------------------------------------------------------


@dataclass
class GroupExample:
    collection: str
    kwargs: dict[str, Any]
    body: dict[str, Any]


def _groups_guide(w: World) -> GroupExample:
    return GroupExample(
        "plain",
        dict(query=Q_PLAIN, group_by="document_id", limit=4, group_size=2),
        {"query": Q_PLAIN, "group_by": "document_id", "limit": 4, "group_size": 2},
    )


def _groups_hybrid_lookup_string(w: World) -> GroupExample:
    return GroupExample(
        "main",
        dict(
            prefetch=[
                models.Prefetch(
                    query=models.SparseVector(**Q_SPARSE), using="sparse", limit=40
                ),
                models.Prefetch(query=Q_DENSE, using="dense", limit=40),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            group_by="document_id",
            group_size=3,
            limit=5,
            with_lookup=w.other,
        ),
        {
            "prefetch": [
                {"query": Q_SPARSE, "using": "sparse", "limit": 40},
                {"query": Q_DENSE, "using": "dense", "limit": 40},
            ],
            "query": {"fusion": "rrf"},
            "group_by": "document_id",
            "group_size": 3,
            "limit": 5,
            "with_lookup": w.other,
            "with_payload": True,
        },
    )


def _groups_lookup_object(w: World) -> GroupExample:
    return GroupExample(
        "main",
        dict(
            query=Q_DENSE,
            using="dense",
            group_by="document_id",
            group_size=2,
            limit=6,
            with_payload=["price", "document_id"],
            with_lookup=models.WithLookup(collection=w.other, with_payload=["title"]),
        ),
        {
            "query": Q_DENSE,
            "using": "dense",
            "group_by": "document_id",
            "group_size": 2,
            "limit": 6,
            "with_payload": ["price", "document_id"],
            "with_lookup": {"collection": w.other, "with_payload": ["title"]},
        },
    )


def _groups_multi_stage_filtered(w: World) -> GroupExample:
    flt = {"must": [{"key": "color", "match": {"value": "green"}}]}
    return GroupExample(
        "main",
        dict(
            prefetch=models.Prefetch(query=Q_MRL, using="mrl_byte", limit=200),
            query=Q_FULL,
            using="full",
            query_filter=models.Filter.model_validate(flt),
            score_threshold=0.0,
            group_by="document_id",
            group_size=4,
            limit=7,
        ),
        {
            "prefetch": {"query": Q_MRL, "using": "mrl_byte", "limit": 200},
            "query": Q_FULL,
            "using": "full",
            "filter": flt,
            "score_threshold": 0.0,
            "group_by": "document_id",
            "group_size": 4,
            "limit": 7,
            "with_payload": True,
        },
    )


GROUP_EXAMPLES: dict[str, Callable[[World], GroupExample]] = {
    "groups_guide": _groups_guide,
    "groups_hybrid_lookup_string": _groups_hybrid_lookup_string,
    "groups_lookup_object": _groups_lookup_object,
    "groups_multi_stage_filtered": _groups_multi_stage_filtered,
}


@pytest.mark.parametrize("example", list(GROUP_EXAMPLES))
def test_groups_match_local_mode(world: World, example: str) -> None:
    ex = GROUP_EXAMPLES[example](world)
    name = _name(world, ex.collection)
    got = world.remote.query_points_groups(name, **ex.kwargs)
    want = world.local.query_points_groups(name, **ex.kwargs)
    assert want.groups, "the example should find groups"
    assert_same_groups(got, want)
    size = ex.kwargs.get("group_size", 3)
    assert all(1 <= len(g.hits) <= size for g in got.groups)
    assert len(got.groups) <= ex.kwargs["limit"]


@pytest.mark.parametrize("example", list(GROUP_EXAMPLES))
def test_groups_http_body_matches_client(world: World, example: str) -> None:
    ex = GROUP_EXAMPLES[example](world)
    name = _name(world, ex.collection)
    raw = post(world, f"/collections/{name}/points/query/groups", ex.body)
    got = models.GroupsResult.model_validate(raw)
    kwargs = dict(ex.kwargs)
    if "with_payload" not in ex.body:
        kwargs["with_payload"] = False
    assert_same_groups(got, world.remote.query_points_groups(name, **kwargs))


def test_with_lookup_records_are_the_documents(world: World) -> None:
    ex = _groups_hybrid_lookup_string(world)
    result = world.remote.query_points_groups(world.main, **ex.kwargs)
    for group in result.groups:
        assert group.lookup is not None
        assert group.lookup.id == group.id
        assert group.lookup.payload is not None
        assert group.lookup.payload["title"] == f"document {group.id}"
        assert all(h.payload and h.payload["document_id"] == group.id for h in group.hits)


# --- query/batch ---------------------------------------------------------------------------

BATCH_EXAMPLES = [
    "hybrid_rrf", "rrf_k_weights", "nested_three_stages", "query_by_id_named", "lookup_from",
    "order_by_price", "offset_at_root",
]


def _request(ex: Example) -> models.QueryRequest:
    kwargs = dict(ex.kwargs)
    if "query_filter" in kwargs:
        kwargs["filter"] = kwargs.pop("query_filter")
    return models.QueryRequest(**kwargs, with_payload=True)


def test_query_batch_matches_local_mode_and_single_queries(world: World) -> None:
    examples = [EXAMPLES[name](world) for name in BATCH_EXAMPLES]
    requests = [_request(ex) for ex in examples]
    got = world.remote.query_batch_points(world.main, requests)
    want = world.local.query_batch_points(world.main, requests)
    assert len(got) == len(want) == len(examples)
    for ex, g, w in zip(examples, got, want, strict=True):
        assert_same_points(g.points, w.points, ex.order_by)
        single = world.remote.query_points(world.main, **ex.kwargs).points
        assert_same_points(g.points, single, ex.order_by)


def test_query_batch_http_body_matches_client(world: World) -> None:
    examples = [EXAMPLES[name](world) for name in BATCH_EXAMPLES]
    raw = post(
        world, f"/collections/{world.main}/points/query/batch",
        {"searches": [ex.body for ex in examples]},
    )
    assert isinstance(raw, list) and len(raw) == len(examples)
    for ex, one in zip(examples, raw, strict=True):
        via_client = world.remote.query_points(world.main, **ex.kwargs).points
        assert_same_points(_raw_points(one["points"]), via_client, ex.order_by)


# --- legacy search endpoints ---------------------------------------------------------------


def test_legacy_search_named_dense(world: World) -> None:
    flt = {"must": [{"key": "category", "match": {"any": ["film", "game"]}}]}
    raw = post(
        world, f"/collections/{world.main}/points/search",
        {"vector": {"name": "dense", "vector": Q_DENSE}, "filter": flt, "limit": 7,
         "with_payload": True},
    )
    want = world.local.query_points(
        world.main, query=Q_DENSE, using="dense", query_filter=models.Filter.model_validate(flt),
        limit=7,
    ).points
    got = _raw_points(raw)
    assert_same_points(got, want)
    assert [p.payload for p in got] == [p.payload for p in want]


def test_legacy_search_plain_offset_threshold(world: World) -> None:
    raw = post(
        world, f"/collections/{world.plain}/points/search",
        {"vector": Q_PLAIN, "limit": 5, "offset": 3, "score_threshold": 0.5},
    )
    want = world.local.query_points(
        world.plain, query=Q_PLAIN, limit=5, offset=3, score_threshold=0.5
    ).points
    assert_same_points(_raw_points(raw), want)
    assert all("payload" not in p for p in raw)


def test_legacy_search_batch(world: World) -> None:
    searches = [
        {"vector": {"name": "dense", "vector": Q_DENSE}, "limit": 5},
        {"vector": {"name": "sparse", "vector": Q_SPARSE}, "limit": 6},
        {"vector": {"name": "sparse_idf", "vector": Q_SPARSE}, "limit": 6,
         "filter": _color("yellow")},
        {"vector": {"name": "full", "vector": Q_FULL}, "limit": 4, "offset": 2},
    ]
    raw = post(world, f"/collections/{world.main}/points/search/batch", {"searches": searches})
    assert isinstance(raw, list) and len(raw) == len(searches)
    wants = [
        world.local.query_points(world.main, query=Q_DENSE, using="dense", limit=5),
        world.local.query_points(
            world.main, query=models.SparseVector(**Q_SPARSE), using="sparse", limit=6
        ),
        world.local.query_points(
            world.main, query=models.SparseVector(**Q_SPARSE), using="sparse_idf", limit=6,
            query_filter=_color_filter("yellow"),
        ),
        world.local.query_points(world.main, query=Q_FULL, using="full", limit=4, offset=2),
    ]
    for got, want in zip(raw, wants, strict=True):
        assert want.points
        assert_same_points(_raw_points(got), want.points)


# --- explain (a heron extension) -----------------------------------------------------------


def _strip_explain(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if k != "explain"} for p in points]


def _same_json_points(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert [p["id"] for p in a] == [p["id"] for p in b]
    for x, y in zip(a, b, strict=True):
        assert set(x) == set(y), (x, y)
        assert _close(x["score"], y["score"])
        assert x.get("payload") == y.get("payload")


def test_explain_on_hybrid_query(world: World) -> None:
    ex = _hybrid_rrf(world)
    path = f"/collections/{world.main}/points/query"
    plain = post(world, path, ex.body)
    explained = post(world, path, ex.body, explain="true")
    in_body = post(world, path, {**ex.body, "explain": True})

    _same_json_points(_strip_explain(explained["points"]), plain["points"])
    _same_json_points(_strip_explain(in_body["points"]), plain["points"])
    assert "explain" not in plain
    assert all("explain" not in p for p in plain["points"])

    prefetch_alone = [
        post(world, path, {**p, "with_payload": False})["points"] for p in ex.body["prefetch"]
    ]
    labels = ["root.prefetch[0]", "root.prefetch[1]"]
    for result in (explained, in_body):
        stages = {st["stage"]: st for st in result["explain"]["stages"]}
        assert set(stages) == {"root", *labels}, stages
        assert len(result["explain"]["stages"]) == 3
        assert stages["root"]["kind"] == "rrf"
        for label, alone in zip(labels, prefetch_alone, strict=True):
            assert stages[label]["kind"] == "nearest"
            assert stages[label]["results"] == len(alone) == 20
        union = {p["id"] for alone in prefetch_alone for p in alone}
        assert stages["root"]["candidates"] == len(union)
        assert stages["root"]["results"] == len(result["points"])
        for st in stages.values():
            assert isinstance(st["time_ms"], int | float) and st["time_ms"] >= 0

        for rank, point in enumerate(result["points"]):
            info = point["explain"]
            assert info["root"]["rank"] == rank
            assert _close(info["root"]["score"], point["score"])
            seen_in = 0
            for label, alone in zip(labels, prefetch_alone, strict=True):
                ids = [p["id"] for p in alone]
                if point["id"] in ids:
                    seen_in += 1
                    pos = ids.index(point["id"])
                    assert info[label]["rank"] == pos, (point["id"], label, info)
                    assert _close(info[label]["score"], alone[pos]["score"])
                else:
                    assert label not in info, (point["id"], label, info)
            assert set(info) <= {"root", *labels}
            assert seen_in >= 1
            expected = sum(
                1.0 / (info[label]["rank"] + 2.0) for label in labels if label in info
            )
            assert _close(point["score"], expected), (point, expected)


def test_explain_on_nested_prefetch_labels(world: World) -> None:
    ex = _nested_three_stages_tight(world)
    result = post(world, f"/collections/{world.main}/points/query", ex.body, explain="true")
    stages = {st["stage"]: st for st in result["explain"]["stages"]}
    assert set(stages) == {"root", "root.prefetch[0]", "root.prefetch[0].prefetch[0]"}
    assert stages["root.prefetch[0].prefetch[0]"]["kind"] == "nearest"
    assert stages["root.prefetch[0].prefetch[0]"]["results"] == 200
    assert stages["root.prefetch[0]"]["kind"] == "rescore"
    assert stages["root.prefetch[0]"]["candidates"] == 200
    assert stages["root.prefetch[0]"]["results"] == 40
    assert stages["root"]["kind"] == "rescore"
    assert stages["root"]["results"] == len(result["points"]) == 7
    for rank, point in enumerate(result["points"]):
        info = point["explain"]
        assert set(info) == set(stages)
        assert info["root"]["rank"] == rank


def test_explain_ranks_count_from_the_top_with_offset(world: World) -> None:
    """With an offset, root ranks are positions in the root's whole ranking."""
    ex = _offset_at_root(world)
    path = f"/collections/{world.main}/points/query"
    page = post(world, path, ex.body, explain="true")
    full = post(world, path, {**ex.body, "offset": 0, "limit": 10})["points"]
    assert [p["id"] for p in page["points"]] == [p["id"] for p in full[5:]]
    for i, point in enumerate(page["points"]):
        assert point["explain"]["root"]["rank"] == 5 + i
    _same_json_points(_strip_explain(page["points"]), post(world, path, ex.body)["points"])
