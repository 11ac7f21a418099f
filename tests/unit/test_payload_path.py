"""Tests for segments.payload_path: path syntax, reads, set/delete payload and selectors.

Behaviour is checked against qdrant-client's local mode, which mirrors the server.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models
from qdrant_client.local.json_path_parser import JsonPathItemType, parse_json_path
from qdrant_client.local.payload_value_extractor import (
    exclude_payload,
    include_payload,
    value_by_key,
)
from qdrant_client.local.payload_value_setter import delete_value_by_key, set_value_by_key

from segments.payload_path import (
    delete_at,
    getter,
    parse_path,
    select,
    set_at,
    validate_selector,
    values_at,
)

# --- strategies --------------------------------------------------------------------------------

KEYS = ["a", "b", "c"]
PATHS = [
    "a",
    "b",
    "a.b",
    "a.c",
    "a[]",
    "a[0]",
    "a[1]",
    "a[].b",
    "a[0].b",
    "a.b[]",
    "a.b[].c",
    "b.c.a",
    "a[][]",
    "a[].b[].c",
    '"a"',
    '"a".b',
    "c[0].a",
]

scalars = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -2.5]),
    st.sampled_from(["x", "y", ""]),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=10,
)
payloads = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3)
set_values = st.dictionaries(st.sampled_from(["a", "k", "z"]), json_values, max_size=2)


def local_parse(key: str) -> tuple[Any, ...]:
    """Local mode's parse, converted to our segment representation."""
    out: list[Any] = []
    for item in parse_json_path(key):
        if item.item_type == JsonPathItemType.KEY:
            out.append(item.key)
        elif item.item_type == JsonPathItemType.INDEX:
            out.append(item.index)
        else:
            out.append(None)
    return tuple(out)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        ("a.b[].c", ("a", "b", None, "c")),
        ("a[0]", ("a", 0)),
        ("a[0][]", ("a", 0, None)),
        ('"a.b"', ("a.b",)),
        ('"a.b".c[1]', ("a.b", "c", 1)),
        ('a."b[0]"', ("a", "b[0]")),
        ("city-name_2", ("city-name_2",)),
        ("größe", ("größe",)),
    ],
)
def test_parse_path(key: str, expected: tuple[Any, ...]) -> None:
    assert parse_path(key) == expected
    assert local_parse(key) == expected


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        ("a.", "ends with"),
        (".a", "expected a key"),
        ("a..b", "expected a key"),
        ("a[", "unbalanced"),
        ("a[0", "unbalanced"),
        ("a]", "unexpected"),
        ("a[x]", "array index"),
        ("a[-1]", "array index"),
        ("a[18446744073709551616]", "array index"),
        ('"a', "unterminated"),
        ('"a"b', "unexpected"),
        ("a b", "unexpected"),
        ("[0]", "expected a key"),
        ("a.[0]", "expected a key"),
    ],
)
def test_parse_path_errors(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_path(key)
    with pytest.raises(ValueError):
        parse_json_path(key)


def test_parse_path_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="string"):
        parse_path(1)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab.[]01"_- ', max_size=10))
def test_parse_path_agrees_with_local_mode(key: str) -> None:
    try:
        expected = local_parse(key)
    except ValueError:
        with pytest.raises(ValueError):
            parse_path(key)
        return
    assert parse_path(key) == expected


# --- reading -----------------------------------------------------------------------------------


def test_values_at_flattens_leaf_arrays_only() -> None:
    payload = {"tags": ["a", "b"], "m": [["x"], "y"], "o": {"k": [{"v": 1}, {"v": [2, 3]}]}}
    assert values_at(payload, "tags") == ["a", "b"]
    assert values_at(payload, "tags", flat=False) == [["a", "b"]]
    assert values_at(payload, "m") == [["x"], "y"]
    assert values_at(payload, "o.k[].v") == [1, 2, 3]
    assert values_at(payload, "o.k[].v", flat=False) == [1, [2, 3]]
    assert values_at(payload, "o.k.v") == []  # keys do not descend into arrays
    assert values_at(payload, "o.k[1].v") == [2, 3]
    assert values_at(payload, "o.k[5].v") == []
    assert values_at(payload, "missing") == []
    assert values_at(None, "a") == []


def test_getter_matches_values_at() -> None:
    payload = {"a": [1, 2], "b": {"c": None}}
    assert list(getter("a")(payload)) == [1, 2]
    assert list(getter("a", flat=False)(payload)) == [[1, 2]]
    assert list(getter("b.c")(payload)) == [None]
    assert list(getter("a")(None)) == []


