"""Bad Query API requests: each is a 4xx with Qdrant's error body, never a 500.

Covers ``/points/query``, ``/points/query/groups`` and ``/points/query/batch`` over raw HTTP,
and the same mistakes made through the official client (which must raise
``UnexpectedResponse`` carrying the 4xx). The server's limits are the defaults: prefetch depth
8, 64 prefetches, ``limit`` at most 100000.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.checks import assert_rejected
from tests.server import HeronProcess

DIM = 4
N_POINTS = 20
MAX_DEPTH = 8
MAX_PREFETCHES = 64
MAX_LIMIT = 100_000
MISSING_COLLECTION = "no_such_collection_" + uuid.uuid4().hex[:6]
MISSING_UUID = "43cf51e2-8777-4f52-bc74-c2cbde0c8b04"

D = [0.1, 0.2, 0.3, 0.4]
SPARSE = {"indices": [1, 7], "values": [1.0, 0.5]}
MULTI = [[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]]
TWO = [
    {"query": D, "using": "dense", "limit": 5},
    {"query": SPARSE, "using": "sparse", "limit": 5},
]


def _nested(levels: int) -> dict[str, Any]:
    """A query whose prefetches are nested ``levels`` deep."""
    body: dict[str, Any] = {"query": D, "using": "dense", "limit": 5}
    for _ in range(levels):
        body = {"prefetch": body, "query": D, "using": "dense", "limit": 5}
    return body


def _flat(count: int) -> dict[str, Any]:
    """An RRF over ``count`` sibling prefetches."""
    return {"prefetch": [TWO[0]] * count, "query": {"fusion": "rrf"}}


@pytest.fixture(scope="module")
def coll(heron: HeronProcess) -> Iterator[str]:
    """A collection with a dense, a multivector and a sparse vector; ``price`` is indexed,
    ``color`` and ``doc`` are not."""
    name = "errors_" + uuid.uuid4().hex[:8]
    c = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    c.create_collection(
        name,
        vectors_config={
            "dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            "colbert": models.VectorParams(
                size=DIM,
                distance=models.Distance.DOT,
                multivector_config=models.MultiVectorConfig(
                    comparator=models.MultiVectorComparator.MAX_SIM
                ),
            ),
        },
        sparse_vectors_config={"sparse": models.SparseVectorParams()},
    )
    c.upsert(
        name,
        [
            models.PointStruct(
                id=i,
                vector={
                    "dense": [1.0, float(i), 2.0, 0.5],
                    "colbert": [[1.0, float(i), 0.0, 0.0], [0.0, 1.0, 1.0, float(i)]],
                    "sparse": models.SparseVector(indices=[i % 5, 7], values=[1.0, 0.5]),
                },
                payload={"price": i * 1.5, "color": "red" if i % 2 else "green", "doc": i % 4},
            )
            for i in range(1, N_POINTS + 1)
        ],
        wait=True,
    )
    c.create_payload_index(name, "price", field_schema=models.PayloadSchemaType.FLOAT, wait=True)
    c.close()
    yield name


# --- raw HTTP --------------------------------------------------------------------------------

# name -> (endpoint under /collections/{c}/points/, body, expected status or None for any 4xx)
QUERY = "query"
GROUPS = "query/groups"
BATCH = "query/batch"
CASES: dict[str, tuple[str, dict[str, Any], int | None]] = {
    # fusion
    "fusion_with_using": (QUERY, {"prefetch": TWO, "query": {"fusion": "rrf"}, "using": "dense"}, 400),
    "dbsf_with_using_in_prefetch": (
        QUERY,
        {"prefetch": {"prefetch": TWO, "query": {"fusion": "dbsf"}, "using": "colbert"},
         "query": D, "using": "dense"},
        400,
    ),
    "rrf_object_with_using": (
        QUERY, {"prefetch": TWO, "query": {"rrf": {"k": 3}}, "using": "sparse"}, 400,
    ),
    "fusion_without_prefetch": (QUERY, {"query": {"fusion": "rrf"}}, 400),
    "dbsf_without_prefetch": (QUERY, {"query": {"fusion": "dbsf"}}, 400),
    "rrf_object_without_prefetch": (QUERY, {"query": {"rrf": {"k": 3}}}, 400),
    "fusion_with_empty_prefetch_list": (QUERY, {"prefetch": [], "query": {"fusion": "rrf"}}, 400),
    "unknown_fusion": (QUERY, {"prefetch": TWO, "query": {"fusion": "max"}}, 400),
    "rrf_weights_too_few": (QUERY, {"prefetch": TWO, "query": {"rrf": {"weights": [1.0]}}}, 400),
    "rrf_weights_too_many": (
        QUERY, {"prefetch": TWO, "query": {"rrf": {"weights": [1.0, 2.0, 3.0]}}}, 400,
    ),
    "rrf_weights_in_prefetch": (
        QUERY,
        {"prefetch": {"prefetch": TWO, "query": {"rrf": {"weights": [1.0]}}},
         "query": D, "using": "dense"},
        400,
    ),
    # prefetches need a query to be merged
    "prefetch_without_root_query": (QUERY, {"prefetch": TWO}, 400),
    "nested_prefetch_without_query": (
        QUERY, {"prefetch": {"prefetch": TWO, "limit": 5}, "query": D, "using": "dense"}, 400,
    ),
    # a score_threshold needs a query that scores
    "score_threshold_without_query": (QUERY, {"score_threshold": 0.5}, 400),
    "score_threshold_without_query_in_prefetch": (
        QUERY, {"prefetch": {"score_threshold": 0.1, "limit": 5}, "query": D, "using": "dense"},
        None,
    ),
    # order_by
    "score_threshold_with_order_by": (
        QUERY, {"query": {"order_by": "price"}, "score_threshold": 0.5}, 400,
    ),
    "score_threshold_with_order_by_over_prefetch": (
        QUERY, {"prefetch": TWO, "query": {"order_by": "price"}, "score_threshold": 0.5}, 400,
    ),
    "order_by_without_index": (QUERY, {"query": {"order_by": "color"}}, 400),
    "order_by_without_index_over_prefetch": (
        QUERY, {"prefetch": TWO, "query": {"order_by": {"key": "doc", "direction": "desc"}}}, 400,
    ),
    "order_by_start_from_not_a_value": (
        QUERY, {"query": {"order_by": {"key": "price", "start_from": "not a date"}}}, 400,
    ),
    "order_by_bad_direction": (
        QUERY, {"query": {"order_by": {"key": "price", "direction": "up"}}}, 400,
    ),
    # vector names
    "unknown_using_at_root": (QUERY, {"query": D, "using": "nope"}, 400),
    "unknown_using_in_prefetch": (
        QUERY, {"prefetch": [{"query": D, "using": "nope"}], "query": D, "using": "dense"}, 400,
    ),
    "unknown_using_nested": (
        QUERY,
        {"prefetch": {"prefetch": {"query": D, "using": "nope"}, "query": D, "using": "dense"},
         "query": MULTI, "using": "colbert"},
        400,
    ),
    "default_vector_not_configured": (QUERY, {"query": D}, 400),
    # query by id
    "lookup_from_missing_collection": (
        QUERY, {"query": 1, "using": "dense", "lookup_from": {"collection": MISSING_COLLECTION}},
        404,
    ),
    "lookup_from_missing_collection_in_prefetch": (
        QUERY,
        {"prefetch": {"query": 1, "using": "dense",
                      "lookup_from": {"collection": MISSING_COLLECTION, "vector": "dense"}},
         "query": D, "using": "dense"},
        404,
    ),
    "lookup_from_unknown_vector": (
        QUERY, {"query": 1, "using": "dense", "lookup_from": {"collection": "{self}", "vector": "nope"}},
        400,
    ),
    "lookup_from_vector_of_other_kind": (
        QUERY,
        {"query": 1, "using": "dense", "lookup_from": {"collection": "{self}", "vector": "sparse"}},
        400,
    ),
    "query_by_missing_int_id": (QUERY, {"query": 999, "using": "dense"}, 404),
    "query_by_missing_uuid": (QUERY, {"query": MISSING_UUID, "using": "dense"}, 404),
    "query_by_missing_id_in_prefetch": (
        QUERY, {"prefetch": {"query": 999, "using": "sparse"}, "query": D, "using": "dense"}, 404,
    ),
    "query_by_invalid_id": (QUERY, {"query": "not-a-uuid", "using": "dense"}, 400),
    "query_by_negative_id": (QUERY, {"query": -1, "using": "dense"}, 400),
    # limits
    "prefetch_deeper_than_limit": (QUERY, _nested(MAX_DEPTH + 1), 400),
    "too_many_prefetches": (QUERY, _flat(MAX_PREFETCHES + 1), 400),
    "negative_limit": (QUERY, {"query": D, "using": "dense", "limit": -1}, 400),
    "limit_zero": (QUERY, {"query": D, "using": "dense", "limit": 0}, 422),
    "prefetch_limit_zero": (
        QUERY, {"prefetch": {"query": D, "using": "dense", "limit": 0}, "query": D, "using": "dense"},
        422,
    ),
    "negative_offset": (QUERY, {"query": D, "using": "dense", "offset": -1}, 400),
    # vector kinds and shapes
    "sparse_query_on_dense": (QUERY, {"query": SPARSE, "using": "dense"}, 400),
    "dense_query_on_sparse": (QUERY, {"query": D, "using": "sparse"}, 400),
    "dense_query_on_sparse_in_prefetch": (
        QUERY, {"prefetch": {"query": D, "using": "sparse"}, "query": D, "using": "dense"}, 400,
    ),
    "multivector_query_on_dense": (QUERY, {"query": MULTI, "using": "dense"}, 400),
    "sparse_query_on_multivector": (QUERY, {"query": SPARSE, "using": "colbert"}, 400),
    "wrong_dimension": (QUERY, {"query": [0.1, 0.2, 0.3], "using": "dense"}, 400),
    "wrong_dimension_in_prefetch": (
        QUERY, {"prefetch": {"query": [0.1] * (DIM + 1), "using": "dense"},
                "query": D, "using": "dense"}, 400,
    ),
    "wrong_dimension_rescoring": (
        QUERY, {"prefetch": {"query": D, "using": "dense"}, "query": [[0.1, 0.2]], "using": "colbert"},
        400,
    ),
    "empty_vector": (QUERY, {"query": [], "using": "dense"}, 400),
    "sparse_lengths_differ": (
        QUERY, {"query": {"indices": [1, 2], "values": [1.0]}, "using": "sparse"}, 422,
    ),
    "sparse_duplicate_indices": (
        QUERY, {"query": {"indices": [1, 1], "values": [1.0, 2.0]}, "using": "sparse"}, 422,
    ),
    "non_numeric_vector": (QUERY, {"query": [1, "a", 3, 4], "using": "dense"}, 400),
    # malformed query kinds (tests/api/test_query_kinds.py checks them in depth)
    "recommend_without_positive": (
        QUERY, {"query": {"recommend": {"negative": [1]}}, "using": "dense"}, 400,
    ),
    "formula_division_by_zero": (
        QUERY, {"prefetch": TWO, "query": {"formula": {"div": {"left": 1, "right": 0}}}}, 400,
    ),
    "discover_without_target": (
        QUERY, {"query": {"discover": {"context": []}}, "using": "dense"}, 400,
    ),
    "context_pair_without_negative": (
        QUERY, {"query": {"context": [{"positive": 1}]}, "using": "dense"}, 400,
    ),
    "sample_unknown": (QUERY, {"query": {"sample": "first"}}, 400),
    "mmr_diversity_over_one": (
        QUERY, {"query": {"nearest": D, "mmr": {"diversity": 1.5}}, "using": "dense"}, 422,
    ),
    "not_a_query": (QUERY, {"query": True, "using": "dense"}, 400),
    # groups
    "groups_without_group_by": (GROUPS, {"query": D, "using": "dense"}, 400),
    "groups_empty_group_by": (GROUPS, {"query": D, "using": "dense", "group_by": ""}, 422),
    "groups_group_size_zero": (
        GROUPS, {"query": D, "using": "dense", "group_by": "doc", "group_size": 0}, 422,
    ),
    "groups_limit_zero": (GROUPS, {"query": D, "using": "dense", "group_by": "doc", "limit": 0}, 422),
    "groups_with_lookup_missing_collection": (
        GROUPS, {"query": D, "using": "dense", "group_by": "doc", "with_lookup": MISSING_COLLECTION},
        404,
    ),
    "groups_with_lookup_object_missing_collection": (
        GROUPS,
        {"query": D, "using": "dense", "group_by": "doc",
         "with_lookup": {"collection": MISSING_COLLECTION, "with_payload": True}},
        404,
    ),
    "groups_unknown_using": (GROUPS, {"query": D, "using": "nope", "group_by": "doc"}, 400),
    "groups_fusion_without_prefetch": (GROUPS, {"query": {"fusion": "rrf"}, "group_by": "doc"}, 400),
    # batch
    "batch_member_unknown_using": (
        BATCH, {"searches": [{"query": D, "using": "dense"}, {"query": D, "using": "nope"}]}, 400,
    ),
    "batch_member_fusion_without_prefetch": (
        BATCH, {"searches": [{"query": D, "using": "dense"}, {"query": {"fusion": "rrf"}}]}, 400,
    ),
    "batch_member_missing_id": (
        BATCH, {"searches": [{"query": D, "using": "dense"}, {"query": 999, "using": "dense"}]}, 404,
    ),
    "batch_member_not_an_object": (BATCH, {"searches": [{"query": D, "using": "dense"}, 5]}, 400),
    "batch_member_wrong_dimension": (
        BATCH, {"searches": [{"query": [0.1], "using": "dense"}, {"query": D, "using": "dense"}]}, 400,
    ),
    "batch_without_searches": (BATCH, {}, 400),
    "batch_searches_not_a_list": (BATCH, {"searches": {"query": D, "using": "dense"}}, 400),
}


def _with_name(body: Any, name: str) -> Any:
    """Replace the ``"{self}"`` placeholder with the collection's name."""
    return json.loads(json.dumps(body).replace('"{self}"', json.dumps(name)))


