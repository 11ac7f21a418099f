"""Qdrant's codes and texts for bad input, over raw HTTP: 422 ``Validation error in ...: [...]``
for range and shape problems, 400 ``Format error in ...`` for input that can't be read, the
Query API's own checks in Qdrant's order, ``Not found: `` 404s, reason phrases and ``GET /``."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.checks import assert_rejected
from tests.server import HeronProcess

COLL = "errs"


@pytest.fixture(scope="module")
def seeded(heron: HeronProcess) -> Iterator[None]:
    with httpx.Client(base_url=heron.url, timeout=30) as http:
        r = http.put(f"/collections/{COLL}", json={
            "vectors": {"d": {"size": 2, "distance": "Dot"},
                        "m": {"size": 2, "distance": "Dot",
                              "multivector_config": {"comparator": "max_sim"}}},
            "sparse_vectors": {"s": {}},
        })
        assert r.status_code == 200, r.text
        r = http.put(f"/collections/{COLL}/points?wait=true", json={"points": [
            {"id": 1, "vector": {"d": [1.0, 0.0]}, "payload": {"price": 3}},
        ]})
        assert r.status_code == 200, r.text
        r = http.put(f"/collections/{COLL}/index?wait=true",
                     json={"field_name": "price", "field_schema": "integer"})
        assert r.status_code == 200, r.text
        yield


def _error(r: httpx.Response, status: int) -> str:
    return str(assert_rejected(r, status)["status"]["error"])


P = f"/collections/{COLL}/points"
VALIDATION: list[tuple[str, str, Any, str]] = [
    ("POST", P + "/scroll", {"limit": 0}, "JSON body: [limit: "),
    ("POST", P + "/query", {"query": [1.0, 0.0], "using": "d", "limit": 0}, "JSON body: [limit: "),
    ("POST", P + "/scroll?timeout=0", {}, "query parameters: [timeout: "),
    ("PUT", "/collections/" + "x" * 256, {"vectors": {"size": 2, "distance": "Dot"}},
     "path parameters: [collection_name: "),
    ("PUT", P + "?wait=true", {"points": [{"id": 2, "vector": {"m": []}}]}, "JSON body: [vector.m"),
    ("PUT", P + "?wait=true", {"points": [{"id": 2, "vector": {"m": [[1.0, 2.0], [1.0]]}}]},
     "JSON body: [vector.m"),
    ("PUT", P + "?wait=true",
     {"points": [{"id": 2, "vector": {"s": {"indices": [1, 2], "values": [1.0]}}}]},
     "JSON body: [vector.s.values: must be the same length as indices]"),
    ("PUT", P + "?wait=true",
     {"points": [{"id": 2, "vector": {"s": {"indices": [1, 1], "values": [1.0, 2.0]}}}]},
     "JSON body: [vector.s.indices: must be unique]"),
    ("POST", P + "/count", {"filter": {"must": [{"key": "price"}]}},
     "JSON body: [filter.must[0]: At least one field condition must be specified]"),
    ("PUT", f"/collections/{COLL}/index?wait=true",
     {"field_name": "n", "field_schema": {"type": "integer", "lookup": False, "range": False}},
     "JSON body: [field_schema: "),
]


@pytest.mark.parametrize(("method", "path", "body", "text"), VALIDATION,
                         ids=[f"{m} {p[-30:]} {t[:30]}" for m, p, _, t in VALIDATION])
def test_validation_errors_are_422(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any, text: str
) -> None:
    error = _error(http.request(method, path, json=body), 422)
    assert error.startswith("Validation error in " + text), error
    assert error.endswith("]"), error


FORMAT: list[tuple[str, str, Any]] = [
    ("POST", P + "/scroll", {"limit": -1}),
    ("POST", P + "/scroll", {"limit": "5"}),
    ("POST", P + "/query", {"query": [1.0, 0.0], "using": "d", "limit": -3}),
    ("POST", P + "/query", {"query": [1.0, 0.0], "using": "d", "offset": -1}),
    ("POST", P, {}),
    ("POST", P, {"ids": 1}),
    ("POST", P + "/count", {"exact": "no"}),
    ("PUT", P + "?wait=true", "[1, 2]"),
    ("PUT", P + "?wait=true", "{bad json"),
]


@pytest.mark.parametrize(("method", "path", "body"), FORMAT,
                         ids=[f"{m} {p[-20:]} {str(b)[:30]}" for m, p, b in FORMAT])
def test_unreadable_input_is_400_format_error(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any
) -> None:
    if isinstance(body, str):
        r = http.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        r = http.request(method, path, json=body)
    error = _error(r, 400)
    assert error.startswith("Format error in JSON body: "), error


def test_format_error_in_query_parameters(seeded: None, http: httpx.Client) -> None:
    error = _error(http.post(P + "/scroll?timeout=abc", json={}), 400)
    assert error.startswith("Format error in query parameters: "), error
    error = _error(http.put(P + "?wait=maybe", json={"points": []}), 400)
    assert error.startswith("Format error in query parameters: "), error


TWO = [{"query": [1.0, 0.0], "using": "d"}, {"query": [0.0, 1.0], "using": "d"}]
ORDER: list[tuple[dict[str, Any], str]] = [
    # each body breaks this rule and every later one: the first in Qdrant's order is reported
    ({"prefetch": TWO, "score_threshold": 0.5, "using": "d"}, "A query is needed to merge"),
    ({"prefetch": TWO, "query": {"order_by": "price"}, "score_threshold": 0.5},
     "Can't use score_threshold with an order_by query"),
    ({"score_threshold": 0.5, "using": "d"}, "A query is needed to use the score_threshold"),
    ({"prefetch": TWO, "query": {"fusion": "rrf"}, "using": "d"},
     "Fusion queries cannot be combined with the 'using' field"),
]


@pytest.mark.parametrize(("body", "text"), ORDER, ids=[t[:30] for _, t in ORDER])
def test_query_checks_in_qdrants_order(
    seeded: None, http: httpx.Client, body: dict[str, Any], text: str
) -> None:
    error = _error(http.post(P + "/query", json=body), 400)
    assert error.startswith("Bad request: " + text), error


Q = [1.0, 0.0]
SHAPES: list[tuple[str, Any, int, str]] = [
    # can't be read into the request types: 400 ``Format error in JSON body: <path>: ...``
    ("/points/query", {"query": Q, "using": "d", "filter": 3}, 400, "filter: invalid type"),
    ("/points/query", {"query": Q, "using": 5}, 400, "using: invalid type"),
    ("/points/query", {"prefetch": 7, "query": Q, "using": "d"}, 400, "prefetch: invalid type"),
    ("/points/query", {"prefetch": [3], "query": Q, "using": "d"}, 400, "prefetch[0]: invalid type"),
    ("/points/query", {"prefetch": [{"query": Q, "using": "d", "filter": []}], "query": Q,
                "using": "d"}, 400, "prefetch[0].filter: invalid type"),
    ("/points/query", {"query": Q, "using": "d", "params": []}, 400, "params: invalid type"),
    ("/points/query", {"prefetch": TWO, "query": {"fusion": "max"}}, 400,
     "query.fusion: unknown variant `max`, expected `rrf` or `dbsf`"),
    ("/points/query", {"prefetch": TWO, "query": {"rrf": {"k": -1}}}, 400, "query.rrf.k: invalid value"),
    ("/points/query", {"prefetch": TWO, "query": {"rrf": {"weights": "x"}}}, 400, "query.rrf.weights:"),
    ("/points/query", {"query": {"order_by": {"key": "price", "direction": "up"}}}, 400,
     "query.order_by.direction: unknown variant `up`"),
    ("/points/query", {"query": {"order_by": {}}}, 400, "query.order_by: missing field `key`"),
    ("/points/query", {"query": {"order_by": {"key": "price", "start_from": "soon"}}}, 400,
     "query.order_by.start_from: "),
    ("/points/query", {"query": 1, "using": "d", "lookup_from": {"vector": "d"}}, 400,
     "lookup_from: missing field `collection`"),
    ("/points/query", {"query": Q, "using": "d", "params": {"exact": "yes"}}, 400,
     "params.exact: invalid type"),
    ("/points/query", {"query": Q, "using": "d", "params": {"hnsw_ef": -2}}, 400, "params.hnsw_ef: "),
    ("/points/query", {"query": {"recommend": {"positive": [True]}}, "using": "d"}, 400,
     "query.recommend.positive[0]: data did not match any variant"),
    ("/points/query/groups", {"query": Q, "using": "d"}, 400, "missing field `group_by`"),
    ("/facet", {"key": "price", "exact": 1}, 400, "exact: invalid type"),
    ("/facet", {"key": "price", "limit": -1}, 400, "limit: invalid value"),
    ("/points/search/matrix/pairs", {"using": 3}, 400, "using: invalid type"),
    # read fine but out of the schema's bounds: 422 ``Validation error in JSON body: [...]``
    ("/points/query", {"prefetch": TWO, "query": {"rrf": {"k": 0}}}, 422,
     "[query.rrf.k: value 0 invalid, must be 1 or larger]"),
    ("/points/query", {"query": Q, "using": "d", "params": {"hnsw_ef": 0}}, 422,
     "[params.hnsw_ef: value 0 invalid, must be 1 or larger]"),
    ("/points/query", {"query": Q, "using": "d", "params": {"quantization": {"oversampling": 0.5}}}, 422,
     "[params.quantization.oversampling: value 0.5 invalid, must be 1 or larger]"),
    ("/points/query", {"query": {"nearest": Q, "mmr": {"diversity": -0.5}}, "using": "d"}, 422,
     "[query.mmr.diversity: value -0.5 invalid, must be 0 or larger]"),
    ("/points/query/groups", {"query": Q, "using": "d", "group_by": ""}, 422,
     "[group_by: length must be at least 1]"),
    ("/facet", {"key": "price", "limit": 0}, 422, "[limit: value 0 invalid, must be 1 or larger]"),
    ("/points/search/matrix/pairs", {"sample": 1}, 422,
     "[sample: value 1 invalid, must be 2 or larger]"),
    # the engine's own check (no bound in the schema): 400 ``Bad request: ...``
    ("/points/query", {"prefetch": TWO, "query": {"rrf": {"weights": [1.0, -1.0]}}}, 400,
     "Bad request: RRF weights must be non-negative"),
]


@pytest.mark.parametrize(("path", "body", "status", "text"), SHAPES,
                         ids=[f"{p} {t[:40]}" for p, _, _, t in SHAPES])
def test_query_shape_checks(
    seeded: None, http: httpx.Client, path: str, body: Any, status: int, text: str
) -> None:
    """Each Query API shape problem answers as Qdrant splits them: unreadable → 400 format
    error with the JSON path, a schema bound → 422 validation error, an engine check → 400."""
    error = _error(http.post(f"/collections/{COLL}" + path, json=body), status)
    if text.startswith("Bad request: "):
        assert error == text, error
    elif status == 422:
        assert error == "Validation error in JSON body: " + text, error
    else:
        assert error.startswith("Format error in JSON body: " + text), error


LONG = "x" * 256
BAD_NAMES: list[tuple[str, str, Any, str]] = [
    ("GET", "/collections/a:b", None, 'collection name cannot contain ":" char'),
    ("GET", f"/collections/{LONG}", None, "length must be between 1 and 255"),
    ("GET", f"/collections/{LONG}/exists", None, "length must be between 1 and 255"),
    ("DELETE", "/collections/a*b", None, 'collection name cannot contain "*" char'),
    ("PATCH", "/collections/a|b", {}, 'collection name cannot contain "|" char'),
    ("POST", "/collections/a<b/points/scroll", {}, 'collection name cannot contain "<" char'),
    ("POST", '/collections/a"b/points/query', {"query": [1.0, 0.0]},
     'collection name cannot contain """ char'),
    ("PUT", "/collections/a>b/points?wait=true", {"points": []},
     'collection name cannot contain ">" char'),
    ("GET", f"/collections/{LONG}/points/1", None, "length must be between 1 and 255"),
    ("POST", "/collections/a%5Cb/points/count", {}, 'collection name cannot contain "\\" char'),
    ("PUT", "/collections/a:b/index", {"field_name": "f", "field_schema": "keyword"},
     'collection name cannot contain ":" char'),
    ("PUT", "/collections/a:b/vectors/v", {"dense": {"size": 2, "distance": "Dot"}},
     'collection name cannot contain ":" char'),
    ("GET", "/collections/a:b/snapshots", None, 'collection name cannot contain ":" char'),
    ("POST", "/collections/a:b/facet", {"key": "k"}, 'collection name cannot contain ":" char'),
]


