#!/usr/bin/env python3
"""heron benchmark: ingest throughput and query latencies against a freshly started server.

Starts ``heron serve`` on a free port over a temporary storage directory and runs the chosen
sections, each on its own collection, with ``GET /`` measured in the same run as a baseline:

- ``dense``: 128-d Cosine clustered points, upserted in batches of 256 with ``wait=true``;
  single-client query p50/p99.
- ``sparse``: sparse vectors with ~100 non-zeros from a 30k vocabulary; query p50.
- ``multi``: multivectors of 4 x 128-d (MaxSim, Cosine); query p50.
- ``rrf``: two-prefetch RRF (dense + sparse) against a single dense query on the same points.

    .venv/bin/python scripts/bench.py --points 10000 --queries 300
    .venv/bin/python scripts/bench.py --sections sparse,multi
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

from tests.server import HeronProcess  # noqa: E402

SECTIONS = ("dense", "sparse", "multi", "rrf")


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sections", default=",".join(SECTIONS))
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
        finally:
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
