"""Tests for segments.filter: parsing/validation, each condition, and a property test of the
whole language against qdrant-client's local mode as the oracle."""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models
from qdrant_client.local import datetime_utils
from qdrant_client.local.payload_filters import calculate_payload_mask, validate_filter
from qdrant_client.local.payload_value_extractor import value_by_key
from qdrant_client.local.siphash import point_id_slice

from segments.filter import Filter, FilterError, mask, mask_at, parse_datetime, parse_filter
from segments.filter.checks import MatchValue, Range
from segments.filter.model import FieldCondition, HasIdCondition, NestedCondition
from segments.filter.slices import id_slices

# --- a tiny segment ----------------------------------------------------------------------------


@dataclass
class Ctx:
    """In-memory FilterContext over a list of payloads, ids and per-name vector presence."""

    payload_list: list[dict[str, Any] | None]
    ids: list[int | str] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ids:
            self.ids = list(range(1, len(self.payload_list) + 1))

    @property
    def size(self) -> int:
        return len(self.payload_list)

    def payloads(self) -> Sequence[dict[str, Any] | None]:
        return self.payload_list

    def offsets_of(self, ids: Iterable[int | str]) -> np.ndarray:
        where = {pid: i for i, pid in enumerate(self.ids)}
        return np.array([where[pid] for pid in ids if pid in where], dtype=np.int64)

    def vector_mask(self, name: str) -> np.ndarray | None:
        return self.vectors.get(name)

    def point_ids(self, offsets: np.ndarray) -> list[int | str]:
        return [self.ids[o] for o in offsets.tolist()]


@dataclass
class NoIdsCtx:
    """A context without ``point_ids`` (slice conditions cannot run on it)."""

    size: int = 1

    def payloads(self) -> Sequence[dict[str, Any] | None]:
        return [{}]

    def offsets_of(self, ids: Iterable[int | str]) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def vector_mask(self, name: str) -> np.ndarray | None:
        return None


def matching(flt: Any, payloads: list[dict[str, Any] | None], **ctx: Any) -> list[int]:
    """Indices of the payloads the JSON filter matches."""
    found = mask(parse_filter(flt), Ctx(payloads, **ctx))
    assert found.dtype == bool and found.shape == (len(payloads),)
    return np.flatnonzero(found).tolist()


def cond(key: str, **check: Any) -> dict[str, Any]:
    """A field condition on ``key`` as JSON."""
    return {"key": key, **check}


# --- combinators -------------------------------------------------------------------------------


def test_empty_filters_match_everything() -> None:
    payloads: list[dict[str, Any] | None] = [{"a": 1}, None, {}]
    for flt in (None, {}, {"must": []}, {"should": []}, {"must_not": []}, {"must": None}):
        assert matching(flt, payloads) == [0, 1, 2]
    assert parse_filter(None).is_empty and parse_filter({"must": []}).is_empty


def test_must_should_must_not_and_single_conditions() -> None:
    payloads: list[dict[str, Any] | None] = [{"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 2, "b": 1}]
    a1 = cond("a", match={"value": 1})
    b1 = cond("b", match={"value": 1})
    assert matching({"must": [a1, b1]}, payloads) == [0]
    assert matching({"must": a1}, payloads) == [0, 1]  # a single condition, not a list
    assert matching({"should": [a1, b1]}, payloads) == [0, 1, 2]
    assert matching({"must_not": [a1]}, payloads) == [2]
    assert matching({"must_not": a1, "should": b1}, payloads) == [2]
    assert matching({"must": [{"should": [b1, {"must_not": [a1]}]}]}, payloads) == [0, 2]
    assert matching({"must": [{}]}, payloads) == [0, 1, 2]  # {} is an empty nested filter


def test_min_should() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"a": 1, "b": 1, "c": 1},
        {"a": 1},
        {"b": 1, "c": 1},
        {},
    ]
    conds = [cond(k, match={"value": 1}) for k in "abc"]
    assert matching({"min_should": {"conditions": conds, "min_count": 2}}, payloads) == [0, 2]
    assert matching({"min_should": {"conditions": conds, "min_count": 3}}, payloads) == [0]
    assert matching({"min_should": {"conditions": conds, "min_count": 1}}, payloads) == [0, 1, 2]
    assert matching({"min_should": {"conditions": [], "min_count": 1}}, payloads) == []
    combined = {"must": [conds[0]], "min_should": {"conditions": conds[1:], "min_count": 1}}
    assert matching(combined, payloads) == [0]


# --- match -------------------------------------------------------------------------------------


def test_match_value_keeps_types_apart() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"x": 1},
        {"x": 1.0},
        {"x": True},
        {"x": "1"},
        {"x": [3, 1]},
        {"x": None},
        {},
        None,
    ]
    assert matching({"must": [cond("x", match={"value": 1})]}, payloads) == [0, 4]
    assert matching({"must": [cond("x", match={"value": True})]}, payloads) == [2]
    assert matching({"must": [cond("x", match={"value": "1"})]}, payloads) == [3]


def test_match_any_and_except() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"x": "a"},
        {"x": "b"},
        {"x": ["a", "c"]},
        {"x": 1},
        {"x": None},
        {},
        {"x": []},
        {"x": ["a", None]},
    ]
    assert matching({"must": [cond("x", match={"any": ["a", "z"]})]}, payloads) == [0, 2, 7]
    assert matching({"must": [cond("x", match={"any": [1]})]}, payloads) == [3]
    assert matching({"must": [cond("x", match={"any": []})]}, payloads) == []
    # except: some non-null value outside the list; missing/null/empty never match
    assert matching({"must": [cond("x", match={"except": ["a"]})]}, payloads) == [1, 2, 3]
    assert matching({"must": [cond("x", match={"except": []})]}, payloads) == [0, 1, 2, 3, 7]


