#!/usr/bin/env python3
"""heron benchmark: ingest throughput and query latency against a freshly started server.

Starts ``heron serve`` on a free port over a temporary storage directory, creates a 128-d
Cosine collection, upserts clustered low-rank points in batches with ``wait=true``, then
measures single-client query latency and, as a baseline in the same run, ``GET /`` latency.

    .venv/bin/python scripts/bench.py --points 10000 --queries 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server import HeronProcess  # noqa: E402


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Points around 64 centres in a 32-d subspace, plus a little noise: like embeddings."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(32, dim))
    centres = rng.normal(size=(64, 32)) * 3
    labels = rng.integers(0, 64, size=n)
    low = centres[labels] + rng.normal(size=(n, 32))
    return (low @ basis + 0.1 * rng.normal(size=(n, dim))).astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    data = clustered(args.points, args.dim, args.seed)
    queries = clustered(args.queries, args.dim, args.seed + 1)
    with tempfile.TemporaryDirectory(prefix="heron-bench-") as tmp:
        server = HeronProcess(Path(tmp) / "storage").start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                http.put(
                    "/collections/bench",
                    json={"vectors": {"size": args.dim, "distance": "Cosine"}},
                ).raise_for_status()
                t0 = time.perf_counter()
                for start in range(0, args.points, args.batch):
                    chunk = data[start : start + args.batch]
                    points = [
                        {"id": start + i, "vector": row, "payload": {"n": start + i}}
                        for i, row in enumerate(chunk)
                    ]
                    body = orjson.dumps({"points": points}, option=orjson.OPT_SERIALIZE_NUMPY)
                    r = http.put(
                        "/collections/bench/points?wait=true",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    r.raise_for_status()
                ingest = args.points / (time.perf_counter() - t0)

                def timed(fn: object) -> list[float]:
                    out = []
                    for q in queries:
                        t = time.perf_counter()
                        fn(q)  # type: ignore[operator]
                        out.append((time.perf_counter() - t) * 1000)
                    return out

                root = timed(lambda _q: http.get("/").raise_for_status())
                search = timed(
                    lambda q: http.post(
                        "/collections/bench/points/query",
                        content=orjson.dumps(
                            {"query": q, "limit": 10}, option=orjson.OPT_SERIALIZE_NUMPY
                        ),
                        headers={"content-type": "application/json"},
                    ).raise_for_status()
                )
        finally:
            server.stop()
    print(f"points={args.points} dim={args.dim} batch={args.batch} queries={args.queries}")
    print(f"ingest: {ingest:,.0f} points/s (wait=true)")
    print(
        f"GET / p50 {statistics.median(root):.2f} ms | query p50 {statistics.median(search):.2f} ms"
        f" p99 {percentile(search, 99):.2f} ms | ratio {statistics.median(search) / statistics.median(root):.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
