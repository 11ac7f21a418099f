#!/usr/bin/env python3
"""heron benchmark: ingest throughput and query latencies against a freshly started server.

Starts ``heron serve`` on a free port over a temporary storage directory and runs the chosen
sections, each on its own collection, with ``GET /`` measured in the same run as a baseline:

- ``dense``: 128-d Cosine clustered points, upserted in batches of 256 with ``wait=true``;
  single-client query p50/p99.
- ``sparse``: sparse vectors with ~100 non-zeros from a 30k vocabulary; query p50.
- ``multi``: multivectors of 4 x 128-d (MaxSim, Cosine); query p50.
- ``rrf``: two-prefetch RRF (dense + sparse) against a single dense query on the same points.
- ``grpc``: the same dense queries over gRPC (port 6334's API, raw stubs) beside REST: p50
  single client and requests/s at 16 clients; gRPC ingest; and where a gRPC call spends its
  time (HealthCheck = transport + trio hop, Count = + the operation layer, message conversion).
- ``browse``: heron-side BM25, scroll ``order_by``, facets and the distance matrix on points
  with a dense vector, a BM25 text and indexed payload: BM25 ingest (texts embedded by the
  server), then p50 of a plain dense query, a BM25 text query, scroll ordered by an integer,
  a facet over a 100-value keyword (whole collection and 10 %-filtered) and a 100-point matrix.
- ``index``: the HNSW benchmark (not in the default run): ingest, time until green, recall@10
  against exact ground truth, single-client p50/p99, requests/s at 16 concurrent clients
  against ``GET /``, 10 %-filtered and two-prefetch RRF p50, restart time, server RSS; and on
  the same data, qdrant-client local mode's p50 and raw hnswlib's 2-thread build and p50.
- ``kinds``: the Query API kinds (not in the default run) on dense points with payloads, once
  the collection is green: p50 of plain nearest beside recommend (each strategy), discover,
  context, relevance feedback, MMR, a formula over a 100-point prefetch, and sample.

    .venv/bin/python scripts/bench.py --points 10000 --queries 300
    .venv/bin/python scripts/bench.py --sections sparse,multi
    .venv/bin/python scripts/bench.py --sections index --points 100000
    .venv/bin/python scripts/bench.py --sections kinds --points 100000 --queries 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.server import HeronProcess  # noqa: E402

SECTIONS = ("dense", "sparse", "multi", "rrf", "grpc", "browse", "index", "kinds")


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Points around 64 centres in a 32-d subspace, plus a little noise: like embeddings."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(32, dim))
    centres = rng.normal(size=(64, 32)) * 3
    labels = rng.integers(0, 64, size=n)
    low = centres[labels] + rng.normal(size=(n, 32))
    return (low @ basis + 0.1 * rng.normal(size=(n, dim))).astype(np.float32)


def sparse_rows(n: int, nnz: int, vocab: int, seed: int) -> list[dict[str, list[Any]]]:
    """Zipf-ish sparse vectors: frequent low indices, like term weights."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        idx = np.unique(rng.zipf(1.3, size=nnz * 2) % vocab)[:nnz]
        out.append({"indices": idx.tolist(), "values": rng.random(len(idx)).round(4).tolist()})
    return out