def test_full_text_matches_without_index() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"t": "Hello, World!"},
        {"t": "world peace"},
        {"t": "hello_world"},  # "_" separates words too
        {"t": "say hello to the world"},
        {"t": ["nothing", "big World Hello"]},
        {"t": 5},
    ]

    def hits(match: dict[str, Any]) -> list[int]:
        return matching({"must": [cond("t", match=match)]}, payloads)

    assert hits({"text": "world hello"}) == [0, 2, 3, 4]
    assert hits({"text": "wor"}) == []  # whole words only
    assert hits({"text": ""}) == []
    assert hits({"text_any": "peace nothing"}) == [1, 4]
    assert hits({"text_any": ""}) == []
    assert hits({"phrase": "hello world"}) == [0, 2]
    assert hits({"phrase": "world hello"}) == [4]
    assert hits({"prefix": "hello"}) == [2]  # case-sensitive
    assert hits({"prefix": ""}) == [0, 1, 2, 3, 4]


# --- ranges ------------------------------------------------------------------------------------


def test_numeric_range() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"n": 1},
        {"n": 2.5},
        {"n": [0, 10]},
        {"n": True},
        {"n": "2"},
        {"n": "2020-01-01"},
        {},
    ]
    assert matching({"must": [cond("n", range={"gt": 1, "lte": 2.5})]}, payloads) == [1]
    assert matching({"must": [cond("n", range={"gte": 1})]}, payloads) == [0, 1, 2]
    assert matching({"must": [cond("n", range={"lt": 1})]}, payloads) == [2]
    assert matching({"must": [cond("n", range={})]}, payloads) == [0, 1, 2]


def test_datetime_range_compares_instants() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"d": "2020-01-01T00:00:00Z"},
        {"d": "2020-01-01 01:30:00+01:00"},  # 00:30 UTC
        {"d": "2020-01-01T00:59:59"},  # naive = UTC
        {"d": "2020-01-02"},
        {"d": 1577836800},  # numbers never match a datetime range
        {"d": "garbage"},
        {"d": ["2019-01-01", "2020-01-01T00:45:00.5z"]},
    ]
    flt = {
        "must": [cond("d", range={"gt": "2020-01-01T00:00:00Z", "lt": "2020-01-01T02:00:00+01:00"})]
    }
    assert matching(flt, payloads) == [1, 2, 6]
    assert matching({"must": [cond("d", range={"gte": "2020-01-01"})]}, payloads) == [0, 1, 2, 3, 6]
    # a numeric range never matches datetime strings
    assert matching({"must": [cond("d", range={"gt": 0})]}, payloads) == [4]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-01", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020-01-01T10:20:30Z", datetime(2020, 1, 1, 10, 20, 30, tzinfo=UTC)),
        ("2020-01-01t10:20:30z", datetime(2020, 1, 1, 10, 20, 30, tzinfo=UTC)),
        ("2020-01-01 10:20:30", datetime(2020, 1, 1, 10, 20, 30, tzinfo=UTC)),
        ("2020-01-01 10:20", datetime(2020, 1, 1, 10, 20, tzinfo=UTC)),
        (
            "2020-01-01T10:20:30.123456789+02:00",
            datetime(2020, 1, 1, 8, 20, 30, 123456, tzinfo=UTC),
        ),
        ("2020-01-01T10:20:30-0130", datetime(2020, 1, 1, 11, 50, 30, tzinfo=UTC)),
        ("2020-01-01T10:20:30+01", datetime(2020, 1, 1, 9, 20, 30, tzinfo=UTC)),
        ("2020-01-01 10:20:30.5 UTC", datetime(2020, 1, 1, 10, 20, 30, 500000, tzinfo=UTC)),
        ("2020-01-01T10:20:30 +01:00", datetime(2020, 1, 1, 9, 20, 30, tzinfo=UTC)),
        ("2020-02-30", None),
        ("2020-01-01T10:20Z", None),  # a zone needs seconds
        ("2020-01-01T10", None),
        ("20200101", None),
        ("", None),
    ],
)
def test_parse_datetime(text: str, expected: datetime | None) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    want = None if expected is None else (expected - epoch) // timedelta(microseconds=1)
    assert parse_datetime(text) == want


def _local_micros(text: str) -> int | None:
    parsed = datetime_utils.parse(text)
    if parsed is None:
        return None
    return (parsed - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["", " "]),
    st.sampled_from(["2020-01-05", "2021-12-31", "1999-2-3", "2020-02-29", "2019-02-29"]),
    st.sampled_from(["", "T", "t", " ", "_"]),
    st.sampled_from(["", "10:20", "10:20:30", "1:2:3", "23:59:59"]),
    st.sampled_from(["", ".5", ".123456", ".123456789", "."]),
    st.sampled_from(["", "Z", "z", "+01:00", "-0530", "+01", " +02:00", " UTC", "UTC", " Z", "+1"]),
)
def test_parse_datetime_agrees_with_local_mode(
    lead: str, date: str, sep: str, clock: str, frac: str, zone: str
) -> None:
    text = lead + date + (sep + clock + frac + zone if sep else "")
    assert parse_datetime(text) == _local_micros(text)


# --- geo ---------------------------------------------------------------------------------------


def test_geo_bounding_box_including_antimeridian() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"g": {"lon": 10, "lat": 10}},
        {"g": {"lon": 179, "lat": 0}},
        {"g": {"lon": -179, "lat": 0}},
        {"g": [{"lon": 50, "lat": 50}, {"lon": 5, "lat": 5}]},
        {"g": {"lon": "10", "lat": 10}},
        {"g": {"lat": 10}},
        {"g": {"lon": 0, "lat": 0}},  # on the edges: boxes are open
        {"g": {"lon": 10, "lat": 0}},
    ]
    box = {"top_left": {"lon": 0, "lat": 20}, "bottom_right": {"lon": 20, "lat": 0}}
    assert matching({"must": [cond("g", geo_bounding_box=box)]}, payloads) == [0, 3]
    wrap = {"top_left": {"lon": 170, "lat": 5}, "bottom_right": {"lon": -170, "lat": -5}}
    assert matching({"must": [cond("g", geo_bounding_box=wrap)]}, payloads) == [1, 2]