@pytest.mark.parametrize(("method", "path", "body", "text"), BAD_NAMES,
                         ids=[f"{m} {p[:40]}" for m, p, _, _ in BAD_NAMES])
def test_collection_name_is_checked_on_every_route(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any, text: str
) -> None:
    """Qdrant's path validator runs on every ``/collections/{collection_name}/...`` route,
    before the collection is looked up (a bad name is a 422, not a 404) and before the body
    and query parameters are checked (``?timeout=0`` would be a 422 of its own)."""
    sep = "&" if "?" in path else "?"
    r = http.request(method, path + sep + "timeout=0", json=body)
    error = _error(r, 422)
    assert error == f"Validation error in path parameters: [collection_name: {text}]", error


def test_collection_name_is_checked_over_grpc(heron: HeronProcess) -> None:
    import grpc
    from qdrant_client import grpc as q

    with grpc.insecure_channel(f"127.0.0.1:{heron.grpc_port}") as channel:
        for call, request in [
            (q.PointsStub(channel).Count, q.CountPoints(collection_name="a:b")),
            (q.CollectionsStub(channel).Get, q.GetCollectionInfoRequest(collection_name="y" * 256)),
        ]:
            with pytest.raises(grpc.RpcError) as info:
                call(request)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
            assert info.value.details().startswith(
                "Validation error in path parameters: [collection_name: "), info.value.details()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/collections/nope"),
    ("POST", "/collections/nope/points/scroll"),
    ("GET", f"/collections/{COLL}/points/99"),
    ("GET", "/no/such/route"),
    ("DELETE", "/collections/nope/vectors/v"),
])
def test_not_found_texts(seeded: None, http: httpx.Client, method: str, path: str) -> None:
    error = _error(http.request(method, path, json={} if method == "POST" else None), 404)
    assert error.startswith("Not found: "), error


