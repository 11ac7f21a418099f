"""Seeing inside a running heron: /metrics moves with requests, /telemetry and /cluster answer
as a single Qdrant node, /collections/{c}/optimizations shows a graph build's progress,
/issues reports a payload key filtered on without an index, and the logs say what happened."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

DIM = 32


def metrics(http: httpx.Client) -> dict[str, list[Any]]:
    """Samples by family name, parsed with Prometheus' own parser."""
    res = http.get("/metrics")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    return {fam.name: fam.samples for fam in text_string_to_metric_families(res.text)}


def sample(families: dict[str, list[Any]], metric: str, **labels: str) -> float:
    """The value of the sample called ``metric`` whose labels include ``labels`` (0 if none)."""
    for fams in families.values():
        for s in fams:
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def points(n: int, start: int = 0, seed: int = 0) -> list[models.PointStruct]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    return [
        models.PointStruct(id=start + i, vector=vecs[i].tolist(),
                           payload={"color": ["red", "blue", "green"][i % 3], "n": i})
        for i in range(n)
    ]


def create(client: QdrantClient, name: str, threshold: int = 0) -> None:
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=threshold),
    )


@pytest.fixture(scope="module")
def heron(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    """This module's server (behind conftest's ``client`` and ``http``): logging at DEBUG so
    4xx reasons show, with segments of up to 50k points."""
    storage: Path = tmp_path_factory.mktemp("obs") / "storage"
    srv = HeronProcess(storage, env={
        "HERON__SERVICE__LOG_LEVEL": "DEBUG",
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "50000",
    }).start()
    yield srv
    assert srv.stop() == 0, srv.log()


def test_metrics_parse_and_move(client: QdrantClient, http: httpx.Client) -> None:
    create(client, "m1")
    before = metrics(http)
    assert sample(before, "app_info", name="heron") == 1
    assert sample(before, "collection_points", collection="m1") == 0
    client.upsert("m1", points(30))
    for _ in range(3):
        client.query_points("m1", query=[0.1] * DIM, limit=3)
    res = http.post("/collections/m1/points/query", json={"query": [1.0]})  # wrong dimension
    assert res.status_code == 400
    after = metrics(http)
    assert sample(after, "collections_total") >= 1
    assert sample(after, "collection_points", collection="m1") == 30
    assert sample(after, "collection_vectors", collection="m1", vector="") == 30
    assert sample(after, "collections_vector_total") >= 30
    query = {"method": "POST", "endpoint": "/collections/{name}/points/query"}
    ok_before = sample(before, "rest_responses_total", status="200", **query)
    assert sample(after, "rest_responses_total", status="200", **query) == ok_before + 3
    assert sample(after, "rest_responses_fail_total", status="400", **query) >= 1
    assert sample(after, "rest_responses_duration_seconds_count", status="200", **query) >= 3
    assert sample(after, "rest_responses_duration_seconds_bucket", status="200", le="+Inf",
                  **query) >= 3
    assert sample(after, "rest_responses_avg_duration_seconds", status="200", **query) > 0
    assert sample(after, "heron_wal_commits_total", collection="m1") >= 1
    assert sample(after, "heron_wal_records_total", collection="m1") >= 1
    assert sample(after, "heron_wal_commit_seconds_total", collection="m1") > 0
    assert sample(after, "heron_segments", collection="m1", kind="appendable") == 1
    assert sample(after, "heron_mailbox_capacity", collection="m1") > 0
    assert "heron_mailbox_depth" in after
    assert "grpc_responses" in after  # the parser names counter families without _total


def test_grpc_calls_are_counted(heron: HeronProcess, http: httpx.Client) -> None:
    rest_query = {"method": "POST", "endpoint": "/collections/{name}/points/query",
                  "status": "200"}
    rest_before = sample(metrics(http), "rest_responses_total", **rest_query)
    grpc_client = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True,
                               timeout=30)
    try:
        create(grpc_client, "g1")
        grpc_client.upsert("g1", points(5))
        for _ in range(2):
            grpc_client.query_points("g1", query=[0.3] * DIM, limit=2)
        with pytest.raises(Exception):  # noqa: B017 - the client's own error type for NOT_FOUND
            grpc_client.query_points("nope", query=[0.3] * DIM, limit=2)
    finally:
        grpc_client.close()
    fams = metrics(http)
    query = "/qdrant.Points/Query"
    assert sample(fams, "grpc_responses_total", endpoint=query, status="OK") >= 2
    assert sample(fams, "grpc_responses_fail_total", endpoint=query, status="NOT_FOUND") == 1
    assert sample(fams, "grpc_responses_duration_seconds_count", endpoint=query,
                  status="OK") >= 2
    grpc = http.get("/telemetry").json()["result"]["requests"]["grpc"]["responses"]
    assert grpc[query]["OK"]["count"] >= 2
    assert sample(fams, "rest_responses_total", **rest_query) == rest_before  # not REST calls