def test_geo_radius() -> None:
    berlin, london = {"lon": 13.405, "lat": 52.52}, {"lon": -0.1278, "lat": 51.5074}
    payloads: list[dict[str, Any] | None] = [{"g": berlin}, {"g": london}, {"g": "Berlin"}]
    near = {"center": berlin, "radius": 900_000.0}  # London is ~930 km away
    assert matching({"must": [cond("g", geo_radius=near)]}, payloads) == [0]
    far = {"center": berlin, "radius": 950_000}
    assert matching({"must": [cond("g", geo_radius=far)]}, payloads) == [0, 1]
    assert (
        matching({"must": [cond("g", geo_radius={"center": berlin, "radius": 0})]}, payloads) == []
    )


def test_geo_polygon_with_hole() -> None:
    square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]

    def ring(points: list[list[int]]) -> dict[str, Any]:
        return {"points": [{"lon": lon, "lat": lat} for lon, lat in points]}

    payloads: list[dict[str, Any] | None] = [
        {"g": {"lon": 2, "lat": 2}},
        {"g": {"lon": 5, "lat": 5}},  # in the hole
        {"g": {"lon": 11, "lat": 5}},
        {"g": {"lon": 0, "lat": 5}},  # on the exterior edge
        {"g": {"lon": 4, "lat": 5}},  # on the hole's edge
    ]
    polygon = {"exterior": ring(square), "interiors": [ring(hole)]}
    assert matching({"must": [cond("g", geo_polygon=polygon)]}, payloads) == [0]
    assert matching({"must": [cond("g", geo_polygon={"exterior": ring(square)})]}, payloads) == [
        0,
        1,
        4,
    ]


def test_geo_polygon_edges_are_decided_exactly() -> None:
    lon = -1.9968175689306458  # not a dyadic number: float cross products round here
    square = [(lon, -0.5), (lon + 2, -0.5), (lon + 2, 2.0), (lon, 2.0), (lon, -0.5)]
    ring = {"points": [{"lon": x, "lat": y} for x, y in square]}
    payloads: list[dict[str, Any] | None] = [
        {"g": {"lon": lon, "lat": 0}},  # exactly on the western edge
        {"g": {"lon": lon + 1e-12, "lat": 0}},  # just inside
        {"g": {"lon": lon - 1e-12, "lat": 0}},  # just outside
    ]
    assert matching({"must": [cond("g", geo_polygon={"exterior": ring})]}, payloads) == [1]


# --- values_count / is_empty / is_null ---------------------------------------------------------


def test_values_count() -> None:
    payloads: list[dict[str, Any] | None] = [{"v": [1, 2, 3]}, {"v": 1}, {"v": []}, {}, {"v": None}]
    assert matching({"must": [cond("v", values_count={"gte": 2})]}, payloads) == [0]
    assert matching({"must": [cond("v", values_count={"lt": 1})]}, payloads) == [2, 3, 4]
    assert matching({"must": [cond("v", values_count={"gt": 0, "lte": 1})]}, payloads) == [1]


def test_is_empty_and_is_null_both_forms() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"f": None},
        {"f": []},
        {"f": [None]},
        {"f": 0},
        {"f": {}},
        {},
        None,
        {"f": [1, None]},
    ]
    assert matching({"must": [{"is_empty": {"key": "f"}}]}, payloads) == [0, 1, 5, 6]
    assert matching({"must": [cond("f", is_empty=True)]}, payloads) == [0, 1, 5, 6]
    assert matching({"must": [cond("f", is_empty=False)]}, payloads) == [2, 3, 4, 7]
    assert matching({"must": [{"is_null": {"key": "f"}}]}, payloads) == [0, 2, 7]
    assert matching({"must": [cond("f", is_null=False)]}, payloads) == [1, 3, 4, 5, 6]


# --- ids, vectors, slices ----------------------------------------------------------------------


def test_has_id_normalises_uuids() -> None:
    u = uuid.UUID("5c56c793-69f3-4fbf-87e6-c4bf54c28c26")
    ids: list[int | str] = [7, str(u), 9]
    payloads: list[dict[str, Any] | None] = [{}, {}, {}]
    for spelling in (str(u).upper(), u.hex, f"{{{u}}}", f"urn:uuid:{u}"):
        assert matching({"must": [{"has_id": [spelling]}]}, payloads, ids=ids) == [1]
    assert matching({"must": [{"has_id": [9, 12345]}]}, payloads, ids=ids) == [2]
    assert matching({"must_not": [{"has_id": [7]}]}, payloads, ids=ids) == [1, 2]
    assert parse_filter({"must": {"has_id": [str(u).upper()]}}).must == (
        HasIdCondition(frozenset({str(u)})),
    )


def test_has_vector() -> None:
    vectors = {"": np.array([True, False, True]), "img": np.array([False, True, True])}
    payloads: list[dict[str, Any] | None] = [{}, {}, {}]
    assert matching({"must": [{"has_vector": ""}]}, payloads, vectors=vectors) == [0, 2]
    assert matching({"must": [{"has_vector": "img"}]}, payloads, vectors=vectors) == [1, 2]
    assert matching({"must": [{"has_vector": "nope"}]}, payloads, vectors=vectors) == []
    assert matching({"must_not": [{"has_vector": "nope"}]}, payloads, vectors=vectors) == [0, 1, 2]


def test_slice_matches_local_mode_hash() -> None:
    ids: list[int | str] = [0, 1, 2, 3, 2**64 - 1, *(str(uuid.uuid4()) for _ in range(20))]
    for total in (1, 2, 3, 7):
        assert id_slices(ids, total).tolist() == [point_id_slice(pid, total) for pid in ids]
        seen: list[int] = []
        for index in range(total):
            flt = {"must": [{"slice": {"total": total, "index": index}}]}
            got = matching(flt, [{} for _ in ids], ids=ids)
            assert got == [i for i, pid in enumerate(ids) if point_id_slice(pid, total) == index]
            seen += got
        assert sorted(seen) == list(range(len(ids)))


def test_slice_needs_point_ids() -> None:
    with pytest.raises(FilterError, match="slice"):
        mask(parse_filter({"must": [{"slice": {"total": 2, "index": 0}}]}), NoIdsCtx())


# --- nested ------------------------------------------------------------------------------------