def test_unknown_route_and_method_answer_the_envelope(seeded: None, http: httpx.Client) -> None:
    error = _error(http.get("/definitely/not/here"), 404)
    assert "requested URL" not in error, error
    error = _error(http.post("/collections"), 405)
    assert error.startswith("Method Not Allowed: "), error


@pytest.mark.parametrize(("method", "path", "line"), [
    ("GET", "/collections/nope", b"HTTP/1.1 404 Not Found\r\n"),
    ("GET", "/readyz", b"HTTP/1.1 200 OK\r\n"),
    ("POST", "/collections", b"HTTP/1.1 405 Method Not Allowed\r\n"),
    ("GET", f"/collections/{COLL}/points/1?timeout=0", b"HTTP/1.1 422 Unprocessable Entity\r\n"),
])
def test_status_lines_carry_reason_phrases(
    seeded: None, heron: HeronProcess, method: str, path: str, line: bytes
) -> None:
    """Raw socket: the status line itself, as httpx would hide an empty reason."""
    request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", heron.port), timeout=10) as sock:
        sock.sendall(request.encode())
        head = sock.recv(4096)
    assert head.startswith(line), head[:80]


def test_bad_request_reason_phrase(seeded: None, http: httpx.Client) -> None:
    r = http.post(P + "/scroll", json={"limit": -1})
    assert r.status_code == 400 and r.reason_phrase == "Bad Request", (r.status_code, r.reason_phrase)
    r = http.post(P + "/scroll", json={"limit": 0})
    assert r.reason_phrase == "Unprocessable Entity", r.reason_phrase


