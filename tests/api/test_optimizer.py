"""The optimizer: indexed (HNSW) segments next to appendable ones, rebuilds under writes and
crashes, indexes loaded from disk, vacuum, and the search params that reach the index.

Collections use tiny thresholds (``indexing_threshold`` of a few KB, ``full_scan_threshold``
of 1 KB so graph search is really used) and servers cut segments at a few hundred points.
Answers are compared with qdrant-client's local mode: strictly with ``exact=True``, and with
default params by recall (on segments this small HNSW is essentially exact) and by scores of
the points both sides return.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

DIM = 16
MDIM = 8
VOCAB = 64
D = models.Distance
MAXSIM = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
VECTORS: dict[str, models.VectorParams] = {
    "cos": models.VectorParams(size=DIM, distance=D.COSINE),
    "dot": models.VectorParams(size=DIM, distance=D.DOT),
    "euc": models.VectorParams(size=DIM, distance=D.EUCLID),
    "man": models.VectorParams(size=DIM, distance=D.MANHATTAN),
    "multi": models.VectorParams(size=MDIM, distance=D.COSINE, multivector_config=MAXSIM),
}
SPARSE: dict[str, models.SparseVectorParams] = {"sp": models.SparseVectorParams()}
HNSW_NAMES = ("cos", "dot", "euc")
"""The vectors that get a graph; the others are searched exactly even in indexed segments."""
KINDS = (*HNSW_NAMES, "man", "multi", "sp")
MAX_POINTS = 200
POINT_KB = 4 * DIM * 4 / 1024
"""Dense KB one point adds to a segment (cos, dot, euc, man), as the planner counts."""
MIXED_THRESHOLD_KB = 40
"""With this indexing threshold an appendable segment is indexed from 160 live points on."""
EXACT = models.SearchParams(exact=True)
RECALL = 0.95


# --- data ----------------------------------------------------------------------------------


def _sparse(rng: np.random.Generator) -> models.SparseVector:
    """3-9 non-zeros with random (hence untied) values."""
    nnz = int(rng.integers(3, 10))
    indices = rng.choice(VOCAB, size=nnz, replace=False)
    values = rng.uniform(0.1, 1.0, size=nnz).astype(np.float32)
    return models.SparseVector(indices=[int(i) for i in indices], values=values.tolist())


def _dense(rng: np.random.Generator, dim: int = DIM) -> list[float]:
    """A float32-exact normal vector."""
    return rng.normal(size=dim).astype(np.float32).tolist()


def make_vector(rng: np.random.Generator, name: str) -> Any:
    """A stored vector (or query) of kind ``name``."""
    if name == "sp":
        return _sparse(rng)
    if name == "multi":
        rows = int(rng.integers(2, 5))
        return rng.normal(size=(rows, MDIM)).astype(np.float32).tolist()
    return _dense(rng)


def make_payload(rng: np.random.Generator, pid: int) -> dict[str, Any]:
    """``bucket`` takes "a" on 1%, "b" on 9%, "c" on 40%, "d" on 50% of the points."""
    r = float(rng.random())
    bucket = "a" if r < 0.01 else "b" if r < 0.10 else "c" if r < 0.50 else "d"
    return {"group": pid % 5, "n": int(rng.integers(0, 100)), "bucket": bucket}


def make_points(rng: np.random.Generator, ids: Sequence[int],
                names: Sequence[str] = KINDS) -> list[models.PointStruct]:
    """Points ``ids`` with every vector of ``names`` and a payload."""
    return [
        models.PointStruct(
            id=pid,
            vector={name: make_vector(rng, name) for name in names},
            payload=make_payload(rng, pid),
        )
        for pid in ids
    ]


def create(client: QdrantClient, name: str, threshold_kb: int = MIXED_THRESHOLD_KB,
           hnsw: models.HnswConfigDiff | None = None,
           names: Sequence[str] = KINDS) -> None:
    """A collection with the vector kinds ``names`` and tiny optimizer thresholds."""
    client.create_collection(
        name,
        vectors_config={n: p for n, p in VECTORS.items() if n in names},
        sparse_vectors_config={n: p for n, p in SPARSE.items() if n in names},
        optimizers_config=models.OptimizersConfigDiff(
            indexing_threshold=threshold_kb, deleted_threshold=0.1, vacuum_min_vector_number=10
        ),
        hnsw_config=hnsw or models.HnswConfigDiff(full_scan_threshold=1),
    )


def upsert(clients: Sequence[QdrantClient], name: str,
           points: Sequence[models.PointStruct], batch: int = 100) -> None:
    """Upsert ``points`` into each client, batch by batch, waiting for each."""
    for start in range(0, len(points), batch):
        for c in clients:
            c.upsert(name, list(points[start : start + batch]), wait=True)


def wait_green(client: QdrantClient, name: str, timeout: float = 30.0) -> models.CollectionInfo:
    """Poll until the collection reports green (no rebuild planned or running)."""
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_collection(name)
        if info.status == models.CollectionStatus.GREEN:
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"collection {name} still {info.status} after {timeout}s")
        time.sleep(0.05)


def log_since(server: HeronProcess, offset: int) -> str:
    """The server log written after byte ``offset``."""
    try:
        return server.log_path.read_bytes()[offset:].decode(errors="replace")
    except OSError:
        return ""


def log_size(server: HeronProcess) -> int:
    """The log's current size: an offset for ``log_since``."""
    return server.log_path.stat().st_size if server.log_path.exists() else 0


