"""Compact forms of per-point lookups: a restored id tracker's sorted arrays, a payload
index's postings once read, shared payloads of indexed segments. Each must answer exactly as
the plain dict / set / per-point objects did."""

from __future__ import annotations

import numpy as np
import orjson

from segments.id_tracker import IdTracker
from segments.json_values import shared_payloads
from segments.payload_index.base import Postings


def _restored(ids: list, deleted: list[bool]) -> IdTracker:
    tracker = IdTracker()
    tracker.restore(ids, np.arange(len(ids), dtype=np.int64), np.array(deleted, dtype=bool))
    return tracker


def test_restored_tracker_finds_live_ids_only() -> None:
    # id 7 was deleted at offset 0 and upserted again at offset 3 of the same segment
    tracker = _restored([7, 2**64 - 1, 5, 7, 9], [True, False, False, False, False])
    assert tracker.live_count == 4
    assert tracker.lookup([7, 2**64 - 1, 5, 9, 8, "0f0e0d0c-0b0a-0908-0706-050403020100"]) == [
        3, 1, 2, 4, None, None]
    assert tracker.offset_of(7) == 3
    assert tracker.lookup([-1, 2**64, 1.0, True, 5]) == [None, None, None, None, 2]
    assert tracker.offset_of(-1) is None and tracker.offset_of(2**64) is None
    assert tracker.offsets_of([9, 1, 5]).tolist() == [4, 2]
    tracker.delete(np.array([2, 2, 0]))  # 0 was deleted already: counted once, not at all
    assert tracker.live_count == 3
    assert tracker.lookup([5, 7]) == [None, 3]


def test_restored_tracker_takes_new_points_as_before() -> None:
    tracker = _restored([7, 5, 7], [True, False, False])
    tracker.delete(np.array([1]))
    offsets, new = tracker.assign([5, 7, 11])
    assert offsets.tolist() == [3, 2, 4] and new.tolist() == [True, False, True]
    assert tracker.live_count == 3
    assert tracker.lookup([5, 7, 11]) == [3, 2, 4]


def test_uuid_ids_keep_the_dict() -> None:
    uid = "0f0e0d0c-0b0a-0908-0706-050403020100"
    tracker = _restored([uid, 3], [False, False])
    assert tracker.lookup([3, uid, 4]) == [1, 0, None]


def test_postings_array_then_set_again() -> None:
    postings = Postings()
    for off in (4, 1, 9):
        postings.add("a", off)
    postings.add("b", 2)
    assert sorted(postings.array("a").tolist()) == [1, 4, 9]
    assert postings.count("a") == 3 and len(postings) == 2
    assert postings.members("a") == {1, 4, 9}
    postings.add("a", 5)  # a write after a read: a set again, the array recomputed
    postings.discard("a", 1)
    assert sorted(postings.array("a").tolist()) == [4, 5, 9]
    postings.discard("b", 2)
    postings.discard("c", 2)
    assert postings.keys() == ["a"] and postings.array("b").size == 0
    postings.add("c", 3)
    postings.freeze()
    assert postings.members("c") == {3} and postings.count("a") == 3


def test_built_index_answers_as_one_updated_point_by_point() -> None:
    from segments.filter.model import FieldCondition
    from segments.filter.parse import parse_filter
    from segments.payload_index import build_index

    shared = {"cat": 1}
    payloads = [shared, {"cat": 2}, None, shared, {"cat": [1, 3.5]}, {"cat": "x"}, {"cat": 2}]
    built = build_index("cat", {"type": "integer"}, payloads)
    stepwise = build_index("cat", {"type": "integer"}, [])
    for offset, payload in enumerate(payloads):
        stepwise.update(offset, payload)
    flt = parse_filter({"must": [{"key": "cat", "match": {"any": [1, 2]}}]})
    cond = flt.must[0]
    assert isinstance(cond, FieldCondition)
    a, b = built.answer(cond, len(payloads)), stepwise.answer(cond, len(payloads))
    assert a is not None and b is not None
    assert a.mask.tolist() == b.mask.tolist() == [True, True, False, True, True, False, True]
    assert sorted(a.rescan.tolist()) == sorted(b.rescan.tolist())
    assert built.sorted_rows()[0].tolist() == stepwise.sorted_rows()[0].tolist()
    built.update(0, {"cat": 2})  # a write after the build: the array is a set again
    assert built.answer(cond, len(payloads)).mask.tolist()[0]


def test_shared_payloads_are_equal_and_shared_only_when_identical() -> None:
    values = [{"cat": i % 3} for i in range(3000)] + [
        None, {"cat": 1.0}, {"cat": True}, {"cat": -0.0}, {"cat": 0.0}, {"b": 1, "cat": 1},
        {"cat": 1, "b": 1}, {"cat": [1, {"x": None}]}, {"cat": [1, {"x": None}]}]
    out = shared_payloads(values)
    assert orjson.dumps(out) == orjson.dumps(values)
    assert all(a is not b for a, b in zip(out, values, strict=True) if a is not None)
    assert out[0] is out[3] and out[1] is not out[0]
    assert out[3001] is not out[1] and out[3002] is not out[1]  # 1.0 and True are not 1
    assert out[3003] is not out[3004]  # -0.0 is not 0.0
    assert out[3005] is not out[3006]  # key order differs
    distinct = [{"cat": i} for i in range(3000)]
    assert orjson.dumps(shared_payloads(distinct)) == orjson.dumps(distinct)
