"""The ``grpc`` section of scripts/bench.py: gRPC beside REST on the same server and data."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
from bench_threads import rate
from qdrant_client import grpc as q

from tests.server import HeronProcess


def _query(name: str, vec: np.ndarray) -> Any:
    return q.QueryPoints(collection_name=name, limit=10, with_payload=q.WithPayloadSelector(
        enable=True), query=q.Query(nearest=q.VectorInput(dense=q.DenseVector(data=vec.tolist()))))


def _upsert(name: str, dense: np.ndarray, start: int, stop: int) -> Any:
    return q.UpsertPoints(collection_name=name, wait=True, points=[
        q.PointStruct(id=q.PointId(num=i), payload={"n": q.Value(integer_value=i)},
                      vectors=q.Vectors(vector=q.Vector(dense=q.DenseVector(
                          data=dense[i].tolist())))) for i in range(start, stop)])


def _grpc_rps(port: int, requests: list[Any], seconds: float, clients: int = 16) -> float:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(w: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            points = q.PointsStub(ch)
            i = w
            while time.perf_counter() < stop:
                points.Query(requests[i % len(requests)], timeout=60)
                done[w] += 1
                i += clients

    return rate(worker, clients, done)


def _conversion_us(requests: list[Any], reply: dict[str, Any]) -> tuple[float, float]:
    """Microseconds heron spends turning one QueryPoints into a body and a result into a reply."""
    from server.grpc import schema
    from server.grpc.services import body_of
    from server.grpc.to_reply import fill

    ours = schema.message("qdrant.QueryPoints")
    parsed = [ours.FromString(r.SerializeToString()) for r in requests[:200]]
    reply_type = schema.message("qdrant.QueryResponse")
    t0 = time.perf_counter()
    for m in parsed:
        body_of(m)
    to_body = (time.perf_counter() - t0) / len(parsed) * 1e6
    t0 = time.perf_counter()
    for _ in range(200):
        fill(reply_type(), {"result": reply["points"]}).SerializeToString()
    to_reply = (time.perf_counter() - t0) / 200 * 1e6
    return to_body, to_reply


def grpc_section(b: Any, server: HeronProcess, dense: np.ndarray, dq: np.ndarray, args: Any,
                 concurrent_rps: Callable[..., float]) -> list[str]:
    n, dim = len(dense), dense.shape[1]
    name = "grpc_dense"
    out = []
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        points, health = q.PointsStub(ch), q.QdrantStub(ch)
        q.CollectionsStub(ch).Create(q.CreateCollection(
            collection_name=name,
            vectors_config=q.VectorsConfig(params=q.VectorParams(size=dim, distance=q.Distance.Cosine))))
        batches = [_upsert(name, dense, s, min(n, s + args.batch)) for s in range(0, n, args.batch)]
        t0 = time.perf_counter()
        for req in batches:
            points.Upsert(req, timeout=300)
        ingest = n / (time.perf_counter() - t0)
        requests = [_query(name, dq[i]) for i in range(len(dq))]
        rest = b.timed(lambda i: lambda: b.post(
            f"/collections/{name}/points/query", {"query": dq[i], "limit": 10, "with_payload": True}))
        over_grpc = b.timed(lambda i: lambda: points.Query(requests[i], timeout=60))
        hc = b.timed(lambda i: lambda: health.HealthCheck(q.HealthCheckRequest()))
        count_req = q.CountPoints(collection_name=name, exact=False)
        counts = b.timed(lambda i: lambda: points.Count(count_req))
        rest_counts = b.timed(lambda i: lambda: b.post(f"/collections/{name}/points/count",
                                                       {"exact": False}))
        root = b.timed(lambda i: lambda: b.http.get("/").raise_for_status())
    r50, g50 = statistics.median(rest), statistics.median(over_grpc)
    out.append(f"grpc: query p50 {g50:.2f} ms vs REST {r50:.2f} ms ({g50 / r50:.2f}x) | "
               f"ingest {ingest:,.0f} points/s over gRPC")
    g_rps = _grpc_rps(server.grpc_port, requests, 5.0)
    r_rps = concurrent_rps(server.url, lambda i: {"query": dq[i % len(dq)], "limit": 10,
                                                 "with_payload": True}, 5.0, collection=name)
    out.append(f"grpc: 16 clients: query {g_rps:,.0f} req/s over gRPC vs {r_rps:,.0f} req/s REST")
    reply = b.post(f"/collections/{name}/points/query",
                   {"query": dq[0], "limit": 10, "with_payload": True}).json()["result"]
    to_body, to_reply = _conversion_us(requests, reply)
    out.append(
        f"grpc: where a call goes: HealthCheck p50 {statistics.median(hc):.2f} ms (transport + "
        f"trio hop) vs GET / {statistics.median(root):.2f} ms | Count p50 "
        f"{statistics.median(counts):.2f} ms vs REST {statistics.median(rest_counts):.2f} ms | "
        f"conversion {to_body:.0f} us request + {to_reply:.0f} us reply (10 hits)")
    return out