# --- comparison ----------------------------------------------------------------------------


def _close(a: float, b: float, rel: float = 1e-4) -> bool:
    """Scores equal up to float32 noise."""
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _show(hits: Sequence[Any]) -> list[tuple[Any, float]]:
    """Hits in a compact form for assertion messages."""
    return [(h.id, round(h.score, 5)) for h in hits]


def _sparse_pairs(v: Any) -> tuple[list[int], np.ndarray]:
    """A sparse vector (model or JSON) as sorted indices and their values."""
    indices, values = (v.indices, v.values) if isinstance(v, models.SparseVector) else (
        v["indices"], v["values"])
    order = np.argsort(indices)
    return [int(indices[i]) for i in order], np.asarray(values, dtype=np.float64)[order]


def same_vector(got: Any, want: Any) -> bool:
    """Equal dense/multi vectors (float32 precision) or equal sparse vectors."""
    if isinstance(want, models.SparseVector | dict):
        if not isinstance(got, models.SparseVector | dict):
            return False
        (gi, gv), (wi, wv) = _sparse_pairs(got), _sparse_pairs(want)
        return gi == wi and bool(np.allclose(gv, wv, rtol=1e-6, atol=1e-7))
    g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return g.shape == w.shape and bool(np.allclose(g, w, rtol=1e-5, atol=1e-6))


def assert_same_vectors(got: Any, want: Any, pid: Any) -> None:
    """Same vector names, same values."""
    got, want = got or {}, want or {}
    assert set(got) == set(want), (pid, sorted(got), sorted(want))
    for name, w in want.items():
        assert same_vector(got[name], w), (pid, name, got[name], w)


def assert_same_hits(got: Sequence[Any], want: Sequence[Any], label: str) -> None:
    """Same length, same scores position by position, same ids (near ties may swap)."""
    assert len(got) == len(want), (label, _show(got), _show(want))
    for g, w in zip(got, want, strict=True):
        assert _close(g.score, w.score), (label, _show(got), _show(want))
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.id != w.id:
            tied = {h.id for h in want if _close(h.score, w.score, 1e-6)}
            assert g.id in tied or k == len(want) - 1, (label, k, _show(got), _show(want))
    by_id = {w.id: w for w in want}
    for g in got:
        w = by_id.get(g.id)
        if w is not None:
            assert g.payload == w.payload, (label, g.id, g.payload, w.payload)
            if w.vector is not None:
                assert_same_vectors(g.vector, w.vector, g.id)


@dataclass
class Recall:
    """Overlap of approximate answers with the true ones, summed over many queries."""

    found: int = 0
    wanted: int = 0
    labels: list[str] = field(default_factory=list)

    def add(self, got: Sequence[Any], want: Sequence[Any], label: str, *,
            scores: bool = True, threshold: bool = False) -> None:
        """Count the overlap; the points both return must score the same (unless fused:
        fusion scores depend on ranks)."""
        if threshold:
            assert len(got) <= len(want), (label, _show(got), _show(want))
        else:
            assert len(got) == len(want), (label, _show(got), _show(want))
        truth = {h.id: h.score for h in want}
        common = [h for h in got if h.id in truth]
        if scores:
            for h in common:
                assert _close(h.score, truth[h.id]), (label, h.id, h.score, truth[h.id])
        self.found += len(common)
        self.wanted += len(want)
        if len(common) < len(want):
            self.labels.append(f"{label}: {len(common)}/{len(want)}")

    def check(self, minimum: float = RECALL) -> None:
        assert self.wanted > 0
        recall = self.found / self.wanted
        assert recall >= minimum, (recall, self.labels[:20])


@dataclass
class Query:
    """One query_points call; ``build(params)`` gives its kwargs with ``params`` on every
    search stage (``None``: default params)."""

    label: str
    build: Callable[[models.SearchParams | None], dict[str, Any]]
    hnsw: bool
    fused: bool = False
    threshold: bool = False


def _group(g: int) -> models.Filter:
    """Points of group ``g`` (a fifth of them)."""
    return models.Filter(must=[models.FieldCondition(key="group", match=models.MatchValue(value=g))])


def _midpoint(hits: Sequence[Any], start: int) -> float | None:
    """A score between two neighbours that differ clearly, from rank ``start`` on."""
    for k in range(start, len(hits) - 1):
        a, b = hits[k].score, hits[k + 1].score
        if abs(a - b) > 1e-3 * max(1.0, abs(a)):
            return (a + b) / 2
    return None