def test_nested_requires_one_element_to_match_everything() -> None:
    payloads: list[dict[str, Any] | None] = [
        {"c": [{"x": 1, "y": 2}, {"x": 2, "y": 1}]},
        {"c": [{"x": 1, "y": 1}]},
        {"c": {"x": 1, "y": 2}},  # not an array: nothing to check
        {"c": [1, {"x": 1, "y": 2, "z": [{"w": 1}]}]},
        {},
    ]
    inner = {"must": [cond("x", match={"value": 1}), cond("y", match={"value": 2})]}
    assert matching({"must": [{"nested": {"key": "c", "filter": inner}}]}, payloads) == [0, 3]
    assert matching({"must": [{"nested": {"key": "c[]", "filter": inner}}]}, payloads) == [0, 3]
    # a plain field condition flattens across elements instead
    flat = {"must": [cond("c[].x", match={"value": 1}), cond("c[].y", match={"value": 1})]}
    assert matching(flat, payloads) == [0, 1]
    deeper = {"nested": {"key": "z", "filter": {"must": [cond("w", match={"value": 1})]}}}
    assert matching(
        {"must": [{"nested": {"key": "c", "filter": {"must": [deeper]}}}]}, payloads
    ) == [3]
    # only object elements are checked, so scalars never satisfy even a must_not filter
    negated = {"must_not": [cond("x", match={"value": 2})]}
    assert matching({"must": [{"nested": {"key": "c", "filter": negated}}]}, payloads) == [0, 1, 3]
    scalars_only: list[dict[str, Any] | None] = [{"c": [1, "a", None, [{"x": 1}]]}]
    assert matching({"must": [{"nested": {"key": "c", "filter": {}}}]}, scalars_only) == []
    no_vectors = {"nested": {"key": "c", "filter": {"must": [{"has_vector": ""}]}}}
    assert matching({"must": [no_vectors]}, payloads, vectors={"": np.ones(5, bool)}) == []


# --- parsing -----------------------------------------------------------------------------------


def test_parse_builds_immutable_tree() -> None:
    flt = parse_filter({"must": {"key": "a.b", "match": {"value": 3}}, "should": []})
    assert flt == Filter(must=(FieldCondition("a.b", match=MatchValue(3)),))
    assert parse_filter({"must": [{"key": "n", "range": {"gt": 1}}]}).must[0] == FieldCondition(
        "n", range=Range(gt=1.0)
    )
    nested = parse_filter({"must": [{"nested": {"key": "c", "filter": {}}}]}).must[0]
    assert isinstance(nested, NestedCondition) and nested.filter == Filter()
    with pytest.raises(AttributeError):
        flt.must = ()  # type: ignore[misc]
    assert parse_filter({"must": [{"key": "a", "match": {"value": 1}, "range": None}]}).must


