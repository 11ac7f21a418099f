#!/usr/bin/env python3
"""What a gRPC query costs beyond the query itself, measured against its own HealthCheck.

Loads N x 128-d clustered Cosine points (named vector ``d``, payload ``{"cat": i % 10}``) into a
storage directory that is kept between runs (``--storage``; a second run reuses it and only
restarts the server), waits for green, then measures in interleaved rounds so that machine noise
hits every figure alike: gRPC ``HealthCheck``, ``Count``, ``Query`` (``using="d"``, limit 10,
with payload), REST ``GET /`` and the same REST query. Then 16-client throughput of the gRPC
query and HealthCheck, and the in-process cost of the message conversion each way.

    .venv/bin/python scripts/bench_grpc_hop.py --points 100000 --storage /tmp/heron-grpc-bench
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import clustered  # noqa: E402
from bench_threads import rate  # noqa: E402
from qdrant_client import grpc as q  # noqa: E402

from tests.server import HeronProcess  # noqa: E402

NAME = "hop"


def load(http: httpx.Client, dense: np.ndarray, batch: int) -> None:
    """Create the collection and upsert the points (REST, wait=true), then wait for green."""
    dim = dense.shape[1]
    http.put(f"/collections/{NAME}", json={"vectors": {"d": {"size": dim, "distance": "Cosine"}}}
             ).raise_for_status()
    for s in range(0, len(dense), batch):
        pts = [{"id": i, "vector": {"d": dense[i]}, "payload": {"cat": i % 10}}
               for i in range(s, min(len(dense), s + batch))]
        http.put(f"/collections/{NAME}/points?wait=true", headers={"content-type": "application/json"},
                 content=orjson.dumps({"points": pts}, option=orjson.OPT_SERIALIZE_NUMPY)
                 ).raise_for_status()


def wait_green(http: httpx.Client) -> None:
    while http.get(f"/collections/{NAME}").json()["result"]["status"] != "green":
        time.sleep(0.2)


def query_msg(vec: np.ndarray, payload: bool) -> Any:
    return q.QueryPoints(collection_name=NAME, using="d", limit=10,
                         with_payload=q.WithPayloadSelector(enable=payload),
                         query=q.Query(nearest=q.VectorInput(dense=q.DenseVector(data=vec.tolist()))))


def ms(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def rps(port: int, call_of: Any, seconds: float, clients: int = 16) -> float:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(w: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            call = call_of(ch)
            i = w
            while time.perf_counter() < stop:
                call(i)
                done[w] += 1
                i += clients

    return rate(worker, clients, done)


def conversion_us(requests: list[Any], reply: list[dict[str, Any]]) -> tuple[float, float]:
    """Microseconds to turn one QueryPoints into a body and a 10-hit result into reply bytes."""
    from server.grpc import schema
    from server.grpc.services import ROUTES
    from server.grpc.to_reply import fill

    route = ROUTES["qdrant.Points"]["Query"]
    ours = schema.message("qdrant.QueryPoints")
    parsed = [ours.FromString(r.SerializeToString()) for r in requests[:200]]
    reply_type = schema.message("qdrant.QueryResponse")
    def each_us(fn: Any, items: list[Any]) -> float:
        out = []
        for item in items:
            t0 = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - t0) * 1e6)
        return statistics.median(out)

    to_body = each_us(route.body, parsed)
    to_reply = each_us(lambda _: fill(reply_type(), route.reply({"points": reply}))
                       .SerializeToString(), parsed)
    return to_body, to_reply


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=1, help="passes over the query set")
    ap.add_argument("--seconds", type=float, default=5.0, help="per 16-client figure")
    ap.add_argument("--storage", type=Path, default=Path("/tmp/heron-grpc-bench"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-concurrent", action="store_true")
    ap.add_argument("--payload", action="store_true", help="queries ask for the payload")
    ap.add_argument("--hold", type=float, default=0.0,
                    help="seconds of single-client gRPC queries to run at the end (for py-spy)")
    args = ap.parse_args()
    dense = clustered(args.points, args.dim, args.seed)
    dq = clustered(args.queries, args.dim, args.seed + 1)
    server = HeronProcess(args.storage).start()
    print(f"server pid {server.proc.pid}" if hasattr(server, "proc") else "server started",
          flush=True)
    try:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            if http.get(f"/collections/{NAME}/exists").json()["result"]["exists"]:
                count = http.post(f"/collections/{NAME}/points/count", json={"exact": True}
                                  ).json()["result"]["count"]
                assert count == args.points, f"storage holds {count} points, not {args.points}"
            else:
                load(http, dense, 256)
            wait_green(http)
            requests = [query_msg(v, args.payload) for v in dq]
            bodies = [orjson.dumps({"query": v, "using": "d", "limit": 10,
                                    "with_payload": args.payload},
                                   option=orjson.OPT_SERIALIZE_NUMPY) for v in dq]
            headers = {"content-type": "application/json"}
            with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
                points, health = q.PointsStub(ch), q.QdrantStub(ch)
                hc_req, count_req = q.HealthCheckRequest(), q.CountPoints(collection_name=NAME)
                for i in range(30):  # warm up every path
                    health.HealthCheck(hc_req)
                    points.Query(requests[i])
                    http.post(f"/collections/{NAME}/points/query", content=bodies[i],
                              headers=headers)
                t: dict[str, list[float]] = {k: [] for k in ("hc", "count", "query", "root", "rest")}
                for _ in range(args.rounds):
                    for i in range(args.queries):
                        t["hc"].append(ms(lambda: health.HealthCheck(hc_req)))
                        t["count"].append(ms(lambda: points.Count(count_req)))
                        t["query"].append(ms(lambda i=i: points.Query(requests[i])))
                        t["root"].append(ms(lambda: http.get("/")))
                        t["rest"].append(ms(lambda i=i: http.post(
                            f"/collections/{NAME}/points/query", content=bodies[i],
                            headers=headers)))
                reply = http.post(f"/collections/{NAME}/points/query", content=bodies[0],
                                  headers=headers).json()["result"]["points"]
                if args.hold:
                    stop = time.perf_counter() + args.hold
                    i = 0
                    while time.perf_counter() < stop:
                        points.Query(requests[i % len(requests)])
                        i += 1
            med = {k: statistics.median(v) for k, v in t.items()}
            print(f"points={args.points} queries={args.queries} rounds={args.rounds} "
                  f"payload={args.payload} code={Path(__file__).resolve().parent.parent}")
            print(f"gRPC HealthCheck p50 {med['hc']:.3f} ms | Count p50 {med['count']:.3f} ms "
                  f"({med['count'] / med['hc']:.2f}x HC) | Query p50 {med['query']:.3f} ms "
                  f"({med['query'] / med['hc']:.2f}x HC) p90 "
                  f"{float(np.percentile(t['query'], 90)):.3f} ms")
            print(f"REST GET / p50 {med['root']:.3f} ms | query p50 {med['rest']:.3f} ms "
                  f"({med['rest'] / med['root']:.2f}x GET /) | gRPC query - HC "
                  f"{med['query'] - med['hc']:.3f} ms vs REST query - GET / "
                  f"{med['rest'] - med['root']:.3f} ms")
            if not args.no_concurrent:
                port = server.grpc_port
                qr = rps(port, lambda ch: (lambda s: lambda i: s.Query(
                    requests[i % len(requests)], timeout=60))(q.PointsStub(ch)), args.seconds)
                hr = rps(port, lambda ch: (lambda s: lambda i: s.HealthCheck(
                    hc_req, timeout=60))(q.QdrantStub(ch)), args.seconds)
                print(f"16 clients: gRPC query {qr:,.0f} req/s | HealthCheck {hr:,.0f} req/s "
                      f"({qr / hr:.2f})")
            to_body, to_reply = conversion_us(requests, reply)
            print(f"conversion (in-process): {to_body:.1f} us request -> body, "
                  f"{to_reply:.1f} us 10-hit result -> reply bytes")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