@pytest.mark.parametrize("case", list(CASES))
def test_rejected_over_http(http: httpx.Client, coll: str, case: str) -> None:
    endpoint, body, status = CASES[case]
    r = http.post(f"/collections/{coll}/points/{endpoint}", json=_with_name(body, coll))
    assert_rejected(r, status)


def test_missing_collection_is_404(http: httpx.Client) -> None:
    for endpoint, body in (
        (QUERY, {"query": D}),
        (GROUPS, {"query": D, "group_by": "doc"}),
        (BATCH, {"searches": [{"query": D}]}),
    ):
        assert_rejected(http.post(f"/collections/{MISSING_COLLECTION}/points/{endpoint}", json=body), 404)


def test_malformed_json_is_400(http: httpx.Client, coll: str) -> None:
    r = http.post(
        f"/collections/{coll}/points/query",
        content=b'{"query": [NaN, 1, 2, 3], "using": "dense"}',
        headers={"content-type": "application/json"},
    )
    assert_rejected(r, 400)
    assert_rejected(http.post(f"/collections/{coll}/points/query", json=[D]), 400)


def test_bad_explain_flag_is_400(http: httpx.Client, coll: str) -> None:
    path = f"/collections/{coll}/points/query"
    body = {"query": D, "using": "dense"}
    assert_rejected(http.post(path, json=body, params={"explain": "maybe"}), 400)
    assert_rejected(http.post(path, json={**body, "explain": "yes"}), 400)


