"""Payload indexes: each index type, upkeep under writes, order_by, the holder's schema, and the
property that a filter evaluated through indexes always equals the unindexed scan."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.query.ordering import order_by
from collection.query.planner import OrderBy
from segments.appendable import AppendableSegment
from segments.filter import estimate, mask, parse_filter
from segments.holder import SegmentHolder
from segments.immutable import ImmutableSegment
from segments.payload_index import INDEX_TYPES, FieldIndex, build_index
from segments.types import Distance, SegmentConfig, VectorParams
from tests.unit.test_filters import (
    KEYS,
    POINT_IDS,
    TYPED_KEYS,
    Ctx,
    FilterGen,
    PayloadGen,
    Pool,
    _random_case,
)

TYPES = sorted(INDEX_TYPES)
CONFIG = SegmentConfig(vectors={"v": VectorParams(size=2, distance=Distance.DOT)})


@dataclass
class IndexedCtx(Ctx):
    """A ``Ctx`` offering payload indexes: ``kind_of(key)`` says which (``None``: no index)."""

    kind_of: Callable[[str], str | None] = lambda key: None
    built: dict[str, FieldIndex | None] = field(default_factory=dict)

    def payload_index(self, key: str) -> FieldIndex | None:
        if key not in self.built:
            kind = self.kind_of(key)
            self.built[key] = (
                None if kind is None else build_index(key, {"type": kind}, self.payload_list)
            )
        return self.built[key]


class Unindexed:
    """A segment seen without its payload indexes: what the filter scan evaluates."""

    def __init__(self, seg: AppendableSegment) -> None:
        self.seg = seg
        self.size = seg.size

    def payloads(self) -> Sequence[dict[str, Any] | None]:
        return self.seg.payloads()

    def offsets_of(self, ids: Iterable[int | str]) -> np.ndarray:
        return self.seg.offsets_of(ids)

    def vector_mask(self, name: str) -> np.ndarray | None:
        return self.seg.vector_mask(name)

    def point_ids(self, offsets: np.ndarray) -> list[int | str]:
        return self.seg.point_ids(offsets)

    def payload_of(self, offset: int) -> dict[str, Any]:
        return self.seg.payload_of(offset)


def hits(flt: dict[str, Any], payloads: list[Any], kind: str, key: str = "x") -> list[int]:
    """Offsets matching ``flt`` with ``key`` indexed as ``kind``, checked against the scan."""
    indexed = IndexedCtx(payloads, kind_of=lambda k: kind if k == key else None)
    parsed = parse_filter(flt)
    got = mask(parsed, indexed)
    assert indexed.built.get(key) is not None
    want = mask(parsed, Ctx(payloads))
    assert got.tolist() == want.tolist(), flt
    assert estimate(parsed, indexed) >= int(want.sum())
    return np.flatnonzero(got).tolist()


def on_x(**check: Any) -> dict[str, Any]:
    return {"must": [{"key": "x", **check}]}


def answer(index: FieldIndex, flt: dict[str, Any], size: int) -> Any:
    cond = parse_filter(flt).must[0]
    return index.answer(cond, size)  # type: ignore[arg-type]


# --- each index type ---------------------------------------------------------------------------


def test_keyword_index_match_value_any_except() -> None:
    payloads: list[Any] = [
        {"x": "a"}, {"x": ["a", "b"]}, {"x": "b"}, {"x": 1}, {"x": None}, {}, None,
        {"x": ["a", 5]}, {"x": [["a"]]}, {"x": ["a", None]}, {"x": []},
    ]
    assert hits(on_x(match={"value": "a"}), payloads, "keyword") == [0, 1, 7, 9]
    assert hits(on_x(match={"any": ["b", "zz"]}), payloads, "keyword") == [1, 2]
    assert hits(on_x(match={"any": []}), payloads, "keyword") == []
    # except: a non-null value outside the list, values of other types included
    assert hits(on_x(match={"except": ["a"]}), payloads, "keyword") == [1, 2, 3, 7, 8]
    assert hits(on_x(match={"except": []}), payloads, "keyword") == [0, 1, 2, 3, 7, 8, 9]
    # checks the index can't answer still work (by scan)
    assert hits(on_x(match={"value": 1}), payloads, "keyword") == [3]
    assert hits(on_x(match={"except": [1]}), payloads, "keyword") == [0, 1, 2, 7, 8, 9]
    index = build_index("x", {"type": "keyword"}, payloads)
    assert index is not None and index.points_count == 5
    assert answer(index, on_x(match={"value": 1}), len(payloads)) is None
    assert answer(index, on_x(match={"text": "a"}), len(payloads)) is None


def test_integer_index_keeps_types_apart_and_exact() -> None:
    big = 2**63
    payloads: list[Any] = [
        {"x": 1}, {"x": 1.0}, {"x": True}, {"x": "1"}, {"x": [3, 1]}, {"x": 2.5},
        {"x": big}, {"x": -big - 1}, {"x": 2**53 + 1}, {"x": [0, "2020-01-01"]}, {"x": None},
    ]
    assert hits(on_x(match={"value": 1}), payloads, "integer") == [0, 4]
    assert hits(on_x(match={"value": True}), payloads, "integer") == [2]
    assert hits(on_x(match={"any": [3, 0]}), payloads, "integer") == [4, 9]
    assert hits(on_x(match={"except": [1, 3]}), payloads, "integer") == [1, 2, 3, 5, 6, 7, 8, 9]
    # ranges match floats too, and compare ints exactly against float bounds
    assert hits(on_x(range={"gt": 1}), payloads, "integer") == [4, 5, 6, 8]
    assert hits(on_x(range={"gte": 1, "lt": 2.5}), payloads, "integer") == [0, 1, 4]
    assert hits(on_x(range={"lte": float(2**53)}), payloads, "integer") == [0, 1, 4, 5, 7, 9]
    assert hits(on_x(range={"gt": float(2**53)}), payloads, "integer") == [6, 8]
    assert hits(on_x(range={"lt": -1e300}), payloads, "integer") == []
    assert hits(on_x(range={"gt": -1e300}), payloads, "integer") == [0, 1, 4, 5, 6, 7, 8, 9]
    assert hits(on_x(range={}), payloads, "integer") == [0, 1, 4, 5, 6, 7, 8, 9]
    index = build_index("x", {"type": "integer"}, payloads)
    assert index is not None and index.points_count == 4


def test_float_index_ranges_exact_for_ints_and_floats() -> None:
    payloads: list[Any] = [
        {"x": 1}, {"x": 1.5}, {"x": [0.25, 7]}, {"x": 2**53 + 1}, {"x": 2**53}, {"x": 10**400},
        {"x": True}, {"x": "3"}, {"x": "2020-01-01"}, {"x": -0.0},
    ]
    assert hits(on_x(range={"gte": 1.0, "lte": 1.5}), payloads, "float") == [0, 1]
    assert hits(on_x(range={"gt": float(2**53)}), payloads, "float") == [3, 5]
    assert hits(on_x(range={"gte": float(2**53)}), payloads, "float") == [3, 4, 5]
    assert hits(on_x(range={"lt": 0.0}), payloads, "float") == []
    assert hits(on_x(range={"lte": 0.0}), payloads, "float") == [9]
    assert hits(on_x(range={"lt": 1}), payloads, "float") == [2, 9]
    # a float index does not answer exact matches: they fall back to the scan
    assert hits(on_x(match={"value": 1}), payloads, "float") == [0]
    assert hits(on_x(range={"gt": "2019-01-01"}), payloads, "float") == [8]


def test_datetime_index_compares_instants() -> None:
    payloads: list[Any] = [
        {"x": "2020-01-01T00:00:00Z"},
        {"x": "2020-01-01 01:30:00+01:00"},
        {"x": ["2019-01-01", "2020-01-01T00:45:00.5z"]},
        {"x": "2020-01-02"},
        {"x": 1577836800},
        {"x": "garbage"},
        {"x": "2020-13-01"},
    ]
    flt = on_x(range={"gt": "2020-01-01T00:00:00Z", "lt": "2020-01-01T02:00:00+01:00"})
    assert hits(flt, payloads, "datetime") == [1, 2]
    assert hits(on_x(range={"gte": "2020-01-01"}), payloads, "datetime") == [0, 1, 2, 3]
    assert hits(on_x(range={"lte": "2019-06-01"}), payloads, "datetime") == [2]
    assert hits(on_x(range={"gt": 0}), payloads, "datetime") == [4]  # numeric: by scan


def test_bool_index() -> None:
    payloads: list[Any] = [{"x": True}, {"x": [False, True]}, {"x": 1}, {"x": "true"}, {"x": False}]
    assert hits(on_x(match={"value": True}), payloads, "bool") == [0, 1]
    assert hits(on_x(match={"value": False}), payloads, "bool") == [1, 4]
    assert hits(on_x(match={"value": 1}), payloads, "bool") == [2]


def test_uuid_index_matches_strings_exactly() -> None:
    u = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
    payloads: list[Any] = [{"x": u}, {"x": u.upper()}, {"x": [u, "other"]}, {"x": 5}]
    assert hits(on_x(match={"value": u}), payloads, "uuid") == [0, 2]
    assert hits(on_x(match={"except": [u]}), payloads, "uuid") == [1, 2, 3]


def test_geo_index_box_radius_polygon() -> None:
    berlin, london = {"lon": 13.405, "lat": 52.52}, {"lon": -0.1278, "lat": 51.5074}
    payloads: list[Any] = [
        {"x": berlin},
        {"x": london},
        {"x": [{"lon": 50, "lat": 50}, {"lon": 5, "lat": 5}]},
        {"x": {"lon": 179, "lat": 0}},
        {"x": {"lon": -179, "lat": 0}},
        {"x": {"lon": "10", "lat": 10}},
        {"x": {"lon": 0, "lat": 0}},
        {"x": {"lon": 500, "lat": 5}},  # out of range: never indexed, always re-checked
        {"x": {"lon": -13.405, "lat": -52.52}},  # Berlin's antipode
    ]
    box = {"top_left": {"lon": 0, "lat": 20}, "bottom_right": {"lon": 20, "lat": 0}}
    assert hits(on_x(geo_bounding_box=box), payloads, "geo") == [2]
    wrap = {"top_left": {"lon": 170, "lat": 5}, "bottom_right": {"lon": -170, "lat": -5}}
    assert hits(on_x(geo_bounding_box=wrap), payloads, "geo") == [3, 4]
    assert hits(on_x(geo_radius={"center": berlin, "radius": 900_000.0}), payloads, "geo") == [0]
    assert hits(on_x(geo_radius={"center": berlin, "radius": 950_000}), payloads, "geo") == [0, 1]
    assert hits(on_x(geo_radius={"center": berlin, "radius": 0}), payloads, "geo") == []
    assert 8 in hits(on_x(geo_radius={"center": berlin, "radius": 2.1e7}), payloads, "geo")
    square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    ring = {"points": [{"lon": lon, "lat": lat} for lon, lat in square]}
    assert hits(on_x(geo_polygon={"exterior": ring}), payloads, "geo") == [2]
    # a point exactly on the radius (as the scalar formula computes it) is decided exactly
    index = build_index("x", {"type": "geo"}, payloads)
    assert index is not None and index.points_count == 7


def test_radius_edges_agree_with_the_scan() -> None:
    rng = random.Random(7)
    payloads: list[Any] = [
        {"x": {"lon": rng.uniform(-180, 180), "lat": rng.uniform(-90, 90)}} for _ in range(300)
    ]
    parsed_center = {"lon": 10.0, "lat": -20.0}
    from segments.filter.values import haversine

    for p in payloads[:40]:
        radius = haversine(10.0, -20.0, p["x"]["lon"], p["x"]["lat"])  # points right on edges
        hits(on_x(geo_radius={"center": parsed_center, "radius": radius}), payloads, "geo")


def test_text_index_needs_all_words_in_one_value() -> None:
    payloads: list[Any] = [
        {"x": "Hello, World!"},
        {"x": "world peace"},
        {"x": "hello_world"},
        {"x": ["hello", "world"]},  # both words, but not in one value
        {"x": ["nothing", "big World Hello"]},
        {"x": 5},
        {"x": "Straße groß"},
    ]
    assert hits(on_x(match={"text": "world hello"}), payloads, "text") == [0, 2, 4]
    assert hits(on_x(match={"text": "wor"}), payloads, "text") == []
    assert hits(on_x(match={"text": ""}), payloads, "text") == []
    assert hits(on_x(match={"text_any": "peace nothing"}), payloads, "text") == [1, 4]
    assert hits(on_x(match={"text_any": ""}), payloads, "text") == []
    assert hits(on_x(match={"phrase": "hello world"}), payloads, "text") == [0, 2]
    assert hits(on_x(match={"phrase": "world hello"}), payloads, "text") == [4]
    assert hits(on_x(match={"text": "STRASSE"}), payloads, "text") == []
    assert hits(on_x(match={"text": "straße"}), payloads, "text") == [6]
    assert hits(on_x(match={"prefix": "hello"}), payloads, "text") == [2, 3]  # by scan


def test_nested_keys_and_flattening() -> None:
    payloads: list[Any] = [
        {"a": [{"b": 1}, {"b": [2, 3]}]},
        {"a": {"b": 3}},
        {"a": [{"b": [[3]]}]},
        {"a": [{"c": 3}]},
    ]
    flt = {"must": [{"key": "a[].b", "match": {"value": 3}}]}
    assert hits(flt, payloads, "integer", key="a[].b") == [0]
    flt = {"must": [{"key": "a.b", "match": {"value": 3}}]}
    assert hits(flt, payloads, "integer", key="a.b") == [1]


# --- equality with the scan on random payloads and filters --------------------------------------

FAMILIES_OF = {
    "keyword": ("match",),
    "uuid": ("match",),
    "integer": ("match", "range"),
    "float": ("range",),
    "datetime": ("range",),
    "bool": ("match",),
    "geo": ("geo",),
    "text": ("match",),
}


def _compare(rng: random.Random, payloads: list[Any], flt: dict[str, Any],
             kind_of: Callable[[str], str | None]) -> None:
    n = len(payloads)
    vectors = {name: np.array([rng.random() < 0.7 for _ in range(n)]) for name in ("", "v")}
    plain = Ctx(payloads, ids=POINT_IDS[:n], vectors=vectors)
    indexed = IndexedCtx(payloads, ids=POINT_IDS[:n], vectors=vectors, kind_of=kind_of)
    parsed = parse_filter(flt)
    want = mask(parsed, plain)
    assert mask(parsed, indexed).tolist() == want.tolist(), (flt, payloads)
    assert estimate(parsed, indexed) >= int(want.sum()), (flt, payloads)
    assert estimate(parsed, plain) >= int(want.sum())


@pytest.mark.parametrize(
    ("kind", "family"), [(k, f) for k, fams in sorted(FAMILIES_OF.items()) for f in fams]
)
@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_indexed_condition_equals_scan(kind: str, family: str, seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    condition = FilterGen(rng, pool).field_condition(family)
    _compare(rng, payloads, {"must": condition}, lambda key: kind)


@pytest.mark.parametrize("kind", TYPES)
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_condition_on_any_index_equals_scan(kind: str, seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    _compare(rng, payloads, {"must": FilterGen(rng, pool).condition(1, False)}, lambda k: kind)


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_indexed_filter_equals_scan(seed: int) -> None:
    rng, payloads, pool = _random_case(seed)
    flt = FilterGen(rng, pool).filter(2)
    kinds: dict[str, str | None] = {}

    def kind_of(key: str) -> str | None:
        if key not in kinds:
            kinds[key] = rng.choice([*TYPES, None])
        return kinds[key]

    _compare(rng, payloads, flt, kind_of)


# --- upkeep under writes ----------------------------------------------------------------------


def _same_as_fresh(seg: AppendableSegment) -> None:
    """Every index of ``seg`` equals one built from its payloads now."""
    for key, index in seg.payload_indexes.items():
        fresh = build_index(key, index.schema, seg.payloads())
        assert fresh is not None
        assert index._vals == fresh._vals, key
        assert (index._other, index._spill, index._order_spill) == (
            fresh._other, fresh._spill, fresh._order_spill
        ), key
        assert index.points_count == fresh.points_count
        if hasattr(index, "sorted_rows"):
            mine, theirs = (
                list(zip(*(a.tolist() for a in ix.sorted_rows()), strict=True))
                for ix in (index, fresh)
            )
            assert [row[0] for row in mine] == sorted(row[0] for row in mine), key
            assert sorted(mine) == sorted(theirs), key


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_indexes_follow_upserts_deletes_and_payload_writes(seed: int) -> None:
    rng = random.Random(seed)
    gen = PayloadGen(rng)
    schema = {key: {"type": rng.choice(TYPES)} for key in rng.sample(KEYS + TYPED_KEYS, 5)}
    seg = AppendableSegment(0, CONFIG)
    seg.attach_index_schema(schema)
    ids = POINT_IDS[:12]
    for op in range(1, 10):
        roll = rng.random()
        chosen = rng.sample(ids, rng.randint(1, 5))
        if roll < 0.4 or seg.size == 0:
            seg.upsert(op, chosen, {}, [gen.payload() for _ in chosen])
        elif roll < 0.55:
            seg.delete(op, seg.offsets_of(chosen))
        elif roll < 0.85:
            offs = seg.offsets_of(chosen)
            seg.set_payloads(op, offs, [gen.payload() or {} for _ in offs.tolist()])
        else:  # the schema changes: a field re-typed, dropped or added
            key = rng.choice(KEYS + TYPED_KEYS)
            if key in schema and rng.random() < 0.5:
                del schema[key]
            else:
                schema[key] = {"type": rng.choice(TYPES)}
            seg.sync_indexes()
        _same_as_fresh(seg)
        assert set(seg.payload_indexes) == set(schema)
        pool = Pool.of([p for p in seg.payloads() if p is not None])
        for _ in range(4):
            parsed = parse_filter(FilterGen(rng, pool).filter(1))
            want = mask(parsed, Unindexed(seg))
            assert mask(parsed, seg).tolist() == want.tolist()
            assert estimate(parsed, seg) >= int(want.sum())


def test_sorted_rows_absorb_changes_lazily() -> None:
    payloads: list[Any] = [{"x": i % 7} for i in range(50)]
    index = build_index("x", {"type": "integer"}, payloads)
    assert index is not None
    values, offsets, _ = index.sorted_rows()  # type: ignore[attr-defined]
    assert values.tolist() == sorted(values.tolist()) and len(values) == 50
    for off in range(0, 50, 3):
        payloads[off] = {"x": [100 + off, -off]}
        index.update(off, payloads[off])
    assert index._rows.dirty  # type: ignore[attr-defined]
    values, offsets, _ = index.sorted_rows()  # type: ignore[attr-defined]
    want = sorted(
        (v, off) for off, p in enumerate(payloads) for v in dict.fromkeys(
            p["x"] if isinstance(p["x"], list) else [p["x"]]
        )
    )
    assert values.tolist() == [v for v, _ in want]
    assert sorted(zip(values.tolist(), offsets.tolist(), strict=True)) == want


def test_rewrites_between_equal_values_of_other_types_are_seen() -> None:
    payloads: list[Any] = [{"x": 1}, {"x": 0.0}]
    index = build_index("x", {"type": "float"}, payloads)
    assert index is not None
    index.update(0, {"x": 1.0})
    index.update(1, {"x": -0.0})
    assert index._vals == {0: (1.0,), 1: (-0.0,)}
    assert [type(v) for v in index._vals[0]] == [float]
    assert str(index._vals[1][0]) == "-0.0"
    assert index.sorted_rows()[2].tolist() == [False, False]  # type: ignore[attr-defined]


def test_text_index_renumbers_after_many_rewrites() -> None:
    payloads: list[Any] = [{"x": f"word{i} common"} for i in range(10)]
    index = build_index("x", {"type": "text"}, payloads)
    assert index is not None
    for round_ in range(400):
        off = round_ % 10
        payloads[off] = {"x": [f"word{round_} common", "extra"]}
        index.update(off, payloads[off])
    assert len(index._value_offset) < 2 * 20 + 1024 + 2  # type: ignore[attr-defined]
    flt = on_x(match={"text": "common word399"})
    got = answer(index, flt, 10).mask
    assert np.flatnonzero(got).tolist() == [9]


# --- estimate ----------------------------------------------------------------------------------


def test_estimate_is_an_upper_bound_from_indexes() -> None:
    payloads: list[Any] = [{"k": "a" if i < 10 else "b", "n": i} for i in range(100)]
    ctx = IndexedCtx(payloads, kind_of=lambda key: {"k": "keyword", "n": "integer"}.get(key))
    a = {"key": "k", "match": {"value": "a"}}
    small = {"key": "n", "range": {"lt": 5}}
    assert estimate(parse_filter({"must": [a]}), ctx) == 10
    assert estimate(parse_filter({"must": [small]}), ctx) == 5
    assert estimate(parse_filter({"must": [a, small]}), ctx) == 5
    assert estimate(parse_filter({"should": [a, small]}), ctx) == 15
    assert estimate(parse_filter({"must": [{"key": "k", "match": {"any": ["a", "b"]}}]}), ctx) == 100
    assert estimate(parse_filter({"must_not": [a]}), ctx) == 100  # unknown
    assert estimate(parse_filter({"must": [{"key": "z", "match": {"value": "a"}}]}), ctx) == 100
    assert estimate(parse_filter({"must": [{"has_id": [1, 2, 999]}]}), ctx) == 2
    assert estimate(parse_filter(None), ctx) == 100
    min_two = {"min_should": {"conditions": [a, small, a], "min_count": 2}}
    assert estimate(parse_filter(min_two), ctx) == 12
    assert estimate(parse_filter({"min_should": {"conditions": [], "min_count": 1}}), ctx) == 0
    assert estimate(parse_filter({"must": [a]}), Ctx(payloads)) == 100  # no indexes: unknown


# --- order_by ----------------------------------------------------------------------------------

ORDER_VALUES: list[Any] = [
    0, 1, 2, 2, 3, 1.0, 2.5, -1, -0.5, 2**53, 2**53 + 1, float(2**53), 2**63, 2**64, -(2**63) - 1,
    True, None, "x", "2020-01-01", "2020-01-01T00:00:00.000001Z", "1970-01-01T00:00:00Z",
    {"n": 1}, [1], 1e300, "2019-05-05 10:00",
]


def _order_payload(rng: random.Random) -> dict[str, Any] | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.1:
        return {}
    if roll < 0.6:
        return {"n": rng.choice(ORDER_VALUES)}
    return {"n": [rng.choice(ORDER_VALUES) for _ in range(rng.randint(0, 3))]}


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_order_by_from_index_equals_payload_scan(seed: int) -> None:
    rng = random.Random(seed)
    segments = []
    pid = 0
    for _ in range(rng.randint(1, 3)):
        seg = AppendableSegment(len(segments), CONFIG)
        kind = rng.choice(["integer", "float", "datetime", "keyword", None])
        seg.attach_index_schema({} if kind is None else {"n": {"type": kind}})
        count = rng.randint(1, 25)
        seg.upsert(1, list(range(pid, pid + count)), {}, [_order_payload(rng) for _ in range(count)])
        pid += count
        gone = seg.offsets_of(rng.sample(range(pid - count, pid), rng.randint(0, min(3, count))))
        seg.delete(2, gone)
        if rng.random() < 0.5:  # rewrites, so the sorted rows have changes to absorb
            offs = np.flatnonzero(seg.live_mask())[: rng.randint(0, 5)]
            seg.set_payloads(3, offs, [_order_payload(rng) or {} for _ in offs.tolist()])
        segments.append(seg)
    locs = [(seg, off) for seg in segments for off in np.flatnonzero(seg.live_mask()).tolist()]
    rng.shuffle(locs)
    if locs and rng.random() < 0.2:
        locs.append(rng.choice(locs))  # a point listed twice
    ids = [seg.ids.ids[off] for seg, off in locs]
    starts = [v for v in ORDER_VALUES if v is not None and not isinstance(v, dict | list | bool)]
    spec = OrderBy(
        "n", rng.random() < 0.5, rng.choice(starts) if rng.random() < 0.3 else None
    )
    top = rng.randint(1, len(locs) + 3)
    got = order_by(spec, ids, locs, top)  # type: ignore[arg-type]
    plain = {id(seg): Unindexed(seg) for seg in segments}
    want = order_by(spec, ids, [(plain[id(s)], off) for s, off in locs], top)  # type: ignore[misc]
    assert got.ids == want.ids
    assert [(type(v), v) for v in got.order_values or []] == [
        (type(v), v) for v in want.order_values or []
    ]
    assert [off for _, off in got.locs] == [off for _, off in want.locs]


def test_order_by_uses_the_index() -> None:
    seg = AppendableSegment(0, CONFIG)
    seg.attach_index_schema({"n": {"type": "float"}})
    seg.upsert(1, [1, 2, 3, 4], {}, [{"n": 3}, {"n": [1.5, 7]}, {"n": "2020-01-01"}, {"n": 1.5}])
    calls: list[int] = []
    original = seg.payload_of

    def counting(off: int) -> dict[str, Any]:
        calls.append(off)
        return original(off)

    seg.payload_of = counting  # type: ignore[method-assign]
    locs = [(seg, off) for off in range(4)]
    out = order_by(OrderBy("n"), [1, 2, 3, 4], locs, 10)  # type: ignore[arg-type]
    assert out.ids == [2, 4, 1, 2, 3]
    assert out.order_values == [1.5, 1.5, 3, 7, 1577836800000000]
    assert isinstance(out.order_values[2], int)
    assert calls == [2]  # only the point with a datetime string is read from its payload


# --- the holder keeps every segment's indexes in line with the schema -------------------------


def _upsert(ids: list[int], payload_of: Callable[[int], Any]) -> dict[str, Any]:
    return {
        "op": "upsert",
        "points": [{"id": i, "vector": {"v": [1.0, float(i)]}, "payload": payload_of(i)}
                   for i in ids],
    }


def _kinds(holder: SegmentHolder) -> list[dict[str, str]]:
    return [
        {k: ix.kind for k, ix in seg.payload_indexes.items()} for seg in holder.segments.values()
    ]


def test_holder_builds_drops_and_reloads_indexes(tmp_path: Path) -> None:
    holder = SegmentHolder(CONFIG, max_points_per_segment=4)
    holder.apply(1, _upsert(list(range(10)), lambda i: {"k": f"t{i % 3}", "n": i}))
    holder.apply(2, {"op": "create_index", "field_name": "k", "field_schema": {"type": "keyword"}})
    assert _kinds(holder) == [{"k": "keyword"}] * 3
    holder.apply(3, _upsert(list(range(10, 16)), lambda i: {"k": "t0", "n": i}))
    assert _kinds(holder) == [{"k": "keyword"}] * 4  # new segments get the index too
    holder.apply(4, {"op": "create_index", "field_name": "n", "field_schema": {"type": "integer"}})
    holder.apply(5, {"op": "create_index", "field_name": "k", "field_schema": {"type": "text"}})
    assert _kinds(holder) == [{"k": "text", "n": "integer"}] * 4
    holder.apply(6, {"op": "delete_index", "field_name": "k"})
    assert _kinds(holder) == [{"n": "integer"}] * 4
    holder.apply(7, {"op": "create_index", "field_name": "k", "field_schema": {"type": "keyword"}})
    holder.apply(8, {"op": "set_payload", "ids": [1, 2], "payload": {"k": "t9"}, "key": None})
    holder.write_flush(tmp_path, holder.flush_plan())
    loaded = SegmentHolder.load(tmp_path, CONFIG, 4)
    assert _kinds(loaded) == [{"k": "keyword", "n": "integer"}] * 4
    flt = parse_filter({"must": [{"key": "k", "match": {"value": "t9"}}]})
    found = sorted(pid for seg, offs in loaded.select_filter(flt) for pid in seg.point_ids(offs))
    assert found == [1, 2]
    loaded.apply(9, _upsert(list(range(16, 20)), lambda i: {"k": "t9"}))
    assert _kinds(loaded)[-1] == {"k": "keyword", "n": "integer"}


def test_rebuilt_segments_carry_indexes_and_catch_up_with_the_schema() -> None:
    holder = SegmentHolder(CONFIG, max_points_per_segment=100)
    holder.apply(1, _upsert(list(range(20)), lambda i: {"k": f"t{i % 2}", "n": i}))
    holder.apply(2, {"op": "create_index", "field_name": "k", "field_schema": {"type": "keyword"}})
    seg_id = next(iter(holder.segments))
    prepared = holder.prepare_rebuild([seg_id])
    assert prepared is not None
    snapshots, version = prepared
    built = ImmutableSegment.build(snapshots[0], CONFIG, 1)
    origin = [(seg_id, int(o)) for o in built.source_offsets.tolist()]
    assert set(built.payload_indexes) == {"k"}
    # the schema changes after the build, before the swap
    holder.apply(3, {"op": "create_index", "field_name": "n", "field_schema": {"type": "integer"}})
    assert holder.swap([seg_id], built, version, origin)
    assert set(built.payload_indexes) == {"k"}
    assert built.payload_index("n") is not None  # caught up on first use
    holder.apply(4, {"op": "delete_index", "field_name": "n"})
    holder.apply(5, {"op": "set_payload", "ids": [0], "payload": {"k": "t1"}, "key": None})
    assert set(built.payload_indexes) == {"k"}
    flt = parse_filter({"must": [{"key": "k", "match": {"value": "t1"}}]})
    got = sorted(pid for seg, offs in holder.select_filter(flt) for pid in seg.point_ids(offs))
    assert got == [0, *range(1, 20, 2)]
    for seg in holder:
        assert mask(flt, seg).tolist() == mask(flt, Unindexed(seg)).tolist()
        _same_as_fresh(seg)
