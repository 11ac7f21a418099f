"""Vector kinds: sparse vectors (with and without IDF), multivectors (MaxSim on every
distance) and storage datatypes (uint8, float16, float32).

heron and qdrant-client's local mode are loaded with the same seeded data and every answer
is compared; update_vectors/delete_vectors must keep them equal; acknowledged writes of each
kind survive SIGKILL; bad vectors are rejected without writing anything.

One collection holds a named vector of every kind: "dense" (float32, Cosine), a MaxSim
multivector per distance ("colbert_cosine", "colbert_dot", "colbert_euclid",
"colbert_manhattan"), uint8 ("bytes", Dot; "colbert_bytes", Euclid multivector), float16
("half", Cosine; "colbert_half", Dot multivector) and sparse "sparse" / "sparse_idf".

Local mode ignores ``datatype``, so uint8 vectors hold integers and float16 ones hold values
float16 represents exactly: stored as-is, they score exactly as in local mode. Only "half"
is compared with a tolerance, since Cosine normalises before the float16 rounding.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.checks import assert_rejected
from tests.server import HeronProcess

DIM = 16
VOCAB = 200
SEED = 7_130_113
N_INT_IDS = 280
N_UUID_IDS = 20
MAXSIM = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
D = models.Distance

DENSE: dict[str, models.VectorParams] = {
    "dense": models.VectorParams(size=DIM, distance=D.COSINE, datatype=models.Datatype.FLOAT32),
    "colbert_cosine": models.VectorParams(size=DIM, distance=D.COSINE, multivector_config=MAXSIM),
    "colbert_dot": models.VectorParams(size=DIM, distance=D.DOT, multivector_config=MAXSIM),
    "colbert_euclid": models.VectorParams(size=DIM, distance=D.EUCLID, multivector_config=MAXSIM),
    "colbert_manhattan": models.VectorParams(
        size=DIM, distance=D.MANHATTAN, multivector_config=MAXSIM
    ),
    "colbert_bytes": models.VectorParams(
        size=DIM, distance=D.EUCLID, datatype=models.Datatype.UINT8, multivector_config=MAXSIM
    ),
    "colbert_half": models.VectorParams(
        size=DIM, distance=D.DOT, datatype=models.Datatype.FLOAT16, multivector_config=MAXSIM
    ),
    "bytes": models.VectorParams(size=DIM, distance=D.DOT, datatype=models.Datatype.UINT8),
    "half": models.VectorParams(size=DIM, distance=D.COSINE, datatype=models.Datatype.FLOAT16),
}
SPARSE: dict[str, models.SparseVectorParams] = {
    "sparse": models.SparseVectorParams(),
    "sparse_idf": models.SparseVectorParams(modifier=models.Modifier.IDF),
}
KINDS: list[str] = [*DENSE, *SPARSE]
MULTI: list[str] = [n for n, p in DENSE.items() if p.multivector_config is not None]
HALF_TOL = 5e-3  # float16 storage vs local mode's float32: absolute slack on cosine scores

# index popularity falls off like Zipf, so some indices are in most points and IDF matters
_POPULARITY = 1.0 / np.arange(1, VOCAB + 1) ** 0.9
_POPULARITY /= _POPULARITY.sum()


# --- data --------------------------------------------------------------------------------


def _sparse(rng: np.random.Generator, lo: int, hi: int, signed: bool) -> models.SparseVector:
    """``lo..hi`` non-zeros over the vocabulary, indices in random (unsorted) order."""
    nnz = int(rng.integers(lo, hi + 1))
    indices = rng.choice(VOCAB, size=nnz, replace=False, p=_POPULARITY)
    values = rng.uniform(0.05, 2.0, size=nnz)
    if signed:
        values *= np.where(rng.random(nnz) < 0.15, -1.0, 1.0)
    return models.SparseVector(
        indices=[int(i) for i in indices], values=values.astype(np.float32).tolist()
    )


def _rows(rng: np.random.Generator, name: str, rows: int) -> np.ndarray:
    """``rows`` vectors of ``DIM`` values in the form the named vector stores exactly."""
    datatype = DENSE[name].datatype
    if datatype == models.Datatype.UINT8:
        return rng.integers(0, 256, size=(rows, DIM)).astype(np.float64)
    if datatype == models.Datatype.FLOAT16:
        return rng.normal(size=(rows, DIM)).astype(np.float16).astype(np.float64)
    return rng.normal(size=(rows, DIM)).astype(np.float32).astype(np.float64)


def make_vector(rng: np.random.Generator, name: str) -> Any:
    """A stored vector of kind ``name``: sparse, a 3-6 row multivector or a dense list."""
    if name in SPARSE:
        return _sparse(rng, 5, 30, signed=name == "sparse")
    if name in MULTI:
        return _rows(rng, name, int(rng.integers(3, 7))).tolist()
    return _rows(rng, name, 1)[0].tolist()


def make_query(rng: np.random.Generator, name: str) -> Any:
    """A query vector of kind ``name`` (multivector queries have 1-4 rows)."""
    if name in SPARSE:
        return _sparse(rng, 2, 8, signed=False)
    if name in MULTI:
        return _rows(rng, name, int(rng.integers(1, 5))).tolist()
    return _rows(rng, name, 1)[0].tolist()


def make_points(seed: int, n_int: int, n_uuid: int) -> list[models.PointStruct]:
    """Points with int and uuid ids; each vector kind is missing from ~15% of them."""
    rng = np.random.default_rng(seed)
    ids: list[int | str] = [int(i) for i in rng.choice(1_000_000, size=n_int, replace=False)]
    ids += [str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | 7, version=4))
            for _ in range(n_uuid)]
    points = []
    for pid in ids:
        vectors = {name: make_vector(rng, name) for name in KINDS if rng.random() < 0.85}
        payload = {"group": int(rng.integers(0, 5)), "tag": str(rng.choice(["x", "y", "z"]))}
        points.append(models.PointStruct(id=pid, vector=vectors, payload=payload))
    return points


POINTS = make_points(SEED, N_INT_IDS, N_UUID_IDS)
HAS: dict[str, list[Any]] = {
    name: [p.id for p in POINTS if name in p.vector]  # type: ignore[operator]
    for name in KINDS
}


def create(client: QdrantClient, name: str) -> None:
    """A collection with one named vector of every kind."""
    client.create_collection(name, vectors_config=DENSE, sparse_vectors_config=SPARSE)


def load(client: QdrantClient, name: str, points: Sequence[models.PointStruct]) -> None:
    """Create the collection and upsert ``points`` in batches of 100."""
    create(client, name)
    for start in range(0, len(points), 100):
        client.upsert(name, points=list(points[start : start + 100]), wait=True)


# --- comparison --------------------------------------------------------------------------


def _close(a: float, b: float, rel: float = 1e-4) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _show(hits: Sequence[Any]) -> list[tuple[Any, float]]:
    return [(h.id, round(h.score, 6)) for h in hits]


def assert_same_vectors(got: Any, want: Any, pid: Any) -> None:
    """Same vector names; sparse ones answered sorted by index; values equal (float16 within
    its precision, since local mode keeps float32)."""
    assert isinstance(got, dict) and isinstance(want, dict), (pid, got, want)
    assert set(got) == set(want), (pid, sorted(got), sorted(want))
    for name, w in want.items():
        g = got[name]
        if name in SPARSE:
            assert isinstance(g, models.SparseVector), (pid, name, g)
            assert g.indices == sorted(g.indices), (pid, name, "indices not sorted", g.indices)
            assert g.indices == w.indices, (pid, name, g.indices, w.indices)
            np.testing.assert_allclose(g.values, w.values, rtol=1e-6, err_msg=f"{pid} {name}")
        else:
            atol = 2e-3 if name == "half" else 1e-6
            np.testing.assert_allclose(
                np.asarray(g), np.asarray(w), rtol=1e-5, atol=atol, err_msg=f"{pid} {name}"
            )


def assert_same_records(got: Sequence[Any], want: Sequence[Any]) -> None:
    """Same ids in the same order, same payloads and vectors."""
    assert [r.id for r in got] == [r.id for r in want]
    for g, w in zip(got, want, strict=True):
        assert g.payload == w.payload, (g.id, g.payload, w.payload)
        if w.vector is None:
            assert g.vector is None, (g.id, g.vector)
        else:
            assert_same_vectors(g.vector, w.vector, g.id)


def assert_same_hits(got: Sequence[Any], want: Sequence[Any]) -> None:
    """Same scores (rel 1e-4) and ids in order; only exactly tied scores may swap places."""
    assert len(got) == len(want), (_show(got), _show(want))
    for g, w in zip(got, want, strict=True):
        assert _close(g.score, w.score), (_show(got), _show(want))
    start = 0
    while start < len(want):
        end = start + 1
        while end < len(want) and want[end].score == want[start].score:
            end += 1
        got_ids = [h.id for h in got[start:end]]
        want_ids = [h.id for h in want[start:end]]
        if end - start == 1:
            assert got_ids == want_ids, (start, _show(got), _show(want))
        elif end < len(want):  # a tie cut off by the limit may hold other, equal points
            assert sorted(map(str, got_ids)) == sorted(map(str, want_ids)), (
                start, _show(got), _show(want))
        start = end
    by_id = {w.id: w for w in want}
    for g in got:
        w = by_id.get(g.id, g)  # a point from a cut-off tie: only its score is comparable
        if w.vector is not None:
            assert_same_vectors(g.vector, w.vector, g.id)
        assert g.payload == w.payload, (g.id, g.payload, w.payload)


def assert_close_hits(
    got: Sequence[Any], want: Sequence[Any], reference: dict[Any, float]
) -> None:
    """For float16: each hit scores what local mode gives that point (within HALF_TOL), and
    position by position the scores match local mode's ranking within HALF_TOL."""
    assert len(got) == len(want), (_show(got), _show(want))
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.id in reference, (g.id, "is not a candidate at all", _show(got))
        assert abs(g.score - reference[g.id]) <= HALF_TOL, (g.id, g.score, reference[g.id])
        assert abs(g.score - w.score) <= HALF_TOL, (k, _show(got), _show(want))
    assert all(a.score >= b.score for a, b in zip(got, got[1:], strict=False)), _show(got)