@settings(max_examples=300, deadline=None)
@given(payloads, st.sampled_from(PATHS), st.booleans())
def test_values_at_agrees_with_local_mode(payload: dict, key: str, flat: bool) -> None:
    expected = value_by_key(payload, key, flat=flat) or []
    assert values_at(payload, key, flat=flat) == expected
    assert list(getter(key, flat=flat)(payload)) == expected


# --- writing: unit -----------------------------------------------------------------------------


def test_set_at_without_key_merges_and_null_deletes() -> None:
    payload = {"a": 1, "b": 2}
    assert set_at(payload, None, {"b": None, "c": 3}) == {"a": 1, "c": 3}
    assert payload == {"a": 1, "b": 2}
    assert set_at(None, None, {"x": 1}) == {"x": 1}


def test_set_at_with_nested_key() -> None:
    payload = {"a": {"b": {"c": 1}}, "n": 5, "l": [{"x": 1}, 7]}
    before = copy.deepcopy(payload)
    assert set_at(payload, "a.b", {"d": 2}) == {**payload, "a": {"b": {"c": 1, "d": 2}}}
    assert set_at(payload, "new.deep", {"d": 2})["new"] == {"deep": {"d": 2}}
    assert set_at(payload, "n.m", {"d": 2})["n"] == {"m": {"d": 2}}  # scalar replaced
    assert set_at(payload, "l[]", {"y": 2})["l"] == [{"x": 1, "y": 2}, {"y": 2}]
    assert set_at(payload, "l[0]", {"y": 2})["l"] == [{"x": 1, "y": 2}, 7]
    assert set_at(payload, "l[9]", {"y": 2}) == payload  # index past the end: no change
    assert set_at(payload, "n[0]", {"y": 2})["n"] == []  # index over a non-array
    assert set_at(payload, "a.b", {"c": None})["a"] == {"b": {}}
    assert payload == before
    result = set_at(payload, "a.b", {"d": 2})
    assert result["l"] is payload["l"]  # untouched subtrees are shared, not copied


def test_delete_at_nested_and_arrays() -> None:
    payload = {"a": {"b": 1, "c": 2}, "l": [{"x": 1, "y": 2}, {"x": 3}], "k": 1}
    before = copy.deepcopy(payload)
    assert delete_at(payload, ["a.b"]) == {"a": {"c": 2}, "l": payload["l"], "k": 1}
    assert delete_at(payload, ["l[].x"])["l"] == [{"y": 2}, {}]
    assert delete_at(payload, ["l[0].y"])["l"] == [{"x": 1}, {"x": 3}]
    assert delete_at(payload, ["l[]"])["l"] == []
    assert delete_at(payload, ["l[0]"]) == payload  # a trailing index deletes nothing
    assert delete_at(payload, ["missing", "a.zz", "k.x"]) == payload
    assert delete_at(payload, ["a", "k"]) == {"l": payload["l"]}
    assert payload == before
    with pytest.raises(ValueError):
        delete_at(payload, ["a..b"])


def test_select_variants() -> None:
    payload = {"a": {"b": 1, "c": 2}, "aa": {"b": 3}, "a.b": 4, "l": [{"b": 5, "c": 6}]}
    assert select(payload, True) == payload
    assert select(payload, False) is None
    assert select(payload, None) is None
    assert select(payload, []) == {}
    assert select(payload, ["a.b"]) == {"a": {"b": 1}}
    assert select(payload, ['"a.b"', "l[].c"]) == {"a.b": 4, "l": [{"c": 6}]}
    assert select(payload, {"include": ["aa"]}) == {"aa": {"b": 3}}
    assert select(payload, {"exclude": ["a", "l[].b"]}) == {
        "aa": {"b": 3},
        "a.b": 4,
        "l": [{"c": 6}],
    }
    assert select(payload, ["l[0]"]) == {"l": []}  # only [] enters arrays
    assert select(None, True) == {}


@pytest.mark.parametrize(
    "bad", ["a", {"include": "a"}, {"include": ["a"], "exclude": ["b"]}, {"other": []}, ["a."], 3]
)
def test_select_rejects_bad_selectors(bad: Any) -> None:
    with pytest.raises(ValueError):
        validate_selector(bad)


# --- writing: against local mode ---------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> QdrantClient:
    client = QdrantClient(":memory:")
    client.create_collection(
        "c", vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)
    )
    return client


