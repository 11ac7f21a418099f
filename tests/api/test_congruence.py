"""heron and qdrant-client's local mode, given the same data and calls, must answer the same.

One collection with a named vector of each distance and ~300 points with varied payloads is
loaded into both; hypothesis then draws filters (every condition type) and request shapes,
and every answer is compared.
"""

from __future__ import annotations

import math
import os
import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

DIM = 8
SEED = 20240519
N_INT_IDS = 260
N_UUID_IDS = 40
VECTORS: dict[str, models.Distance] = {
    "cos": models.Distance.COSINE,
    "dot": models.Distance.DOT,
    "euc": models.Distance.EUCLID,
    "man": models.Distance.MANHATTAN,
}
KW = ["red", "green", "blue", "amber", "violet", "black"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
PAYLOAD_KEYS = [
    "int", "float", "kw", "tags", "text", "flag", "nul", "dt", "geo", "nested", "arr", "mixed",
]
ANCHORS = [
    datetime(2021, 1, 1, tzinfo=UTC) + timedelta(days=37 * k, hours=5 * k, minutes=k)
    for k in range(30)
]

# HERON_CONGRUENCE_EXAMPLES raises the number of drawn cases for a longer hunt.
HYPO = settings(
    max_examples=int(os.environ.get("HERON_CONGRUENCE_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- data --------------------------------------------------------------------------------


def _dt_text(rng: random.Random, when: datetime) -> str:
    """A datetime in one of the textual forms Qdrant accepts (or, rarely, not a date)."""
    form = rng.randrange(8)
    if form == 0:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == 1:
        return when.astimezone(timezone(timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    if form == 2:
        return when.strftime("%Y-%m-%dT%H:%M:%S")
    if form == 3:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    if form == 4:
        return when.strftime("%Y-%m-%d")
    if form == 5:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if form == 6:
        return when.astimezone(timezone(timedelta(hours=-5))).isoformat()
    return "not a date"


def _geo(rng: random.Random) -> dict[str, float]:
    return {"lon": rng.uniform(-10.0, 30.0), "lat": rng.uniform(35.0, 60.0)}


def _payload(rng: random.Random) -> dict[str, Any]:
    """A random payload; every field may be missing."""
    p: dict[str, Any] = {}
    r = rng.random()
    if r < 0.75:
        p["int"] = rng.randrange(0, 50)
    elif r < 0.88:
        p["int"] = [rng.randrange(0, 50) for _ in range(rng.randrange(0, 4))]
    if rng.random() < 0.85:
        p["float"] = rng.uniform(-10.0, 10.0)
    r = rng.random()
    if r < 0.75:
        p["kw"] = rng.choice(KW)
    elif r < 0.85:
        p["kw"] = rng.sample(KW, 2)
    if rng.random() < 0.85:
        p["tags"] = rng.sample(KW, rng.randrange(0, 4))
    if rng.random() < 0.8:
        p["text"] = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 6)))
        if rng.random() < 0.2:
            p["text"] = p["text"].upper() + ", " + rng.choice(WORDS) + "!"
    if rng.random() < 0.8:
        p["flag"] = rng.random() < 0.5
    nul_choices: list[Any] = [None, [], [None], [1, None], 5, "x", [2, 3], {"a": None}]
    if rng.random() < 0.8:
        p["nul"] = rng.choice(nul_choices)
    if rng.random() < 0.8:
        when = rng.choice(ANCHORS) + timedelta(seconds=rng.choice([0, 0, 1, -1, 3600]))
        p["dt"] = _dt_text(rng, when)
    r = rng.random()
    if r < 0.7:
        p["geo"] = _geo(rng)
    elif r < 0.8:
        p["geo"] = [_geo(rng), _geo(rng)]
    if rng.random() < 0.8:
        nested: dict[str, Any] = {"a": rng.randrange(0, 20)}
        if rng.random() < 0.8:
            nested["b"] = {"c": rng.choice(KW)}
        p["nested"] = nested
    if rng.random() < 0.85:
        arr = []
        for _ in range(rng.randrange(0, 4)):
            item: dict[str, Any] = {"d": rng.choice(KW)}
            r = rng.random()
            if r < 0.8:
                item["c"] = rng.randrange(0, 10)
            elif r < 0.9:
                item["c"] = None
            arr.append(item)
        p["arr"] = arr
    if rng.random() < 0.8:
        p["mixed"] = rng.choice([3, 3.0, "3", True, 7, 7.5, "seven", False, 0])
    return p


def _points() -> list[models.PointStruct]:
    """~300 points: ints and uuids as ids, some without some named vectors."""
    rng = random.Random(SEED)
    ids: list[int | str] = list(rng.sample(range(0, 100_000), N_INT_IDS))
    ids += [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(N_UUID_IDS)]
    points = []
    for pid in ids:
        vectors = {
            name: [rng.gauss(0.0, 1.0) for _ in range(DIM)]
            for name in VECTORS
            if rng.random() < 0.85
        }
        points.append(models.PointStruct(id=pid, vector=vectors, payload=_payload(rng)))
    return points


POINTS = _points()
ALL_IDS: list[int | str] = [p.id for p in POINTS]  # type: ignore[misc]
HAS: dict[str, list[int | str]] = {
    name: [p.id for p in POINTS if name in p.vector]  # type: ignore[operator,misc]
    for name in VECTORS
}


def _plain_points() -> list[models.PointStruct]:
    """Points for the unnamed-vector collection: the same payloads, one Dot vector each."""
    rng = random.Random(SEED + 1)
    return [
        models.PointStruct(
            id=p.id, vector=[rng.gauss(0.0, 1.0) for _ in range(DIM)], payload=p.payload
        )
        for p in POINTS[:150]
    ]


PLAIN_POINTS = _plain_points()


def _load(client: QdrantClient, name: str, named: bool) -> None:
    if named:
        client.create_collection(
            name,
            vectors_config={
                n: models.VectorParams(size=DIM, distance=d) for n, d in VECTORS.items()
            },
        )
        data = POINTS
    else:
        client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        )
        data = PLAIN_POINTS
    for start in range(0, len(data), 100):
        client.upsert(name, points=data[start : start + 100], wait=True)


@pytest.fixture(scope="module")
def pair(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """(heron client, local-mode client), both holding collections "named" and "plain"."""
    remote = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    for c in (remote, local):
        _load(c, "named", named=True)
        _load(c, "plain", named=False)
    yield remote, local
    remote.close()
    local.close()


# --- strategies --------------------------------------------------------------------------


def _cond(key: str, **kw: Any) -> models.FieldCondition:
    return models.FieldCondition(key=key, **kw)


dt_bounds = st.builds(
    lambda a, s: a + timedelta(seconds=s),
    st.sampled_from(ANCHORS),
    st.sampled_from([0, 0, 0, 1, -1, 1800, -86400]),
)


@st.composite
def match_conditions(draw: st.DrawFn) -> models.FieldCondition:
    kind = draw(st.sampled_from(["value", "any", "except", "text"]))
    if kind == "value":
        key, value = draw(
            st.sampled_from(
                [
                    ("int", st.integers(0, 50)),
                    ("kw", st.sampled_from(KW)),
                    ("tags", st.sampled_from(KW)),
                    ("flag", st.booleans()),
                    ("mixed", st.sampled_from([3, "3", True, False, 7, "seven", 0])),
                    ("nested.a", st.integers(0, 20)),
                    ("nested.b.c", st.sampled_from(KW)),
                    ("arr[].c", st.integers(0, 10)),
                    ("arr[].d", st.sampled_from(KW)),
                    ("nul", st.sampled_from([5, "x", 1, 2])),
                ]
            ).flatmap(lambda kv: st.tuples(st.just(kv[0]), kv[1]))
        )
        return _cond(key, match=models.MatchValue(value=value))
    if kind in ("any", "except"):
        key, values = draw(
            st.sampled_from(
                [
                    ("int", st.lists(st.integers(0, 50), max_size=6, unique=True)),
                    ("kw", st.lists(st.sampled_from(KW), max_size=4, unique=True)),
                    ("tags", st.lists(st.sampled_from(KW), max_size=4, unique=True)),
                    ("arr[].d", st.lists(st.sampled_from(KW), max_size=3, unique=True)),
                    ("mixed", st.lists(st.sampled_from(["3", "seven"]), max_size=2, unique=True)),
                    ("nested.a", st.lists(st.integers(0, 20), max_size=5, unique=True)),
                ]
            ).flatmap(lambda kv: st.tuples(st.just(kv[0]), kv[1]))
        )
        if kind == "any":
            return _cond(key, match=models.MatchAny(any=values))
        return _cond(key, match=models.MatchExcept(**{"except": values}))
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2))
    text = " ".join(words)
    if draw(st.booleans()):
        text = text.upper()
    return _cond("text", match=models.MatchText(text=text))


@st.composite
def _bounds(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    """One or two bounds; when two, the lower one is not above the upper one (mostly)."""
    low_op = draw(st.sampled_from([None, "gt", "gte"]))
    high_op = draw(st.sampled_from(["lt", "lte"] if low_op is None else [None, "lt", "lte"]))
    a, b = draw(values), draw(values)
    if draw(st.integers(0, 9)) > 0 and a > b:
        a, b = b, a
    out = {}
    if low_op is not None:
        out[low_op] = a
    if high_op is not None:
        out[high_op] = b
    return out


RANGE_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-1, 51),
    "float": st.floats(-11.0, 11.0, allow_nan=False),
    "nested.a": st.integers(-1, 21),
    "arr[].c": st.integers(-1, 11),
    "mixed": st.sampled_from([0, 2.5, 3, 5, 7, 7.5, 8]),
    "kw": st.integers(0, 5),
}