def compare_query(
    remote: QdrantClient, local: QdrantClient, coll: str, using: str | None, **kw: Any
) -> list[Any]:
    """Run one query on both sides and compare; returns local mode's hits."""
    got = remote.query_points(coll, using=using, **kw).points
    want = local.query_points(coll, using=using, **kw).points
    if using == "half":
        wide = {k: v for k, v in kw.items() if k in ("query", "query_filter")}
        everything = local.query_points(coll, using=using, limit=10_000, **wide).points
        assert_close_hits(got, want, {h.id: h.score for h in everything})
    else:
        assert_same_hits(got, want)
    return want


def _group_filter(group: int) -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key="group", match=models.MatchValue(value=group))]
    )


def _other(name: str) -> str:
    """Another vector name, for has_vector filters across kinds."""
    return KINDS[(KINDS.index(name) + 3) % len(KINDS)]


def _threshold(ranked: Sequence[Any], start: int, gap: float) -> float | None:
    """A score halfway between two neighbours at least ``gap`` apart, from ``start`` on."""
    for k in range(start, len(ranked) - 1):
        if abs(ranked[k].score - ranked[k + 1].score) > gap:
            return (ranked[k].score + ranked[k + 1].score) / 2
    return None


def check_queries(
    remote: QdrantClient, local: QdrantClient, coll: str, using: str, seed: int, rounds: int = 3
) -> None:
    """Nearest neighbours of random queries of kind ``using``: plain, with offset, with a
    payload filter, with has_vector filters, with score_threshold, returning vectors."""
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        q = make_query(rng, using)
        ranked = compare_query(remote, local, coll, using, query=q, limit=300,
                               with_payload=False)
        assert ranked, f"query on {using} found nothing"
        compare_query(remote, local, coll, using, query=q, limit=10, with_vectors=True)
        compare_query(remote, local, coll, using, query=q, limit=7, offset=5,
                      with_vectors=[using, _other(using)])
        compare_query(remote, local, coll, using, query=q, limit=15,
                      query_filter=_group_filter(int(rng.integers(0, 5))))
        other = _other(using)
        compare_query(remote, local, coll, using, query=q, limit=20, query_filter=models.Filter(
            must=[models.HasVectorCondition(has_vector=other)]))
        compare_query(remote, local, coll, using, query=q, limit=20, query_filter=models.Filter(
            must_not=[models.HasVectorCondition(has_vector=other)],
            should=[models.FieldCondition(key="tag", match=models.MatchAny(any=["x", "z"]))]))
        if using in SPARSE:  # an index no point holds, a zero weight, an empty query
            for odd in ([VOCAB + 7], [0, VOCAB + 7], []):
                weights = [0.0 if i == 0 else 1.0 for i in odd]
                compare_query(remote, local, coll, using, limit=50, query=models.SparseVector(
                    indices=odd, values=weights))
        gap = 4 * HALF_TOL if using == "half" else 1e-3 * max(1.0, abs(ranked[0].score))
        threshold = _threshold(ranked, int(rng.integers(0, max(1, len(ranked) // 2))), gap)
        if threshold is not None:
            compare_query(remote, local, coll, using, query=q, limit=300,
                          score_threshold=threshold, with_payload=False)


def check_query_by_id(
    remote: QdrantClient, local: QdrantClient, coll: str, using: str, ids: Sequence[Any]
) -> None:
    """Query by point id: the point's own ``using`` vector, the point itself left out."""
    for k, pid in enumerate(ids):
        flt = _group_filter(k % 5) if k % 2 else None
        compare_query(remote, local, coll, using, query=pid, limit=12, query_filter=flt)
        got = remote.query_points(coll, query=pid, using=using, limit=400).points
        assert pid not in [h.id for h in got], (pid, "returned for its own vector")


def scroll_all(client: QdrantClient, coll: str, **kw: Any) -> list[Any]:
    """Every point, page by page (64 a page), in scroll order."""
    out: list[Any] = []
    offset: Any = None
    while True:
        page, offset = client.scroll(coll, limit=64, offset=offset, **kw)
        out.extend(page)
        if offset is None:
            return out


# --- congruence on the loaded collection -------------------------------------------------


@pytest.fixture(scope="module")
def pair(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """(heron client, local-mode client), both holding collection "kinds"."""
    remote = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    for c in (remote, local):
        load(c, "kinds", POINTS)
    yield remote, local
    remote.close()
    local.close()


def test_loaded_equally(pair: tuple[QdrantClient, QdrantClient]) -> None:
    """Both sides hold the same points with the same vectors of every kind."""
    remote, local = pair
    assert remote.count("kinds").count == local.count("kinds").count == len(POINTS)
    got = scroll_all(remote, "kinds", with_vectors=True)
    want = scroll_all(local, "kinds", with_vectors=True)
    assert_same_records(got, want)


def test_stored_values(pair: tuple[QdrantClient, QdrantClient]) -> None:
    """What heron returns is what was sent: sparse sorted by index, uint8 and float16 data
    exactly, non-Cosine multivectors exactly, Cosine ones row-normalised."""
    remote, _ = pair
    got = {p.id: p.vector for p in scroll_all(remote, "kinds", with_vectors=True)}
    for point in POINTS:
        vectors = got[point.id]
        assert isinstance(vectors, dict) and isinstance(point.vector, dict)
        for name, sent in point.vector.items():
            back = vectors[name]
            if name in SPARSE:
                order = np.argsort(sent.indices)
                assert back.indices == [sent.indices[i] for i in order], (point.id, name)
                np.testing.assert_array_equal(
                    np.float32(back.values), np.float32(sent.values)[order], f"{point.id} {name}"
                )
            elif DENSE[name].distance == D.COSINE:
                rows = np.atleast_2d(np.asarray(sent))
                rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
                atol = 1e-3 if name == "half" else 1e-6
                np.testing.assert_allclose(np.atleast_2d(back), rows, atol=atol)
            else:  # float32, float16 and uint8 data all come back bit for bit
                np.testing.assert_array_equal(
                    np.float32(back), np.float32(sent), f"{point.id} {name}"
                )


@pytest.mark.parametrize("using", KINDS)
def test_query_by_vector(pair: tuple[QdrantClient, QdrantClient], using: str) -> None:
    """Random queries of each kind, with offset, filters, score_threshold, vectors."""
    remote, local = pair
    check_queries(remote, local, "kinds", using, seed=KINDS.index(using))


@pytest.mark.parametrize("using", KINDS)
def test_query_by_id(pair: tuple[QdrantClient, QdrantClient], using: str) -> None:
    """Query by the id of points holding a vector of each kind (int and uuid ids)."""
    remote, local = pair
    ids = HAS[using]
    check_query_by_id(remote, local, "kinds", using, [*ids[:4], *ids[-2:]])


@pytest.mark.parametrize("using", KINDS)
def test_has_vector_count(pair: tuple[QdrantClient, QdrantClient], using: str) -> None:
    """has_vector counts the points holding each kind (and must_not the others)."""
    remote, local = pair
    has = models.Filter(must=[models.HasVectorCondition(has_vector=using)])
    lacks = models.Filter(must_not=[models.HasVectorCondition(has_vector=using)])
    assert remote.count("kinds", count_filter=has).count == len(HAS[using])
    assert remote.count("kinds", count_filter=lacks).count == len(POINTS) - len(HAS[using])
    assert local.count("kinds", count_filter=has).count == len(HAS[using])


def test_retrieve_with_vector_selection(pair: tuple[QdrantClient, QdrantClient]) -> None:
    """retrieve with all vectors, with a list of names and without; ids missing some kinds."""
    remote, local = pair
    ids = [p.id for p in POINTS[::9]] + [123_456_789]
    for with_vectors in (True, False, ["sparse", "colbert_dot"], ["half", "bytes", "sparse_idf"]):
        got = remote.retrieve("kinds", ids, with_vectors=with_vectors)
        want = local.retrieve("kinds", ids, with_vectors=with_vectors)
        assert_same_records(sorted(got, key=lambda r: str(r.id)),
                            sorted(want, key=lambda r: str(r.id)))


def test_prefetch_across_kinds(pair: tuple[QdrantClient, QdrantClient]) -> None:
    """Prefetches of different kinds fused with RRF, and candidates of one kind re-scored by
    another (sparse -> MaxSim, MaxSim -> IDF sparse, ids as queries)."""
    remote, local = pair
    rng = np.random.default_rng(77)
    exact = [n for n in KINDS if n != "half"]  # float16 ranks may differ on near-ties
    for k in range(4):
        names = [exact[(k + j) % len(exact)] for j in range(3)]
        prefetch = [models.Prefetch(query=make_query(rng, n), using=n, limit=30) for n in names]
        compare_query(remote, local, "kinds", None, prefetch=prefetch,
                      query=models.FusionQuery(fusion=models.Fusion.RRF), limit=15)
    for first, then in [("sparse", "colbert_euclid"), ("colbert_manhattan", "sparse_idf"),
                        ("sparse_idf", "colbert_bytes"), ("bytes", "colbert_cosine")]:
        prefetch = models.Prefetch(query=make_query(rng, first), using=first, limit=40)
        compare_query(remote, local, "kinds", then, prefetch=prefetch,
                      query=make_query(rng, then), limit=10)
    pid = next(p for p in HAS["colbert_dot"] if p in HAS["sparse_idf"])
    compare_query(remote, local, "kinds", "sparse_idf", query=pid, limit=10,
                  prefetch=models.Prefetch(query=pid, using="colbert_dot", limit=40))


def test_query_by_id_lacking_the_vector(
    pair: tuple[QdrantClient, QdrantClient], http: httpx.Client
) -> None:
    """A query by the id of a point that lacks the ``using`` vector is a 4xx, every kind."""
    for name in KINDS:
        lacking = next(p.id for p in POINTS if name not in p.vector)  # type: ignore[operator]
        r = http.post("/collections/kinds/points/query", json={"query": lacking, "using": name})
        assert_rejected(r)


# --- collection info ---------------------------------------------------------------------


def test_collection_info_round_trip(
    pair: tuple[QdrantClient, QdrantClient], http: httpx.Client
) -> None:
    """The config answers back sparse_vectors (with modifier), multivector_config and
    datatype exactly as created, through the client and as raw JSON."""
    remote, _ = pair
    params = remote.get_collection("kinds").config.params
    assert isinstance(params.vectors, dict)
    assert set(params.vectors) == set(DENSE)
    for name, want in DENSE.items():
        got = params.vectors[name]
        assert (got.size, got.distance) == (want.size, want.distance), name
        assert got.datatype == want.datatype, (name, got.datatype)
        assert got.multivector_config == want.multivector_config, (name, got.multivector_config)
    assert params.sparse_vectors is not None and set(params.sparse_vectors) == set(SPARSE)
    assert params.sparse_vectors["sparse_idf"].modifier == models.Modifier.IDF
    assert params.sparse_vectors["sparse"].modifier in (None, models.Modifier.NONE)

    raw = http.get("/collections/kinds").json()["result"]["config"]["params"]
    assert raw["vectors"]["colbert_manhattan"] == {
        "size": DIM, "distance": "Manhattan", "multivector_config": {"comparator": "max_sim"},
    }
    assert raw["vectors"]["bytes"]["datatype"] == "uint8"
    assert raw["vectors"]["half"]["datatype"] == "float16"
    assert raw["vectors"]["dense"]["datatype"] == "float32"
    assert raw["vectors"]["colbert_bytes"]["datatype"] == "uint8"
    assert raw["vectors"]["colbert_bytes"]["multivector_config"] == {"comparator": "max_sim"}
    assert "datatype" not in raw["vectors"]["colbert_dot"]
    assert raw["sparse_vectors"]["sparse_idf"] == {"modifier": "idf"}
    assert raw["sparse_vectors"]["sparse"].get("modifier") in (None, "none")
    assert set(raw["sparse_vectors"]) == set(SPARSE)
    # points_count counts points, not vectors
    assert http.get("/collections/kinds").json()["result"]["points_count"] == len(POINTS)


def test_sparse_config_update_merges(heron: HeronProcess, http: httpx.Client) -> None:
    """PATCH of sparse_vectors merges like Qdrant: fields left out keep their values (the
    index field by field), and a modifier switched on or off changes the scores at once."""
    remote = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    patches: list[dict[str, models.SparseVectorParams]] = [
        {"sparse_idf": models.SparseVectorParams(index=models.SparseIndexParams(on_disk=True))},
        {"sparse_idf": models.SparseVectorParams(
            index=models.SparseIndexParams(full_scan_threshold=10))},
        {"sparse": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    ]
    for c in (remote, local):
        load(c, "kinds_patch", POINTS[:80])
        for patch in patches:
            c.update_collection("kinds_patch", sparse_vectors_config=patch)
    want = {"sparse": {"modifier": "idf"},
            "sparse_idf": {"modifier": "idf", "index": {"on_disk": True, "full_scan_threshold": 10}}}
    raw = http.get("/collections/kinds_patch").json()["result"]["config"]["params"]
    rng = np.random.default_rng(3)
    try:
        assert raw["sparse_vectors"] == want, raw["sparse_vectors"]
        for name in SPARSE:
            for _ in range(3):
                compare_query(remote, local, "kinds_patch", name, query=make_query(rng, name),
                              limit=20)
        for c in (remote, local):  # and IDF off again
            c.update_collection("kinds_patch", sparse_vectors_config={
                "sparse_idf": models.SparseVectorParams(modifier=models.Modifier.NONE)})
        compare_query(remote, local, "kinds_patch", "sparse_idf",
                      query=make_query(rng, "sparse_idf"), limit=20)
    finally:
        remote.delete_collection("kinds_patch")
        remote.close()
        local.close()


# --- update_vectors / delete_vectors ------------------------------------------------------


def _mutate(client: QdrantClient, coll: str) -> None:
    """The same sequence of vector updates and deletions of every kind, on either side."""
    rng = np.random.default_rng(SEED + 1)
    # update: replace vectors, and add kinds a point lacked
    updates = []
    for k, point in enumerate(POINTS[:60]):
        names = [KINDS[(k + j) % len(KINDS)] for j in range(3)]
        updates.append(models.PointVectors(
            id=point.id, vector={n: make_vector(rng, n) for n in names}))
    for start in range(0, len(updates), 25):
        client.update_vectors(coll, points=updates[start : start + 25], wait=True)
    # delete by ids, one or two kinds at a time
    for k, name in enumerate(KINDS):
        ids = [p.id for p in POINTS[40 + 12 * k : 52 + 12 * k]]
        names = [name] if k % 2 else [name, KINDS[(k + 5) % len(KINDS)]]
        client.delete_vectors(coll, vectors=names, points=ids, wait=True)
    # delete by filter
    client.delete_vectors(
        coll, vectors=["sparse_idf", "colbert_euclid"],
        points=models.FilterSelector(filter=_group_filter(3)), wait=True,
    )
    # deleted then written again
    client.update_vectors(coll, points=[
        models.PointVectors(id=POINTS[45].id, vector={n: make_vector(rng, n) for n in KINDS})
    ], wait=True)
    # an upsert replaces all of a point's vectors
    client.upsert(coll, points=[
        models.PointStruct(id=POINTS[200].id,
                           vector={"sparse_idf": make_vector(rng, "sparse_idf")},
                           payload={"group": 9, "tag": "x"}),
    ], wait=True)
    # whole points deleted: they leave the IDF statistics too
    client.delete(coll, models.PointIdsList(points=[p.id for p in POINTS[210:230]]), wait=True)
    # edge values: extreme and zero-valued sparse entries, uint8 0/255, one-row multivectors,
    # all-zero Cosine vectors and rows
    row0 = [0.0] * DIM
    client.upsert(coll, points=[
        models.PointStruct(id=900_001, payload={"group": 0, "tag": "y"}, vector={
            "sparse": models.SparseVector(indices=[2**32 - 1, 0, 1], values=[1.5, 0.0, -0.5]),
            "sparse_idf": models.SparseVector(indices=[0, 199], values=[0.0, 2.5]),
            "bytes": [0.0, 255.0] * (DIM // 2),
            "colbert_bytes": [[255.0] * DIM],
            "colbert_dot": [make_query(rng, "dense")],
            "dense": row0,
            "colbert_cosine": [row0, make_query(rng, "dense")],
        }),
        models.PointStruct(id=900_002, payload={"group": 1, "tag": "z"}, vector={
            "sparse": models.SparseVector(indices=[], values=[]),
            # no empty "sparse_idf": local mode counts one as an IDF document, Qdrant's
            # engine doesn't (tests/api/test_bm25.py checks that against the engine)
            "colbert_euclid": [row0],
            "colbert_manhattan": [make_query(rng, "dense")] * 2,
        }),
    ], wait=True)
    # the same id twice in one upsert: the last one wins (and only it counts for IDF)
    twice = POINTS[150].id
    client.upsert(coll, points=[
        models.PointStruct(id=twice, vector={n: make_vector(rng, n) for n in KINDS},
                           payload={"group": 2, "tag": "y"}) for _ in range(2)
    ], wait=True)
    # deleted, then upserted again under the same id
    client.delete(coll, models.PointIdsList(points=[POINTS[151].id]), wait=True)
    client.upsert(coll, points=[models.PointStruct(
        id=POINTS[151].id, vector={"sparse_idf": make_vector(rng, "sparse_idf"),
                                   "colbert_cosine": make_vector(rng, "colbert_cosine")})],
        wait=True)
    # the columnar form and the batch endpoint carry every kind too
    ids = [900_010 + k for k in range(6)]
    client.upsert(coll, models.Batch(
        ids=ids, vectors={n: [make_vector(rng, n) for _ in ids] for n in ("sparse", "colbert_dot",
                                                                         "bytes", "sparse_idf")},
        payloads=[{"group": k % 5, "tag": "x"} for k in range(len(ids))],
    ), wait=True)
    client.batch_update_points(coll, [
        models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=[
            models.PointVectors(id=ids[0], vector={n: make_vector(rng, n) for n in KINDS}),
        ])),
        models.DeleteVectorsOperation(delete_vectors=models.DeleteVectors(
            points=ids[1:3], vector=["sparse", "colbert_dot"])),
        models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=[
            models.PointVectors(id=ids[2], vector={"sparse_idf": make_vector(rng, "sparse_idf")}),
        ])),
    ], wait=True)


@pytest.fixture(scope="module")
def mutated(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """Collection "kinds_mut" on both sides after the same vector updates and deletions."""
    remote = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    for c in (remote, local):
        load(c, "kinds_mut", POINTS)
        _mutate(c, "kinds_mut")
    yield remote, local
    remote.close()
    local.close()


def test_mutated_equally(mutated: tuple[QdrantClient, QdrantClient]) -> None:
    """After update_vectors/delete_vectors both sides hold the same vectors."""
    remote, local = mutated
    got = scroll_all(remote, "kinds_mut", with_vectors=True)
    want = scroll_all(local, "kinds_mut", with_vectors=True)
    assert_same_records(got, want)
    for name in KINDS:
        flt = models.Filter(must=[models.HasVectorCondition(has_vector=name)])
        assert (remote.count("kinds_mut", count_filter=flt).count
                == local.count("kinds_mut", count_filter=flt).count), name


def test_update_vectors_with_update_filter(heron: HeronProcess, collection_name: str) -> None:
    """update_vectors with update_filter changes only the listed points matching the filter."""
    remote = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    rng = np.random.default_rng(SEED + 6)
    update = [
        models.PointVectors(id=p.id, vector={n: make_vector(rng, n) for n in KINDS[::2]})
        for p in POINTS[:40]
    ]
    for c in (remote, local):
        load(c, collection_name, POINTS[:60])
        c.update_vectors(collection_name, points=update, update_filter=_group_filter(1), wait=True)
    try:
        assert_same_records(scroll_all(remote, collection_name, with_vectors=True),
                            scroll_all(local, collection_name, with_vectors=True))
    finally:
        remote.delete_collection(collection_name)
        remote.close()
        local.close()


@pytest.mark.parametrize("using", KINDS)
def test_mutated_queries(mutated: tuple[QdrantClient, QdrantClient], using: str) -> None:
    """Queries by vector and by id of each kind still agree (IDF follows deletions)."""
    remote, local = mutated
    check_queries(remote, local, "kinds_mut", using, seed=100 + KINDS.index(using), rounds=2)
    holders = [p.id for p in scroll_all(local, "kinds_mut", scroll_filter=models.Filter(
        must=[models.HasVectorCondition(has_vector=using)]))]
    edge = [pid for pid in (900_001, 900_002, 900_010, 900_012) if pid in holders]
    check_query_by_id(remote, local, "kinds_mut", using, holders[:3] + holders[40:43] + edge)


# --- bad input ---------------------------------------------------------------------------


def _raw(vector: Any) -> Any:
    """A vector as JSON-ready data."""
    if isinstance(vector, models.SparseVector):
        return {"indices": vector.indices, "values": vector.values}
    return vector


def _good(rng: np.random.Generator) -> dict[str, Any]:
    return {name: _raw(make_vector(rng, name)) for name in KINDS}


_ROW = [0.5] * DIM
BAD_VECTORS: list[tuple[str, Any]] = [
    ("dense into sparse", {"sparse": [0.5] * DIM}),
    ("dense into sparse_idf", {"sparse_idf": [0.5, 0.25]}),
    ("sparse into dense", {"dense": {"indices": [1, 2], "values": [0.5, 0.5]}}),
    ("sparse into multivector", {"colbert_dot": {"indices": [1], "values": [0.5]}}),
    ("sparse into uint8", {"bytes": {"indices": [1], "values": [3.0]}}),
    ("multivector into sparse", {"sparse": [[0.5, 0.5], [0.5, 0.5]]}),
    ("multivector into dense", {"dense": [_ROW, _ROW]}),
    ("short sub-vector", {"colbert_cosine": [_ROW, [0.5] * (DIM - 1)]}),
    ("long sub-vector", {"colbert_euclid": [[0.5] * (DIM + 1)]}),
    ("empty sub-vector", {"colbert_dot": [_ROW, []]}),
    ("empty multivector", {"colbert_manhattan": []}),
    ("sparse lengths differ", {"sparse": {"indices": [1, 2, 3], "values": [0.5, 0.5]}}),
    ("sparse values longer", {"sparse_idf": {"indices": [1], "values": [0.5, 0.5]}}),
    ("duplicate sparse index", {"sparse": {"indices": [4, 9, 4], "values": [0.5, 0.5, 0.5]}}),
    ("negative sparse index", {"sparse_idf": {"indices": [-1, 2], "values": [0.5, 0.5]}}),
    ("sparse index above u32", {"sparse": {"indices": [2**32], "values": [0.5]}}),
    ("fractional sparse index", {"sparse": {"indices": [1.5], "values": [0.5]}}),
    ("uint8 256", {"bytes": [256.0] + [1.0] * (DIM - 1)}),
    ("uint8 1.5", {"bytes": [1.5] + [1.0] * (DIM - 1)}),
    ("uint8 negative", {"bytes": [-1.0] + [1.0] * (DIM - 1)}),
    ("uint8 multivector 256", {"colbert_bytes": [[1.0] * DIM, [256.0] * DIM]}),
    ("uint8 multivector 0.5", {"colbert_bytes": [[0.5] * DIM]}),
    ("NaN in sparse", {"sparse": {"indices": [1, 2], "values": [0.5, float("nan")]}}),
    ("NaN in multivector", {"colbert_dot": [_ROW, [float("nan")] * DIM]}),
    ("NaN in float16", {"half": [float("nan")] + [1.0] * (DIM - 1)}),
    ("NaN in uint8", {"bytes": [float("nan")] + [1.0] * (DIM - 1)}),
    ("dense wrong size", {"half": [0.5] * (DIM - 1)}),
]


@pytest.fixture(scope="module")
def bad_coll(heron: HeronProcess) -> Iterator[str]:
    """Collection "kinds_bad" with 20 points holding every kind."""
    client = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    load(client, "kinds_bad", make_points(SEED + 2, 20, 0))
    yield "kinds_bad"
    client.close()


def _state(http: httpx.Client, coll: str) -> dict[str, Any]:
    """Count and every point with payload and vectors."""
    count = http.post(f"/collections/{coll}/points/count", json={"exact": True})
    scroll = http.post(f"/collections/{coll}/points/scroll",
                       json={"limit": 1000, "with_payload": True, "with_vector": True})
    assert count.status_code == 200 and scroll.status_code == 200, (count.text, scroll.text)
    return {"count": count.json()["result"]["count"], "points": scroll.json()["result"]["points"]}


def _post(http: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    """JSON body as text, so NaN goes on the wire as the (invalid) literal NaN."""
    return http.request(method, path, content=json.dumps(body).encode(),
                        headers={"content-type": "application/json"})


@pytest.mark.parametrize(("vector"), [v for _, v in BAD_VECTORS], ids=[n for n, _ in BAD_VECTORS])
def test_bad_vectors_rejected(bad_coll: str, http: httpx.Client, vector: dict[str, Any]) -> None:
    """Each bad vector, in a new point, an existing point, a batch of good points, the
    columnar form, update_vectors and a batch operation: a 4xx with an error body and
    nothing written."""
    existing = http.post(f"/collections/{bad_coll}/points/scroll", json={"limit": 1}).json()
    old_id = existing["result"]["points"][0]["id"]
    old_payload = existing["result"]["points"][0]["payload"]
    rng = np.random.default_rng(99)
    good = [{"id": 5_000 + k, "vector": _good(rng)} for k in range(6)]
    name = next(iter(vector))
    column = [_raw(make_vector(rng, name)), vector[name]]
    columnar = {"ids": [6_000, 6_001], "vectors": {name: column}}
    with_good = {**_good(rng), **vector}
    cases: list[tuple[str, str, Any]] = [
        ("PUT", "points?wait=true", {"points": [{"id": 7_000, "vector": vector}]}),
        ("PUT", "points?wait=true", {"points": [{"id": old_id, "vector": with_good}]}),
        ("PUT", "points?wait=true", {"points": [*good[:3], {"id": 7_001, "vector": with_good},
                                                *good[3:]]}),
        ("PUT", "points?wait=false", {"points": [*good, {"id": 7_002, "vector": vector}]}),
        ("PUT", "points?wait=true", {"batch": columnar}),
        ("PUT", "points/vectors?wait=true", {"points": [{"id": old_id, "vector": vector}]}),
        ("PUT", "points/vectors?wait=true",
         {"points": [{"id": old_id, "vector": {"dense": _ROW}}, {"id": old_id, "vector": vector}]}),
        ("POST", "points/batch?wait=true", {"operations": [
            {"upsert": {"points": good[:2]}},
            {"update_vectors": {"points": [{"id": old_id, "vector": vector}]}},
        ]}),
    ]
    before = _state(http, bad_coll)
    for method, suffix, body in cases:
        r = _post(http, method, f"/collections/{bad_coll}/{suffix}", body)
        assert_rejected(r)
    # a barrier: a wait=true write that changes nothing, so a queued bad write shows
    barrier = _post(http, "POST", f"/collections/{bad_coll}/points/payload?wait=true",
                    {"payload": old_payload, "points": [old_id]})
    assert barrier.status_code == 200, barrier.text
    assert _state(http, bad_coll) == before


BAD_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("unknown datatype", {"vectors": {"v": {"size": 4, "distance": "Dot", "datatype": "int8"}}}),
    ("unknown comparator", {"vectors": {"v": {"size": 4, "distance": "Dot",
                                              "multivector_config": {"comparator": "sum"}}}}),
    ("multivector_config without comparator",
     {"vectors": {"v": {"size": 4, "distance": "Dot", "multivector_config": {}}}}),
    ("unknown modifier", {"sparse_vectors": {"s": {"modifier": "bm25"}}}),
    ("sparse params not an object", {"sparse_vectors": {"s": 3}}),
    ("name both dense and sparse",
     {"vectors": {"v": {"size": 4, "distance": "Dot"}}, "sparse_vectors": {"v": {}}}),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_CONFIGS], ids=[n for n, _ in BAD_CONFIGS])
def test_bad_collection_configs(
    http: httpx.Client, collection_name: str, body: dict[str, Any]
) -> None:
    """A collection config with a bad datatype, comparator or modifier is a 4xx and no
    collection is created."""
    assert_rejected(_post(http, "PUT", f"/collections/{collection_name}", body))
    exists = http.get(f"/collections/{collection_name}/exists").json()["result"]["exists"]
    assert exists is False


BAD_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("sparse query on dense", {"query": {"indices": [1], "values": [1.0]}, "using": "dense"}),
    ("dense query on sparse", {"query": [0.5] * DIM, "using": "sparse"}),
    ("sparse query on multivector",
     {"query": {"indices": [1], "values": [1.0]}, "using": "colbert_dot"}),
    ("multivector query with a short row", {"query": [_ROW, [0.5] * 3], "using": "colbert_dot"}),
    ("multivector query on sparse", {"query": [[0.5, 0.5]], "using": "sparse_idf"}),
    ("sparse query with duplicates",
     {"query": {"indices": [3, 3], "values": [1.0, 1.0]}, "using": "sparse"}),
    ("sparse query lengths differ",
     {"query": {"indices": [3, 4], "values": [1.0]}, "using": "sparse_idf"}),
    ("sparse query with a negative index",
     {"query": {"indices": [-3], "values": [1.0]}, "using": "sparse"}),
    ("NaN in a sparse query",
     {"query": {"indices": [3], "values": [float("nan")]}, "using": "sparse"}),
    ("NaN in a multivector query", {"query": [[float("nan")] * DIM], "using": "colbert_cosine"}),
    ("empty multivector query", {"query": [], "using": "colbert_cosine"}),
    ("no using for a named collection", {"query": {"indices": [1], "values": [1.0]}}),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_QUERIES], ids=[n for n, _ in BAD_QUERIES])
def test_bad_queries_rejected(bad_coll: str, http: httpx.Client, body: dict[str, Any]) -> None:
    """A query whose vector does not fit the ``using`` vector's kind is a 4xx."""
    assert_rejected(_post(http, "POST", f"/collections/{bad_coll}/points/query", body))


def test_empty_sparse_vector_is_fine(bad_coll: str, http: httpx.Client) -> None:
    """An empty sparse vector is a valid (if useless) vector: stored, held, never a hit."""
    r = _post(http, "PUT", f"/collections/{bad_coll}/points?wait=true", {"points": [
        {"id": 8_000, "vector": {"sparse": {"indices": [], "values": []}}}]})
    assert r.status_code == 200, r.text
    got = http.post(f"/collections/{bad_coll}/points",
                    json={"ids": [8_000], "with_vector": True}).json()["result"]
    assert got[0]["vector"] == {"sparse": {"indices": [], "values": []}}
    hits = _post(http, "POST", f"/collections/{bad_coll}/points/query", {
        "query": {"indices": list(range(VOCAB)), "values": [1.0] * VOCAB},
        "using": "sparse", "limit": 1000}).json()["result"]["points"]
    assert 8_000 not in [h["id"] for h in hits]
    r = _post(http, "POST", f"/collections/{bad_coll}/points/delete?wait=true", {"points": [8_000]})
    assert r.status_code == 200, r.text


# --- crash recovery ----------------------------------------------------------------------


def _durable_ops(client: QdrantClient, coll: str) -> None:
    """Upserts of every kind in batches, then vector updates and deletions of every kind."""
    points = make_points(SEED + 3, 70, 10)
    create(client, coll)
    for start in range(0, len(points), 20):
        client.upsert(coll, points=points[start : start + 20], wait=True)
    rng = np.random.default_rng(SEED + 4)
    client.update_vectors(coll, points=[
        models.PointVectors(id=p.id, vector={n: make_vector(rng, n) for n in KINDS[k % 4 :: 4]})
        for k, p in enumerate(points[:20])
    ], wait=True)
    for k, name in enumerate(KINDS):
        client.delete_vectors(coll, vectors=[name], points=[points[20 + k].id], wait=True)


def _dump(http: httpx.Client, coll: str) -> dict[str, Any]:
    """Raw JSON of every point with vectors, the config, and a few query answers."""
    state = _state(http, coll)
    state["params"] = http.get(f"/collections/{coll}").json()["result"]["config"]["params"]
    rng = np.random.default_rng(5)
    state["queries"] = {}
    for name in KINDS:
        body = {"query": _raw(make_query(rng, name)), "using": name, "limit": 10}
        r = _post(http, "POST", f"/collections/{coll}/points/query", body)
        assert r.status_code == 200, r.text
        state["queries"][name] = [(h["id"], h["score"]) for h in r.json()["result"]["points"]]
    return state


def _durable_tail(client: QdrantClient, coll: str) -> None:
    """Three more writes after a flush: vector updates, deletions and a point of each kind."""
    rng = np.random.default_rng(SEED + 5)
    ids = [p.id for p in make_points(SEED + 3, 70, 10)[30:38]]
    client.update_vectors(coll, points=[
        models.PointVectors(id=pid, vector={n: make_vector(rng, n) for n in KINDS})
        for pid in ids[:5]
    ], wait=True)
    client.delete_vectors(coll, vectors=["sparse_idf", "colbert_bytes", "half"],
                          points=ids[5:], wait=True)
    client.upsert(coll, points=[models.PointStruct(
        id=900_100, vector={n: make_vector(rng, n) for n in KINDS}, payload={"group": 0})],
        wait=True)


MODES = {"wal-only": ("60", False), "after-flush": ("0.2", False), "flush-then-wal": ("0.2", True)}


@pytest.mark.parametrize("mode", list(MODES))
def test_vectors_survive_sigkill(tmp_path: Path, mode: str) -> None:
    """Acknowledged writes of every kind come back exactly after SIGKILL, whether replayed
    from the WAL, loaded from flushed segments, or both; spread over several segments, they
    also answer queries as local mode does."""
    interval, tail = MODES[mode]
    server = HeronProcess(tmp_path / "storage", env={
        "HERON__STORAGE__FLUSH_INTERVAL_SEC": interval,
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "25",  # several segments per collection
    }).start()
    try:
        remote = QdrantClient(url=server.url, prefer_grpc=False, timeout=30)
        _durable_ops(remote, "durable")
        if interval != "60":
            time.sleep(0.6)  # let the flusher persist the segments and truncate the WAL
        if tail:
            _durable_tail(remote, "durable")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            before = _dump(http, "durable")
        assert before["count"] == 80 + tail
        server.kill()
        server.start()
        if mode == "wal-only":  # nothing was flushed: all of it came back from the WAL
            ops = 4 + 1 + len(KINDS)  # upsert batches, one update_vectors, a delete per kind
            assert f"replayed {ops} operations" in server.log(), server.log()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            after = _dump(http, "durable")
        assert after["params"] == before["params"]
        assert after["count"] == before["count"]
        assert after["points"] == before["points"]
        # same ids in the same order; scores to float32 precision (BLAS sums in an order that
        # depends on how many rows a segment holds, and a restart can regroup the points)
        assert after["queries"].keys() == before["queries"].keys()
        for name, hits in before["queries"].items():
            assert [h[0] for h in after["queries"][name]] == [h[0] for h in hits], name
            np.testing.assert_allclose(
                [h[1] for h in after["queries"][name]], [h[1] for h in hits], rtol=1e-6, atol=1e-7
            )

        local = QdrantClient(":memory:")
        _durable_ops(local, "durable")
        if tail:
            _durable_tail(local, "durable")
        remote = QdrantClient(url=server.url, prefer_grpc=False, timeout=30)
        assert_same_records(scroll_all(remote, "durable", with_vectors=True),
                            scroll_all(local, "durable", with_vectors=True))
        assert remote.get_collection("durable").segments_count > 1
        for k, name in enumerate(KINDS):
            if tail:  # IDF, MaxSim etc. over flushed segments plus a replayed tail
                check_queries(remote, local, "durable", name, seed=200 + k, rounds=1)
            holders, _ = local.scroll("durable", limit=2, scroll_filter=models.Filter(
                must=[models.HasVectorCondition(has_vector=name)]))
            check_query_by_id(remote, local, "durable", name, [p.id for p in holders])
    finally:
        code = server.stop()
    assert code == 0, server.log()
