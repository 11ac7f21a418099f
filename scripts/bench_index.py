"""The ``index`` section of scripts/bench.py: the HNSW benchmark with its anchors in the same run."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import numpy as np
from bench_common import Bench, p, paired_rps, rss_mb

from tests.server import HeronProcess

LOCAL_MODE_MAX = 200_000
"""Above this many points the local-mode anchor is skipped (it is exact search in Python and
warns from 20k points on; at 1M it would take longer than the rest of the run)."""

EDGE_EFS = (None, 400, 800, 1600, 3200, 6400)
"""qdrant-edge is queried at its default ef (= ef_construct) and then at growing ``hnsw_ef``
until its recall@10 reaches heron's, so the two are compared at equal or better recall."""


RECALL_SLACK = 0.0005
"""Recalls this close count as equal (one miss in 2,000 results: 300 queries give 3,000)."""


def exact_top10(unit: np.ndarray, qn: np.ndarray) -> np.ndarray:
    """Ids of the exact top 10 by inner product of unit vectors, computed in query chunks."""
    out = []
    for s in range(0, len(qn), 32):
        scores = qn[s : s + 32] @ unit.T
        part = np.argpartition(-scores, 10, axis=1)[:, :10]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(out)


def recall_of(found: list[list[int]], truth: np.ndarray | list[set[int]]) -> float:
    """Mean share of each true top 10 found."""
    return float(np.mean([len(set(f) & set(np.asarray(list(t)).tolist())) / 10
                          for f, t in zip(found, truth, strict=True)]))


def edge_anchor(dense: np.ndarray, dq: np.ndarray, truth: np.ndarray,
                target: float) -> tuple[float, list[tuple[int | None, float, float]]]:
    """Qdrant's own engine embedded (qdrant-edge-py) on the same data: optimize seconds, and
    (hnsw_ef, query p50 ms, recall@10) for each ef of ``EDGE_EFS`` until recall >= ``target``."""
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
        runs: list[tuple[int | None, float, float]] = []
        for ef in EDGE_EFS:
            params = qe.SearchParams(hnsw_ef=ef) if ef else None
            lat, found = [], []
            for i in range(len(dq)):
                t = time.perf_counter()
                res = shard.query(qe.QueryRequest(
                    limit=10, query=qe.Query.Nearest(dq[i].tolist()), params=params))
                lat.append((time.perf_counter() - t) * 1000)
                found.append([int(r.id) for r in res])
            runs.append((ef, statistics.median(lat), recall_of(found, truth)))
            if runs[-1][2] >= target - RECALL_SLACK:
                break
        shard.close()
    return built, runs


def grpc_anchor(server: HeronProcess, dq: np.ndarray, queries: int) -> tuple[float, float, float]:
    """(gRPC Query p50 ms, gRPC HealthCheck p50 ms, 16-client gRPC query req/s) on ``idx``."""
    import grpc
    from bench_grpc import _grpc_rps
    from qdrant_client import grpc as q

    requests = [q.QueryPoints(collection_name="idx", limit=10, using="d", query=q.Query(
        nearest=q.VectorInput(dense=q.DenseVector(data=dq[i].tolist())))) for i in range(len(dq))]
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        points, health = q.PointsStub(ch), q.QdrantStub(ch)
        lat, hc = [], []
        for i in range(queries):
            t = time.perf_counter()
            points.Query(requests[i % len(requests)], timeout=60)
            lat.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            health.HealthCheck(q.HealthCheckRequest(), timeout=60)
            hc.append((time.perf_counter() - t) * 1000)
    rps = _grpc_rps(server.grpc_port, requests, 10.0)
    return statistics.median(lat), statistics.median(hc), rps


HARD_EFS = (None, 800, 1600, 3200)
"""``hnsw_ef`` values the hard (off-subspace) queries are run at; None is the default."""


def hard_queries(b: Bench, unit: np.ndarray, hard: np.ndarray) -> str:
    """Recall@10 and p50 of queries drawn off the data's subspace, at the default ef and at
    growing ``hnsw_ef``: what a user with such queries gets and what raising ef buys."""
    hn = hard / np.linalg.norm(hard, axis=1, keepdims=True)
    truth = exact_top10(unit, hn)
    parts = []
    for ef in HARD_EFS:
        found: list[list[int]] = []
        extra = {"params": {"hnsw_ef": ef}} if ef else {}
        lat = b.timed(lambda i, extra=extra, found=found: lambda: found.append(
            [p["id"] for p in b.post("/collections/idx/points/query",
                                     {"query": hard[i], "using": "d", "limit": 10, **extra}
                                     ).json()["result"]["points"]]))
        parts.append(f"ef {ef or 'default'}: p50 {statistics.median(lat):.2f} ms recall@10 "
                     f"{recall_of(found, truth):.3f}")
    return "index: hard queries (off the data's subspace) " + ", ".join(parts)


