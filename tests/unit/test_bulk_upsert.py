"""Upserts parsed in bulk give exactly what the per-point checks give, and refuse what they
refuse (with the per-point error); columnar records round-trip through the WAL's format 2 and
apply like the per-point form."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import orjson
import pytest

from collection import operations
from collection.bulk import NotBulk, points_columns
from collection.bulk_json import points_from_json
from collection.config import CollectionConfig
from collection.errors import HeronError
from segments.holder import SegmentHolder
from wal import records

CONFIG = CollectionConfig.model_validate({
    "vectors": {"d": {"size": 3, "distance": "Cosine"},
                "u": {"size": 2, "distance": "Dot", "datatype": "uint8"},
                "m": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}},
    "sparse_vectors": {"s": {}},
})


def _point(i: int, **vec: Any) -> dict[str, Any]:
    return {"id": i, "vector": vec or {"d": [1.0, 2.0, float(i)]}, "payload": {"cat": i % 3}}


GOOD = [
    [_point(i, d=[0.5, -1, i], s={"indices": [9, 2, 4], "values": [1, 0.5, 2.0]}) for i in range(5)],
    [_point(i, s={"indices": [], "values": []}) for i in range(3)],
    [_point(1, u=[300.7, -2]), _point(2, u=[1, 0])],
    [_point(1), _point(2, s={"indices": [0, 1], "values": [0.0, 1.0]}), _point(1)],
    [{"id": "5f0d7d52-5c9a-4c4e-9d0c-7b1e0f4f2a11", "vector": {"d": [1, 0, 0]}}],
    [_point(i, d=[0.0, 1.0, 0.0]) for i in range(4)],
    # sorted rows, each starting below where the last ended, empty rows between and at the ends
    [_point(0, s={"indices": [], "values": []}), _point(1, s={"indices": [5, 7], "values": [1, 2]}),
     _point(2, s={"indices": [], "values": []}), _point(3, s={"indices": [1, 2], "values": [3, 4]}),
     _point(4, s={"indices": [0], "values": [5]}), _point(5, s={"indices": [], "values": []})],
    [_point(1, s={"indices": [7, 5], "values": [1, 2]}), _point(2, s={"indices": [1, 2], "values": [3, 4]})],
]

BAD = [
    [_point(1), _point(2, d=[1.0, True, 2.0])],
    [_point(1, d=[1.0, 2.0])],
    [_point(1, d=[1.0, "2", 3.0])],
    [_point(1, d=[1.0, None, 3.0])],
    [_point(1, d=[1.0, 1e39, 3.0])],
    [_point(1, s={"indices": [1, 1], "values": [1.0, 2.0]})],
    [_point(1, s={"indices": [1, True], "values": [1.0, 2.0]})],
    [_point(1, s={"indices": [1, 2], "values": [1.0, False]})],
    [_point(1, s={"indices": [-1], "values": [1.0]})],
    [_point(1, s={"indices": [2**32], "values": [1.0]})],
    [_point(1, s={"indices": [1.5], "values": [1.0]})],
    [_point(1, s={"indices": [1], "values": [1.0, 2.0]})],
    [_point(1, s=[1.0, 2.0])],
    [_point(1, nope=[1.0, 2.0, 3.0])],
    [_point(1), {"id": -3, "vector": {"d": [1, 2, 3]}}],
    [_point(1), {"vector": {"d": [1, 2, 3]}}],
    [_point(1), {"id": 2, "vector": {"d": [1, 2, 3]}, "payload": [1]}],
    [_point(1, d=[1, 2, 3], s={"indices": [1], "values": [float("nan")]})],
    # simdjson flattens a nested array: as many numbers as the vector's size must not pass
    [_point(1, d=[[1.0], 2.0, 3.0])],
    [_point(1, d=[[], [1.0, 2.0], 3.0], s={"indices": [1, 2], "values": [[1.0], 2.0]})],
    [_point(1, s={"indices": [1, 2], "values": [[1.0], 2.0]})],
    [_point(1, d=[[1.0], 2.0, 3.0]), _point(2, d=[1.0, 2.0, 3.0], s={"indices": [1], "values": [1]})],
    # rows of other sizes that add up to whole rows of the right one
    [_point(1, d=[1.0, 2.0]), _point(2, d=[1.0, 2.0, 3.0, 4.0])],
    # a nested vector beside a payload holding a list (the text's "[" count does not tell)
    [_point(1, d=[[1.0], 2.0, 3.0]) | {"payload": {"tags": ["a[", [1]]}}],
]


def _per_point(raw: list[Any]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    return operations._per_point(CONFIG, operations._points(CONFIG, raw))


def _same_columns(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["kind"] == b[name]["kind"]
        for key, value in a[name].items():
            if key != "kind":
                np.testing.assert_array_equal(np.asarray(value), np.asarray(b[name][key]))
                assert np.asarray(value).dtype.kind == np.asarray(b[name][key]).dtype.kind


@pytest.mark.parametrize("raw", GOOD)
def test_bulk_gives_what_the_per_point_path_gives(raw: list[Any]) -> None:
    ids, payloads, cols = points_columns(CONFIG, copy.deepcopy(raw))
    ids2, payloads2, cols2 = _per_point(copy.deepcopy(raw))
    assert ids == ids2 and payloads == payloads2
    _same_columns(cols, cols2)


@pytest.mark.parametrize("raw", BAD)
def test_bulk_leaves_what_to_refuse_to_the_per_point_path(raw: list[Any]) -> None:
    with pytest.raises(NotBulk):
        points_columns(CONFIG, copy.deepcopy(raw))
    with pytest.raises(HeronError) as bulk_err:
        operations.upsert(CONFIG, {"points": copy.deepcopy(raw)})
    with pytest.raises(HeronError) as legacy_err:
        _per_point(copy.deepcopy(raw))
    assert bulk_err.value.message == legacy_err.value.message
    assert bulk_err.value.status == legacy_err.value.status


def test_multivectors_and_documents_take_the_per_point_path() -> None:
    raw = [_point(1, m=[[1, 2], [3, 4]]), _point(2, s={"model": "qdrant/bm25", "text": "a b"})]
    with pytest.raises(NotBulk):
        points_columns(CONFIG, raw)
    record = operations.upsert(CONFIG, {"points": raw})
    assert record["ids"] == [1, 2]
    assert record["vectors"]["m"]["kind"] == "multi"
    assert record["vectors"]["s"]["has"].tolist() == [False, True]


def test_last_id_wins_and_the_record_round_trips_the_wal() -> None:
    raw = [_point(1), _point(2, s={"indices": [3, 1], "values": [0.3, 0.1]}),
           _point(1, d=[9, 9, 9], s={"indices": [7], "values": [7]})]
    record = operations.upsert(CONFIG, {"points": raw, "update_mode": "upsert"})
    assert record["ids"] == [2, 1]
    data = records.encode(record)
    assert data[0] == records.FORMAT_VERSION
    back = records.decode(data)
    assert back["ids"] == [2, 1] and back["payloads"] == record["payloads"]
    _same_columns(back["vectors"], record["vectors"])
    assert back["vectors"]["s"]["indices"].tolist() == [1, 3, 7]


def test_batch_record_round_trips_and_format_1_still_reads() -> None:
    up = operations.upsert(CONFIG, {"points": [_point(4)]})
    batch = {"op": "batch", "ops": [up, {"op": "delete_points", "ids": [3]}]}
    back = records.decode(records.encode(batch))
    assert back["ops"][1] == {"op": "delete_points", "ids": [3]}
    _same_columns(back["ops"][0]["vectors"], up["vectors"])
    old = b"\x01" + b'{"op":"upsert","points":[{"id":1,"vector":{"d":[1,0,0]},"payload":null}]}'
    assert records.decode(old)["points"][0]["id"] == 1


def _state(holder: SegmentHolder) -> dict[Any, Any]:
    out = {}
    for seg in holder:
        for off in np.flatnonzero(seg.live_mask()).tolist():
            out[seg.ids.ids[off]] = (seg.payload_of(off), {n: seg.vector_of(off, n)
                                                           for n in ("d", "u", "m", "s")})
    return out


def test_columnar_and_per_point_records_apply_alike() -> None:
    raw = [_point(i, d=[1, i, 2], s={"indices": [i, i + 5], "values": [1.0, 0.5]}) for i in range(7)]
    raw += [_point(i, u=[i, 3]) for i in range(3, 10)] + [_point(11, m=[[1, 2]])]
    a = SegmentHolder(CONFIG.segment, 4)  # small segments: the batch is split between them
    b = SegmentHolder(CONFIG.segment, 4)
    for op, chunk in enumerate((raw[:6], raw[6:], raw[2:9]), start=1):
        record = operations.upsert(CONFIG, {"points": copy.deepcopy(chunk)})
        a.apply(op, records.decode(records.encode(record)))
        legacy = operations._points(CONFIG, copy.deepcopy(chunk))
        last = {p["id"]: p for p in legacy}
        b.apply(op, {"op": "upsert", "points": list(last.values())})
    assert _state(a) == _state(b)
    assert len(_state(a)) == 11


@pytest.mark.parametrize("raw", GOOD)
def test_json_text_path_gives_what_the_parsed_path_gives(raw: list[Any]) -> None:
    body = {"points": raw, "update_mode": "upsert", "update_filter": {"must": []}}
    rest, (ids, payloads, cols) = points_from_json(CONFIG, orjson.dumps(body))
    assert rest == {"update_mode": "upsert", "update_filter": {"must": []}}
    ids2, payloads2, cols2 = _per_point(copy.deepcopy(raw))
    assert ids == ids2 and payloads == payloads2
    _same_columns(cols, cols2)


def test_json_text_path_reads_lists_and_brackets_in_payloads() -> None:
    raw = [_point(1) | {"payload": {"tags": ["x", "y[", [1, [2]]]}},
           _point(2, s={"indices": [3, 1], "values": [0.5, 1]}) | {"payload": {"t": "]["}}]
    rest, (ids, payloads, cols) = points_from_json(CONFIG, orjson.dumps({"points": raw}))
    ids2, payloads2, cols2 = _per_point(copy.deepcopy(raw))
    assert rest == {} and ids == ids2 and payloads == payloads2
    _same_columns(cols, cols2)


@pytest.mark.parametrize("raw", BAD)
def test_json_text_path_leaves_what_to_refuse(raw: list[Any]) -> None:
    with pytest.raises(NotBulk):
        points_from_json(CONFIG, orjson.dumps({"points": raw}))


@pytest.mark.parametrize("text", [
    b'{"points": [{"id": 1, "id": 2, "vector": {"d": [1, 2, 3]}}]}',
    b'{"points": [{"id": 1, "vector": {"d": [1, 2, 3], "d": [3, 2, 1]}}]}',
    b'{"points": [{"id": 1, "vector": {"d": [[1, 2], 3]}}]}',
    b'{"points": [{"id": 1, "vector": {"d": [1, 2, 3e400]}}]}',
    b'{"points": [{"id": 1, "vector": null}]}',
    b'{"points": [{"id": 1, "vector": {"s": {"indices": [1], "values": [1], "model": "x"}}}]}',
    b'{"points": [{"id": 1, "vector": {"d": [1, 2, 3]}}], "points": []}',
    b'{"points": [{"id": 1, "vector": {"d": [1, 2, 3]}}',
    b'[1, 2]',
    b'{"batch": {"ids": [1], "vectors": {"d": [[1, 2, 3]]}}}',
])
def test_json_text_path_declines_unusual_text(text: bytes) -> None:
    with pytest.raises(NotBulk):
        points_from_json(CONFIG, text)


def _legacy_batch(batch: dict[str, Any]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    return operations._per_point(CONFIG, operations._batch_points(CONFIG, batch))


@pytest.mark.parametrize("batch", [
    {"ids": [1, 2, 3], "vectors": {"d": [[1, 2, 3], [4, 5, 6], None],
                                   "s": [None, {"indices": [2, 1], "values": [1, 2]}, None]},
     "payloads": [{"a": 1}, None, {"b": 2}]},
    {"ids": [1, 2], "vectors": {"u": [[1, 2], [300, -1]]}},
])
def test_columnar_batches_parse_in_bulk_alike(batch: dict[str, Any]) -> None:
    record = operations.upsert(CONFIG, {"batch": copy.deepcopy(batch)})
    ids, payloads, cols = _legacy_batch(copy.deepcopy(batch))
    assert record["ids"] == ids and record["payloads"] == payloads
    _same_columns(record["vectors"], cols)


@pytest.mark.parametrize("batch", [
    {"ids": [1, 2], "vectors": {"d": [[1, 2, 3]]}},
    {"ids": [1], "vectors": {"d": [[1, True, 3]]}},
    {"ids": [1], "vectors": [[1, 2, 3]], "payloads": [1]},
    {"ids": [1], "vectors": "no"},
])
def test_bad_columnar_batches_get_the_per_point_error(batch: dict[str, Any]) -> None:
    with pytest.raises(HeronError) as bulk_err:
        operations.upsert(CONFIG, {"batch": copy.deepcopy(batch)})
    with pytest.raises(HeronError) as legacy_err:
        _legacy_batch(copy.deepcopy(batch))
    assert bulk_err.value.message == legacy_err.value.message
