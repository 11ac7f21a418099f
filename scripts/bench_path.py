#!/usr/bin/env python3
"""Request-path benchmark: query latency and throughput against ``GET /`` on one server.

Loads the index section's data (100k x 128-d clustered Cosine vectors ``d``, payload ``cat``
indexed) once into a storage directory kept between runs, then each run starts a server on
that storage (the worktree's code), waits for green and measures, in the same run: ``GET /``
p50 and query p50 single client (alternating, so noise hits both), then 16-client requests/s
of each. ``--hold`` keeps the server up afterwards and prints its pid (for py-spy).

    .venv/bin/python scripts/bench_path.py --storage /tmp/hpath-store --load
    .venv/bin/python scripts/bench_path.py --storage /tmp/hpath-store
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import clustered, concurrent_rps  # noqa: E402

from tests.server import HeronProcess  # noqa: E402

JSON = {"content-type": "application/json"}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or of one of its threads)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_per_call(pid: int, call: Callable[[], object], n: int) -> tuple[float, float, float]:
    """Median wall ms of ``call`` over ``n`` calls, and the server's CPU ms per call (whole
    process, and its main thread: the trio thread every request goes through)."""
    lat = []
    p0, m0 = cpu_seconds(pid), cpu_seconds(pid, pid)
    for _ in range(n):
        t = time.perf_counter()
        call()
        lat.append((time.perf_counter() - t) * 1000)
    p1, m1 = cpu_seconds(pid), cpu_seconds(pid, pid)
    return statistics.median(lat), (p1 - p0) * 1000 / n, (m1 - m0) * 1000 / n


def load(http: httpx.Client, n: int, dim: int, seed: int, batch: int) -> None:
    """Create ``idx`` and upsert ``n`` points in batches with wait=true."""
    dense = clustered(n, dim, seed)
    cfg = {"vectors": {"d": {"size": dim, "distance": "Cosine"}}}
    http.put("/collections/idx", json=cfg).raise_for_status()
    for start in range(0, n, batch):
        pts = [{"id": i, "vector": {"d": dense[i]}, "payload": {"cat": i % 10}}
               for i in range(start, min(n, start + batch))]
        http.put("/collections/idx/points?wait=true",
                 content=orjson.dumps({"points": pts}, option=orjson.OPT_SERIALIZE_NUMPY),
                 headers=JSON).raise_for_status()
    http.put("/collections/idx/index?wait=true",
             json={"field_name": "cat", "field_schema": "integer"}).raise_for_status()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", type=Path, required=True)
    ap.add_argument("--load", action="store_true", help="load the data first")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--hold", action="store_true", help="keep the server up (prints its pid)")
    ap.add_argument("--body", default="{}", help="extra JSON merged into each query body")
    args = ap.parse_args()

    server = HeronProcess(args.storage).start(timeout=120)
    try:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            if args.load:
                load(http, args.points, args.dim, args.seed, 256)
            while http.get("/collections/idx").json()["result"]["status"] != "green":
                time.sleep(0.2)
            dq = clustered(args.queries, args.dim, args.seed + 1)
            extra = orjson.loads(args.body)
            bodies = [orjson.dumps({"query": q, "using": "d", "limit": 10, **extra},
                                   option=orjson.OPT_SERIALIZE_NUMPY) for q in dq]
            for b in bodies[:30]:  # warm up
                http.post("/collections/idx/points/query", content=b, headers=JSON)
            root, lat = [], []
            for b in bodies:
                t = time.perf_counter()
                http.get("/").raise_for_status()
                root.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                http.post("/collections/idx/points/query", content=b,
                          headers=JSON).raise_for_status()
                lat.append((time.perf_counter() - t) * 1000)
            r50, q50 = statistics.median(root), statistics.median(lat)
            print(f"single client: GET / p50 {r50:.3f} ms | query p50 {q50:.3f} ms "
                  f"p99 {float(np.percentile(lat, 99)):.2f} ms ({q50 / r50:.2f}x)", flush=True)
            assert server.proc is not None
            pid = server.proc.pid
            it = iter(range(10**9))
            r = cpu_per_call(pid, lambda: http.get("/").raise_for_status(), 1000)
            q = cpu_per_call(pid, lambda: http.post(
                "/collections/idx/points/query", content=bodies[next(it) % len(bodies)],
                headers=JSON).raise_for_status(), 1000)
            print(f"server CPU per call (process / trio thread): GET / {r[1]:.3f} / {r[2]:.3f} ms"
                  f" | query {q[1]:.3f} / {q[2]:.3f} ms ({q[1] / r[1]:.2f}x / {q[2] / r[2]:.2f}x);"
                  f" wall p50 {r[0]:.3f} vs {q[0]:.3f} ms", flush=True)
            if args.hold:
                print(f"server pid {server.proc.pid if server.proc else '?'} url {server.url}",
                      flush=True)
            q_rps = concurrent_rps(server.url, lambda i: {"query": dq[i % len(dq)], "using": "d",
                                                          "limit": 10, **extra}, args.seconds)
            r_rps = concurrent_rps(server.url, None, args.seconds)
            print(f"16 clients: query {q_rps:,.0f} req/s | GET / {r_rps:,.0f} req/s "
                  f"({q_rps / r_rps:.2f})", flush=True)
            if args.hold:
                input("press enter to stop the server\n")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