@st.composite
def range_conditions(draw: st.DrawFn) -> models.FieldCondition:
    key = draw(st.sampled_from(list(RANGE_KEYS)))
    values = RANGE_KEYS[key]
    if key != "float":
        values = values | values.map(float)
    return _cond(key, range=models.Range(**draw(_bounds(values))))


@st.composite
def datetime_conditions(draw: st.DrawFn) -> models.FieldCondition:
    values = draw(_bounds(dt_bounds))
    for op, when in values.items():
        if draw(st.booleans()):
            tz = timezone(timedelta(hours=draw(st.integers(-8, 8))))
            values[op] = when.astimezone(tz)
    return _cond("dt", range=models.DatetimeRange(**values))


@st.composite
def values_count_conditions(draw: st.DrawFn) -> models.FieldCondition:
    key = draw(st.sampled_from(["tags", "arr", "int", "nul", "kw", "geo", "missing_key"]))
    return _cond(key, values_count=models.ValuesCount(**draw(_bounds(st.integers(0, 4)))))


lon = st.floats(-12.0, 32.0, allow_nan=False)
lat = st.floats(33.0, 62.0, allow_nan=False)


@st.composite
def geo_conditions(draw: st.DrawFn) -> models.FieldCondition:
    kind = draw(st.sampled_from(["bbox", "radius", "polygon"]))
    if kind == "bbox":
        lons = sorted([draw(lon), draw(lon)])
        lats = sorted([draw(lat), draw(lat)])
        return _cond(
            "geo",
            geo_bounding_box=models.GeoBoundingBox(
                top_left=models.GeoPoint(lon=lons[0], lat=lats[1]),
                bottom_right=models.GeoPoint(lon=lons[1], lat=lats[0]),
            ),
        )
    if kind == "radius":
        return _cond(
            "geo",
            geo_radius=models.GeoRadius(
                center=models.GeoPoint(lon=draw(lon), lat=draw(lat)),
                radius=draw(st.floats(50_000.0, 1_500_000.0)),
            ),
        )
    # a star-shaped ring around a centre, optionally with a hole around the same centre
    clon, clat = draw(st.floats(0.0, 20.0)), draw(st.floats(40.0, 55.0))
    n = draw(st.integers(3, 7))
    radii = [draw(st.floats(2.0, 12.0)) for _ in range(n)]

    def ring(scale: float) -> models.GeoLineString:
        pts = [
            models.GeoPoint(
                lon=clon + scale * r * math.cos(2 * math.pi * k / n),
                lat=clat + scale * r * 0.5 * math.sin(2 * math.pi * k / n),
            )
            for k, r in enumerate(radii)
        ]
        return models.GeoLineString(points=[*pts, pts[0]])

    interiors = [ring(0.3)] if draw(st.booleans()) else None
    return _cond("geo", geo_polygon=models.GeoPolygon(exterior=ring(1.0), interiors=interiors))