GOOD_RING = {
    "points": [
        {"lon": 0, "lat": 0},
        {"lon": 1, "lat": 0},
        {"lon": 1, "lat": 1},
        {"lon": 0, "lat": 0},
    ]
}


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ([], "expected an object"),
        ({"must": [1]}, "must be an object"),
        ({"mus": []}, "unknown field"),
        ({"must": [{"foo": 1}]}, "unknown condition"),
        ({"must": [{"key": "a"}]}, "At least one field condition"),
        ({"must": [{"key": "a", "match": {"value": 1}, "range": {"gt": 1}}]}, "only one"),
        ({"must": [{"key": "a.", "match": {"value": 1}}]}, "invalid payload key"),
        ({"must": [{"key": 1, "match": {"value": 1}}]}, "expected a string"),
        ({"must": [{"key": "a", "match": {"value": 1.5}}]}, "64-bit integer"),
        ({"must": [{"key": "a", "match": {"value": 2**63}}]}, "64-bit integer"),
        ({"must": [{"key": "a", "match": {"value": None}}]}, "64-bit integer"),
        ({"must": [{"key": "a", "match": {"value": 1, "text": "x"}}]}, "exactly one"),
        ({"must": [{"key": "a", "match": {"fuzzy": "x"}}]}, "unknown field"),
        ({"must": [{"key": "a", "match": {}}]}, "exactly one"),
        ({"must": [{"key": "a", "match": {"text": 5}}]}, "expected a string"),
        ({"must": [{"key": "a", "match": {"any": ["a", 1]}}]}, "only strings or only"),
        ({"must": [{"key": "a", "match": {"any": [True]}}]}, "only strings or only"),
        ({"must": [{"key": "a", "match": {"except": "a"}}]}, "expected an array"),
        ({"must": [{"key": "a", "match": "a"}]}, "expected an object"),
        ({"must": [{"key": "a", "range": {"gt": "x"}}]}, "not a valid datetime"),
        ({"must": [{"key": "a", "range": {"gt": 1, "lt": "2020-01-01"}}]}, "all numbers or all"),
        ({"must": [{"key": "a", "range": {"gt": True}}]}, "all numbers or all"),
        ({"must": [{"key": "a", "range": {"between": 1}}]}, "unknown field"),
        ({"must": [{"key": "a", "range": [1, 2]}]}, "expected an object"),
        (
            {"must": [{"key": "g", "geo_radius": {"center": {"lon": 0, "lat": 91}, "radius": 1}}]},
            "latitude",
        ),
        (
            {
                "must": [
                    {"key": "g", "geo_radius": {"center": {"lon": -181, "lat": 0}, "radius": 1}}
                ]
            },
            "longitude",
        ),
        (
            {"must": [{"key": "g", "geo_radius": {"center": {"lon": 0}, "radius": 1}}]},
            "missing required field 'lat'",
        ),
        (
            {"must": [{"key": "g", "geo_radius": {"center": {"lon": 0, "lat": 0}, "radius": "1"}}]},
            "finite number",
        ),
        ({"must": [{"key": "g", "geo_radius": {"center": {"lon": 0, "lat": 0}}}]}, "radius"),
        (
            {"must": [{"key": "g", "geo_bounding_box": {"top_left": {"lon": 0, "lat": 0}}}]},
            "bottom_right",
        ),
        (
            {
                "must": [
                    {"key": "g", "geo_polygon": {"exterior": {"points": GOOD_RING["points"][:3]}}}
                ]
            },
            "at least 4",
        ),
        (
            {
                "must": [
                    {
                        "key": "g",
                        "geo_polygon": {
                            "exterior": {"points": [*GOOD_RING["points"][:3], {"lon": 5, "lat": 5}]}
                        },
                    }
                ]
            },
            "closed",
        ),
        (
            {
                "must": [
                    {
                        "key": "g",
                        "geo_polygon": {"exterior": GOOD_RING, "interiors": [{"points": []}]},
                    }
                ]
            },
            "at least 4",
        ),
        ({"must": [{"key": "g", "geo_polygon": {"interiors": []}}]}, "exterior"),
        ({"must": [{"key": "a", "values_count": {"gt": -1}}]}, "integer in"),
        ({"must": [{"key": "a", "values_count": {"gt": 1.5}}]}, "integer in"),
        ({"must": [{"key": "a", "is_empty": "yes"}]}, "boolean"),
        ({"must": [{"is_empty": "a"}]}, "expected an object"),
        ({"must": [{"is_empty": {"key": "a."}}]}, "invalid payload key"),
        ({"must": [{"is_null": {}}]}, "missing required field 'key'"),
        ({"must": [{"has_id": 1}]}, "array of point ids"),
        ({"must": [{"has_id": [-1]}]}, "unsigned integer or a UUID"),
        ({"must": [{"has_id": [2**64]}]}, "unsigned integer or a UUID"),
        ({"must": [{"has_id": ["not-a-uuid"]}]}, "unsigned integer or a UUID"),
        ({"must": [{"has_id": [True]}]}, "unsigned integer or a UUID"),
        ({"must": [{"has_id": [1], "has_vector": ""}]}, "unknown field"),
        ({"must": [{"has_vector": 1}]}, "expected a string"),
        ({"must": [{"nested": {"key": "a"}}]}, "missing required field 'filter'"),
        (
            {"must": [{"nested": {"key": "a", "filter": {"must": [{"has_id": [1]}]}}}]},
            "has_id is not allowed",
        ),
        (
            {"must": [{"nested": {"key": "a", "filter": {"should": [{"must": {"has_id": [1]}}]}}}]},
            "has_id is not allowed",
        ),
        ({"must": [{"nested": {"key": "a[", "filter": {}}}]}, "invalid payload key"),
        ({"min_should": {"conditions": [], "min_count": 0}}, "min_count"),
        ({"min_should": {"conditions": [], "min_count": True}}, "min_count"),
        ({"min_should": {"conditions": []}}, "min_count"),
        ({"min_should": {"conditions": {"has_id": [1]}, "min_count": 1}}, "array of conditions"),
        ({"must": [{"slice": {"total": 0, "index": 0}}]}, "total"),
        ({"must": [{"slice": {"total": 2, "index": 2}}]}, "index"),
    ],
)
def test_parse_errors(flt: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(flt)


def test_filter_error_is_a_value_error_and_says_where() -> None:
    with pytest.raises(ValueError, match=r"filter\.must\[1\]\.match\.value"):
        parse_filter({"must": [{"has_id": [1]}, {"key": "a", "match": {"value": 1.5}}]})


# --- property test against local mode ----------------------------------------------------------
#
# Hypothesis draws seeds; a seeded generator builds random payloads and random filters whose
# operands (keys, match values, numbers, geo points) come from what the payloads hold, so most
# conditions match some points and not others. A failure reports the seed, filter and payloads.

KEYS = ["a", "b", "c", "d"]
TYPED_KEYS = ["g", "n", "s", "dt", "arr"]
WORDS = ["hello world", "x", "Hello, World!", "foo_bar baz", "Straße groß", "world hello", ""]
DATES = [
    "2020-01-01T00:00:00Z",
    "2020-01-01 00:00:00",
    "2020-01-01",
    "2020-01-01T01:30:00+01:00",
    "2020-01-01T01:30:00+0100",
    "2020-01-01T01:30:00+01",
    "2019-12-31T23:59:59.999999z",
    "2020-01-01t00:00:00.5",
    "2020-01-02 12:00",
    "2020-01-01T00:00:00 UTC",
    "2020-01-01T00:00:00.123456789+00:00",
    "2020-13-01",
    "2020-01-01T00:00Z",
]
DATE_BOUNDS = [
    "2019-12-31T23:00:00Z",
    "2020-01-01T00:00:00Z",
    "2020-01-01T00:30:00+01:00",
    "2020-01-01T00:00:00.5Z",
    "2020-01-01",
    "2020-01-02T00:00:00",
]
EXTRA_PATHS = ["a", "a.b", "a[]", "a[].b", "a[0]", "b.c", '"a"', "zz"]
BAD_GEO: list[Any] = [{"lon": "1", "lat": 1}, {"lat": 1}, {"lon": True, "lat": 0}, [1, 2]]
VECTOR_NAMES = ["", "v", "missing"]
POINT_IDS: list[int | str] = [
    *range(1, 12),
    2**63,
    "5c56c793-69f3-4fbf-87e6-c4bf54c28c26",
    "00000000-0000-0000-0000-000000000001",
    "b2d7d3a4-5d33-4b6f-9d2b-3f2e2d1c0b0a",
    "ffffffff-0000-0000-0000-000000000000",
]
ID_SPELLINGS: list[int | str] = [
    1,
    3,
    4,
    7,
    10,
    99,
    2**63,
    "5C56C793-69F3-4FBF-87E6-C4BF54C28C26",
    "00000000000000000000000000000001",
    "{b2d7d3a4-5d33-4b6f-9d2b-3f2e2d1c0b0a}",
    "urn:uuid:ffffffff-0000-0000-0000-000000000000",
]


class PayloadGen:
    """Random JSON payloads: generic nested values plus typed fields (geo, numbers, ...)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def coord(self) -> float:
        rng = self.rng
        return rng.choice([0, 1, -1, 0.5, 1.0]) if rng.random() < 0.4 else rng.uniform(-2, 2)

    def geo(self) -> Any:
        if self.rng.random() < 0.1:
            return copy.deepcopy(self.rng.choice(BAD_GEO))  # never share objects in a payload
        return {"lon": self.coord(), "lat": self.coord()}

    def number(self) -> Any:
        return self.rng.choice([0, 1, 2, 3, 0.5, 1.0, -2.5, True, False, None])

    def scalar(self) -> Any:
        rng = self.rng
        kind = rng.randrange(7)
        if kind == 0:
            return rng.randint(0, 3)
        if kind == 1:
            return rng.choice([0.5, 1.0, -2.5, 2.0])
        if kind == 2:
            return rng.choice(WORDS)
        if kind == 3:
            return rng.choice([True, False, None])
        if kind == 4:
            return rng.choice(DATES)
        return self.geo()

    def value(self, depth: int) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth > 0 and roll < 0.2:
            return [self.value(depth - 1) for _ in range(rng.randint(0, 3))]
        if depth > 0 and roll < 0.35:
            keys = rng.sample(KEYS, rng.randint(0, 3))
            return {key: self.value(depth - 1) for key in keys}
        return self.scalar()

    def many(self, make: Callable[[], Any]) -> Any:
        return (
            make() if self.rng.random() < 0.5 else [make() for _ in range(self.rng.randint(0, 3))]
        )

    def typed(self, key: str) -> Any:
        rng = self.rng
        if rng.random() < 0.15:
            return self.value(2)
        if key == "g":
            return self.many(self.geo)
        if key == "n":
            return self.many(self.number)
        if key == "s":
            return self.many(lambda: rng.choice(WORDS))
        if key == "dt":
            return self.many(lambda: rng.choice(DATES))
        item_keys = ["x", "y", "s", "g"]
        return [
            {
                k: self.typed(k) if k in TYPED_KEYS else rng.choice([0, 1, 2, None])
                for k in rng.sample(item_keys, rng.randint(0, 3))
            }
            if rng.random() < 0.85
            else self.scalar()
            for _ in range(rng.randint(0, 4))
        ]

    def payload(self) -> dict[str, Any] | None:
        rng = self.rng
        if rng.random() < 0.1:
            return None
        keys = rng.sample(KEYS + TYPED_KEYS, rng.randint(0, 5))
        return {key: self.typed(key) if key in TYPED_KEYS else self.value(3) for key in keys}


@dataclass
class Paths:
    """Paths seen in payloads (or inside array elements), overall and by the kind they hold."""

    all: set[str] = field(default_factory=lambda: set(EXTRA_PATHS))
    typed: dict[str, set[str]] = field(default_factory=dict)
    object_arrays: set[str] = field(default_factory=lambda: {"a"})

    def add(self, kind: str, path: str) -> None:
        if path:
            self.typed.setdefault(kind, set()).add(path)


@dataclass
class Pool:
    """What the payloads hold: paths from the root and from array elements, and leaf values."""

    root: Paths = field(default_factory=Paths)
    inner: Paths = field(default_factory=Paths)
    words: set[str] = field(default_factory=lambda: {"hello world"})
    ints: set[int] = field(default_factory=lambda: {0, 1})
    numbers: set[float] = field(default_factory=lambda: {0.5})
    geo: set[tuple[float, float]] = field(default_factory=lambda: {(0.0, 0.0)})
    payloads: list[dict[str, Any] | None] = field(default_factory=list)

    def walk(self, value: Any, path: str, view: Paths) -> None:
        if isinstance(value, dict):
            lon, lat = value.get("lon"), value.get("lat")
            if type(lon) in (int, float) and type(lat) in (int, float):
                self.geo.add((float(lon), float(lat)))  # type: ignore[arg-type]
                view.add("geo", path)
            for key, item in value.items():
                sub = f"{path}.{key}" if path else key
                view.all.add(sub)
                self.walk(item, sub, view)
        elif isinstance(value, list):
            if path:
                view.all.update({f"{path}[]", f"{path}[0]"})
            for item in value:
                self.walk(item, f"{path}[]", view)
                if isinstance(item, dict):
                    view.object_arrays.add(path)
                    self.walk(item, "", self.inner)  # what a nested filter sees
                else:
                    self.walk(item, path, view)  # leaf arrays are flattened under their key
        elif isinstance(value, str):
            self.words.add(value)
            view.add("date" if value in DATES else "string", path)
        elif isinstance(value, bool) or value is None:
            view.add("other", path)
        elif isinstance(value, int):
            self.ints.add(value)
            view.add("number", path)
        elif isinstance(value, float):
            self.numbers.add(value)
            view.add("number", path)

    @staticmethod
    def of(payloads: list[dict[str, Any] | None]) -> Pool:
        pool = Pool(payloads=payloads)
        for payload in payloads:
            if payload:
                pool.walk(payload, "", pool.root)
        return pool


def _sorted(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=repr)


class FilterGen:
    """Random filter JSON whose keys and operands come from a ``Pool``."""

    def __init__(self, rng: random.Random, pool: Pool, view: Paths | None = None) -> None:
        self.rng = rng
        self.pool = pool
        self.view = view if view is not None else pool.root
        self.words = _sorted(pool.words)
        self.ints = _sorted(pool.ints)
        self.numbers = _sorted(pool.numbers | pool.ints) + [-1, 1.5]
        self.geo = _sorted(pool.geo)
        self.grid_geo = [g for g in self.geo if all((4 * c).is_integer() for c in g)]
        self.tokens = _sorted({t for w in pool.words for t in w.replace(",", " ").split()} | {"zz"})

    def key(self, *kinds: str) -> str:
        typed = set().union(*(self.view.typed.get(kind, set()) for kind in kinds))
        if typed and self.rng.random() < 0.8:
            return self.rng.choice(_sorted(typed))
        return self.rng.choice(_sorted(self.view.all))

    def bounds(self, values: list[Any]) -> dict[str, Any]:
        names = self.rng.sample(["gt", "gte", "lt", "lte"], self.rng.randint(0, 2))
        return {name: self.rng.choice(values) for name in names}

    def found_value(self, key: str) -> Any:
        """A str/int/bool value some payload holds at ``key`` (read with local mode's extractor),
        so that exact matches often hit; falls back to a pool value."""
        found = [
            v
            for p in self.pool.payloads
            if p
            for v in (value_by_key(p, key) or [])
            if isinstance(v, str | int) and v is not None
        ]
        if found and self.rng.random() < 0.8:
            value = self.rng.choice(found)
            # a bool's int twin (True -> 1) probes that exact matches keep the two types apart
            return int(value) if isinstance(value, bool) and self.rng.random() < 0.5 else value
        return self.rng.choice([*self.words, *self.ints, True, False])

    def match(self, key: str) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(
            ["value"] * 3 + ["any"] * 2 + ["except"] * 2 + ["text", "text_any", "phrase", "prefix"]
        )
        if kind == "value":
            return {"value": self.found_value(key)}
        if kind in ("any", "except"):
            first = self.found_value(key)
            if isinstance(first, bool):
                return {kind: []}
            same = [v for v in (self.words if isinstance(first, str) else self.ints) if v != first]
            return {kind: [first, *rng.sample(same, min(len(same), rng.randint(0, 2)))]}
        text = " ".join(rng.choice(self.tokens) for _ in range(rng.randint(0, 2)))
        if kind == "prefix":
            return {"prefix": rng.choice(self.words)[: rng.randint(0, 4)]}
        return {kind: text}

    def offset(self) -> float:
        return self.rng.choice([0.5, 1.0, 0.0, 2.0, 0.25])

    def ring(self, center: tuple[float, float]) -> dict[str, Any]:
        def signed() -> float:
            return self.offset() * self.rng.choice([-1, 1])

        points = [
            (center[0] + signed(), center[1] + signed()) for _ in range(self.rng.randint(3, 5))
        ]
        closed = [*points, points[0]]
        return {"points": [{"lon": lon, "lat": lat} for lon, lat in closed]}

    FAMILIES: dict[str, tuple[int, ...]] = {
        "match": (0, 1),
        "range": (2, 3),
        "geo": (4, 5, 6),
        "values_count": (7,),
        "empty_null": (8, 9),
    }

    def field_condition(self, family: str | None = None) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(self.FAMILIES[family]) if family else rng.randrange(10)
        if kind in (0, 1):
            key = self.key(rng.choice(["string", "number", "date", "other"]))
            return {"key": key, "match": self.match(key)}
        if kind == 2:
            return {"key": self.key("number"), "range": self.bounds(self.numbers)}
        if kind == 3:
            bounds = self.bounds(DATE_BOUNDS) or {"gt": DATE_BOUNDS[0]}
            return {"key": self.key("date"), "range": bounds}
        center = rng.choice(self.geo)
        if kind == 4:
            radius = rng.choice([1.0, 60_000.0, 150_000.0, 0.0, 1e6])
            circle = {"center": {"lon": center[0], "lat": center[1]}, "radius": radius}
            return {"key": self.key("geo"), "geo_radius": circle}
        if kind == 5:
            west = 179.0 if rng.random() < 0.2 else center[0] - self.offset()
            box = {
                "top_left": {"lon": west, "lat": center[1] + self.offset()},
                "bottom_right": {
                    "lon": center[0] + self.offset(),
                    "lat": center[1] - self.offset(),
                },
            }
            return {"key": self.key("geo"), "geo_bounding_box": box}
        if kind == 6:
            # vertices on a dyadic grid keep local mode's float arithmetic exact; elsewhere it can
            # round a point lying exactly on an edge to either side, where we decide exactly
            center = rng.choice(self.grid_geo)
            holes = [self.ring(center) for _ in range(rng.randint(0, 1))]
            polygon = {"exterior": self.ring(center), "interiors": holes}
            return {"key": self.key("geo"), "geo_polygon": polygon}
        if kind == 7:
            return {"key": self.key(), "values_count": self.bounds([0, 1, 2, 3])}
        check = rng.choice(["is_empty", "is_null"])
        key = self.key("other") if rng.random() < 0.5 else self.key()
        if rng.random() < 0.5:
            return {check: {"key": key}}
        return {"key": key, check: rng.random() < 0.5}

    def condition(self, depth: int, nested: bool) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return self.field_condition()
        if roll < 0.65:
            return {"has_vector": rng.choice(VECTOR_NAMES)}
        if roll < 0.7:
            total = rng.randint(1, 3)
            return {"slice": {"total": total, "index": rng.randrange(total)}}
        if roll < 0.78 and not nested:
            return {"has_id": rng.sample(ID_SPELLINGS, rng.randint(1, 6))}
        if depth > 0 and roll < 0.9:
            key = rng.choice(_sorted(self.view.object_arrays))
            inner = FilterGen(rng, self.pool, self.pool.inner).filter(depth - 1, nested=True)
            return {"nested": {"key": key + rng.choice(["", "[]"]), "filter": inner}}
        if depth > 0:
            return self.filter(depth - 1, nested)
        return self.field_condition()

    def clause(self, depth: int, nested: bool) -> Any:
        roll = self.rng.random()
        if roll < 0.45:
            return None
        if roll < 0.75:
            return self.condition(depth, nested)
        return [self.condition(depth, nested) for _ in range(self.rng.randint(0, 2))]

    def filter(self, depth: int, nested: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("must", "should", "must_not"):
            clause = self.clause(depth, nested)
            if clause is not None:
                out[name] = clause
        if self.rng.random() < 0.2:
            conditions = [self.condition(depth, nested) for _ in range(self.rng.randint(0, 3))]
            out["min_should"] = {"conditions": conditions, "min_count": self.rng.randint(1, 2)}
        return out


def _local_mask(
    flt: dict[str, Any], payloads: list[dict | None], vectors: dict[str, np.ndarray]
) -> np.ndarray:
    model = models.Filter.model_validate(flt)
    validate_filter(model)
    return calculate_payload_mask(
        payloads=[p if p is not None else {} for p in payloads],
        payload_filter=model,
        ids_inv=POINT_IDS[: len(payloads)],
        deleted_per_vector={name: ~mask for name, mask in vectors.items()},
    )


def _random_case(seed: int) -> tuple[random.Random, list[dict[str, Any] | None], Pool]:
    rng = random.Random(seed)
    gen = PayloadGen(rng)
    payloads = [gen.payload() for _ in range(rng.randint(4, len(POINT_IDS)))]
    return rng, payloads, Pool.of(payloads)


def _check_against_local(
    rng: random.Random, payloads: list[dict[str, Any] | None], flt: dict[str, Any]
) -> np.ndarray:
    n = len(payloads)
    vectors = {name: np.array([rng.random() < 0.7 for _ in range(n)]) for name in ("", "v")}
    ctx = Ctx(payloads, ids=POINT_IDS[:n], vectors=vectors)
    ours = mask(parse_filter(flt), ctx)
    theirs = _local_mask(flt, payloads, vectors)
    assert ours.tolist() == theirs.tolist(), (flt, payloads)
    return ours


@pytest.mark.parametrize("family", sorted(FilterGen.FAMILIES))
@settings(max_examples=600, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_field_condition_agrees_with_local_mode(family: str, seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    condition = FilterGen(rng, pool).field_condition(family)
    _check_against_local(rng, payloads, {"must": condition})


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_single_condition_agrees_with_local_mode(seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    condition = FilterGen(rng, pool).condition(1, nested=False)
    _check_against_local(rng, payloads, {"must": condition})


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_mask_agrees_with_local_mode(seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    _check_against_local(rng, payloads, FilterGen(rng, pool).filter(2))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_mask_agrees_with_payload_only_evaluation(seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    flt = FilterGen(rng, pool).filter(2, nested=True)
    parsed = parse_filter(flt)
    expected = [parsed.matches_payload(p) for p in payloads]
    # has_vector / slice never match a lone payload: only compare filters free of them
    if "has_vector" not in repr(flt) and "slice" not in repr(flt):
        assert mask(parsed, Ctx(payloads)).tolist() == expected


# --- end to end against a local-mode collection ------------------------------------------------


def test_against_local_collection_scroll() -> None:
    payloads: list[dict[str, Any]] = [
        {"city": "Berlin", "n": 1, "tags": ["a", "b"], "loc": {"lon": 13.4, "lat": 52.5}},
        {"city": "London", "n": 2.5, "tags": [], "d": "2024-05-01T10:00:00Z"},
        {"city": ["Paris", "Lyon"], "n": None, "items": [{"k": 1, "v": "x"}, {"k": 2, "v": "y"}]},
        {"d": "2024-05-01 12:00:00+01:00", "items": [{"k": 1, "v": "y"}]},
        {},
    ]
    client = QdrantClient(":memory:")
    client.create_collection(
        "c",
        vectors_config={"": models.VectorParams(size=2, distance=models.Distance.DOT)},
    )
    client.upsert(
        "c",
        [
            models.PointStruct(id=i + 1, vector=[1.0, 0.0], payload=p)
            for i, p in enumerate(payloads)
        ],
    )
    cases: list[dict[str, Any]] = [
        {"must": [{"key": "city", "match": {"any": ["Paris", "Berlin"]}}]},
        {"must_not": [{"is_empty": {"key": "tags"}}]},
        {"should": [{"key": "n", "range": {"gte": 2}}, {"has_id": [5]}]},
        {"must": [{"key": "d", "range": {"gt": "2024-05-01T10:30:00Z"}}]},
        {
            "must": [
                {
                    "nested": {
                        "key": "items",
                        "filter": {
                            "must": [
                                {"key": "k", "match": {"value": 1}},
                                {"key": "v", "match": {"value": "y"}},
                            ]
                        },
                    }
                }
            ]
        },
        {
            "must": [
                {
                    "key": "loc",
                    "geo_radius": {"center": {"lon": 13.0, "lat": 52.0}, "radius": 100000},
                }
            ]
        },
        {
            "min_should": {
                "conditions": [
                    {"has_vector": ""},
                    {"key": "n", "is_null": True},
                    {"has_id": [3, 4]},
                ],
                "min_count": 2,
            }
        },
        {"must": [{"key": "items[].k", "values_count": {"gte": 2}}]},
    ]
    for flt in cases:
        records, _ = client.scroll("c", scroll_filter=models.Filter.model_validate(flt), limit=100)
        expected = sorted(int(r.id) for r in records)
        ctx = Ctx(list(payloads), ids=[1, 2, 3, 4, 5], vectors={"": np.ones(5, dtype=bool)})
        got = [i + 1 for i in np.flatnonzero(mask(parse_filter(flt), ctx)).tolist()]
        assert got == expected, flt


def test_mask_at_agrees_with_mask_on_any_subset() -> None:
    """``mask_at`` over some offsets is ``mask`` read at those offsets, for every kind of
    clause (the formula query evaluates conditions on its candidates only)."""
    rng = random.Random(7)
    payloads: list[dict[str, Any] | None] = [
        {"k": rng.randrange(4), "tags": rng.sample(["a", "b", "c"], rng.randrange(3)),
         "n": {"v": rng.random()}} if rng.random() < 0.9 else None
        for _ in range(60)
    ]
    ctx = Ctx(payloads)
    filters = [
        {"must": [{"key": "k", "match": {"value": 2}}]},
        {"should": [{"key": "tags", "match": {"any": ["a"]}}, {"has_id": [3, 4, 5]}]},
        {"must_not": [{"is_empty": {"key": "tags"}}], "must": [{"key": "n.v", "range": {"gt": 0.3}}]},
        {"min_should": {"conditions": [{"key": "k", "match": {"any": [0, 1]}},
                                       {"key": "tags", "match": {"value": "b"}}], "min_count": 2}},
        {},
    ]
    for flt in filters:
        compiled = parse_filter(flt)
        full = mask(compiled, ctx)
        for _ in range(5):
            offs = np.asarray(sorted(rng.sample(range(60), rng.randrange(0, 20))), dtype=np.int64)
            assert mask_at(compiled, ctx, offs).tolist() == full[offs].tolist()
