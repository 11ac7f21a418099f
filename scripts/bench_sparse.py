"""Focused benchmark of the sparse and hybrid query paths (issue 13's RRF and filter targets).

Starts a server, loads ``--points`` points with a 128-d clustered dense vector "d", a zipf-ish
sparse vector "s" (~100 non-zeros from a 30k vocabulary, as ``scripts/bench.py``) and an
indexed payload ``cat`` (10 values), waits for green, then times in one run: ``GET /``, a dense
query, a sparse query, dense + sparse RRF, RRF of two dense prefetches and a 10 %-filtered dense
query (medians of ``--queries`` calls each, interleaved round by round so noise hits them all
alike). ``--against DIR`` also starts a server from another checkout (e.g. ``/work/main``) on
the same data and interleaves its calls with this one's: an A/B on a noisy machine.
``--loop SECONDS`` then keeps sending sparse queries (for ``py-spy record --pid``).

    .venv/bin/python scripts/bench_sparse.py --points 100000 --against /work/main
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
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_common import clustered, index_cat_and_wait_green, sparse_rows  # noqa: E402

import tests.server  # noqa: E402
from tests.server import HeronProcess  # noqa: E402

Calls = dict[str, Callable[[int], object]]


def _post(http: httpx.Client, path: str, body: Any) -> httpx.Response:
    r = http.post(path, content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
                  headers={"content-type": "application/json"})
    r.raise_for_status()
    return r


def load(http: httpx.Client, dense: Any, sparse: list[Any], batch: int) -> str:
    """Create and fill the collection, index ``cat``, wait for green; a summary line."""
    n = len(dense)
    cfg = {"vectors": {"d": {"size": dense.shape[1], "distance": "Cosine"}},
           "sparse_vectors": {"s": {}}}
    http.put("/collections/idx", json=cfg).raise_for_status()
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]}, "payload": {"cat": i % 10}}
               for i in range(start, min(n, start + batch))]
        r = http.put("/collections/idx/points?wait=true",
                     content=orjson.dumps({"points": pts}, option=orjson.OPT_SERIALIZE_NUMPY),
                     headers={"content-type": "application/json"})
        r.raise_for_status()
    ingest = time.perf_counter() - t0
    t0 = time.perf_counter()
    info = index_cat_and_wait_green(http)
    return (f"ingest {n / ingest:,.0f} points/s | green after {time.perf_counter() - t0:.1f} s "
            f"({info['segments_count']} segments)")


def calls(http: httpx.Client, dq: Any, sq: list[Any]) -> Calls:
    """The timed requests, by name, each taking the query number."""
    path = "/collections/idx/points/query"
    return {
        "GET /": lambda i: http.get("/").raise_for_status(),
        "dense": lambda i: _post(http, path, {"query": dq[i], "using": "d", "limit": 10}),
        "sparse": lambda i: _post(http, path, {"query": sq[i], "using": "s", "limit": 20}),
        "rrf dense+sparse": lambda i: _post(http, path, {
            "prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                         {"query": sq[i], "using": "s", "limit": 20}],
            "query": {"fusion": "rrf"}, "limit": 10}),
        "rrf dense+dense": lambda i: _post(http, path, {
            "prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                         {"query": dq[i + 1], "using": "d", "limit": 20}],
            "query": {"fusion": "rrf"}, "limit": 10}),
        "filtered 10%": lambda i: _post(http, path, {
            "query": dq[i], "using": "d", "limit": 10,
            "filter": {"must": [{"key": "cat", "match": {"value": i % 10}}]}}),
        "sparse filtered": lambda i: _post(http, path, {
            "query": sq[i], "using": "s", "limit": 20,
            "filter": {"must": [{"key": "cat", "match": {"value": i % 10}}]}}),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--against", type=Path, help="another checkout to A/B against")
    ap.add_argument("--loop", type=float, default=0.0, help="then sparse queries for this long")
    args = ap.parse_args()
    n, q = args.points, args.queries
    dense = clustered(n, 128, args.seed)
    dq = clustered(q + 1, 128, args.seed + 1)
    sparse = sparse_rows(n, 100, 30_000, args.seed)
    sq = sparse_rows(q, 20, 30_000, args.seed + 1)
    roots = {"this": tests.server.ROOT}
    if args.against:
        roots[str(args.against)] = args.against.resolve()
    with tempfile.TemporaryDirectory(prefix="heron-bsparse-") as tmp:
        servers: dict[str, HeronProcess] = {}
        clients: dict[str, httpx.Client] = {}
        try:
            for label, root in roots.items():
                tests.server.ROOT = root  # HeronProcess starts ``python -m server`` there
                servers[label] = HeronProcess(Path(tmp) / f"storage-{len(servers)}").start()
                print(f"{label}: server pid {servers[label].proc.pid}", flush=True)
                clients[label] = httpx.Client(base_url=servers[label].url, timeout=300)
                print(f"{label}: {load(clients[label], dense, sparse, args.batch)}", flush=True)
            plans = {label: calls(http, dq, sq) for label, http in clients.items()}
            for plan in plans.values():  # warm-up
                for call in plan.values():
                    call(0)
            times = {label: {k: [] for k in plan} for label, plan in plans.items()}
            for i in range(q):
                for label, plan in plans.items():
                    for k, call in plan.items():
                        t = time.perf_counter()
                        call(i)
                        times[label][k].append((time.perf_counter() - t) * 1000)
            for label, by_kind in times.items():
                med = {k: statistics.median(v) for k, v in by_kind.items()}
                print(f"--- {label}")
                for k, v in med.items():
                    print(f"{k:18s} p50 {v:6.2f} ms  ({v / med['dense']:.2f}x dense, "
                          f"{v / med['GET /']:.2f}x GET /)")
            if args.loop:
                print("looping sparse queries", flush=True)
                stop = time.perf_counter() + args.loop
                i = 0
                while time.perf_counter() < stop:
                    plans["this"]["sparse"](i % q)
                    i += 1
        finally:
            for http in clients.values():
                http.close()
            for server in servers.values():
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