class Bench:
    """A running server plus helpers to load data and time requests."""

    def __init__(self, http: httpx.Client, queries: int) -> None:
        self.http = http
        self.queries = queries

    def post(self, path: str, body: Any) -> httpx.Response:
        r = self.http.post(
            path,
            content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
            headers={"content-type": "application/json"},
        )
        r.raise_for_status()
        return r

    def load(self, name: str, config: dict[str, Any], points: list[dict[str, Any]],
             batch: int) -> float:
        """Create ``name`` and upsert ``points`` in batches with wait=true; points/s."""
        self.http.put(f"/collections/{name}", json=config).raise_for_status()
        t0 = time.perf_counter()
        for start in range(0, len(points), batch):
            r = self.http.put(
                f"/collections/{name}/points?wait=true",
                content=orjson.dumps(
                    {"points": points[start : start + batch]}, option=orjson.OPT_SERIALIZE_NUMPY
                ),
                headers={"content-type": "application/json"},
            )
            r.raise_for_status()
        return len(points) / (time.perf_counter() - t0)

    def timed(self, make: Callable[[int], Callable[[], object]]) -> list[float]:
        """Milliseconds per call of ``make(i)()`` for i in range(queries)."""
        out = []
        for i in range(self.queries):
            call = make(i)
            t = time.perf_counter()
            call()
            out.append((time.perf_counter() - t) * 1000)
        return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def concurrent_rps(url: str, make_body: Callable[[int], Any] | None, seconds: float,
                   clients: int = 16, collection: str = "idx") -> float:
    """Requests/s with ``clients`` threads for ``seconds``: queries, or ``GET /`` if no body."""
    from bench_threads import rate

    done = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(w: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            i = w
            while time.perf_counter() < stop:
                if make_body is None:
                    http.get("/").raise_for_status()
                else:
                    http.post(f"/collections/{collection}/points/query",
                              content=orjson.dumps(make_body(i), option=orjson.OPT_SERIALIZE_NUMPY),
                              headers={"content-type": "application/json"}).raise_for_status()
                done[w] += 1
                i += clients

    return rate(worker, clients, done)


def texts(n: int, seed: int, words: int = 30) -> list[str]:
    """Texts of ``words`` words drawn Zipf-like from a 5000-word synthetic vocabulary."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}x{(i * 7919) % 97}" for i in range(5000)]
    ranks = rng.zipf(1.2, size=(n, words)) % len(vocab)
    return [" ".join(vocab[r] for r in row) for row in ranks.tolist()]


def browse_section(b: Bench, dense: np.ndarray, dq: np.ndarray,
                   args: argparse.Namespace) -> list[str]:
    """BM25 Documents, scroll order_by, facet and the distance matrix next to a plain query."""
    n = len(dense)
    docs, queries = texts(n, args.seed), texts(args.queries, args.seed + 1, words=3)
    rng = np.random.default_rng(args.seed)
    pts = [{"id": i, "vector": {"d": dense[i], "text": {"text": docs[i], "model": "qdrant/bm25"}},
            "payload": {"n": int(rng.integers(0, 1000)), "tag": f"t{int(rng.integers(0, 100))}",
                        "g": i % 10}} for i in range(n)]
    cfg = {"vectors": {"d": {"size": dense.shape[1], "distance": "Cosine"}},
           "sparse_vectors": {"text": {"modifier": "idf"}}}
    rate = b.load("browse", cfg, pts, args.batch)
    for field, schema in (("n", "integer"), ("tag", "keyword"), ("g", "integer")):
        b.http.put("/collections/browse/index?wait=true",
                   json={"field_name": field, "field_schema": schema}).raise_for_status()
    url = "/collections/browse"
    runs = {
        "nearest (dense)": lambda i: {"query": dq[i], "using": "d", "limit": 10},
        "bm25 text query": lambda i: {"query": {"text": queries[i], "model": "qdrant/bm25"},
                                      "using": "text", "limit": 10},
    }
    out = [f"browse: BM25 ingest (server-side embedding + dense) {rate:,.0f} points/s"]
    for label, body in runs.items():
        t = b.timed(lambda i, body=body: lambda: b.post(f"{url}/points/query", body(i)))
        out.append(f"  {label}: p50 {statistics.median(t):.2f} ms p99 {p(t, 99):.2f} ms")
    others = {
        "scroll order_by n (limit 10)": ("/points/scroll", lambda i: {
            "order_by": {"key": "n", "start_from": i % 1000}, "limit": 10}),
        "facet tag (all points)": ("/facet", lambda i: {"key": "tag", "limit": 10}),
        "facet tag (10 % filter)": ("/facet", lambda i: {"key": "tag", "filter": {
            "must": [{"key": "g", "match": {"value": i % 10}}]}}),
        "matrix pairs (sample 100, limit 10)": ("/points/search/matrix/pairs", lambda i: {
            "sample": 100, "limit": 10, "using": "d"}),
    }
    for label, (path, body) in others.items():
        t = b.timed(lambda i, path=path, body=body: lambda: b.post(url + path, body(i)))
        out.append(f"  {label}: p50 {statistics.median(t):.2f} ms p99 {p(t, 99):.2f} ms")
    return out


def edge_anchor(dense: np.ndarray, dq: np.ndarray,
                truth: np.ndarray) -> tuple[float, list[tuple[float, float]]]:
    """Qdrant's own engine embedded (qdrant-edge-py) on the same data: optimize seconds, and
    (query p50 ms, recall@10) at its default ef and at hnsw_ef=400."""
    import qdrant_edge as qe

    with tempfile.TemporaryDirectory(prefix="heron-bench-edge-") as path:
        shard = qe.EdgeShard.create(path, qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dense.shape[1], distance=qe.Distance.Cosine)))
        for s in range(0, len(dense), 1000):
            rows = dense[s : s + 1000].tolist()
            shard.update(qe.UpdateOperation.upsert_points(
                [qe.Point(s + j, v) for j, v in enumerate(rows)]))
        t0 = time.perf_counter()
        shard.optimize()
        built = time.perf_counter() - t0
        runs = []
        for ef in (None, 400):  # its default (ef = ef_construct), and heron's default ef
            params = qe.SearchParams(hnsw_ef=ef) if ef else None
            lat, hits = [], []
            for i in range(len(dq)):
                t = time.perf_counter()
                res = shard.query(qe.QueryRequest(
                    limit=10, query=qe.Query.Nearest(dq[i].tolist()), params=params))
                lat.append((time.perf_counter() - t) * 1000)
                hits.append(len({int(r.id) for r in res} & set(truth[i].tolist())) / 10)
            runs.append((statistics.median(lat), float(np.mean(hits))))
        shard.close()
    return built, runs


def index_section(b: Bench, server: HeronProcess, dense: np.ndarray, dq: np.ndarray,
                  sparse: list[dict[str, Any]], sq: list[dict[str, Any]],
                  args: argparse.Namespace) -> list[str]:
    """The HNSW benchmark of issue 5 (see the module docstring)."""
    import hnswlib
    from qdrant_client import QdrantClient, models

    n, dim, out = len(dense), dense.shape[1], []
    cats = np.arange(n) % 10
    pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]}, "payload": {"cat": int(cats[i])}}
           for i in range(n)]
    cfg = {"vectors": {"d": {"size": dim, "distance": "Cosine"}}, "sparse_vectors": {"s": {}}}
    rate = b.load("idx", cfg, pts, args.batch)
    b.http.put("/collections/idx/index?wait=true",
               json={"field_name": "cat", "field_schema": "integer"}).raise_for_status()
    t0 = time.perf_counter()
    while b.http.get("/collections/idx").json()["result"]["status"] != "green":
        time.sleep(0.2)
    green = time.perf_counter() - t0
    info = b.http.get("/collections/idx").json()["result"]
    out.append(f"index: ingest {rate:,.0f} points/s | green after {green:.1f} s "
               f"({info['segments_count']} segments, {info['indexed_vectors_count']} indexed)")

    unit = dense / np.linalg.norm(dense, axis=1, keepdims=True)
    qn = dq / np.linalg.norm(dq, axis=1, keepdims=True)
    truth = np.argsort(-(qn @ unit.T), axis=1)[:, :10]
    found: list[list[int]] = []
    lat = b.timed(lambda i: lambda: found.append([p["id"] for p in b.post(
        "/collections/idx/points/query", {"query": dq[i], "using": "d", "limit": 10}
    ).json()["result"]["points"]]))
    recall = np.mean([len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)])
    flt_truth = []
    flt_found: list[list[int]] = []
    for i in range(min(100, len(dq))):
        sub = np.flatnonzero(cats == i % 10)
        flt_truth.append(set(sub[np.argsort(-(unit[sub] @ qn[i]))[:10]].tolist()))
    flt = b.timed(lambda i: lambda: flt_found.append([p["id"] for p in b.post(
        "/collections/idx/points/query",
        {"query": dq[i], "using": "d", "limit": 10,
         "filter": {"must": [{"key": "cat", "match": {"value": i % 10}}]}},
    ).json()["result"]["points"]]))
    flt_recall = np.mean([len(set(f) & t) / 10 for f, t in
                          zip(flt_found[: len(flt_truth)], flt_truth, strict=True)])
    rrf = b.timed(lambda i: lambda: b.post(
        "/collections/idx/points/query",
        {"prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                      {"query": sq[i], "using": "s", "limit": 20}],
         "query": {"fusion": "rrf"}, "limit": 10}))
    rrf_dense = b.timed(lambda i: lambda: b.post(
        "/collections/idx/points/query",
        {"prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                      {"query": dq[(i + 1) % len(dq)], "using": "d", "limit": 20}],
         "query": {"fusion": "rrf"}, "limit": 10}))
    sparse_only = b.timed(lambda i: lambda: b.post(
        "/collections/idx/points/query", {"query": sq[i], "using": "s", "limit": 20}))
    root = b.timed(lambda _i: lambda: b.http.get("/").raise_for_status())
    p50, root50 = statistics.median(lat), statistics.median(root)
    out.append(f"index: recall@10 {recall:.3f} | filtered (10%) recall@10 {flt_recall:.3f}")
    out.append(
        f"index: query p50 {p50:.2f} ms p99 {p(lat, 99):.2f} ms ({p50 / root50:.2f}x GET / "
        f"p50 {root50:.2f} ms) | filtered p50 {statistics.median(flt):.2f} ms "
        f"({statistics.median(flt) / p50:.2f}x) | RRF p50 {statistics.median(rrf):.2f} ms "
        f"({statistics.median(rrf) / p50:.2f}x; its sparse prefetch alone "
        f"{statistics.median(sparse_only):.2f} ms) | RRF of two dense prefetches p50 "
        f"{statistics.median(rrf_dense):.2f} ms ({statistics.median(rrf_dense) / p50:.2f}x)"
    )
    q_rps = concurrent_rps(server.url, lambda i: {"query": dq[i % len(dq)], "using": "d",
                                                  "limit": 10}, 10)
    r_rps = concurrent_rps(server.url, None, 10)
    out.append(f"index: 16 clients: query {q_rps:,.0f} req/s | GET / {r_rps:,.0f} req/s "
               f"({q_rps / r_rps:.2f})")
    assert server.proc is not None
    out.append(f"index: server RSS {rss_mb(server.proc.pid):,.0f} MB "
               f"(raw vectors {dense.nbytes / 2**20:,.0f} MB)")
    server.stop()
    t0 = time.perf_counter()
    server.start(timeout=120)
    restart = time.perf_counter() - t0
    still_green = b.http.get("/collections/idx").json()["result"]["status"]
    out.append(f"index: restart {restart:.2f} s (status after restart: {still_green})")

    local = QdrantClient(":memory:")
    local.create_collection("l", vectors_config=models.VectorParams(size=dim, distance="Cosine"))
    local.upload_collection("l", vectors=dense, ids=range(n))
    loc: list[float] = []
    for i in range(min(30, len(dq))):
        t = time.perf_counter()
        local.query_points("l", query=dq[i], limit=10)
        loc.append((time.perf_counter() - t) * 1000)
    local_p50 = statistics.median(loc)
    t0 = time.perf_counter()
    raw = hnswlib.Index(space="ip", dim=dim)
    raw.init_index(max_elements=n, ef_construction=100, M=16)
    raw.add_items(unit, np.arange(n), num_threads=2)
    build = time.perf_counter() - t0
    raw.set_ef(100)
    raw_lat = []
    for i in range(len(dq)):
        t = time.perf_counter()
        raw.knn_query(qn[i : i + 1], k=10, num_threads=1)
        raw_lat.append((time.perf_counter() - t) * 1000)
    out.append(
        f"index: local mode p50 {local_p50:.2f} ms ({local_p50 / p50:.1f}x heron) | raw hnswlib "
        f"2-thread build {build:.1f} s (green/build {green / build:.2f}), p50 "
        f"{statistics.median(raw_lat):.3f} ms"
    )
    built, ((edge50, edge_recall), (edge400, edge400_recall)) = edge_anchor(dense, dq, truth)
    out.append(
        f"index: qdrant-edge p50 {edge50:.3f} ms recall@10 {edge_recall:.3f}, at hnsw_ef=400 "
        f"p50 {edge400:.3f} ms recall@10 {edge400_recall:.3f} (optimize {built:.1f} s) | "
        f"heron's own work (p50 - GET / p50) {p50 - root50:.2f} ms = "
        f"{(p50 - root50) / edge400:.1f}x qdrant-edge at ef 400"
    )
    return out


def kinds_section(b: Bench, dense: np.ndarray, dq: np.ndarray,
                  args: argparse.Namespace) -> list[str]:
    """p50 of each Query API kind beside a plain nearest query on the same collection."""
    n, dim = dense.shape
    rng = np.random.default_rng(args.seed)
    pts = [{"id": i, "vector": dense[i], "payload": {"k": i % 7, "x": float(i % 1000) / 100}}
           for i in range(n)]
    b.load("kinds", {"vectors": {"size": dim, "distance": "Cosine"}}, pts, args.batch)
    while b.http.get("/collections/kinds").json()["result"]["status"] != "green":
        time.sleep(0.2)
    ids = rng.integers(0, n, size=(len(dq), 6)).tolist()

    def pair(i: int, j: int) -> dict[str, Any]:
        return {"positive": ids[i][j], "negative": ids[i][j + 1]}

    bodies: dict[str, Callable[[int], dict[str, Any]]] = {
        "nearest": lambda i: {"query": dq[i]},
        "recommend average_vector": lambda i: {"query": {"recommend": {
            "positive": ids[i][:2], "negative": ids[i][2:3]}}},
        "recommend best_score": lambda i: {"query": {"recommend": {
            "positive": ids[i][:2], "negative": ids[i][2:3], "strategy": "best_score"}}},
        "recommend sum_scores": lambda i: {"query": {"recommend": {
            "positive": ids[i][:2], "negative": ids[i][2:3], "strategy": "sum_scores"}}},
        "discover (2 pairs)": lambda i: {"query": {"discover": {
            "target": dq[i], "context": [pair(i, 0), pair(i, 2)]}}},
        "context (2 pairs)": lambda i: {"query": {"context": [pair(i, 0), pair(i, 2)]}},
        "relevance_feedback (3)": lambda i: {"query": {"relevance_feedback": {
            "target": dq[i], "feedback": [{"example": ids[i][j], "score": s}
                                          for j, s in ((0, 0.9), (1, 0.5), (2, 0.1))],
            "strategy": {"naive": {"a": 1.0, "b": 1.0, "c": 1.0}}}}},
        "mmr (100 candidates)": lambda i: {"query": {
            "nearest": dq[i], "mmr": {"diversity": 0.5, "candidates_limit": 100}}},
        "formula (100 prefetched)": lambda i: {
            "prefetch": {"query": dq[i], "limit": 100},
            "query": {"formula": {"sum": ["$score", {"mult": [0.1, "x"]},
                                          {"mult": [0.5, {"key": "k", "match": {"value": 3}}]}]}}},
        "sample random": lambda i: {"query": {"sample": "random"}},
    }
    out = [f"kinds ({n} points, {dim}-d Cosine, HNSW, limit 10):"]
    base = 0.0
    for label, make in bodies.items():
        t = b.timed(lambda i, make=make: lambda: b.post(  # type: ignore[misc]
            "/collections/kinds/points/query", make(i) | {"limit": 10}))
        p50 = statistics.median(t)
        base = base or p50
        out.append(f"  {label}: p50 {p50:.2f} ms p99 {p(t, 99):.2f} ms ({p50 / base:.1f}x nearest)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sections", default="dense,sparse,multi,rrf")
    args = ap.parse_args()
    sections = [s for s in args.sections.split(",") if s]
    for s in sections:
        if s not in SECTIONS:
            ap.error(f"unknown section {s!r}; choose from {', '.join(SECTIONS)}")

    n, dim = args.points, args.dim
    lines = [f"points={n} dim={dim} batch={args.batch} queries={args.queries} seed={args.seed}"]
    with tempfile.TemporaryDirectory(prefix="heron-bench-") as tmp:
        server = HeronProcess(Path(tmp) / "storage").start()
        try:
            with httpx.Client(base_url=server.url, timeout=300) as http:
                b = Bench(http, args.queries)
                root = b.timed(lambda _i: lambda: http.get("/").raise_for_status())
                root_p50 = statistics.median(root)
                lines.append(f"GET / p50 {root_p50:.2f} ms")
                dense = clustered(n, dim, args.seed)
                dq = clustered(args.queries, dim, args.seed + 1)
                sparse = sparse_rows(n, 100, 30_000, args.seed)
                sq = sparse_rows(args.queries, 20, 30_000, args.seed + 1)

                if "dense" in sections:
                    pts = [{"id": i, "vector": dense[i], "payload": {"n": i}} for i in range(n)]
                    rate = b.load("dense", {"vectors": {"size": dim, "distance": "Cosine"}},
                                  pts, args.batch)
                    t = b.timed(lambda i: lambda: b.post(
                        "/collections/dense/points/query", {"query": dq[i], "limit": 10}))
                    lines.append(
                        f"dense: ingest {rate:,.0f} points/s | query p50 "
                        f"{statistics.median(t):.2f} ms p99 {p(t, 99):.2f} ms "
                        f"({statistics.median(t) / root_p50:.2f}x GET /)"
                    )
                if "sparse" in sections:
                    pts = [{"id": i, "vector": {"s": sparse[i]}} for i in range(n)]
                    rate = b.load("sparse", {"sparse_vectors": {"s": {}}}, pts, args.batch)
                    t = b.timed(lambda i: lambda: b.post(
                        "/collections/sparse/points/query",
                        {"query": sq[i], "using": "s", "limit": 10}))
                    lines.append(
                        f"sparse (~100 nnz): ingest {rate:,.0f} points/s | query p50 "
                        f"{statistics.median(t):.2f} ms p99 {p(t, 99):.2f} ms"
                    )
                if "multi" in sections:
                    rng = np.random.default_rng(args.seed)
                    multi = rng.normal(size=(n, 4, dim)).astype(np.float32)
                    mq = rng.normal(size=(args.queries, 4, dim)).astype(np.float32)
                    pts = [{"id": i, "vector": {"m": multi[i]}} for i in range(n)]
                    cfg = {"vectors": {"m": {"size": dim, "distance": "Cosine",
                                             "multivector_config": {"comparator": "max_sim"}}}}
                    rate = b.load("multi", cfg, pts, args.batch)
                    t = b.timed(lambda i: lambda: b.post(
                        "/collections/multi/points/query",
                        {"query": mq[i], "using": "m", "limit": 10}))
                    lines.append(
                        f"multivector (4x{dim}): ingest {rate:,.0f} points/s | query p50 "
                        f"{statistics.median(t):.2f} ms p99 {p(t, 99):.2f} ms"
                    )
                if "rrf" in sections:
                    pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]}} for i in range(n)]
                    cfg = {"vectors": {"d": {"size": dim, "distance": "Cosine"}},
                           "sparse_vectors": {"s": {}}}
                    b.load("hybrid", cfg, pts, args.batch)
                    single = b.timed(lambda i: lambda: b.post(
                        "/collections/hybrid/points/query",
                        {"query": dq[i], "using": "d", "limit": 10}))
                    fused = b.timed(lambda i: lambda: b.post(
                        "/collections/hybrid/points/query",
                        {"prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                                      {"query": sq[i], "using": "s", "limit": 20}],
                         "query": {"fusion": "rrf"}, "limit": 10}))
                    s50, f50 = statistics.median(single), statistics.median(fused)
                    lines.append(
                        f"hybrid: single dense p50 {s50:.2f} ms | two-prefetch RRF p50 "
                        f"{f50:.2f} ms ({f50 / s50:.2f}x single)"
                    )
                if "grpc" in sections:
                    from bench_grpc import grpc_section

                    lines.extend(grpc_section(b, server, dense, dq, args, concurrent_rps))
                if "browse" in sections:
                    lines.extend(browse_section(b, dense, dq, args))
                if "index" in sections:
                    lines.extend(index_section(b, server, dense, dq, sparse, sq, args))
                if "kinds" in sections:
                    lines.extend(kinds_section(b, dense, dq, args))
        finally:
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