def test_optimizations_show_a_running_build(client: QdrantClient, http: httpx.Client) -> None:
    n = 20000
    create(client, "big")
    for start in range(0, n, 2000):
        client.upsert("big", points(2000, start, seed=start), wait=True)
    res = http.get("/collections/big/optimizations", params={"with": "queued,idle_segments"})
    assert res.status_code == 200
    idle = res.json()["result"]
    assert idle["running"] == [] and idle["queued"] == []
    assert idle["summary"]["idle_segments"] == len(idle["idle_segments"]) >= 1
    client.update_collection(
        "big",
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=100),
        hnsw_config=models.HnswConfigDiff(ef_construct=400, m=32),
    )
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = http.get("/collections/big/optimizations",
                       params={"with": "queued,completed"}).json()["result"]
        if got["running"]:
            seen.append(got["running"][0])
        if got["completed"]:
            break
        time.sleep(0.05)
    assert seen, "no running optimization was ever shown"
    running = seen[-1]
    assert running["optimizer"] == "indexing" and running["status"] == "optimizing"
    assert running["segments"][0]["points_count"] == n
    progress = [step for s in seen for step in s["progress"]["children"]
                if step["name"].startswith("vector_index")]
    assert progress, seen[-1]
    assert all(step["total"] == n and 0 < step["done"] <= n for step in progress)
    done = got["completed"][0]
    assert done["status"] == "done" and done["uuid"] == running["uuid"]
    graph = next(c for c in done["progress"]["children"] if c["name"].startswith("vector_index"))
    assert graph["done"] == graph["total"] == n and graph["duration_sec"] > 0
    fams = metrics(http)
    assert sample(fams, "heron_optimizer_runs_total", collection="big", optimizer="indexing") == 1
    assert sample(fams, "heron_optimizer_seconds_total", collection="big",
                  optimizer="indexing") > 0
    assert sample(fams, "heron_segments", collection="big", kind="immutable") == 1
    assert sample(fams, "heron_collection_indexed_vectors", collection="big") == n


def test_optimizations_reject_bad_parameters(http: httpx.Client, client: QdrantClient) -> None:
    create(client, "opt_bad")
    assert http.get("/collections/opt_bad/optimizations", params={"with": "nope"}).status_code \
        == 400
    assert http.get("/collections/opt_bad/optimizations",
                    params={"completed_limit": "x"}).status_code == 400
    assert http.get("/collections/missing/optimizations").status_code == 404


def test_telemetry_levels(client: QdrantClient, http: httpx.Client) -> None:
    create(client, "t1")
    client.upsert("t1", points(5))
    client.scroll("t1", limit=2)
    low = http.get("/telemetry").json()["result"]
    assert low["app"]["name"] == "heron" and low["app"]["startup"]
    assert low["collections"]["number_of_collections"] >= 1
    assert "collections" not in low["collections"]
    scroll = low["requests"]["rest"]["responses"]["POST /collections/{name}/points/scroll"]
    assert scroll["200"]["count"] >= 1 and scroll["200"]["avg_duration_micros"] > 0
    assert isinstance(low["requests"]["grpc"]["responses"], dict)
    mid = http.get("/telemetry", params={"details_level": 1}).json()["result"]
    agg = mid["collections"]["collections"]
    assert any(c["vectors"] == 5 for c in agg) and all("params" in c for c in agg)
    high = http.get("/telemetry", params={"details_level": 3}).json()["result"]
    t1 = next(c for c in high["collections"]["collections"] if c["id"] == "t1")
    assert t1["config"]["params"]["vectors"]["size"] == DIM
    shard = t1["shards"][0]["local"]
    assert shard["num_points"] == 5 and shard["segments"][0]["info"]["num_points"] == 5
    assert http.get("/telemetry", params={"details_level": "-1"}).status_code == 400


def test_cluster_is_single_node(client: QdrantClient, http: httpx.Client) -> None:
    assert http.get("/cluster").json()["result"] == {"status": "disabled"}
    create(client, "cl")
    client.upsert("cl", points(4))
    info = client.http.distributed_api.collection_cluster_info("cl").result
    assert info.shard_count == 1 and info.remote_shards == []
    assert info.local_shards[0].points_count == 4 and info.local_shards[0].state.value == "Active"


