"""Focused benchmark of the sparse and hybrid query paths (issue 13's RRF and filter targets).

Starts a server, loads ``--points`` points with a 128-d clustered dense vector "d", a zipf-ish
sparse vector "s" (~100 non-zeros from a 30k vocabulary, as ``scripts/bench.py``) and an
indexed payload ``cat`` (10 values), waits for green, then times in one run: ``GET /``, a dense
query, a sparse query, dense + sparse RRF, RRF of two dense prefetches and a 10 %-filtered dense
query (medians of ``--queries`` calls each, interleaved round by round so noise hits them all
alike). ``--loop SECONDS`` then keeps sending sparse queries (for ``py-spy record --pid``).

    .venv/bin/python scripts/bench_sparse.py --points 100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import clustered, sparse_rows  # noqa: E402

from tests.server import HeronProcess  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--loop", type=float, default=0.0, help="then sparse queries for this long")
    args = ap.parse_args()
    n, q = args.points, args.queries
    dense = clustered(n, 128, args.seed)
    dq = clustered(q + 1, 128, args.seed + 1)
    sparse = sparse_rows(n, 100, 30_000, args.seed)
    sq = sparse_rows(q, 20, 30_000, args.seed + 1)
    with tempfile.TemporaryDirectory(prefix="heron-bsparse-") as tmp:
        server = HeronProcess(Path(tmp) / "storage").start()
        print(f"server pid {server.proc.pid}", flush=True)
        try:
            with httpx.Client(base_url=server.url, timeout=300) as http:
                def post(path: str, body: Any) -> httpx.Response:
                    r = http.post(path, content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
                                  headers={"content-type": "application/json"})
                    r.raise_for_status()
                    return r

                cfg = {"vectors": {"d": {"size": 128, "distance": "Cosine"}},
                       "sparse_vectors": {"s": {}}}
                http.put("/collections/idx", json=cfg).raise_for_status()
                t0 = time.perf_counter()
                for start in range(0, n, args.batch):
                    pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]},
                            "payload": {"cat": i % 10}}
                           for i in range(start, min(n, start + args.batch))]
                    r = http.put("/collections/idx/points?wait=true",
                                 content=orjson.dumps({"points": pts},
                                                      option=orjson.OPT_SERIALIZE_NUMPY),
                                 headers={"content-type": "application/json"})
                    r.raise_for_status()
                ingest = time.perf_counter() - t0
                http.put("/collections/idx/index?wait=true",
                         json={"field_name": "cat", "field_schema": "integer"}).raise_for_status()
                t0 = time.perf_counter()
                while http.get("/collections/idx").json()["result"]["status"] != "green":
                    time.sleep(0.2)
                info = http.get("/collections/idx").json()["result"]
                print(f"ingest {n / ingest:,.0f} points/s | green after "
                      f"{time.perf_counter() - t0:.1f} s ({info['segments_count']} segments)",
                      flush=True)
                path = "/collections/idx/points/query"
                kinds = {
                    "GET /": lambda i: http.get("/").raise_for_status(),
                    "dense": lambda i: post(path, {"query": dq[i], "using": "d", "limit": 10}),
                    "sparse": lambda i: post(path, {"query": sq[i], "using": "s", "limit": 20}),
                    "rrf dense+sparse": lambda i: post(path, {
                        "prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                                     {"query": sq[i], "using": "s", "limit": 20}],
                        "query": {"fusion": "rrf"}, "limit": 10}),
                    "rrf dense+dense": lambda i: post(path, {
                        "prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                                     {"query": dq[i + 1], "using": "d", "limit": 20}],
                        "query": {"fusion": "rrf"}, "limit": 10}),
                    "filtered 10%": lambda i: post(path, {
                        "query": dq[i], "using": "d", "limit": 10,
                        "filter": {"must": [{"key": "cat", "match": {"value": i % 10}}]}}),
                }
                for call in kinds.values():  # warm-up
                    call(0)
                times: dict[str, list[float]] = {k: [] for k in kinds}
                for i in range(q):
                    for k, call in kinds.items():
                        t = time.perf_counter()
                        call(i)
                        times[k].append((time.perf_counter() - t) * 1000)
                med = {k: statistics.median(v) for k, v in times.items()}
                d50 = med["dense"]
                for k, v in med.items():
                    print(f"{k:18s} p50 {v:6.2f} ms  ({v / d50:.2f}x dense, "
                          f"{v / med['GET /']:.2f}x GET /)")
                if args.loop:
                    print("looping sparse queries", flush=True)
                    stop = time.perf_counter() + args.loop
                    i = 0
                    while time.perf_counter() < stop:
                        kinds["sparse"](i % q)
                        i += 1
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
