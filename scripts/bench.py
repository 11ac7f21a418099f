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
- ``index``: the HNSW benchmark (not in the default run; ``bench_index.py``): ingest, time
  until green, recall@10 against exact ground truth (queries drawn from the data's
  distribution; a hard set off its subspace at growing ``hnsw_ef``), single-client p50/p99
  with ``GET /`` and the other query kinds timed in turn per query, requests/s at 16
  concurrent clients against ``GET /`` (alternating stretches), 10 %-filtered and two-prefetch RRF p50, gRPC query p50
  against gRPC HealthCheck, server RSS against the raw vector bytes, restart time; and on the
  same data qdrant-client local mode's p50 (up to 200k points), raw hnswlib's 2-thread build,
  p50 and recall, and qdrant-edge (Qdrant's engine) at growing ef until its recall reaches heron's.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import Bench, clustered, concurrent_rps, p, sparse_rows  # noqa: E402

from tests.server import HeronProcess  # noqa: E402

SECTIONS = ("dense", "sparse", "multi", "rrf", "grpc", "browse", "index", "kinds")


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
                dq = clustered(args.queries, dim, args.seed, draw=args.seed + 1)
                hard = clustered(args.queries, dim, args.seed + 1)
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
                    from bench_index import index_section

                    lines.extend(index_section(b, server, dense, dq, hard, sparse, sq, args))
                if "kinds" in sections:
                    lines.extend(kinds_section(b, dense, dq, args))
        finally:
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