def test_issues_name_an_unindexed_filter_key(client: QdrantClient, http: httpx.Client) -> None:
    assert http.delete("/issues").json()["result"] is True
    create(client, "iss")
    client.upsert("iss", points(20))
    flt = models.Filter(must=[models.FieldCondition(key="color",
                                                    match=models.MatchValue(value="red"))])
    for _ in range(3):
        client.scroll("iss", scroll_filter=flt, limit=5)
    assert http.get("/issues").json()["result"]["issues"] == []  # not often enough yet
    for _ in range(7):
        client.query_points("iss", query=[0.2] * DIM, query_filter=flt, limit=3)
    issues = http.get("/issues").json()["result"]["issues"]
    assert [i["id"] for i in issues] == ["UNINDEXED_FIELD/iss/color"]
    action = issues[0]["solution"]["immediate"]["action"]
    assert action["method"] == "PUT" and action["uri"] == "/collections/iss/index"
    assert action["body"] == {"field_name": "color", "field_schema": "keyword"}
    assert issues[0]["related_collection"] == "iss"
    # following the advice makes the issue go away
    assert http.put(action["uri"], json=action["body"], params={"wait": "true"}).status_code \
        == 200
    assert http.get("/issues").json()["result"]["issues"] == []
    for _ in range(10):
        client.count("iss", count_filter=models.Filter(must=[
            models.FieldCondition(key="n", range=models.Range(gte=3))]))
    assert [i["id"] for i in http.get("/issues").json()["result"]["issues"]] == \
        ["UNINDEXED_FIELD/iss/n"]
    assert http.get("/issues").json()["result"]["issues"][0]["solution"]["immediate"][
        "action"]["body"]["field_schema"] == "integer"
    assert http.delete("/issues").json()["result"] is True
    assert http.get("/issues").json()["result"]["issues"] == []


def test_access_log_and_error_reasons(heron: HeronProcess, http: httpx.Client) -> None:
    offset = len(heron.text())
    marker = "/collections/access_log_probe"
    assert http.get(marker).status_code == 404
    assert http.get("/collections").status_code == 200
    time.sleep(0.2)
    text = heron.text()[offset:]
    assert re.search(rf"INFO heron\.access: 127\.0\.0\.1 GET {marker} 404 \d+\.\d+ms", text), text
    assert re.search(r"INFO heron\.access: 127\.0\.0\.1 GET /collections 200 \d+\.\d+ms", text)
    assert re.search(rf"DEBUG heron\.errors: GET {marker} answered 404: "
                     r".*Collection `access_log_probe` doesn.t exist!", text), text


def test_startup_summary_and_access_log_off(tmp_path: Path) -> None:
    srv = HeronProcess(tmp_path / "storage", env={
        "HERON__SERVICE__API_KEY": "sekret", "HERON__SERVICE__ACCESS_LOG": "false",
    }).start()
    try:
        with httpx.Client(base_url=srv.url, headers={"api-key": "sekret"}, timeout=30) as h:
            assert h.put("/collections/s1", json={
                "vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
            assert h.put("/collections/s1/points", params={"wait": "true"}, json={
                "points": [p.model_dump() for p in points(7)]}).status_code == 200
        srv.kill()
        srv.start()
        text = srv.text().split("heron serving on ")[-1]
        assert "storage: " + str((tmp_path / "storage").resolve()) in text
        assert "collections loaded: 1 (7 points)" in text
        assert "s1: 7 points" in text
        assert "API keys: required (api_key)" in text
        assert f"gRPC API on 127.0.0.1:{srv.grpc_port}" in text
        assert f"127.0.0.1:{srv.port}" in srv.text()
        assert "heron.access" not in srv.text()
    finally:
        assert srv.stop() == 0, srv.log()


def test_graceful_stop_during_a_build(tmp_path: Path) -> None:
    """A SIGTERM while a graph is being built stops the build between two batches and exits 0
    (an abandoned hnswlib thread would abort the process at exit)."""
    srv = HeronProcess(tmp_path / "storage", env={
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "50000"}).start()
    c = QdrantClient(url=srv.url, timeout=60)
    create(c, "stop")
    for start in range(0, 20000, 4000):
        c.upsert("stop", points(4000, start, seed=start))
    c.update_collection("stop", optimizers_config=models.OptimizersConfigDiff(
        indexing_threshold=100), hnsw_config=models.HnswConfigDiff(ef_construct=500, m=48))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = httpx.get(f"{srv.url}/collections/stop/optimizations", timeout=30).json()
        if got["result"]["running"]:
            break
        time.sleep(0.05)
    assert got["result"]["running"], got
    c.close()
    assert srv.stop() == 0, srv.log()
    assert "terminate called" not in srv.text()