def index_section(b: Bench, server: HeronProcess, dense: np.ndarray, dq: np.ndarray,
                  hard: np.ndarray, sparse: list[dict[str, Any]], sq: list[dict[str, Any]],
                  args: argparse.Namespace) -> list[str]:
    """The HNSW benchmark (see bench.py's docstring), with every anchor in the same run."""
    import hnswlib

    n, dim, out = len(dense), dense.shape[1], []
    cats = np.arange(n) % 10
    pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]}, "payload": {"cat": int(cats[i])}}
           for i in range(n)]
    cfg = {"vectors": {"d": {"size": dim, "distance": "Cosine"}}, "sparse_vectors": {"s": {}}}
    t_start = time.perf_counter()
    rate = b.load("idx", cfg, pts, args.batch)
    del pts
    b.http.put("/collections/idx/index?wait=true",
               json={"field_name": "cat", "field_schema": "integer"}).raise_for_status()
    t0 = time.perf_counter()
    while b.http.get("/collections/idx").json()["result"]["status"] != "green":
        time.sleep(0.1)
    green = time.perf_counter() - t0
    from_start = time.perf_counter() - t_start
    info = b.http.get("/collections/idx").json()["result"]
    out.append(f"index: ingest {rate:,.0f} points/s (bodies encoded before timing, "
               f"{b.encode_ms:.1f} ms each) | green {green:.1f} s after the last write "
               f"({from_start:.1f} s from the first) | {info['segments_count']} segments, "
               f"{info['indexed_vectors_count']} indexed")

    unit = dense / np.linalg.norm(dense, axis=1, keepdims=True)
    qn = dq / np.linalg.norm(dq, axis=1, keepdims=True)
    truth = exact_top10(unit, qn)
    found: list[list[int]] = []
    flt_truth = []
    flt_found: list[list[int]] = []
    for i in range(min(100, len(dq))):
        sub = np.flatnonzero(cats == i % 10)
        flt_truth.append(set(sub[np.argsort(-(unit[sub] @ qn[i]))[:10]].tolist()))
    # the query against its anchor, in turn; then the other kinds in turn with a plain query
    # again as theirs (heavier requests in the same rounds slow the lighter ones a little)
    times = b.rounds({
        "root": lambda _i: lambda: b.http.get("/").raise_for_status(),
        "dense": lambda i: lambda: found.append([p["id"] for p in b.post(
            "/collections/idx/points/query", {"query": dq[i], "using": "d", "limit": 10}
        ).json()["result"]["points"]]),
    })
    times |= b.rounds({
        "plain": lambda i: lambda: b.post(
            "/collections/idx/points/query", {"query": dq[i], "using": "d", "limit": 10}),
        "filtered": lambda i: lambda: flt_found.append([p["id"] for p in b.post(
            "/collections/idx/points/query",
            {"query": dq[i], "using": "d", "limit": 10,
             "filter": {"must": [{"key": "cat", "match": {"value": i % 10}}]}},
        ).json()["result"]["points"]]),
        "rrf": lambda i: lambda: b.post(
            "/collections/idx/points/query",
            {"prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                          {"query": sq[i], "using": "s", "limit": 20}],
             "query": {"fusion": "rrf"}, "limit": 10}),
        "rrf_dense": lambda i: lambda: b.post(
            "/collections/idx/points/query",
            {"prefetch": [{"query": dq[i], "using": "d", "limit": 20},
                          {"query": dq[(i + 1) % len(dq)], "using": "d", "limit": 20}],
             "query": {"fusion": "rrf"}, "limit": 10}),
        "sparse": lambda i: lambda: b.post(
            "/collections/idx/points/query", {"query": sq[i], "using": "s", "limit": 20}),
    })
    recall = recall_of(found, truth)
    flt_recall = recall_of(flt_found[: len(flt_truth)], flt_truth)
    lat, root, flt, rrf = times["dense"], times["root"], times["filtered"], times["rrf"]
    rrf_dense, sparse_only, plain = times["rrf_dense"], times["sparse"], times["plain"]
    p50, root50, base = (statistics.median(lat), statistics.median(root),
                         statistics.median(plain))
    out.append(f"index: recall@10 {recall:.3f} | filtered (10%) recall@10 {flt_recall:.3f}")
    out.append(
        f"index: query p50 {p50:.2f} ms p99 {p(lat, 99):.2f} ms ({p50 / root50:.2f}x GET / "
        f"p50 {root50:.2f} ms) | beside the kinds below: query p50 {base:.2f} ms, filtered "
        f"{statistics.median(flt):.2f} ms ({statistics.median(flt) / base:.2f}x), RRF "
        f"{statistics.median(rrf):.2f} ms ({statistics.median(rrf) / base:.2f}x; its sparse "
        f"prefetch alone {statistics.median(sparse_only):.2f} ms), RRF of two dense prefetches "
        f"{statistics.median(rrf_dense):.2f} ms ({statistics.median(rrf_dense) / base:.2f}x)"
    )
    out.append(hard_queries(b, unit, hard))
    q_rps, r_rps = paired_rps(server.url, lambda i: {"query": dq[i % len(dq)], "using": "d",
                                                     "limit": 10}, 20)
    out.append(f"index: 16 clients: query {q_rps:,.0f} req/s | GET / {r_rps:,.0f} req/s "
               f"({q_rps / r_rps:.2f})")
    g50, hc50, g_rps = grpc_anchor(server, dq, b.queries)
    out.append(f"index: gRPC query p50 {g50:.2f} ms ({g50 / hc50:.2f}x HealthCheck p50 "
               f"{hc50:.2f} ms) | 16 clients over gRPC {g_rps:,.0f} req/s")
    assert server.proc is not None
    sparse_bytes = sum(len(s["indices"]) for s in sparse) * 8  # u32 index + f32 value
    raw = dense.nbytes + sparse_bytes
    rss = rss_mb(server.proc.pid)
    out.append(f"index: server RSS {rss:,.0f} MB | raw vectors {raw / 2**20:,.0f} MB (dense "
               f"{dense.nbytes / 2**20:,.0f} + sparse {sparse_bytes / 2**20:,.0f}) | RSS / (2x raw "
               f"+ 150 MB) {rss / (2 * raw / 2**20 + 150):.2f}")
    server.stop()
    t0 = time.perf_counter()
    server.start(timeout=300)
    restart = time.perf_counter() - t0
    still_green = b.http.get("/collections/idx").json()["result"]["status"]
    out.append(f"index: restart {restart:.2f} s (status after restart: {still_green})")

    if n <= LOCAL_MODE_MAX:
        from qdrant_client import QdrantClient, models

        local = QdrantClient(":memory:")
        local.create_collection("l", vectors_config=models.VectorParams(size=dim,
                                                                        distance="Cosine"))
        local.upload_collection("l", vectors=dense, ids=range(n))
        loc: list[float] = []
        for i in range(min(30, len(dq))):
            t = time.perf_counter()
            local.query_points("l", query=dq[i], limit=10)
            loc.append((time.perf_counter() - t) * 1000)
        local_p50 = statistics.median(loc)
        out.append(f"index: local mode p50 {local_p50:.2f} ms ({local_p50 / p50:.1f}x heron)")
        del local
    else:
        out.append(f"index: local mode skipped (over {LOCAL_MODE_MAX:,} points)")
    t0 = time.perf_counter()
    graph = hnswlib.Index(space="ip", dim=dim)
    graph.init_index(max_elements=n, ef_construction=100, M=16)
    graph.add_items(unit, np.arange(n), num_threads=2)
    build = time.perf_counter() - t0
    graph.set_ef(100)
    raw_lat, raw_found = [], []
    for i in range(len(dq)):
        t = time.perf_counter()
        labels, _ = graph.knn_query(qn[i : i + 1], k=10, num_threads=1)
        raw_lat.append((time.perf_counter() - t) * 1000)
        raw_found.append(labels[0].tolist())
    out.append(
        f"index: raw hnswlib 2-thread build {build:.1f} s (green after the last write / build "
        f"{green / build:.2f}, from the first write / build {from_start / build:.2f}) | ef 100 "
        f"p50 {statistics.median(raw_lat):.3f} ms recall@10 {recall_of(raw_found, truth):.3f}"
    )
    del graph
    built, runs = edge_anchor(dense, dq, truth, recall)
    shown = ", ".join(f"ef {ef or 'default'}: p50 {e50:.3f} ms recall@10 {er:.3f}"
                      for ef, e50, er in runs)
    out.append(f"index: qdrant-edge (optimize {built:.1f} s) {shown}")
    ef, e50, er = runs[-1]
    own = p50 - root50
    verdict = ("equal or better recall" if er >= recall - RECALL_SLACK
               else "its best recall, below heron's")
    out.append(f"index: heron's own work (p50 - GET / p50) {own:.2f} ms = {own / e50:.2f}x "
               f"qdrant-edge at ef {ef or 'default'} ({verdict}: {er:.4f} vs heron {recall:.4f})")
    return out