# --- the same requests just inside the limits are fine ---------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_nested(MAX_DEPTH), id="depth_at_limit"),
        pytest.param(_flat(MAX_PREFETCHES), id="prefetches_at_limit"),
        pytest.param({"query": D, "using": "dense", "limit": MAX_LIMIT}, id="limit_at_max"),
        pytest.param({"prefetch": TWO, "query": {"rrf": {"weights": [1.0, 2.0]}}}, id="weights_match"),
        pytest.param({"prefetch": TWO, "query": {"fusion": "rrf"}, "using": ""}, id="fusion_default_using"),
        pytest.param({"query": {"order_by": {"key": "price", "start_from": 3}}}, id="order_by_indexed"),
        pytest.param({"query": 1, "using": "colbert"}, id="existing_id"),
    ],
)
def test_accepted_at_the_limits(http: httpx.Client, coll: str, body: dict[str, Any]) -> None:
    r = http.post(f"/collections/{coll}/points/query", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"
    assert r.json()["result"]["points"]


def test_good_batch_and_groups_are_accepted(http: httpx.Client, coll: str) -> None:
    r = http.post(
        f"/collections/{coll}/points/query/batch",
        json={"searches": [{"query": D, "using": "dense"}, {"prefetch": TWO, "query": {"fusion": "dbsf"}}]},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]) == 2
    r = http.post(
        f"/collections/{coll}/points/query/groups",
        json={"query": D, "using": "dense", "group_by": "doc", "group_size": 1, "limit": 2},
    )
    assert r.status_code == 200, r.text
    assert [len(g["hits"]) for g in r.json()["result"]["groups"]] == [1, 1]


