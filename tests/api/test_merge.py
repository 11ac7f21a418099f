"""The optimizer merges small segments: fewer segments, the same points, nothing lost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess


def _wait_green(client: QdrantClient, name: str, timeout: float = 30.0) -> models.CollectionInfo:
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_collection(name)
        if info.status == models.CollectionStatus.GREEN or time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def _state(client: QdrantClient, name: str) -> dict:
    points, _ = client.scroll(name, limit=10_000, with_payload=True, with_vectors=True)
    def as_f32(vectors: Any) -> Any:  # heron writes float32 shortest, local mode widened
        return {k: np.float32(v).tolist() if isinstance(v, list) else v
                for k, v in vectors.items()}

    return {p.id: (p.payload, as_f32(p.vector)) for p in points}


def test_small_segments_are_merged_and_survive_restart(tmp_path: Path) -> None:
    env = {"HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "100",
           "HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.2"}
    server = HeronProcess(tmp_path / "storage", env=env).start()
    rng = np.random.default_rng(5)
    local = QdrantClient(":memory:")
    try:
        remote = QdrantClient(url=server.url, timeout=30)
        for client in (remote, local):
            client.create_collection(
                "m",
                vectors_config={"d": models.VectorParams(size=8, distance=models.Distance.DOT)},
                sparse_vectors_config={"s": models.SparseVectorParams()},
                # indexing disabled, so only merges reshape the segments
                optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0),
            )
        points = [
            models.PointStruct(
                id=i,
                vector={"d": rng.normal(size=8).tolist(),
                        "s": models.SparseVector(indices=[i % 13, 20 + i % 5], values=[1.0, 0.5])},
                payload={"i": i},
            )
            for i in range(1000)
        ]
        for client in (remote, local):
            client.upsert("m", points)
        before = remote.get_collection("m").segments_count
        assert before == 10
        doomed = [i for i in range(800) if i % 10 != 0]  # 8 segments keep 10 points each
        for client in (remote, local):
            client.delete("m", models.PointIdsList(points=doomed))
        info = _wait_green(remote, "m")
        assert info.status == models.CollectionStatus.GREEN
        assert info.segments_count < before
        assert info.points_count == 280
        assert "merge segment" in server.text()
        assert _state(remote, "m") == _state(local, "m")
        q = rng.normal(size=8).tolist()
        ours = remote.query_points("m", query=q, using="d", limit=20).points
        theirs = local.query_points("m", query=q, using="d", limit=20).points
        assert [p.id for p in ours] == [p.id for p in theirs]
        np.testing.assert_allclose([p.score for p in ours], [p.score for p in theirs], rtol=1e-5)
        time.sleep(0.6)
        server.kill()
        server.start()
        remote = QdrantClient(url=server.url, timeout=30)
        assert remote.get_collection("m").segments_count == info.segments_count
        assert _state(remote, "m") == _state(local, "m")
    finally:
        assert server.stop() == 0
