"""Payload indexes through the API: with every field indexed, filtered scroll, count, search and
order_by answer exactly as qdrant-client's local mode (which has no indexes) does, before and
after writes, after the optimizer rebuilt segments, and after restarts (indexes are rebuilt from
payloads on load). ``payload_schema`` counts the points each index holds."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server import HeronProcess

NAME = "pidx"
DIM = 8
T = models.PayloadSchemaType
FIELDS: dict[str, models.PayloadSchemaType] = {
    "city": T.KEYWORD,
    "n": T.INTEGER,
    "price": T.FLOAT,
    "ts": T.DATETIME,
    "flag": T.BOOL,
    "loc": T.GEO,
    "desc": T.TEXT,
    "uid": T.UUID,
}
CITIES = ["Berlin", "Paris", "London", "Rome", "Oslo", "Lima"]
WORDS = ["quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Hello", "world"]
UIDS = [str(uuid.UUID(int=(i + 1) * 0x9E3779B97F4A7C15)) for i in range(5)]
START = datetime(2024, 1, 1, 8, 0, 0)
TS_FORMATS = ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S+01:00"]
EXACT = models.SearchParams(exact=True)


# --- data ----------------------------------------------------------------------------------


def _vector(rng: random.Random) -> list[float]:
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def _payload(rng: random.Random, pid: int) -> dict[str, Any]:
    """Mostly well-typed values, with arrays, other types and missing fields mixed in."""
    p: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.6:
        p["city"] = rng.choice(CITIES)
    elif roll < 0.8:
        p["city"] = rng.sample(CITIES, 2)
    elif roll < 0.9:
        p["city"] = rng.choice([1, None, True, []])
    roll = rng.random()
    if roll < 0.6:
        p["n"] = rng.randint(0, 20)
    elif roll < 0.75:
        p["n"] = [rng.randint(0, 20) for _ in range(rng.randint(0, 3))]
    elif roll < 0.85:
        p["n"] = rng.choice([2.5, 7.0, -1.5])
    elif roll < 0.9:
        p["n"] = "5"
    if rng.random() < 0.9:
        p["price"] = pid * 1.25 + 0.5
    if rng.random() < 0.9:
        moment = START + timedelta(minutes=37 * pid + rng.randint(0, 30))
        p["ts"] = moment.strftime(rng.choice(TS_FORMATS))
    roll = rng.random()
    if roll < 0.8:
        p["flag"] = rng.random() < 0.5
    elif roll < 0.9:
        p["flag"] = [True, False]
    roll = rng.random()
    if roll < 0.85:
        p["loc"] = {"lon": rng.uniform(-10, 30), "lat": rng.uniform(35, 60)}
    elif roll < 0.9:
        p["loc"] = [{"lon": rng.uniform(-10, 30), "lat": rng.uniform(35, 60)} for _ in range(2)]
    roll = rng.random()
    if roll < 0.8:
        p["desc"] = " ".join(rng.sample(WORDS, 3))
    elif roll < 0.9:
        p["desc"] = [" ".join(rng.sample(WORDS, 2)) for _ in range(2)]
    if rng.random() < 0.9:
        p["uid"] = rng.choice(UIDS)
    return p


def _points(rng: random.Random, ids: range) -> list[models.PointStruct]:
    return [models.PointStruct(id=i, vector=_vector(rng), payload=_payload(rng, i)) for i in ids]


def _cond(key: str, **check: Any) -> dict[str, Any]:
    return {"key": key, **check}


BOX = {"top_left": {"lon": 0, "lat": 55}, "bottom_right": {"lon": 15, "lat": 45}}
RING = {"points": [{"lon": lon, "lat": lat} for lon, lat in
                   [(0, 40), (20, 40), (20, 55), (5, 58), (0, 40)]]}
FILTERS: list[dict[str, Any]] = [
    {"must": [_cond("city", match={"value": "Berlin"})]},
    {"must": [_cond("city", match={"any": ["Paris", "Oslo"]})]},
    {"must": [_cond("city", match={"except": ["Berlin", "Rome"]})]},
    {"must": [_cond("city", match={"value": 1})]},
    {"must": [_cond("n", match={"value": 7})]},
    {"must": [_cond("n", match={"any": [1, 2, 3]})]},
    {"must": [_cond("n", match={"except": [0, 1, 2, 3, 4, 5]})]},
    {"must": [_cond("n", range={"gte": 5, "lt": 8})]},
    {"must": [_cond("n", range={"gt": 2.4, "lte": 7})]},
    {"must": [_cond("price", range={"gt": 100, "lte": 250.5})]},
    {"must": [_cond("ts", range={"gte": "2024-01-02T00:00:00Z", "lt": "2024-01-05 12:00:00"})]},
    {"must": [_cond("ts", range={"lt": "2024-01-03T10:00:00+02:00"})]},
    {"must": [_cond("flag", match={"value": True})]},
    {"must": [_cond("flag", match={"value": False})]},
    {"must": [_cond("loc", geo_radius={"center": {"lon": 10, "lat": 50}, "radius": 500_000})]},
    {"must": [_cond("loc", geo_bounding_box=BOX)]},
    {"must": [_cond("loc", geo_polygon={"exterior": RING})]},
    {"must": [_cond("desc", match={"text": "quick fox"})]},
    {"must": [_cond("desc", match={"text_any": "lazy hello"})]},
    {"must": [_cond("desc", match={"phrase": "brown fox"})]},
    {"must": [_cond("uid", match={"value": UIDS[1]})]},
    {
        "must": [_cond("n", range={"gte": 3})],
        "should": [_cond("city", match={"value": "Paris"}), _cond("flag", match={"value": True})],
        "must_not": [_cond("desc", match={"text": "dog"})],
    },
    {"min_should": {"conditions": [_cond("city", match={"value": "Lima"}),
                                   _cond("n", range={"lt": 4}),
                                   _cond("uid", match={"any": UIDS[:2]})], "min_count": 2}},
    {"must_not": [_cond("price", range={"gte": 10})]},
]


# --- comparing --------------------------------------------------------------------------------


def _ids(client: QdrantClient, flt: models.Filter) -> list[Any]:
    records, _ = client.scroll(NAME, scroll_filter=flt, limit=10_000, with_payload=False)
    return sorted(r.id for r in records)


def _ordered(client: QdrantClient, order: models.OrderBy, flt: models.Filter | None,
             limit: int) -> list[tuple[Any, float]]:
    points = client.query_points(
        NAME, query=models.OrderByQuery(order_by=order), query_filter=flt, limit=limit
    ).points
    return [(p.id, float(p.order_value)) for p in points]  # type: ignore[arg-type]


def _tie_groups(rows: list[tuple[Any, float]]) -> list[tuple[float, list[Any]]]:
    """Ordered values with the (sorted) ids holding each: ties may come in any order."""
    out: list[tuple[float, list[Any]]] = []
    for pid, value in rows:
        if out and out[-1][0] == value:
            out[-1][1].append(pid)
        else:
            out.append((value, [pid]))
    return [(v, sorted(ids)) for v, ids in out]


def assert_same(heron: QdrantClient, local: QdrantClient, n_ranged: bool = True) -> None:
    """Every filter and ordering gives the same points on heron and in local mode (ordering
    by ``n`` only while ``n`` has a range index: Qdrant refuses order_by without one)."""
    rng = random.Random(5)
    for i, raw in enumerate(FILTERS):
        flt = models.Filter.model_validate(raw)
        want = _ids(local, flt)
        assert _ids(heron, flt) == want, raw
        assert heron.count(NAME, count_filter=flt, exact=True).count == len(want), raw
        if i % 3:
            continue
        query = _vector(rng)
        got = heron.query_points(NAME, query=query, query_filter=flt, limit=5, search_params=EXACT)
        exp = local.query_points(NAME, query=query, query_filter=flt, limit=5)
        assert [p.id for p in got.points] == [p.id for p in exp.points], raw
    some = models.Filter.model_validate(FILTERS[2])
    for order, flt, limit in [
        (models.OrderBy(key="price"), None, 15),
        (models.OrderBy(key="price", direction=models.Direction.DESC, start_from=200), some, 10),
        (models.OrderBy(key="ts", direction=models.Direction.DESC), None, 12),
        (models.OrderBy(key="ts", start_from="2024-01-03T00:00:00Z"), some, 12),
    ]:  # distinct values: the exact order is known
        assert _ordered(heron, order, flt, limit) == _ordered(local, order, flt, limit), order
    for order, flt in [
        (models.OrderBy(key="n"), None),
        (models.OrderBy(key="n", direction=models.Direction.DESC, start_from=12), some),
    ]:  # many ties and multi-valued points: the whole list, tie by tie
        if not n_ranged:
            with pytest.raises(UnexpectedResponse, match="No range index"):
                _ordered(heron, order, flt, 10)
            continue
        got_rows, want_rows = (_ordered(c, order, flt, 10_000) for c in (heron, local))
        assert _tie_groups(got_rows) == _tie_groups(want_rows), order


def _captured(kind: models.PayloadSchemaType, value: Any) -> bool:
    """Whether an index of ``kind`` holds ``value`` (one flattened value of a field)."""
    if kind in (T.KEYWORD, T.TEXT, T.UUID):
        return isinstance(value, str)
    if kind == T.INTEGER:
        return type(value) is int
    if kind == T.FLOAT:
        return type(value) in (int, float)
    if kind == T.BOOL:
        return type(value) is bool
    if kind == T.DATETIME:
        return isinstance(value, str) and value[:4].isdigit()
    return isinstance(value, dict) and "lon" in value


def assert_schema_counts(heron: QdrantClient, local: QdrantClient) -> None:
    """``payload_schema`` lists every index with how many points hold a value of its type."""
    schema = heron.get_collection(NAME).payload_schema
    assert set(schema) == set(FIELDS)
    records, _ = local.scroll(NAME, limit=10_000)
    for key, kind in FIELDS.items():
        assert schema[key].data_type == kind
        expected = 0
        for r in records:
            value = (r.payload or {}).get(key)
            values = value if isinstance(value, list) else [value]
            expected += any(_captured(kind, v) for v in values)
        assert schema[key].points == expected, key


def wait_green(client: QdrantClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get_collection(NAME).status != models.CollectionStatus.GREEN:
        assert time.monotonic() < deadline, "the optimizer never finished"
        time.sleep(0.05)


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[HeronProcess]:
    env = {"HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "80",
           "HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.5"}
    proc = HeronProcess(tmp_path / "storage", env=env).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def test_indexed_fields_answer_like_local_mode(server: HeronProcess) -> None:
    rng = random.Random(11)
    heron = QdrantClient(url=server.url, timeout=30)
    local = QdrantClient(":memory:")
    for client in (heron, local):
        client.create_collection(
            NAME,
            vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT),
            optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
        )

    def upsert(points: list[models.PointStruct]) -> None:
        for client in (heron, local):
            client.upsert(NAME, points, wait=True)

    upsert(_points(rng, range(0, 250)))
    for key, kind in FIELDS.items():  # built over what is there ...
        heron.create_payload_index(NAME, key, field_schema=kind, wait=True)
    upsert(_points(rng, range(250, 400)))  # ... and kept up to date
    assert_same(heron, local)
    assert_schema_counts(heron, local)

    # every kind of write, on both sides
    changed = _points(rng, range(100, 160))
    upsert(changed)
    paris = models.Filter(must=[models.FieldCondition(key="city",
                                                      match=models.MatchValue(value="Paris"))])
    for client in (heron, local):
        client.set_payload(NAME, {"n": 99, "city": "Atlantis"}, points=paris, wait=True)
        client.overwrite_payload(NAME, {"desc": "quick fox", "n": [1, 2.5]},
                                 points=list(range(20, 40)), wait=True)
        client.delete_payload(NAME, ["loc", "ts"], points=list(range(40, 70)), wait=True)
        client.clear_payload(NAME, points_selector=list(range(70, 75)), wait=True)
        client.delete(NAME, points_selector=models.Filter(must=[models.FieldCondition(
            key="price", range=models.Range(gte=300, lt=340))]), wait=True)
        client.delete(NAME, points_selector=list(range(0, 10)), wait=True)
    upsert(_points(rng, range(400, 480)))
    assert_same(heron, local)
    assert_schema_counts(heron, local)

    wait_green(heron)  # segments rebuilt by the optimizer carry their indexes
    assert_same(heron, local)
    upsert(_points(rng, range(200, 230)))  # points move out of indexed segments
    assert_same(heron, local)

    server.restart()  # SIGKILL: indexes rebuilt from flushed payloads plus the WAL replay
    heron = QdrantClient(url=server.url, timeout=30)
    assert_same(heron, local)
    assert_schema_counts(heron, local)
    assert server.stop() == 0
    server.start()  # a clean restart
    heron = QdrantClient(url=server.url, timeout=30)
    wait_green(heron)
    assert_same(heron, local)

    # without an index the same filters are answered by scanning: no difference
    heron.delete_payload_index(NAME, "city", wait=True)
    heron.create_payload_index(NAME, "n", field_schema=T.KEYWORD, wait=True)  # re-typed
    assert "city" not in heron.get_collection(NAME).payload_schema
    assert_same(heron, local, n_ranged=False)
    upsert(_points(rng, range(480, 500)))
    assert_same(heron, local, n_ranged=False)