any_key = st.sampled_from([*PAYLOAD_KEYS, "nested.b.c", "arr[].c", "missing_key", "nul[]"])


@st.composite
def nested_conditions(draw: st.DrawFn) -> models.NestedCondition:
    inner = st.one_of(
        st.integers(0, 10).map(lambda v: _cond("c", match=models.MatchValue(value=v))),
        st.sampled_from(KW).map(lambda v: _cond("d", match=models.MatchValue(value=v))),
        st.integers(0, 10).map(lambda v: _cond("c", range=models.Range(gte=v))),
        st.lists(st.sampled_from(KW), min_size=1, max_size=3, unique=True).map(
            lambda v: _cond("d", match=models.MatchAny(any=v))
        ),
    )
    must = draw(st.lists(inner, min_size=1, max_size=2))
    must_not = draw(st.none() | st.lists(inner, min_size=1, max_size=1))
    key = draw(st.sampled_from(["arr", "arr[]"]))
    return models.NestedCondition(
        nested=models.Nested(key=key, filter=models.Filter(must=must, must_not=must_not))
    )


id_pool = st.sampled_from([*ALL_IDS, 123_456_789, str(uuid.UUID(int=7))])


@st.composite
def has_id_conditions(draw: st.DrawFn) -> models.HasIdCondition:
    ids = draw(st.lists(id_pool, min_size=0, max_size=25))
    if ids and isinstance(ids[0], str) and draw(st.booleans()):
        ids[0] = ids[0].upper()
    return models.HasIdCondition(has_id=ids)


