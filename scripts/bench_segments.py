#!/usr/bin/env python3
"""Segment layout and dense-search micro-benchmark (issue 13's segment/optimizer levers).

Starts ``heron serve`` over a temporary directory, loads ``scripts/bench.py``'s clustered
128-d Cosine data (batches of 256, ``wait=true``), waits for green and reports, with anchors
measured in the same run: ingest points/s, time to green after the last upsert beside raw
hnswlib's 2-thread build of the same data, the segment layout, single-client query p50 beside
``GET /`` p50 with recall@10 against exact ground truth (default ef, and each ``--ef``), the
10 %-filtered p50 and recall, and requests/s at 16 clients for queries and ``GET /``.
``--profile`` runs ``py-spy record`` on the server during the 16-client query phase.

    .venv/bin/python scripts/bench_segments.py --points 100000
    .venv/bin/python scripts/bench_segments.py --points 100000 --profile /tmp/q16.svg
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import Bench, concurrent_rps, dense_truth  # noqa: E402

from tests.server import HeronProcess  # noqa: E402


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in
                          zip(found, truth, strict=True)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=8.0, help="per 16-client phase")
    ap.add_argument("--ef", default="", help="comma-separated hnsw_ef values to try as well")
    ap.add_argument("--optimizers", default="{}", help="optimizers_config JSON for the collection")
    ap.add_argument("--profile", default="",
                    help="py-spy record output (16-client queries); .txt: collapsed stacks")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw hnswlib anchor")
    ap.add_argument("--log", action="store_true", help="print the optimizer's runs")
    args = ap.parse_args()
    n, dim = args.points, 128
    dense, dq, unit, qn, truth = dense_truth(n, args.queries, dim)
    cats = np.arange(n) % 10
    out = [f"points={n} queries={args.queries} batch={args.batch}"]
    with tempfile.TemporaryDirectory(prefix="heron-bseg-") as tmp:
        server = HeronProcess(Path(tmp) / "storage").start()
        try:
            with httpx.Client(base_url=server.url, timeout=300) as http:
                b = Bench(http, args.queries)
                cfg: dict[str, Any] = {"vectors": {"size": dim, "distance": "Cosine"},
                                       "optimizers_config": orjson.loads(args.optimizers)}
                pts = [{"id": i, "vector": dense[i], "payload": {"cat": int(cats[i])}}
                       for i in range(n)]
                rate = b.load("c", cfg, pts, args.batch)
                http.put("/collections/c/index?wait=true",
                         json={"field_name": "cat", "field_schema": "integer"}).raise_for_status()
                t0 = time.perf_counter()
                if args.log:
                    out.append(f"last upsert at {time.strftime('%H:%M:%S')}")
                while http.get("/collections/c").json()["result"]["status"] != "green":
                    time.sleep(0.05)
                green = time.perf_counter() - t0
                info = http.get("/collections/c").json()["result"]
                out.append(f"ingest {rate:,.0f} points/s | green {green:.2f} s after the last "
                           f"upsert | {info['segments_count']} segments, "
                           f"{info['indexed_vectors_count']} indexed")

                root = b.timed(lambda _i: lambda: http.get("/").raise_for_status())
                root50 = statistics.median(root)

                def run(params: dict[str, Any] | None, flt: bool = False) -> tuple[float, float]:
                    found: list[list[int]] = []

                    def body(i: int) -> dict[str, Any]:
                        q: dict[str, Any] = {"query": dq[i], "limit": 10}
                        if params:
                            q["params"] = params
                        if flt:
                            q["filter"] = {"must": [{"key": "cat", "match": {"value": i % 10}}]}
                        return q
                    lat = b.timed(lambda i: lambda: found.append([p["id"] for p in b.post(
                        "/collections/c/points/query", body(i)).json()["result"]["points"]]))
                    if flt:
                        want = []
                        for i in range(len(dq)):
                            sub = np.flatnonzero(cats == i % 10)
                            want.append(sub[np.argsort(-(unit[sub] @ qn[i]))[:10]])
                        return statistics.median(lat), recall(found, np.asarray(want))
                    return statistics.median(lat), recall(found, truth)

                p50, rec = run(None)
                out.append(f"GET / p50 {root50:.2f} ms | query p50 {p50:.2f} ms "
                           f"({p50 / root50:.2f}x GET /; own work {p50 - root50:.2f} ms) "
                           f"recall@10 {rec:.3f}")
                for ef in [int(e) for e in args.ef.split(",") if e]:
                    e50, erec = run({"hnsw_ef": ef})
                    out.append(f"  hnsw_ef={ef}: p50 {e50:.2f} ms recall@10 {erec:.3f}")
                f50, frec = run(None, flt=True)
                out.append(f"filtered (10%) p50 {f50:.2f} ms ({f50 / p50:.2f}x) "
                           f"recall@10 {frec:.3f}")

                spy = None
                if args.profile:
                    assert server.proc is not None
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "-o",
                         args.profile, "--pid", str(server.proc.pid), "-d",
                         str(int(args.seconds)), "-t", "-r", "50", "--nonblocking",
                         *(["--format", "raw"] if args.profile.endswith(".txt") else [])],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                q_rps = concurrent_rps(server.url, lambda i: {"query": dq[i % len(dq)],
                                                              "limit": 10},
                                       args.seconds, collection="c")
                if spy is not None:
                    spy.wait(timeout=120)
                r_rps = concurrent_rps(server.url, None, args.seconds)
                out.append(f"16 clients: query {q_rps:,.0f} req/s | GET / {r_rps:,.0f} req/s "
                           f"({q_rps / r_rps:.2f})")
            if args.log:
                out += [line[11:23] + " " + line.split("heron.optimizer: ")[-1] for line in server.text().splitlines()
                        if "heron.optimizer" in line and (" done in " in line or "started" in line)]
        finally:
            server.stop()
    if not args.no_raw:
        import hnswlib

        t0 = time.perf_counter()
        raw = hnswlib.Index(space="ip", dim=dim)
        raw.init_index(max_elements=n, ef_construction=100, M=16)
        raw.add_items(unit, np.arange(n), num_threads=2)
        build = time.perf_counter() - t0
        out.append(f"raw hnswlib 2-thread build {build:.2f} s (green/build {green / build:.2f})")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
