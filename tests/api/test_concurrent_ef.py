"""Concurrent searches with different ``hnsw_ef`` each search with their own ef.

hnswlib keeps ef as one setting of the index; a search that set it and then walked the graph
could walk with another thread's ef. A coarse graph (m=4, ef_construct=8) makes low and high ef
give different results, so any leak shows as a result that differs from the sequential one.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.api.test_optimizer import wait_green

DIM = 32
POINTS = 12_000
EFS = (20, 600)
QUERIES = 40


@pytest.fixture(scope="module")
def coarse(heron, client: QdrantClient) -> Iterator[tuple[str, np.ndarray]]:  # noqa: ANN001
    """A collection whose one graph is coarse enough that ef changes its answers."""
    name = "coarse_ef"
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        hnsw_config=models.HnswConfigDiff(m=4, ef_construct=8, full_scan_threshold=1),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=100),
    )
    rng = np.random.default_rng(7)
    data = rng.normal(size=(POINTS, DIM)).astype(np.float32)
    for start in range(0, POINTS, 1000):
        client.upsert(
            name,
            models.Batch(
                ids=list(range(start, start + 1000)),
                vectors=data[start : start + 1000].tolist(),
            ),
            wait=True,
        )
    info = wait_green(client, name, timeout=120)
    assert info.indexed_vectors_count == POINTS
    yield name, rng.normal(size=(QUERIES, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def client(heron) -> Iterator[QdrantClient]:  # noqa: ANN001
    c = QdrantClient(url=heron.url, prefer_grpc=False, timeout=60)
    yield c
    c.close()


def _ask(http: httpx.Client, name: str, q: np.ndarray, ef: int) -> list[int]:
    r = http.post(
        f"/collections/{name}/points/query",
        json={"query": q.tolist(), "limit": 10, "params": {"hnsw_ef": ef}},
    )
    r.raise_for_status()
    return [p["id"] for p in r.json()["result"]["points"]]


def test_concurrent_searches_keep_their_own_ef(heron, coarse) -> None:  # noqa: ANN001
    name, queries = coarse
    jobs = [(i, ef) for i in range(QUERIES) for ef in EFS]
    with httpx.Client(base_url=heron.url, timeout=60) as http:
        sequential = {(i, ef): _ask(http, name, queries[i], ef) for i, ef in jobs}
    differ = sum(sequential[(i, EFS[0])] != sequential[(i, EFS[1])] for i in range(QUERIES))
    assert differ >= QUERIES // 4, "the graph is too good: ef does not change the results"

    def run(job: tuple[int, int]) -> list[int]:
        with httpx.Client(base_url=heron.url, timeout=60) as http:
            return [_ask(http, name, queries[job[0]], job[1]) for _ in range(3)]

    rounds = jobs * 2  # low and high ef interleaved across 16 clients
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(run, rounds))
    wrong = [
        (job, answer)
        for job, answers in zip(rounds, got, strict=True)
        for answer in answers
        if answer != sequential[job]
    ]
    assert not wrong, f"{len(wrong)} of {len(rounds) * 3} concurrent answers differ: {wrong[:3]}"
