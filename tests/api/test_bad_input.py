"""Bad requests over raw HTTP: each one is a 4xx with Qdrant's error body and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.checks import assert_rejected
from tests.server import HeronProcess

PLAIN = "plain"  # unnamed vector, size 3, Dot
NAMED = "named"  # "a": size 3 Cosine, "b": size 2 Euclid
SENTINEL = 999_999
GOOD_UUID = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"


def _send(http: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    """Send ``body`` as-is when it is bytes/str, else as JSON."""
    if body is None:
        return http.request(method, path)
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return http.request(method, path, content=body, headers={"content-type": "application/json"})


def _barrier(http: httpx.Client) -> None:
    """Re-upsert the unchanged sentinel with wait=true so queued updates are applied."""
    for name, vector in ((PLAIN, [0.5, 0.5, 0.5]), (NAMED, {"b": [0.5, 0.5]})):
        r = _send(
            http,
            "PUT",
            f"/collections/{name}/points?wait=true",
            {"points": [{"id": SENTINEL, "vector": vector, "payload": {"sentinel": True}}]},
        )
        assert r.status_code == 200, r.text


def snapshot(http: httpx.Client) -> dict[str, Any]:
    """Everything a bad request could have changed: collections, configs, points."""
    _barrier(http)
    out: dict[str, Any] = {"collections": sorted(
        c["name"] for c in http.get("/collections").json()["result"]["collections"]
    )}
    for name in (PLAIN, NAMED):
        info = http.get(f"/collections/{name}").json()["result"]
        scroll = _send(
            http,
            "POST",
            f"/collections/{name}/points/scroll",
            {"limit": 1000, "with_payload": True, "with_vector": True},
        ).json()["result"]
        count = _send(http, "POST", f"/collections/{name}/points/count", {"exact": True})
        out[name] = {
            "config": info["config"],
            "payload_schema": info["payload_schema"],
            "points_count": info["points_count"],
            "count": count.json()["result"]["count"],
            "points": scroll["points"],
        }
    return out


@pytest.fixture(scope="module")
def seeded(heron: HeronProcess) -> Iterator[None]:
    """Two collections with a few points and a payload index."""
    with httpx.Client(base_url=heron.url, timeout=30) as http:
        r = _send(http, "PUT", f"/collections/{PLAIN}", {"vectors": {"size": 3, "distance": "Dot"}})
        assert r.status_code == 200, r.text
        r = _send(
            http,
            "PUT",
            f"/collections/{NAMED}",
            {
                "vectors": {
                    "a": {"size": 3, "distance": "Cosine"},
                    "b": {"size": 2, "distance": "Euclid"},
                }
            },
        )
        assert r.status_code == 200, r.text
        plain = [
            {"id": i, "vector": [float(i), 1.0, -1.0], "payload": {"i": i, "tag": f"t{i % 3}"}}
            for i in range(1, 11)
        ]
        plain.append({"id": GOOD_UUID, "vector": [0.0, 0.0, 1.0], "payload": {"u": True}})
        r = _send(http, "PUT", f"/collections/{PLAIN}/points?wait=true", {"points": plain})
        assert r.status_code == 200, r.text
        named = [
            {"id": i, "vector": {"a": [1.0, float(i), 0.0], "b": [float(i), 2.0]},
             "payload": {"i": i, "nested": {"x": [i, i + 1]}}}
            for i in range(1, 6)
        ]
        r = _send(http, "PUT", f"/collections/{NAMED}/points?wait=true", {"points": named})
        assert r.status_code == 200, r.text
        r = _send(
            http, "PUT", f"/collections/{PLAIN}/index?wait=true",
            {"field_name": "tag", "field_schema": "keyword"},
        )
        assert r.status_code == 200, r.text
        yield


Case = tuple[str, str, Any]  # method, path, body


def _check_cases(http: httpx.Client, cases: list[Case], status: int | None = None) -> None:
    """Each case is rejected and leaves the stored state exactly as it was."""
    before = snapshot(http)
    for method, path, body in cases:
        r = _send(http, method, path, body)
        assert_rejected(r, status)
        after = snapshot(http)
        assert after == before, (method, path, body)


def _ids(p: str) -> str:
    return p.format(c=f"/collections/{PLAIN}", n=f"/collections/{NAMED}")


def _cases(raw: list[Case]) -> list[Case]:
    return [(m, _ids(p), b) for m, p, b in raw]


def _param(raw: list[Case]) -> Any:
    """pytest params with readable ids."""
    return [
        pytest.param(m, _ids(p), b, id=f"{m} {p} {str(b)[:60]}") for m, p, b in raw
    ]


# --- malformed JSON ----------------------------------------------------------------------

MALFORMED: list[Case] = [
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [1, 2, 3]}'),
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [1, 2, 3],}]}'),
    ("PUT", "{c}/points?wait=true", "{'points': []}"),
    ("POST", "{c}/points/scroll", "{bad json}"),
    ("POST", "{c}/points/query", '{"query": [1, 2, 3'),
    ("POST", "{c}/points/count", '{"filter": {"must": [}}'),
    ("POST", "{c}/points/delete?wait=true", '{"points": [1, 2'),
    ("POST", "{c}/points/payload?wait=true", '{"payload": {"a": 1}, "points": [1]]'),
    ("POST", "{c}/points/batch?wait=true", '{"operations": [{"delete": {"points": [1]}}'),
    ("PATCH", "{c}", '{"optimizers_config": '),
    ("PUT", "/collections/never_made", '{"vectors": {"size": 3,'),
    ("PUT", "{c}/points?wait=true", "[1, 2, 3]"),
    ("POST", "{c}/points/delete?wait=true", '"just a string"'),
    ("PUT", "{c}/points?wait=true", b'{"points": [{"id": 20, "vector": [1, 2, 3]}]}\xff'),
]


@pytest.mark.parametrize(("method", "path", "body"), _param(MALFORMED))
def test_malformed_json(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any
) -> None:
    """Unparseable bodies (or bodies that are not objects) are rejected."""
    _check_cases(http, [(method, path, body)])


# --- schema violations -------------------------------------------------------------------

SCHEMA: list[Case] = [
    # scroll / query / count / retrieve shapes
    ("POST", "{c}/points/scroll", {"limit": -1}),
    ("POST", "{c}/points/scroll", {"limit": "abc"}),
    ("POST", "{c}/points/scroll", {"limit": "5"}),
    ("POST", "{c}/points/scroll", {"limit": 5.5}),
    ("POST", "{c}/points/scroll", {"limit": 5.0}),
    ("POST", "{c}/points/scroll", {"limit": True}),
    ("POST", "{c}/points/scroll", {"with_payload": "yes"}),
    ("POST", "{c}/points/scroll", {"filter": []}),
    ("POST", "{c}/points/query", {"query": [1, 2, 3], "limit": -1}),
    ("POST", "{c}/points/query", {"query": [1, 2, 3], "limit": "3"}),
    ("POST", "{c}/points/query", {"query": [1, 2, 3], "offset": -1}),
    ("POST", "{c}/points/query", {"query": [1, 2, 3], "score_threshold": "abc"}),
    ("POST", "{c}/points/query", {"query": [1, "2", 3]}),
    ("POST", "{c}/points/query", {"query": [1, True, 3]}),
    ("POST", "{c}/points/query", {"query": {"nearest": "x"}}),
    ("POST", "{c}/points/query", {"query": [1, 2, 3], "with_vector": "x"}),
    ("POST", "{c}/points/count", {"exact": "no"}),
    ("POST", "{c}/points/count", {"filter": 5}),
    ("POST", "{c}/points", {"ids": 1}),
    ("POST", "{c}/points", {}),
    ("POST", "{c}/points", {"ids": [1], "with_payload": 1}),
    # updates
    ("PUT", "{c}/points?wait=true", {}),
    ("PUT", "{c}/points?wait=true", {"points": {"id": 20, "vector": [1, 2, 3]}}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": "abc"}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, "2", 3]}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, None, 3]}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, True, 3]}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, 2, 3], "payload": [1]}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, 2, 3], "payload": "x"}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"vector": [1, 2, 3]}]}),
    ("PUT", "{c}/points?wait=true", {"batch": {"ids": [20, 21], "vectors": [[1, 2, 3]]}}),
    ("PUT", "{c}/points?wait=true",
     {"batch": {"ids": [20], "vectors": [[1, 2, 3]], "payloads": [{}, {}]}}),
    ("PUT", "{c}/points?wait=maybe", {"points": [{"id": 20, "vector": [1, 2, 3]}]}),
    ("PUT", "{c}/points?wait=yes", {"points": [{"id": 20, "vector": [1, 2, 3]}]}),
    ("POST", "{c}/points/delete?wait=true", {}),
    ("POST", "{c}/points/delete?wait=true", {"points": "1"}),
    ("POST", "{c}/points/payload?wait=true", {"payload": [1], "points": [1]}),
    ("POST", "{c}/points/payload?wait=true", {"payload": {"a": 1}}),
    ("PUT", "{c}/points/payload?wait=true", {"payload": "x", "points": [1]}),
    ("POST", "{c}/points/payload/delete?wait=true", {"keys": "i", "points": [1]}),
    ("POST", "{c}/points/payload/clear?wait=true", {"points": {"a": 1}}),
    ("PUT", "{n}/points/vectors?wait=true", {"points": [{"id": 1}]}),
    ("PUT", "{n}/points/vectors?wait=true", {"points": [{"id": 1, "vector": "x"}]}),
    ("POST", "{n}/points/vectors/delete?wait=true", {"points": [1], "vector": "a"}),
    ("POST", "{c}/points/batch?wait=true", {"operations": {"delete": {"points": [1]}}}),
    ("POST", "{c}/points/batch?wait=true", {"operations": [{"explode": {"points": [1]}}]}),
    # collection config and indexes
    ("PATCH", "{c}", {"optimizers_config": {"indexing_threshold": -5}}),
    ("PATCH", "{c}", {"hnsw_config": {"m": "x"}}),
    ("PATCH", "{c}", {"hnsw_config": {"m": -1}}),
    ("PATCH", "{n}", {"vectors": {"zzz": {"hnsw_config": {"m": 4}}}}),
    ("PUT", "{c}/index?wait=true", {"field_name": "i", "field_schema": "bogus"}),
    ("PUT", "{c}/index?wait=true", {"field_schema": "keyword"}),
    ("PUT", "{c}/index?wait=true", {"field_name": 5, "field_schema": "keyword"}),
    ("PUT", "/collections/never_made", {"vectors": {"size": 0, "distance": "Dot"}}),
    ("PUT", "/collections/never_made", {"vectors": {"size": -3, "distance": "Dot"}}),
    ("PUT", "/collections/never_made", {"vectors": {"size": "3", "distance": "Dot"}}),
    ("PUT", "/collections/never_made", {"vectors": {"size": 3.5, "distance": "Dot"}}),
    ("PUT", "/collections/never_made", {"vectors": {"size": 3, "distance": "Foo"}}),
    ("PUT", "/collections/never_made", {"vectors": {"size": 3}}),
    ("PUT", "/collections/never_made", {"vectors": 3}),
]


@pytest.mark.parametrize(("method", "path", "body"), _param(SCHEMA))
def test_schema_violations(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any
) -> None:
    """Wrong types, out-of-range numbers and missing fields are rejected."""
    _check_cases(http, [(method, path, body)])


# --- unknown collection ------------------------------------------------------------------

MISSING: list[Case] = [
    ("GET", "/collections/nope", None),
    ("PATCH", "/collections/nope", {"optimizers_config": {"indexing_threshold": 10}}),
    ("PUT", "/collections/nope/points?wait=true", {"points": [{"id": 1, "vector": [1, 2, 3]}]}),
    ("POST", "/collections/nope/points", {"ids": [1]}),
    ("GET", "/collections/nope/points/1", None),
    ("POST", "/collections/nope/points/scroll", {}),
    ("POST", "/collections/nope/points/count", {}),
    ("POST", "/collections/nope/points/query", {"query": [1, 2, 3]}),
    ("POST", "/collections/nope/points/delete?wait=true", {"points": [1]}),
    ("POST", "/collections/nope/points/payload?wait=true", {"payload": {"a": 1}, "points": [1]}),
    ("PUT", "/collections/nope/points/payload?wait=true", {"payload": {"a": 1}, "points": [1]}),
    ("POST", "/collections/nope/points/payload/delete?wait=true", {"keys": ["a"], "points": [1]}),
    ("POST", "/collections/nope/points/payload/clear?wait=true", {"points": [1]}),
    ("PUT", "/collections/nope/points/vectors?wait=true",
     {"points": [{"id": 1, "vector": [1, 2, 3]}]}),
    ("POST", "/collections/nope/points/vectors/delete?wait=true", {"points": [1], "vector": [""]}),
    ("POST", "/collections/nope/points/batch?wait=true",
     {"operations": [{"delete": {"points": [1]}}]}),
    ("PUT", "/collections/nope/index?wait=true", {"field_name": "a", "field_schema": "keyword"}),
    ("DELETE", "/collections/nope/index/a?wait=true", None),
]


@pytest.mark.parametrize(("method", "path", "body"), _param(MISSING))
def test_unknown_collection(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any
) -> None:
    """Every endpoint on a collection that does not exist answers 404 and creates nothing."""
    _check_cases(http, [(method, path, body)], status=404)


# --- unknown vector name, wrong dimension ------------------------------------------------

VECTOR_SHAPE: list[Case] = [
    ("PUT", "{n}/points?wait=true", {"points": [{"id": 20, "vector": {"nope": [1, 2, 3]}}]}),
    ("PUT", "{n}/points?wait=true",
     {"points": [{"id": 20, "vector": {"a": [1, 2, 3], "nope": [1, 2]}}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": {"nope": [1, 2, 3]}}]}),
    ("PUT", "{n}/points?wait=true", {"points": [{"id": 20, "vector": [1, 2, 3]}]}),
    ("PUT", "{n}/points?wait=true",
     {"batch": {"ids": [20], "vectors": {"nope": [[1, 2, 3]]}}}),
    ("POST", "{n}/points/query", {"query": [1, 2, 3], "using": "nope"}),
    ("POST", "{c}/points/query", {"query": [1, 2, 3], "using": "nope"}),
    ("POST", "{n}/points/query", {"query": 1, "using": "nope"}),
    ("PUT", "{n}/points/vectors?wait=true", {"points": [{"id": 1, "vector": {"nope": [1, 2]}}]}),
    ("POST", "{n}/points/vectors/delete?wait=true", {"points": [1], "vector": ["nope"]}),
    # wrong dimension
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, 2]}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": [1, 2, 3, 4]}]}),
    ("PUT", "{c}/points?wait=true", {"points": [{"id": 20, "vector": []}]}),
    ("PUT", "{n}/points?wait=true", {"points": [{"id": 20, "vector": {"b": [1, 2, 3]}}]}),
    ("PUT", "{c}/points?wait=true",
     {"batch": {"ids": [20, 21], "vectors": [[1, 2, 3], [1, 2]]}}),
    ("PUT", "{n}/points?wait=true",
     {"batch": {"ids": [20, 21], "vectors": {"a": [[1, 2, 3], [1, 2, 3, 4]]}}}),
    ("POST", "{c}/points/query", {"query": [1, 2]}),
    ("POST", "{n}/points/query", {"query": [1, 2, 3], "using": "b"}),
    ("PUT", "{c}/points/vectors?wait=true", {"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}),
    ("PUT", "{n}/points/vectors?wait=true", {"points": [{"id": 1, "vector": {"a": [1, 2]}}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), _param(VECTOR_SHAPE))
def test_vector_name_and_dimension(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any
) -> None:
    """Unknown vector names and wrong dimensions are rejected."""
    _check_cases(http, [(method, path, body)])


# --- NaN and infinities ------------------------------------------------------------------

NON_FINITE: list[Case] = [
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [NaN, 1, 2]}]}'),
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [Infinity, 1, 2]}]}'),
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [-Infinity, 1, 2]}]}'),
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [1e400, 1, 2]}]}'),
    ("PUT", "{c}/points?wait=true", '{"points": [{"id": 20, "vector": [-1e400, 1, 2]}]}'),
    ("PUT", "{c}/points?wait=false", '{"points": [{"id": 20, "vector": [1e400, 1, 2]}]}'),
    ("PUT", "{c}/points?wait=true",
     '{"points": [{"id": 20, "vector": [1, 1, 2], "payload": {"x": NaN}}]}'),
    ("PUT", "{c}/points?wait=true",
     '{"points": [{"id": 20, "vector": [1, 1, 2], "payload": {"x": 1e400}}]}'),
    ("PUT", "{c}/points?wait=true",
     '{"batch": {"ids": [20], "vectors": [[1, NaN, 2]]}}'),
    ("PUT", "{n}/points/vectors?wait=true",
     '{"points": [{"id": 1, "vector": {"b": [1e400, 0]}}]}'),
    ("POST", "{c}/points/payload?wait=true", '{"payload": {"x": NaN}, "points": [1]}'),
    ("PUT", "{c}/points/payload?wait=true", '{"payload": {"x": 1e999}, "points": [1]}'),
    ("POST", "{c}/points/query", '{"query": [1, NaN, 2]}'),
    ("POST", "{c}/points/query", '{"query": [1, 1e400, 2]}'),
    ("POST", "{c}/points/query", '{"query": [1, 1, 2], "score_threshold": NaN}'),
    ("POST", "{c}/points/count",
     '{"filter": {"must": [{"key": "i", "range": {"gt": NaN}}]}}'),
    ("POST", "{c}/points/count",
     '{"filter": {"must": [{"key": "i", "range": {"lt": 1e400}}]}}'),
    ("POST", "{c}/points/delete?wait=true",
     '{"filter": {"must": [{"key": "i", "range": {"lt": 1e400}}]}}'),
]


@pytest.mark.parametrize(("method", "path", "body"), _param(NON_FINITE))
def test_non_finite_numbers(
    seeded: None, http: httpx.Client, method: str, path: str, body: Any
) -> None:
    """NaN/Infinity literals and numbers overflowing a double are rejected."""
    _check_cases(http, [(method, path, body)])


# --- invalid point ids -------------------------------------------------------------------

BAD_IDS: list[Any] = [-1, 1.5, "not-a-uuid", True, 2**64, None, "", "1", [1], {"a": 1},
                      "5c56c793-69f3-4fbf-87e6-c4bf54c28c2"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=[repr(b) for b in BAD_IDS])
def test_invalid_ids(seeded: None, http: httpx.Client, bad: Any) -> None:
    """Negative, fractional, boolean, oversized and non-UUID ids are rejected everywhere."""
    cases = _cases([
        ("PUT", "{c}/points?wait=true", {"points": [{"id": bad, "vector": [1, 2, 3]}]}),
        ("PUT", "{c}/points?wait=true", {"batch": {"ids": [bad], "vectors": [[1, 2, 3]]}}),
        ("POST", "{c}/points", {"ids": [bad]}),
        ("POST", "{c}/points/delete?wait=true", {"points": [bad]}),
        ("POST", "{c}/points/payload?wait=true", {"payload": {"z": 1}, "points": [bad]}),
        ("PUT", "{c}/points/vectors?wait=true", {"points": [{"id": bad, "vector": [1, 2, 3]}]}),
        ("POST", "{c}/points/scroll", {"offset": bad} if bad is not None else {"offset": [1]}),
        ("POST", "{c}/points/count", {"filter": {"must": [{"has_id": [bad]}]}}),
        ("POST", "{c}/points/query", {"query": [1, 2, 3], "filter": {"must": [{"has_id": [bad]}]}}),
    ])
    _check_cases(http, cases)


@pytest.mark.parametrize("bad", ["-1", "1.5", "not-a-uuid", "true", "18446744073709551616",
                                 "5c56c793-69f3-4fbf-87e6-c4bf54c28c2"])
def test_invalid_id_in_path(seeded: None, http: httpx.Client, bad: str) -> None:
    """GET /points/{id} with an id that is not an unsigned int or a UUID is a 4xx."""
    _check_cases(http, [("GET", _ids("{c}/points/") + bad, None)])


# --- collection names --------------------------------------------------------------------

BAD_NAMES: list[str] = ["x" * 256, "a%2Fb", "%2E%2E", "a%01b", "a%5Cb", "a%00b", "a%3Cb"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: n[:12])
def test_bad_collection_names(seeded: None, http: httpx.Client, name: str) -> None:
    """Names that are too long or hold forbidden characters are rejected on create."""
    _check_cases(http, [("PUT", f"/collections/{name}", {"vectors": {"size": 3, "distance": "Dot"}})])
    # other endpoints on such a name answer a 4xx too, never a 5xx
    for method, suffix, body in [
        ("GET", "", None), ("DELETE", "", None), ("GET", "/exists", None),
        ("POST", "/points/scroll", {}),
    ]:
        r = _send(http, method, f"/collections/{name}{suffix}", body)
        assert r.status_code < 500, (method, suffix, r.status_code, r.text)
        if method == "GET" and suffix == "/exists" and r.status_code == 200:
            assert r.json()["result"]["exists"] is False


def test_name_of_255_bytes_is_fine(seeded: None, http: httpx.Client) -> None:
    """255 bytes is the longest allowed name (the limit is not off by one)."""
    name = "y" * 255
    r = _send(http, "PUT", f"/collections/{name}", {"vectors": {"size": 3, "distance": "Dot"}})
    assert r.status_code == 200, r.text
    assert http.delete(f"/collections/{name}").json()["result"] is True


def test_empty_collection_name(seeded: None, http: httpx.Client) -> None:
    """PUT /collections/ (empty name) is some 4xx and creates nothing."""
    before = snapshot(http)
    r = _send(http, "PUT", "/collections/", {"vectors": {"size": 3, "distance": "Dot"}})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert snapshot(http) == before


def test_create_existing_collection(seeded: None, http: httpx.Client) -> None:
    """Creating a collection that exists is rejected and keeps the old config and points."""
    _check_cases(http, [
        ("PUT", f"/collections/{PLAIN}", {"vectors": {"size": 7, "distance": "Euclid"}}),
        ("PUT", f"/collections/{NAMED}", {"vectors": {"a": {"size": 3, "distance": "Cosine"}}}),
    ])


# --- partial failures must not half-apply ------------------------------------------------


def _many(bad: dict[str, Any], at: int = 25) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = [
        {"id": 100 + k, "vector": [1.0, float(k), 2.0], "payload": {"k": k}} for k in range(50)
    ]
    points.insert(at, bad)
    return points


BAD_POINTS: list[dict[str, Any]] = [
    {"id": 500, "vector": [1.0, 2.0]},
    {"id": -5, "vector": [1.0, 2.0, 3.0]},
    {"id": 501, "vector": {"nope": [1.0, 2.0, 3.0]}},
    {"id": 502, "vector": [1.0, 2.0, 3.0], "payload": [1, 2]},
    {"id": 503, "vector": [1.0, "x", 3.0]},
    {"id": 5, "vector": [1.0, 2.0]},  # an existing id: must keep its old vector
]


@pytest.mark.parametrize("bad", BAD_POINTS, ids=[str(b)[:40] for b in BAD_POINTS])
@pytest.mark.parametrize("at", [0, 25, 50])
@pytest.mark.parametrize("wait", ["true", "false"])
def test_one_bad_point_in_a_batch(
    seeded: None, http: httpx.Client, bad: dict[str, Any], at: int, wait: str
) -> None:
    """An upsert of many points with one bad point anywhere in it changes nothing."""
    _check_cases(http, [("PUT", _ids("{c}/points?wait=") + wait, {"points": _many(bad, at)})])


def test_one_bad_vector_in_a_columnar_batch(seeded: None, http: httpx.Client) -> None:
    """The columnar form: one bad vector among many changes nothing."""
    ids = list(range(200, 240))
    vectors: list[Any] = [[1.0, 2.0, float(i)] for i in ids]
    vectors[-1] = [1.0, 2.0]
    body = {"batch": {"ids": ids, "vectors": vectors, "payloads": [{"i": i} for i in ids]}}
    named_body = {"batch": {"ids": ids, "vectors": {
        "a": [[1.0, 2.0, 3.0]] * len(ids), "b": [[1.0, 2.0]] * (len(ids) - 1) + [[1.0]],
    }}}
    _check_cases(http, _cases([
        ("PUT", "{c}/points?wait=true", body),
        ("PUT", "{n}/points?wait=true", named_body),
    ]))


def test_update_on_missing_point(seeded: None, http: httpx.Client) -> None:
    """set/overwrite payload and update_vectors on an id that does not exist: 404, no change."""
    _check_cases(http, _cases([
        ("POST", "{c}/points/payload?wait=true", {"payload": {"new": 1}, "points": [777]}),
        ("POST", "{c}/points/payload?wait=true",
         {"payload": {"new": 1}, "points": ["0b0e1d1c-0000-4000-8000-000000000000"]}),
        ("PUT", "{c}/points/payload?wait=true", {"payload": {"new": 1}, "points": [777]}),
        ("PUT", "{c}/points/vectors?wait=true", {"points": [{"id": 777, "vector": [1, 2, 3]}]}),
        ("PUT", "{n}/points/vectors?wait=true",
         {"points": [{"id": 777, "vector": {"b": [1, 2]}}]}),
    ]), status=404)


def test_set_payload_mixed_missing_is_404(seeded: None, http: httpx.Client) -> None:
    """set_payload naming an existing and a missing id answers 404."""
    r = _send(
        http, "POST", _ids("{c}/points/payload?wait=true"),
        {"payload": {"mixed": 1}, "points": [1, 778]},
    )
    assert_rejected(r, 404)


BAD_LAST_OPS: list[Any] = [
    {"upsert": {"points": [{"id": 30, "vector": [1, 2]}]}},
    {"upsert": {"points": [{"id": -30, "vector": [1, 2, 3]}]}},
    {"set_payload": {"payload": {"a": 1}, "points": [4040]}},
    {"update_vectors": {"points": [{"id": 1, "vector": {"nope": [1, 2, 3]}}]}},
    {"delete_vectors": {"points": [1], "vector": ["nope"]}},
    {"delete": {"filter": {"must": [{"key": "i", "range": {"gt": "abc"}}]}}},
    {"explode": {"points": [1]}},
    {"overwrite_payload": {"payload": [1], "points": [1]}},
]


@pytest.mark.parametrize("last", BAD_LAST_OPS, ids=[next(iter(op)) for op in BAD_LAST_OPS])
def test_batch_with_bad_last_operation(seeded: None, http: httpx.Client, last: Any) -> None:
    """POST /points/batch whose last operation is invalid applies none of the operations."""
    ops = [
        {"upsert": {"points": [{"id": 31, "vector": [1, 2, 3], "payload": {"b": 1}}]}},
        {"delete": {"points": [1, 2]}},
        {"set_payload": {"payload": {"batched": True}, "points": [3]}},
        {"overwrite_payload": {"payload": {"o": 1}, "points": [4]}},
        {"delete_payload": {"keys": ["i"], "points": [5]}},
        {"clear_payload": {"points": [6]}},
        {"update_vectors": {"points": [{"id": 7, "vector": [9, 9, 9]}]}},
        last,
    ]
    _check_cases(http, [("POST", _ids("{c}/points/batch?wait=true"), {"operations": ops})])


# --- bad filters -------------------------------------------------------------------------

BAD_FILTERS: list[Any] = [
    {"must": [{"foo": 1}]},
    {"must": [{"key": "i", "bogus": {"value": 1}}]},
    {"must": [{"key": "i"}]},
    {"must": [{"key": "i", "range": {"gt": "abc"}}]},
    {"must": [{"key": "i", "range": {"gt": [1]}}]},
    {"must": [{"key": "i", "match": {}}]},
    {"must": [{"key": "i", "match": {"value": [1, 2]}}]},
    {"must": [{"key": "i", "match": {"any": "x"}}]},
    {"must": [{"key": "i", "values_count": {"gt": -1}}]},
    {"must": [{"key": "g", "geo_radius": {"center": {"lon": 1, "lat": 100}, "radius": 10}}]},
    {"must": [{"key": "g", "geo_radius": {"center": {"lon": 200, "lat": 10}, "radius": 10}}]},
    {"must": [{"key": "g", "geo_bounding_box": {
        "top_left": {"lon": 1, "lat": 100}, "bottom_right": {"lon": 2, "lat": 0}}}]},
    {"must": [{"key": "g", "geo_polygon": {"exterior": {"points": [
        {"lon": 1, "lat": 100}, {"lon": 2, "lat": 0}, {"lon": 3, "lat": 1},
        {"lon": 1, "lat": 100}]}}}]},
    {"must": [{"key": "g", "geo_polygon": {"exterior": {"points": [
        {"lon": 1, "lat": 1}, {"lon": 2, "lat": 0}, {"lon": 3, "lat": 1}]}}}]},
    {"must": [{"is_empty": {}}]},
    {"must": [{"is_null": "i"}]},
    {"must": [{"has_id": "1"}]},
    {"must": [{"nested": {"key": "nested"}}]},
    {"must": "not a list or condition"},
    {"min_should": {"conditions": [{"has_id": [1]}], "min_count": 0}},
    {"should": [{"must": [{"key": "i", "range": {"gt": "abc"}}]}]},
]


@pytest.mark.parametrize("flt", BAD_FILTERS, ids=[json.dumps(f)[:50] for f in BAD_FILTERS])
def test_bad_filters(seeded: None, http: httpx.Client, flt: Any) -> None:
    """Malformed filters are rejected by every endpoint that takes one, including writes."""
    _check_cases(http, _cases([
        ("POST", "{c}/points/count", {"filter": flt}),
        ("POST", "{c}/points/scroll", {"filter": flt}),
        ("POST", "{c}/points/query", {"query": [1, 2, 3], "filter": flt}),
        ("POST", "{c}/points/delete?wait=true", {"filter": flt}),
        ("POST", "{c}/points/payload?wait=true", {"payload": {"f": 1}, "filter": flt}),
        ("POST", "{n}/points/vectors/delete?wait=true", {"filter": flt, "vector": ["a"]}),
    ]))


def test_snapshot_sees_changes(seeded: None, http: httpx.Client) -> None:
    """The unchanged-state check is able to see a change (guards the other tests)."""
    before = snapshot(http)
    original = _send(http, "POST", _ids("{c}/points"), {"ids": [10]}).json()["result"][0]
    r = _send(http, "POST", _ids("{c}/points/payload?wait=true"),
              {"payload": {"seen": 1}, "points": [10]})
    assert r.status_code == 200, r.text
    assert snapshot(http) != before
    r = _send(http, "PUT", _ids("{c}/points/payload?wait=true"),
              {"payload": original["payload"], "points": [10]})
    assert r.status_code == 200, r.text
    assert snapshot(http) == before