def query_suite(local: QdrantClient, coll: str, seed: int, names: Sequence[str] = KINDS,
                rounds: int = 2, probe_ids: Sequence[int] = ()) -> list[Query]:
    """Plain, filtered, offset, thresholded queries per kind, fusion and re-scoring."""
    rng = np.random.default_rng(seed)
    out: list[Query] = []

    def nearest(name: str, q: Any, **kw: Any) -> Callable[[models.SearchParams | None], dict]:
        return lambda p: {"query": q, "using": name, "search_params": p, **kw}

    for r in range(rounds):
        for name in names:
            hnsw = name in HNSW_NAMES
            q = make_vector(rng, name)
            out.append(Query(f"{name}#{r} plain", nearest(name, q, limit=25, with_payload=True),
                             hnsw))
            out.append(Query(f"{name}#{r} group", nearest(
                name, q, limit=15, query_filter=_group(int(rng.integers(0, 5)))), hnsw))
            out.append(Query(f"{name}#{r} range", nearest(name, q, limit=20, query_filter=(
                models.Filter(must_not=[models.FieldCondition(
                    key="n", range=models.Range(gte=30, lt=80))]))), hnsw))
            out.append(Query(f"{name}#{r} offset", nearest(name, q, limit=10, offset=7,
                                                           with_vectors=True), hnsw))
            ranked = local.query_points(coll, query=q, using=name, limit=60).points
            cut = _midpoint(ranked, 8)
            if cut is not None:
                out.append(Query(f"{name}#{r} threshold {cut:.4f}", nearest(
                    name, q, limit=100, score_threshold=cut), hnsw, threshold=True))
    for r in range(rounds):
        qs = {name: make_vector(rng, name) for name in names}
        dense = [n for n in names if n != "sp" and n != "multi"]

        def fused(method: models.Fusion, qs: dict[str, Any] = qs) -> Callable[..., dict]:
            return lambda p: {
                "prefetch": [models.Prefetch(query=v, using=n, limit=30, params=p)
                             for n, v in qs.items()],
                "query": models.FusionQuery(fusion=method),
                "limit": 15,
            }

        out.append(Query(f"rrf#{r}", fused(models.Fusion.RRF), True, fused=True))
        out.append(Query(f"dbsf#{r}", fused(models.Fusion.DBSF), True, fused=True))
        if "multi" in names:
            first = dense[r % len(dense)]
            out.append(Query(f"rescore {first}->multi#{r}", lambda p, first=first, qs=qs, r=r: {
                "prefetch": models.Prefetch(query=qs[first], using=first, limit=40, params=p,
                                            filter=_group(r)),
                "query": qs["multi"], "using": "multi", "limit": 10, "search_params": p,
            }, first in HNSW_NAMES, fused=True))
    for k, pid in enumerate(probe_ids):
        name = names[k % len(names)]
        out.append(Query(f"by id {pid} {name}", nearest(name, pid, limit=12),
                         name in HNSW_NAMES))
    return out


def compare_suite(remote: QdrantClient, local: QdrantClient, coll: str,
                  queries: Sequence[Query]) -> None:
    """``exact=True`` answers equal local mode's; default ones reach the recall bar."""
    recall = Recall()
    for q in queries:
        want = local.query_points(coll, **q.build(None)).points
        exact = remote.query_points(coll, **q.build(EXACT)).points
        assert_same_hits(exact, want, q.label + " exact")
        default = remote.query_points(coll, **q.build(None)).points
        if q.hnsw:
            recall.add(default, want, q.label, scores=not q.fused, threshold=q.threshold)
        else:
            assert_same_hits(default, want, q.label + " default")
    recall.check()


def compare_points(remote: QdrantClient, local: QdrantClient, coll: str,
                   ids: Sequence[int]) -> None:
    """The same points exist on both sides with the same payloads and vectors."""
    ids = sorted(set(ids))
    for start in range(0, len(ids), 300):
        chunk = ids[start : start + 300]
        got = {p.id: p for p in remote.retrieve(coll, chunk, with_payload=True,
                                                 with_vectors=True)}
        want = {p.id: p for p in local.retrieve(coll, chunk, with_payload=True,
                                                with_vectors=True)}
        assert sorted(got) == sorted(want), sorted(set(got) ^ set(want))[:20]
        for pid, w in want.items():
            assert got[pid].payload == w.payload, (pid, got[pid].payload, w.payload)
            assert_same_vectors(got[pid].vector, w.vector, pid)
    assert remote.count(coll, exact=True).count == local.count(coll, exact=True).count


# --- fixtures -------------------------------------------------------------------------------


def _server(path: Path, max_points: int = MAX_POINTS, flush: float = 0.5) -> HeronProcess:
    return HeronProcess(path, env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": str(max_points),
        "HERON__STORAGE__FLUSH_INTERVAL_SEC": str(flush),
    })


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    """One server for the module, cutting segments at 200 points."""
    srv = _server(tmp_path_factory.mktemp("optimizer") / "storage").start()
    yield srv
    code = srv.stop()
    assert code == 0, f"heron exited with {code}:\n{srv.log()}"


@pytest.fixture()
def remote(server: HeronProcess) -> Iterator[QdrantClient]:
    """A client of the module's server."""
    c = QdrantClient(url=server.url, prefer_grpc=False, timeout=30)
    yield c
    c.close()


@pytest.fixture()
def local() -> Iterator[QdrantClient]:
    """A fresh local-mode client, the reference."""
    c = QdrantClient(":memory:")
    yield c
    c.close()


def _name() -> str:
    """A unique collection name."""
    return "o_" + uuid.uuid4().hex[:10]


@dataclass
class Mixed:
    """A collection loaded alike on both sides, with indexed and appendable segments."""

    remote: QdrantClient
    local: QdrantClient
    name: str
    ids: list[int]
    info: models.CollectionInfo