def test_root_reports_version_and_commit(http: httpx.Client) -> None:
    body = http.get("/").json()
    assert body["title"]
    assert re.fullmatch(r"1\.19\.\d+", body["version"]), body
    assert body["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", body["commit"]), body


def test_grpc_errors_carry_the_same_texts(seeded: None, heron: HeronProcess) -> None:
    """Over gRPC: 422s and 400s are INVALID_ARGUMENT, 404s NOT_FOUND, with the REST texts."""
    import grpc
    from qdrant_client import grpc as q

    with grpc.insecure_channel(f"127.0.0.1:{heron.grpc_port}") as channel:
        points = q.PointsStub(channel)
        cases = [
            (points.Scroll, q.ScrollPoints(collection_name=COLL, limit=0),
             grpc.StatusCode.INVALID_ARGUMENT, "Validation error in JSON body: [limit: "),
            (points.Query, q.QueryPoints(collection_name=COLL, using="d", limit=0,
                                         query=q.Query(nearest=q.VectorInput(dense=q.DenseVector(data=[1.0, 0.0])))),
             grpc.StatusCode.INVALID_ARGUMENT, "Validation error in JSON body: [limit: "),
            (points.Query, q.QueryPoints(collection_name=COLL, score_threshold=0.5, using="d"),
             grpc.StatusCode.INVALID_ARGUMENT, "Bad request: A query is needed to use the score"),
            (points.Count, q.CountPoints(collection_name="nope"),
             grpc.StatusCode.NOT_FOUND, "Not found: Collection `nope` doesn't exist!"),
            (points.Query, q.QueryPoints(
                collection_name=COLL, using="d", params=q.SearchParams(hnsw_ef=0),
                query=q.Query(nearest=q.VectorInput(dense=q.DenseVector(data=[1.0, 0.0])))),
             grpc.StatusCode.INVALID_ARGUMENT,
             "Validation error in JSON body: [params.hnsw_ef: value 0 invalid, must be 1 or"),
        ]
        for call, request, code, text in cases:
            with pytest.raises(grpc.RpcError) as info:
                call(request)
            assert info.value.code() == code, (request, info.value.details())
            assert info.value.details().startswith(text), info.value.details()