leaf_conditions: st.SearchStrategy[Any] = st.one_of(
    match_conditions(),
    range_conditions(),
    datetime_conditions(),
    values_count_conditions(),
    geo_conditions(),
    nested_conditions(),
    has_id_conditions(),
    st.sampled_from(list(VECTORS)).map(lambda n: models.HasVectorCondition(has_vector=n)),
    any_key.map(lambda k: models.IsEmptyCondition(is_empty=models.PayloadField(key=k))),
    any_key.map(lambda k: models.IsNullCondition(is_null=models.PayloadField(key=k))),
)


def _filters(children: st.SearchStrategy[Any]) -> st.SearchStrategy[models.Filter]:
    cond_lists = st.lists(children, min_size=0, max_size=3)

    @st.composite
    def build(draw: st.DrawFn) -> models.Filter:
        must = draw(st.none() | cond_lists)
        should = draw(st.none() | cond_lists)
        must_not = draw(st.none() | cond_lists)
        min_should = None
        if draw(st.integers(0, 4)) == 0:
            conds = draw(st.lists(children, min_size=1, max_size=3))
            count = draw(st.integers(1, len(conds) + 1))
            min_should = models.MinShould(conditions=conds, min_count=count)
        return models.Filter(must=must, should=should, must_not=must_not, min_should=min_should)

    return build()


filters: st.SearchStrategy[models.Filter] = _filters(
    st.one_of(leaf_conditions, _filters(leaf_conditions))
)
maybe_filters = st.none() | filters


def _query_vector(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0.0, 1.0) for _ in range(DIM)]


payload_selectors = st.one_of(
    st.booleans(),
    st.lists(st.sampled_from([*PAYLOAD_KEYS, "nested.b", "nested.b.c", "geo.lat"]),
             min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from([*PAYLOAD_KEYS, "nested.a", "arr[].c"]),
             min_size=1, max_size=3, unique=True).map(
        lambda ks: models.PayloadSelectorInclude(include=ks)
    ),
    st.lists(st.sampled_from([*PAYLOAD_KEYS, "nested.a", "arr[].d"]),
             min_size=1, max_size=3, unique=True).map(
        lambda ks: models.PayloadSelectorExclude(exclude=ks)
    ),
)
vector_selectors = st.one_of(
    st.booleans(), st.lists(st.sampled_from(list(VECTORS)), min_size=1, max_size=2, unique=True)
)


# --- comparison --------------------------------------------------------------------------


