"""Durability: acknowledged writes survive SIGKILL, flushes, segment rotation and restarts."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

DIM = 16


def _vec(i: int) -> list[float]:
    rng = np.random.default_rng(i)
    return rng.normal(size=DIM).astype(np.float32).tolist()


def _server(tmp_path: Path, **settings: str) -> HeronProcess:
    env = {f"HERON__STORAGE__{k.upper()}": v for k, v in settings.items()}
    return HeronProcess(tmp_path / "storage", env=env)


def _create(client: QdrantClient, name: str = "d") -> None:
    client.create_collection(
        name,
        vectors_config={
            "a": models.VectorParams(size=DIM, distance=models.Distance.DOT),
            "b": models.VectorParams(size=DIM, distance=models.Distance.EUCLID),
        },
    )


def _check_points(
    client: QdrantClient,
    acked: dict[int, int],
    name: str = "d",
    in_flight: dict[int, int] | None = None,
) -> None:
    """Every acknowledged id is there with the payload and vectors of its last ack, or of
    the one write that was in flight, unanswered, when the server died (whole, not torn)."""
    in_flight = in_flight or {}
    ids = sorted(acked)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        got = {p.id: p for p in client.retrieve(name, chunk, with_payload=True, with_vectors=True)}
        for pid in chunk:
            assert pid in got, f"acknowledged point {pid} was lost"
            point = got[pid]
            assert point.payload is not None
            gen = point.payload["gen"]
            assert gen in (acked[pid], in_flight.get(pid)), f"point {pid}: stale gen {gen}"
            assert point.payload == {"gen": gen, "tag": f"t{pid % 7}"}
            assert isinstance(point.vector, dict)
            np.testing.assert_allclose(point.vector["a"], _vec(pid * 1000 + gen), rtol=1e-6)


def test_sigkill_during_concurrent_upserts_loses_no_acknowledged_point(tmp_path: Path) -> None:
    server = _server(tmp_path, flush_interval_sec="0.3", max_points_per_segment="300").start()
    client = QdrantClient(url=server.url, timeout=30)
    _create(client)
    acked: dict[int, int] = {}
    in_flight: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            gen = 0
            while not stop.is_set():
                gen += 1
                ids = [worker * 100_000 + rng.randrange(2000) for _ in range(20)]
                ids = list(dict.fromkeys(ids))
                points = [
                    {
                        "id": pid,
                        "vector": {"a": _vec(pid * 1000 + gen), "b": _vec(pid)},
                        "payload": {"gen": gen, "tag": f"t{pid % 7}"},
                    }
                    for pid in ids
                ]
                with lock:
                    in_flight.update({pid: gen for pid in ids})
                try:
                    r = http.put("/collections/d/points?wait=true", json={"points": points})
                except httpx.HTTPError:
                    return
                if r.status_code != 200:
                    return
                with lock:
                    for pid in ids:
                        acked[pid] = gen

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(1.0, 2.0))
    server.kill()
    stop.set()
    for t in threads:
        t.join(15)
    assert len(acked) > 100, "writers acknowledged too little to prove anything"

    server.start()
    client = QdrantClient(url=server.url, timeout=30)
    _check_points(client, acked, in_flight=in_flight)
    assert len(acked) <= client.count("d").count <= len(set(acked) | set(in_flight))
    assert server.stop() == 0


def test_restart_after_flush_and_rotation_keeps_everything(tmp_path: Path) -> None:
    server = _server(tmp_path, flush_interval_sec="0.2", max_points_per_segment="50").start()
    client = QdrantClient(url=server.url, timeout=30)
    _create(client)
    acked = {}
    for start in range(0, 400, 40):
        client.upsert(
            "d",
            [
                models.PointStruct(
                    id=i,
                    vector={"a": _vec(i * 1000 + 1), "b": _vec(i)},
                    payload={"gen": 1, "tag": f"t{i % 7}"},
                )
                for i in range(start, start + 40)
            ],
        )
        acked.update({i: 1 for i in range(start, start + 40)})
    client.delete("d", models.PointIdsList(points=list(range(0, 400, 10))))
    for i in range(0, 400, 10):
        acked.pop(i)
    client.set_payload("d", {"tag": "x"}, points=[1])
    client.overwrite_payload("d", {"gen": 1, "tag": "t1"}, points=[1])
    info = client.get_collection("d")
    assert info.segments_count >= 8
    time.sleep(0.6)  # let the flusher persist segments and truncate the WAL
    server.kill()
    server.start()
    client = QdrantClient(url=server.url, timeout=30)
    _check_points(client, acked)
    assert client.count("d").count == len(acked)
    # a clean stop flushes: the next start replays nothing
    assert server.stop() == 0
    server.start()
    assert server.stop() == 0
    assert "replayed" not in server.text().split("heron serving")[-1]


@pytest.mark.parametrize("wait", [True, False])
def test_acknowledged_without_wait_survives_kill(tmp_path: Path, wait: bool) -> None:
    server = _server(tmp_path, flush_interval_sec="60").start()
    client = QdrantClient(url=server.url, timeout=30)
    _create(client)
    for i in range(50):
        res = client.upsert(
            "d",
            [models.PointStruct(id=i, vector={"a": _vec(i * 1000 + 2), "b": _vec(i)},
                                payload={"gen": 2, "tag": f"t{i % 7}"})],
            wait=wait,
        )
        assert res.status == ("completed" if wait else "acknowledged")
    server.kill()
    server.start()
    client = QdrantClient(url=server.url, timeout=30)
    _check_points(client, {i: 2 for i in range(50)})
    assert "replayed 50 operations" in server.text()
    assert server.stop() == 0


def test_dropped_collection_files_are_removed(tmp_path: Path) -> None:
    server = _server(tmp_path).start()
    client = QdrantClient(url=server.url, timeout=30)
    _create(client, "gone")
    client.upsert("gone", [models.PointStruct(id=1, vector={"a": _vec(1), "b": _vec(2)})])
    assert (tmp_path / "storage" / "collections" / "gone").exists()
    assert client.delete_collection("gone")
    assert not (tmp_path / "storage" / "collections" / "gone").exists()
    server.kill()
    server.start()
    client = QdrantClient(url=server.url, timeout=30)
    assert not client.collection_exists("gone")
    assert server.stop() == 0