@pytest.fixture(scope="module")
def mixed(server: HeronProcess) -> Iterator[Mixed]:
    """~1500 points of every kind; green with some indexed vectors, and a final upsert
    that leaves the write segment appendable just under the indexing threshold."""
    remote = QdrantClient(url=server.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    name = _name()
    for c in (remote, local):
        create(c, name)
    rng = np.random.default_rng(1501)
    ids = list(range(1450))
    upsert([remote, local], name, make_points(rng, ids))
    info = wait_green(remote, name)
    assert info.indexed_vectors_count and info.indexed_vectors_count > 0, info
    assert info.indexed_vectors_count % len(HNSW_NAMES) == 0, info
    tail = info.points_count - info.indexed_vectors_count // len(HNSW_NAMES)
    below = int(MIXED_THRESHOLD_KB / POINT_KB) - 1
    assert 0 <= tail <= below, (tail, info)
    more = list(range(2000, 2000 + below - tail))
    upsert([remote, local], name, make_points(rng, more))
    ids += more
    info = remote.get_collection(name)
    assert info.status == models.CollectionStatus.GREEN, info
    assert info.points_count == len(ids)
    indexed_points = (info.indexed_vectors_count or 0) // len(HNSW_NAMES)
    assert 0 < indexed_points < len(ids) - 100, info  # both kinds of segment hold points
    yield Mixed(remote, local, name, ids, info)
    remote.close()
    local.close()


# --- 1. mixed segments ---------------------------------------------------------------------


def test_mixed_segments_answer_like_local_mode(mixed: Mixed) -> None:
    """Every kind, filters, offsets, thresholds, fusion, re-scoring, query by id."""
    assert mixed.info.segments_count >= 7
    queries = query_suite(mixed.local, mixed.name, seed=11, rounds=1,
                          probe_ids=[3, 700, 1449, 2001, 2050, 1100])
    compare_suite(mixed.remote, mixed.local, mixed.name, queries)
    compare_points(mixed.remote, mixed.local, mixed.name, mixed.ids[::7])


def test_recall_of_default_search_over_many_queries(mixed: Mixed) -> None:
    """Default params vs local mode, 30 queries per graph-indexed vector."""
    rng = np.random.default_rng(12)
    for name in HNSW_NAMES:
        recall = Recall()
        for k in range(30):
            q = make_vector(rng, name)
            flt = _group(k % 5) if k % 3 == 0 else None
            want = mixed.local.query_points(mixed.name, query=q, using=name, limit=10,
                                            query_filter=flt).points
            got = mixed.remote.query_points(mixed.name, query=q, using=name, limit=10,
                                            query_filter=flt).points
            recall.add(got, want, f"{name} #{k}")
        recall.check()


# --- 2. writes during and after indexing -----------------------------------------------------


LOG_TIME = "%Y-%m-%d %H:%M:%S,%f"


def build_windows(text: str, coll: str) -> list[tuple[float, float]]:
    """(start, end) wall-clock times of the rebuilds of ``coll`` that the log shows."""
    line_re = re.compile(
        rf"^(\S+ \S+) INFO heron\.optimizer: collection {re.escape(coll)}: "
        r"\w+ segment (\d+) .*?(started|done)"
    )
    started: dict[str, float] = {}
    out = []
    for line in text.splitlines():
        m = line_re.match(line)
        if m is None:
            continue
        when = datetime.strptime(m[1], LOG_TIME).timestamp()
        if m[3] == "started":
            started[m[2]] = when
        elif m[2] in started:
            out.append((started.pop(m[2]), when))
    return out


def _mutate(clients: Sequence[QdrantClient], coll: str, rng: np.random.Generator,
            live: list[int], fresh: list[int], r: int,
            spans: list[tuple[float, float]]) -> None:
    """One round of every kind of write, half of them aimed at the newest points (those in
    the segment most likely being rebuilt); ``spans`` gets the times of heron's writes."""

    def pick(k: int) -> list[int]:
        recent = live[-150:]
        out = {int(x) for x in rng.choice(recent, size=k // 2, replace=False)}
        while len(out) < k:
            out.add(int(rng.choice(live)))
        return sorted(out)

    def each(fn: Callable[[QdrantClient], Any]) -> None:
        t0 = time.time()
        fn(clients[0])
        spans.append((t0, time.time()))
        for c in clients[1:]:
            fn(c)

    new_points = make_points(rng, fresh)
    each(lambda c: c.upsert(coll, new_points, wait=True))
    live.extend(fresh)
    ids = pick(10)
    each(lambda c: c.set_payload(coll, {"tag": f"r{r}", "deep": {"x": r}}, points=ids))
    ids = pick(6)
    each(lambda c: c.overwrite_payload(coll, {"group": 9, "n": r}, points=ids))
    ids = pick(6)
    each(lambda c: c.delete_payload(coll, ["n"], points=ids))
    ids = pick(4)
    each(lambda c: c.clear_payload(coll, points_selector=ids))
    flt = models.Filter(must=[
        models.FieldCondition(key="group", match=models.MatchValue(value=r % 5)),
        models.FieldCondition(key="n", range=models.Range(lt=8)),
    ])
    each(lambda c: c.set_payload(coll, {"flagged": True}, points=flt))
    moved = [models.PointVectors(id=pid, vector={"cos": make_vector(rng, "cos")})
             for pid in pick(10)]
    moved += [models.PointVectors(id=pid, vector={"sp": make_vector(rng, "sp"),
                                                  "multi": make_vector(rng, "multi")})
              for pid in pick(6)]
    each(lambda c: c.update_vectors(coll, moved, wait=True))
    ids = pick(6)
    each(lambda c: c.delete_vectors(coll, ["dot"], points=ids))
    again = make_points(rng, pick(10))
    partial = [models.PointStruct(id=pid, vector={"cos": make_vector(rng, "cos"),
                                                  "man": make_vector(rng, "man")},
                                  payload={"partial": r}) for pid in pick(6)]
    each(lambda c: c.upsert(coll, again + partial, wait=True))
    gone = pick(10)
    each(lambda c: c.delete(coll, gone))
    flt = models.Filter(must=[models.FieldCondition(key="n", match=models.MatchValue(
        value=int(rng.integers(0, 100))))])
    each(lambda c: c.delete(coll, flt))
    kept = {p.id for p in clients[-1].scroll(coll, limit=100_000)[0]}
    live[:] = [pid for pid in live if pid in kept]


def test_writes_during_and_after_indexing_match_local_mode(
    remote: QdrantClient, local: QdrantClient, server: HeronProcess
) -> None:
    """Rounds of writes while the write segment keeps being indexed (a 10 KB threshold and
    slow graph builds), until several writes provably overlapped a rebuild."""
    coll = _name()
    slow = models.HnswConfigDiff(full_scan_threshold=1, ef_construct=400, m=48)
    for c in (remote, local):
        create(c, coll, threshold_kb=10, hnsw=slow)
    rng = np.random.default_rng(2002)
    live = list(range(800))
    upsert([remote, local], coll, make_points(rng, live))
    before = wait_green(remote, coll)
    assert before.indexed_vectors_count
    offset = log_size(server)
    all_ids = set(live)
    spans: list[tuple[float, float]] = []
    overlapping = 0
    # a build waits a while (optimizer.worker.PAUSE_SECONDS) for a stream of writes to pause,
    # so the rounds go on until enough writes overlapped one, within a minute
    until = time.monotonic() + 60
    for r in range(200):
        fresh = list(range(5000 + 100 * r, 5000 + 100 * r + 50))
        all_ids.update(fresh)
        _mutate([remote, local], coll, rng, live, fresh, r, spans)
        windows = build_windows(log_since(server, offset), coll)
        overlapping = sum(1 for t0, t1 in spans if any(t0 < e and t1 > s for s, e in windows))
        if (r >= 3 and overlapping >= 5) or time.monotonic() > until:
            break
    assert overlapping >= 1, ("no write overlapped a rebuild", spans, windows)
    compare_points(remote, local, coll, sorted(all_ids))
    whole = [int(pt.id) for pt in local.retrieve(coll, live[-60:], with_vectors=True)
             if set(pt.vector or {}) == set(KINDS)]  # type: ignore[arg-type]
    queries = query_suite(local, coll, seed=21, rounds=1, probe_ids=whole[:6])
    compare_suite(remote, local, coll, queries)
    after = wait_green(remote, coll)
    assert after.points_count == len(live)
    compare_points(remote, local, coll, sorted(all_ids))
    compare_suite(remote, local, coll, queries)


# --- 3. SIGKILL during a build -----------------------------------------------------------------

State = tuple[int, int, int]
"""(generation of "cos", generation of "euc" and "sp", generation of the payload)."""
KILL_NAMES = ("cos", "euc", "sp")


def _gen_rng(pid: int, gen: int, kind: int) -> np.random.Generator:
    """The generator of point ``pid``'s values at generation ``gen``."""
    return np.random.default_rng([pid, gen, kind])


def _kill_vectors(pid: int, state: State) -> dict[str, Any]:
    """The vectors of ``pid`` in ``state`` as REST JSON (cos already normalised)."""
    c, e, _ = state
    cos = _gen_rng(pid, c, 0).normal(size=DIM)
    cos = (cos / np.linalg.norm(cos)).astype(np.float32)
    rng = _gen_rng(pid, e, 1)
    euc = rng.normal(size=DIM).astype(np.float32).tolist()
    sp = _sparse(rng)
    return {"cos": cos.tolist(), "euc": euc,
            "sp": {"indices": sp.indices, "values": sp.values}}


def _kill_payload(pid: int, state: State) -> dict[str, Any]:
    """The payload of ``pid`` in ``state``."""
    return {"pgen": state[2], "kw": f"k{pid % 7}", "group": pid % 5}


def _kill_point(pid: int, state: State) -> dict[str, Any]:
    """Point ``pid`` in ``state`` as REST JSON."""
    return {"id": pid, "vector": _kill_vectors(pid, state), "payload": _kill_payload(pid, state)}


@dataclass
class Op:
    """One write: its JSON request and the state each point has after it (None: deleted)."""

    method: str
    path: str
    body: dict[str, Any]
    after: dict[int, State | None]


def _next_op(rng: random.Random, model: dict[int, State | None], gen: int,
             next_id: list[int]) -> Op:
    live = [pid for pid, s in model.items() if s is not None]
    roll = rng.random()
    if roll < 0.4 or len(live) < 50:
        ids = list(range(next_id[0], next_id[0] + 40))
        next_id[0] += 40
        after: dict[int, State | None] = {pid: (gen, gen, gen) for pid in ids}
        return Op("PUT", "points", {"points": [_kill_point(p, (gen, gen, gen)) for p in ids]},
                  after)
    ids = rng.sample(live, 10)
    old = {pid: model[pid] for pid in ids}
    if roll < 0.6:
        after = {pid: (gen, gen, gen) for pid in ids}
        return Op("PUT", "points", {"points": [_kill_point(p, (gen, gen, gen)) for p in ids]},
                  after)
    if roll < 0.75:
        after = {pid: (s[0], s[1], gen) for pid, s in old.items() if s is not None}
        return Op("POST", "points/payload", {"points": ids, "payload": {"pgen": gen}}, after)
    if roll < 0.9:
        after = {pid: (gen, s[1], s[2]) for pid, s in old.items() if s is not None}
        cos = {pid: _kill_vectors(pid, st)["cos"] for pid, st in after.items()
               if st is not None}
        return Op("PUT", "points/vectors",
                  {"points": [{"id": pid, "vector": {"cos": v}} for pid, v in cos.items()]},
                  after)
    ids = ids[:4]
    return Op("POST", "points/delete", {"points": ids}, dict.fromkeys(ids))


def _observed(point: Any | None, pid: int, candidates: Sequence[State | None]) -> State | None:
    """Which candidate state the retrieved point is in; fails if none fits."""
    for state in candidates:
        if state is None:
            if point is None:
                return None
            continue
        if point is None or point.payload != _kill_payload(pid, state):
            continue
        want = _kill_vectors(pid, state)
        vec = point.vector
        if not isinstance(vec, dict) or set(vec) != set(KILL_NAMES):
            continue
        if all(same_vector(vec[name], want[name]) for name in KILL_NAMES):
            return state
    raise AssertionError(f"point {pid} is in none of the states {candidates}: {point}")


def _check_after_crash(client: QdrantClient, coll: str, model: dict[int, State | None],
                       in_flight: Op | None) -> None:
    """Every acknowledged write is there; the one unanswered write is all there or absent.
    Updates ``model`` to what the server holds."""
    pending = in_flight.after if in_flight else {}
    ids = sorted(set(model) | set(pending))
    got: dict[int, Any] = {}
    for start in range(0, len(ids), 400):
        for p in client.retrieve(coll, ids[start : start + 400], with_payload=True,
                                 with_vectors=True):
            got[int(p.id)] = p
    applied: dict[int, bool] = {}
    for pid in ids:
        old = model.get(pid)
        candidates = [old] + ([pending[pid]] if pid in pending else [])
        state = _observed(got.get(pid), pid, candidates)
        if pid in pending and pending[pid] != old:
            applied[pid] = state == pending[pid]
        model[pid] = state
    assert len(set(applied.values())) <= 1, f"write applied partially: {applied}"
    live = sum(1 for s in model.values() if s is not None)
    assert client.count(coll, exact=True).count == live


def _writer(url: str, coll: str, seed: int, model: dict[int, State | None], gen0: int,
            next_id: list[int], box: dict[str, Any], stop: threading.Event) -> None:
    """Send writes one by one until stopped or the server dies; ``box["in_flight"]`` holds
    the write without an answer, ``box["acked"]`` counts the answered ones."""
    rng = random.Random(seed)
    gen = gen0
    with httpx.Client(base_url=f"{url}/collections/{coll}/", timeout=10) as http:
        while not stop.is_set():
            gen += 1
            op = _next_op(rng, model, gen, next_id)
            box["in_flight"] = op
            try:
                r = http.request(op.method, op.path + "?wait=true", json=op.body)
            except httpx.HTTPError:
                return
            if r.status_code != 200:
                box["error"] = f"{op.method} {op.path}: {r.status_code} {r.text}"
                return
            model.update(op.after)
            box["in_flight"] = None
            box["acked"] = box.get("acked", 0) + 1
            box["gen"] = gen


def test_sigkill_during_optimizer_builds_loses_nothing(tmp_path: Path, local: QdrantClient) -> None:
    """Writers run, the server is killed at a random moment after a build starts (slow
    graphs so the kill usually lands inside it), three times; then congruence."""
    server = _server(tmp_path / "storage", max_points=600, flush=0.2).start()
    coll = "k"
    hnsw = models.HnswConfigDiff(full_scan_threshold=1, ef_construct=400, m=48)
    client = QdrantClient(url=server.url, timeout=30)
    create(client, coll, threshold_kb=20, hnsw=hnsw, names=KILL_NAMES)
    model: dict[int, State | None] = {}
    next_id = [0]
    gen = 0
    rng = random.Random(3003)
    mid_build = 0
    try:
        for round_ in range(3):
            offset = log_size(server)
            box: dict[str, Any] = {"gen": gen}
            stop = threading.Event()
            writer = threading.Thread(target=_writer, args=(
                server.url, coll, round_, model, gen, next_id, box, stop))
            writer.start()
            deadline = time.monotonic() + 20
            while " started" not in log_since(server, offset):
                assert writer.is_alive(), box.get("error")
                assert time.monotonic() < deadline, "no optimizer build started"
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.15))
            server.kill()
            stop.set()
            writer.join(15)
            assert "error" not in box, box["error"]
            text = log_since(server, offset)
            if text.count(" started") > text.count(" done in "):
                mid_build += 1
            gen = box["gen"] + 1000
            server.start()
            client.close()
            client = QdrantClient(url=server.url, timeout=30)
            _check_after_crash(client, coll, model, box.get("in_flight"))
        assert mid_build >= 1, "no kill landed inside a build"
        wait_green(client, coll)
        live = {pid: s for pid, s in model.items() if s is not None}
        assert len(live) > 200
        create(local, coll, names=KILL_NAMES)
        points = [models.PointStruct(**_kill_point(pid, s)) for pid, s in sorted(live.items())]
        upsert([local], coll, points, batch=500)
        compare_points(client, local, coll, sorted(model))
        queries = query_suite(local, coll, seed=31, names=KILL_NAMES, rounds=1,
                              probe_ids=sorted(live)[:3])
        compare_suite(client, local, coll, queries)
    finally:
        client.close()
        code = server.stop()
    assert code == 0, server.log()


# --- 4. indexes are loaded, not rebuilt -----------------------------------------------------


def _answers(client: QdrantClient, coll: str, seed: int) -> list[list[tuple[Any, float]]]:
    """Default-params answers of 15 seeded queries on the graph-indexed vectors."""
    rng = np.random.default_rng(seed)
    out = []
    for name in HNSW_NAMES:
        for _ in range(5):
            hits = client.query_points(coll, query=make_vector(rng, name), using=name,
                                       limit=10).points
            out.append([(h.id, h.score) for h in hits])
    return out


def _restart(server: HeronProcess, client: QdrantClient, graceful: bool
             ) -> tuple[QdrantClient, int]:
    """Stop (SIGTERM, or SIGKILL) and start again; a new client and the log offset."""
    client.close()
    if graceful:
        assert server.stop() == 0, server.log()
    else:
        server.kill()
    offset = log_size(server)
    server.start()
    return QdrantClient(url=server.url, timeout=30), offset


def test_restart_loads_indexes_instead_of_rebuilding(tmp_path: Path) -> None:
    """Indexed segments come back from disk: after a graceful stop, and after SIGKILL once
    the flush interval has passed since the last rebuild."""
    server = _server(tmp_path / "storage", flush=0.2).start()
    coll = "r"
    client = QdrantClient(url=server.url, timeout=30)
    rng = np.random.default_rng(4004)
    try:
        create(client, coll)
        upsert([client], coll, make_points(rng, range(1000)))
        before = wait_green(client, coll)
        assert before.indexed_vectors_count
        answers = _answers(client, coll, 41)
        time.sleep(0.6)  # past the flush interval

        client, offset = _restart(server, client, graceful=True)
        info = client.get_collection(coll)
        assert info.status == models.CollectionStatus.GREEN, info
        assert info.indexed_vectors_count == before.indexed_vectors_count, info
        assert info.points_count == before.points_count
        assert info.segments_count == before.segments_count
        assert _answers(client, coll, 41) == answers
        time.sleep(0.7)  # longer than the optimizer's poll
        text = log_since(server, offset)
        assert " started" not in text, text
        assert "replayed" not in text, text
        assert client.get_collection(coll).indexed_vectors_count == before.indexed_vectors_count

        # new segments get built after the last write; the flusher must persist them too
        upsert([client], coll, make_points(rng, range(1000, 1400)), batch=200)
        before = wait_green(client, coll)
        answers = _answers(client, coll, 42)
        time.sleep(1.0)  # five flush intervals, no write since the last rebuild
        client, offset = _restart(server, client, graceful=False)
        info = client.get_collection(coll)
        time.sleep(0.7)
        text = log_since(server, offset)
        assert " started" not in text, ("rebuilt after SIGKILL although flushed", text)
        assert info.status == models.CollectionStatus.GREEN, info
        assert info.indexed_vectors_count == before.indexed_vectors_count, info
        assert info.points_count == 1400
        assert _answers(client, coll, 42) == answers
    finally:
        client.close()
        code = server.stop()
    assert code == 0, server.log()



# --- 5. filtered search on graphs ------------------------------------------------------------


def test_filtered_search_matches_exact_search(remote: QdrantClient) -> None:
    """3000 indexed points; keyword filters matching 1%, 10% and 50%: default vs exact."""
    coll = _name()
    create(remote, coll, threshold_kb=1, names=HNSW_NAMES)
    remote.create_payload_index(coll, "bucket", models.PayloadSchemaType.KEYWORD)
    rng = np.random.default_rng(5005)
    upsert([remote], coll, make_points(rng, range(3000), names=HNSW_NAMES), batch=250)
    info = wait_green(remote, coll)
    assert info.indexed_vectors_count == 3 * 3000, info
    selections = {
        "1%": models.MatchValue(value="a"),
        "10%": models.MatchAny(any=["a", "b"]),
        "50%": models.MatchValue(value="d"),
    }
    for share, match in selections.items():
        flt = models.Filter(must=[models.FieldCondition(key="bucket", match=match)])
        matching = remote.count(coll, count_filter=flt, exact=True).count
        expected = 3000 * float(share[:-1]) / 100
        assert 0.5 * expected <= matching <= 1.5 * expected, (share, matching)
        for name in HNSW_NAMES:
            recall = Recall()
            for k in range(10):
                q = make_vector(rng, name)
                want = remote.query_points(coll, query=q, using=name, limit=10,
                                           query_filter=flt, search_params=EXACT,
                                           with_payload=True).points
                got = remote.query_points(coll, query=q, using=name, limit=10,
                                          query_filter=flt, with_payload=True).points
                assert all(_passes(h.payload, match) for h in got), (share, _show(got))
                recall.add(got, want, f"{share} {name} #{k}")
            recall.check()


def _passes(payload: dict[str, Any] | None, match: Any) -> bool:
    """Whether a payload's ``bucket`` satisfies ``match``."""
    value = (payload or {}).get("bucket")
    if isinstance(match, models.MatchValue):
        return bool(value == match.value)
    return value in match.any


# --- 6. vacuum --------------------------------------------------------------------------------


def test_vacuum_after_mass_delete(remote: QdrantClient, local: QdrantClient,
                                  server: HeronProcess) -> None:
    """60% of three indexed segments deleted: vacuumed, counts truthful, still congruent."""
    coll = _name()
    for c in (remote, local):
        create(c, coll, threshold_kb=1)
    rng = np.random.default_rng(6006)
    ids = list(range(1000))
    upsert([remote, local], coll, make_points(rng, ids))
    before = wait_green(remote, coll)
    assert before.indexed_vectors_count == 3 * 1000, before
    offset = log_size(server)
    doomed = [pid for pid in range(600) if pid % 10 < 6]
    by_filter = models.Filter(must=[
        models.FieldCondition(key="group", match=models.MatchValue(value=4)),
        models.HasIdCondition(has_id=list(range(600, 800))),
    ])
    for c in (remote, local):
        c.delete(coll, doomed)
        c.delete(coll, by_filter)
        if c is remote:  # three segments lost 60%: vacuums are planned or running
            assert remote.get_collection(coll).status == models.CollectionStatus.YELLOW
    left = local.count(coll).count
    assert remote.count(coll, exact=True).count == left
    after = wait_green(remote, coll)
    assert f"collection {coll}: vacuum segment" in log_since(server, offset)
    assert after.points_count == left
    assert after.indexed_vectors_count == 3 * left, after
    assert 1 <= (after.segments_count or 0) <= (before.segments_count or 0), after
    time.sleep(0.6)  # nothing left to vacuum: it stays green
    again = remote.get_collection(coll)
    assert again.status == models.CollectionStatus.GREEN, again
    assert again.segments_count == after.segments_count
    assert remote.retrieve(coll, doomed[:50]) == []
    compare_points(remote, local, coll, ids)
    compare_suite(remote, local, coll, query_suite(local, coll, seed=61, rounds=1,
                                                   probe_ids=[599, 999]))
    back = make_points(rng, doomed[:30])
    upsert([remote, local], coll, back)
    wait_green(remote, coll)
    compare_points(remote, local, coll, doomed[:60])
    compare_suite(remote, local, coll, query_suite(local, coll, seed=62, rounds=1,
                                                   names=HNSW_NAMES))


# --- 7. search params -------------------------------------------------------------------------


def test_indexed_only_and_hnsw_ef_are_accepted(mixed: Mixed, server: HeronProcess) -> None:
    """Each params variant answers 200 with true scores and high recall, on every kind,
    through query, prefetch and the legacy search endpoint."""
    rng = np.random.default_rng(77)
    variants = {
        "ef1": models.SearchParams(hnsw_ef=1),
        "ef16": models.SearchParams(hnsw_ef=16),
        "ef512": models.SearchParams(hnsw_ef=512),
        "indexed_only": models.SearchParams(indexed_only=True),
        "both": models.SearchParams(indexed_only=True, hnsw_ef=64),
        "exact_indexed_only": models.SearchParams(exact=True, indexed_only=True),
    }
    for name in KINDS:
        recalls = {label: Recall() for label in variants}
        for k in range(5):
            q = make_vector(rng, name)
            flt = _group(k % 5) if k % 2 else None
            truth = mixed.local.query_points(mixed.name, query=q, using=name, limit=10,
                                             query_filter=flt).points
            for label, params in variants.items():
                got = mixed.remote.query_points(mixed.name, query=q, using=name, limit=10,
                                                query_filter=flt, search_params=params).points
                recalls[label].add(got, truth, f"{name} {label} #{k}")
        for label, recall in recalls.items():
            # the appendable segment is small, so indexed_only still searches it
            recall.check(0.9 if label == "ef1" else RECALL)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"vector": {"name": "cos", "vector": make_vector(rng, "cos")}, "limit": 5,
                "params": {"hnsw_ef": 32, "indexed_only": True}}
        r = http.post(f"/collections/{mixed.name}/points/search", json=body)
        assert r.status_code == 200, r.text
        assert len(r.json()["result"]) == 5
        r = http.post(f"/collections/{mixed.name}/points/query", json={
            "prefetch": [{"query": make_vector(rng, "dot"), "using": "dot", "limit": 20,
                          "params": {"hnsw_ef": 8}}],
            "query": make_vector(rng, "euc"), "using": "euc", "limit": 5,
            "params": {"indexed_only": True, "hnsw_ef": 100}})
        assert r.status_code == 200, r.text
        assert len(r.json()["result"]["points"]) == 5