def _close(a: float, b: float, rel: float = 1e-4) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _same_vector(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return False
        return all(_same_vector(a[k], b[k]) for k in a)
    return len(a) == len(b) and all(_close(x, y, 1e-5) for x, y in zip(a, b, strict=True))


def _show(records: Sequence[Any]) -> list[Any]:
    return [(r.id, getattr(r, "score", None)) for r in records]


def assert_same_records(got: Sequence[Any], want: Sequence[Any], ordered: bool = True) -> None:
    """Same ids (in order), payloads and vectors."""
    if not ordered:
        got = sorted(got, key=lambda r: str(r.id))
        want = sorted(want, key=lambda r: str(r.id))
    assert [r.id for r in got] == [r.id for r in want], (_show(got), _show(want))
    for g, w in zip(got, want, strict=True):
        assert g.payload == w.payload, (g.id, g.payload, w.payload)
        assert _same_vector(g.vector, w.vector), (g.id, g.vector, w.vector)


def assert_same_hits(got: Sequence[Any], want: Sequence[Any]) -> None:
    """Same scored points: ids in order and scores within 1e-4 relative.

    heron scores in float32 and local mode in float64, so two hits whose scores are equal to
    within float32 precision may come in either order (or, at the cut, either may be kept).
    """
    assert len(got) == len(want), (_show(got), _show(want))
    for g, w in zip(got, want, strict=True):
        assert _close(g.score, w.score), (_show(got), _show(want))
    want_by_id = {w.id: (i, w) for i, w in enumerate(want)}
    for i, g in enumerate(got):
        w = want[i]
        if g.id == w.id:
            continue
        if g.id in want_by_id:
            _, other = want_by_id[g.id]
            tied = _close(other.score, w.score, 1e-5)
        else:  # dropped at the limit by local mode: must tie with the last kept hit
            tied = _close(g.score, want[-1].score, 1e-5)
        assert tied, ("order differs beyond ties", _show(got), _show(want))
    for g in got:
        if g.id in want_by_id:
            w = want_by_id[g.id][1]
            assert g.payload == w.payload, (g.id, g.payload, w.payload)
            assert _same_vector(g.vector, w.vector), (g.id, g.vector, w.vector)


def _scroll_all(
    client: QdrantClient, name: str, flt: models.Filter | None, limit: int
) -> tuple[list[Any], int]:
    out: list[Any] = []
    offset: Any = None
    pages = 0
    while True:
        pts, offset = client.scroll(name, scroll_filter=flt, limit=limit, offset=offset)
        out.extend(pts)
        pages += 1
        if offset is None or pages > 400:
            return out, pages


# --- tests -------------------------------------------------------------------------------


def test_loaded_equally(pair: tuple[QdrantClient, QdrantClient]) -> None:
    """Both sides hold the same points, payloads and vectors."""
    remote, local = pair
    assert remote.count("named").count == local.count("named").count == len(POINTS)
    got = remote.scroll("named", limit=1000, with_vectors=True)[0]
    want = local.scroll("named", limit=1000, with_vectors=True)[0]
    assert_same_records(got, want)


@HYPO
@given(flt=filters)
def test_count(pair: tuple[QdrantClient, QdrantClient], flt: models.Filter) -> None:
    """Exact count with a random filter."""
    remote, local = pair
    want = local.count("named", count_filter=flt, exact=True).count
    assert remote.count("named", count_filter=flt, exact=True).count == want


@HYPO
@given(
    flt=maybe_filters,
    limit=st.integers(1, 40),
    start=st.none() | id_pool,
    with_payload=payload_selectors,
    with_vectors=vector_selectors,
)
def test_scroll(
    pair: tuple[QdrantClient, QdrantClient],
    flt: models.Filter | None,
    limit: int,
    start: Any,
    with_payload: Any,
    with_vectors: Any,
) -> None:
    """One scroll page: ids, payloads, vectors and next_page_offset."""
    remote, local = pair
    kw = {
        "scroll_filter": flt, "limit": limit, "offset": start,
        "with_payload": with_payload, "with_vectors": with_vectors,
    }
    got, got_next = remote.scroll("named", **kw)
    want, want_next = local.scroll("named", **kw)
    assert_same_records(got, want)
    assert got_next == want_next


@HYPO
@given(flt=maybe_filters, limit=st.integers(1, 60))
def test_scroll_pagination(
    pair: tuple[QdrantClient, QdrantClient], flt: models.Filter | None, limit: int
) -> None:
    """Paging through everything a filter matches visits the same points, in the same pages."""
    remote, local = pair
    got, got_pages = _scroll_all(remote, "named", flt, limit)
    want, want_pages = _scroll_all(local, "named", flt, limit)
    assert_same_records(got, want)
    assert got_pages == want_pages


@pytest.mark.parametrize("using", list(VECTORS))
@HYPO
@given(
    flt=maybe_filters,
    seed=st.integers(0, 10**9),
    limit=st.integers(1, 30),
    offset=st.none() | st.integers(0, 20),
    with_payload=payload_selectors,
    with_vectors=vector_selectors,
)
def test_query_by_vector(
    pair: tuple[QdrantClient, QdrantClient],
    using: str,
    flt: models.Filter | None,
    seed: int,
    limit: int,
    offset: int | None,
    with_payload: Any,
    with_vectors: Any,
) -> None:
    """Nearest neighbours of a random vector on each distance, with filter/limit/offset."""
    remote, local = pair
    kw = {
        "query": _query_vector(seed), "using": using, "query_filter": flt, "limit": limit,
        "offset": offset, "with_payload": with_payload, "with_vectors": with_vectors,
    }
    got = remote.query_points("named", **kw).points
    want = local.query_points("named", **kw).points
    assert_same_hits(got, want)


@pytest.mark.parametrize("using", list(VECTORS))
@HYPO
@given(data=st.data(), flt=maybe_filters, limit=st.integers(1, 25))
def test_query_by_id(
    pair: tuple[QdrantClient, QdrantClient],
    using: str,
    data: st.DataObject,
    flt: models.Filter | None,
    limit: int,
) -> None:
    """Query by a point's id: its own vector, the point itself left out."""
    remote, local = pair
    pid = data.draw(st.sampled_from(HAS[using]))
    kw = {"query": pid, "using": using, "query_filter": flt, "limit": limit}
    got = remote.query_points("named", **kw).points
    want = local.query_points("named", **kw).points
    assert pid not in [h.id for h in got]
    assert_same_hits(got, want)


@pytest.mark.parametrize("using", list(VECTORS))
@HYPO
@given(data=st.data(), flt=maybe_filters, seed=st.integers(0, 10**9))
def test_query_score_threshold(
    pair: tuple[QdrantClient, QdrantClient],
    using: str,
    data: st.DataObject,
    flt: models.Filter | None,
    seed: int,
) -> None:
    """score_threshold halfway between two neighbouring scores cuts both sides at the same spot."""
    remote, local = pair
    q = _query_vector(seed)
    scores = [h.score for h in local.query_points("named", query=q, using=using, limit=300).points]
    # cut only where neighbouring scores are well apart, beyond float32 rounding
    gaps = [
        k for k in range(len(scores) - 1)
        if abs(scores[k + 1] - scores[k]) > 1e-3 * max(1.0, abs(scores[k]))
    ]
    k = data.draw(st.sampled_from(gaps))
    threshold = (scores[k] + scores[k + 1]) / 2
    kw = {
        "query": q, "using": using, "query_filter": flt, "limit": 300,
        "score_threshold": threshold, "with_payload": False,
    }
    got = remote.query_points("named", **kw).points
    want = local.query_points("named", **kw).points
    assert_same_hits(got, want)


@HYPO
@given(
    ids=st.lists(id_pool, min_size=0, max_size=20, unique=True),
    with_payload=payload_selectors,
    with_vectors=vector_selectors,
)
def test_retrieve(
    pair: tuple[QdrantClient, QdrantClient],
    ids: list[Any],
    with_payload: Any,
    with_vectors: Any,
) -> None:
    """Retrieve ids (some missing) with payload include/exclude and vector names."""
    remote, local = pair
    kw = {"ids": ids, "with_payload": with_payload, "with_vectors": with_vectors}
    got = remote.retrieve("named", **kw)
    want = local.retrieve("named", **kw)
    assert_same_records(got, want, ordered=False)


@HYPO
@given(
    flt=maybe_filters,
    seed=st.integers(0, 10**9),
    limit=st.integers(1, 20),
    offset=st.none() | st.integers(0, 10),
)
def test_unnamed_vector(
    pair: tuple[QdrantClient, QdrantClient],
    flt: models.Filter | None,
    seed: int,
    limit: int,
    offset: int | None,
) -> None:
    """The unnamed default vector: query, query by id, count and scroll agree."""
    remote, local = pair
    kw = {
        "query": _query_vector(seed), "query_filter": flt, "limit": limit, "offset": offset,
        "with_vectors": True,
    }
    assert_same_hits(remote.query_points("plain", **kw).points,
                     local.query_points("plain", **kw).points)
    pid = PLAIN_POINTS[seed % len(PLAIN_POINTS)].id
    kw = {"query": pid, "query_filter": flt, "limit": limit}
    assert_same_hits(remote.query_points("plain", **kw).points,
                     local.query_points("plain", **kw).points)
    assert (remote.count("plain", count_filter=flt).count
            == local.count("plain", count_filter=flt).count)
    got, got_next = remote.scroll("plain", scroll_filter=flt, limit=limit, with_vectors=True)
    want, want_next = local.scroll("plain", scroll_filter=flt, limit=limit, with_vectors=True)
    assert_same_records(got, want)
    assert got_next == want_next