def _local_roundtrip(client: QdrantClient, payload: dict, action: Any) -> dict:
    client.upsert("c", [models.PointStruct(id=1, vector=[1.0], payload=payload)])
    action()
    (record,) = client.retrieve("c", [1], with_payload=True)
    return record.payload or {}


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payloads, st.one_of(st.none(), st.sampled_from(PATHS)), set_values)
def test_set_at_agrees_with_local_mode(
    client: QdrantClient, payload: dict, key: str | None, values: dict
) -> None:
    before = copy.deepcopy(payload)
    ours = set_at(payload, key, values)
    theirs = _local_roundtrip(
        client,
        copy.deepcopy(payload),
        lambda: client.set_payload("c", payload=copy.deepcopy(values), points=[1], key=key),
    )
    assert payload == before
    assert json.dumps(ours) == json.dumps(theirs)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payloads, st.lists(st.sampled_from(PATHS), max_size=3))
def test_delete_at_agrees_with_local_mode(
    client: QdrantClient, payload: dict, keys: list[str]
) -> None:
    before = copy.deepcopy(payload)
    ours = delete_at(payload, keys)
    theirs = _local_roundtrip(
        client, copy.deepcopy(payload), lambda: client.delete_payload("c", keys=keys, points=[1])
    )
    assert payload == before
    assert json.dumps(ours) == json.dumps(theirs)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads,
    st.sampled_from(["list", "include", "exclude"]),
    st.lists(st.sampled_from(PATHS), max_size=3),
)
def test_select_agrees_with_local_mode(
    client: QdrantClient, payload: dict, kind: str, keys: list[str]
) -> None:
    selector: Any
    local_selector: Any
    if kind == "list":
        selector = local_selector = keys
    elif kind == "include":
        selector = {"include": keys}
        local_selector = models.PayloadSelectorInclude(include=keys)
    else:
        selector = {"exclude": keys}
        local_selector = models.PayloadSelectorExclude(exclude=keys)
    client.upsert("c", [models.PointStruct(id=1, vector=[1.0], payload=copy.deepcopy(payload))])
    (record,) = client.retrieve("c", [1], with_payload=local_selector)
    before = copy.deepcopy(payload)
    assert json.dumps(select(payload, selector)) == json.dumps(record.payload or {})
    assert payload == before


# --- seeded random payloads against local mode's functions -------------------------------------


def _random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 0 and roll < 0.3:
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    if depth > 0 and roll < 0.6:
        keys = rng.sample(["a", "b", "c", "x"], rng.randint(0, 3))
        return {key: _random_value(rng, depth - 1) for key in keys}
    return rng.choice([0, 1, 2.5, "s", True, None])


def _paths_of(value: Any, path: str, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            out.add(sub)
            _paths_of(item, sub, out)
    elif isinstance(value, list) and path:
        out.update({f"{path}[]", f"{path}[0]", f"{path}[1]"})
        for item in value:
            _paths_of(item, f"{path}[]", out)


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_payloads_agree_with_local_mode_functions(seed: int) -> None:
    rng = random.Random(seed)
    payload = {
        k: _random_value(rng, 4) for k in rng.sample(["a", "b", "c", "x"], rng.randint(1, 4))
    }
    paths: set[str] = {"zz", "a.zz", "x[0].a", "a[][]"}
    _paths_of(payload, "", paths)
    ordered = sorted(paths)
    key = rng.choice(ordered)
    keys = rng.sample(ordered, min(len(ordered), rng.randint(0, 3)))
    values = {k: _random_value(rng, 1) for k in rng.sample(["a", "k", "z"], rng.randint(0, 2))}
    before = copy.deepcopy(payload)

    theirs = copy.deepcopy(payload)
    set_value_by_key(theirs, parse_json_path(key), copy.deepcopy(values))
    assert json.dumps(set_at(payload, key, values)) == json.dumps(theirs)

    theirs = copy.deepcopy(payload)
    for k in keys:
        delete_value_by_key(theirs, parse_json_path(k))
    assert json.dumps(delete_at(payload, keys)) == json.dumps(theirs)

    assert json.dumps(select(payload, keys)) == json.dumps(include_payload(payload, keys))
    assert json.dumps(select(payload, {"exclude": keys})) == json.dumps(
        exclude_payload(payload, keys)
    )
    for flat in (True, False):
        assert values_at(payload, key, flat=flat) == (value_by_key(payload, key, flat=flat) or [])
    assert payload == before