# --- through the official client -------------------------------------------------------------

M = models
PREFETCH_TWO = [
    M.Prefetch(query=D, using="dense", limit=5),
    M.Prefetch(query=M.SparseVector(**SPARSE), using="sparse", limit=5),
]


def _deep(levels: int) -> M.Prefetch:
    p = M.Prefetch(query=D, using="dense", limit=5)
    for _ in range(levels - 1):
        p = M.Prefetch(prefetch=p, query=D, using="dense", limit=5)
    return p


ClientCall = Callable[[QdrantClient, str], Any]
CLIENT_CASES: dict[str, tuple[ClientCall, int | None]] = {
    "fusion_with_using": (
        lambda c, n: c.query_points(
            n, prefetch=PREFETCH_TWO, query=M.FusionQuery(fusion=M.Fusion.RRF), using="dense"
        ),
        400,
    ),
    "fusion_without_prefetch": (
        lambda c, n: c.query_points(n, query=M.FusionQuery(fusion=M.Fusion.DBSF)), 400,
    ),
    "score_threshold_with_order_by": (
        lambda c, n: c.query_points(
            n, query=M.OrderByQuery(order_by="price"), score_threshold=0.1
        ),
        400,
    ),
    "rrf_weights_count": (
        lambda c, n: c.query_points(
            n, prefetch=PREFETCH_TWO, query=M.RrfQuery(rrf=M.Rrf(weights=[1.0, 1.0, 1.0]))
        ),
        400,
    ),
    "unknown_using_root": (lambda c, n: c.query_points(n, query=D, using="nope"), 400),
    "unknown_using_prefetch": (
        lambda c, n: c.query_points(
            n, prefetch=M.Prefetch(query=D, using="nope"), query=D, using="dense"
        ),
        400,
    ),
    "lookup_from_missing_collection": (
        lambda c, n: c.query_points(
            n, query=1, using="dense",
            lookup_from=M.LookupLocation(collection=MISSING_COLLECTION, vector="dense"),
        ),
        404,
    ),
    "query_by_missing_id": (lambda c, n: c.query_points(n, query=MISSING_UUID, using="dense"), 404),
    "order_by_without_index": (
        lambda c, n: c.query_points(n, query=M.OrderByQuery(order_by=M.OrderBy(key="color"))), 400,
    ),
    "prefetch_too_deep": (
        lambda c, n: c.query_points(n, prefetch=_deep(MAX_DEPTH + 1), query=D, using="dense"), 400,
    ),
    "too_many_prefetches": (
        lambda c, n: c.query_points(
            n, prefetch=[PREFETCH_TWO[0]] * (MAX_PREFETCHES + 1),
            query=M.FusionQuery(fusion=M.Fusion.RRF),
        ),
        400,
    ),
    "sparse_on_dense": (
        lambda c, n: c.query_points(n, query=M.SparseVector(**SPARSE), using="dense"), 400,
    ),
    "dense_on_sparse": (lambda c, n: c.query_points(n, query=D, using="sparse"), 400),
    "wrong_dimension": (lambda c, n: c.query_points(n, query=D + [0.5], using="dense"), 400),
    "recommend_without_positive": (
        lambda c, n: c.query_points(
            n, query=M.RecommendQuery(recommend=M.RecommendInput(negative=[1])), using="dense"
        ),
        400,
    ),
    "formula_missing_variable": (
        lambda c, n: c.query_points(
            n, prefetch=PREFETCH_TWO,
            query=M.FormulaQuery(formula=M.SumExpression(sum=["$score", "no_such_key"])),
        ),
        400,
    ),
    "prefetch_without_query": (lambda c, n: c.query_points(n, prefetch=PREFETCH_TWO), 400),
    "limit_zero": (lambda c, n: c.query_points(n, query=D, using="dense", limit=0), 422),
    "groups_group_size_zero": (
        lambda c, n: c.query_points_groups(n, group_by="doc", query=D, using="dense", group_size=0),
        422,
    ),
    "groups_unknown_using": (
        lambda c, n: c.query_points_groups(n, group_by="doc", query=D, using="nope"), 400,
    ),
    "batch_bad_member": (
        lambda c, n: c.query_batch_points(
            n,
            [
                M.QueryRequest(query=D, using="dense"),
                M.QueryRequest(query=M.FusionQuery(fusion=M.Fusion.RRF)),
            ],
        ),
        400,
    ),
}


@pytest.mark.parametrize("case", list(CLIENT_CASES))
def test_rejected_through_client(client: QdrantClient, coll: str, case: str) -> None:
    call, status = CLIENT_CASES[case]
    with pytest.raises(UnexpectedResponse) as info:
        call(client, coll)
    err = info.value
    assert 400 <= err.status_code < 500, (err.status_code, err.content)
    if status is not None:
        assert err.status_code == status, (err.status_code, err.content)
    body = json.loads(err.content)
    assert isinstance(body["status"]["error"], str) and body["status"]["error"]
    assert "time" in body


def test_server_still_answers(http: httpx.Client, coll: str) -> None:
    """After all the bad requests the collection still serves good ones."""
    r = http.post(f"/collections/{coll}/points/query", json={"query": D, "using": "dense", "limit": 3})
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]["points"]) == 3
    assert http.get("/readyz").status_code == 200
