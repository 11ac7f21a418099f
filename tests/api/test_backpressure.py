"""Backpressure: a write flood against a tiny mailbox gets 503s with Qdrant's error body,
the server stays up, and every acknowledged write is there."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import numpy as np

from tests.server import HeronProcess


def test_write_flood_is_refused_with_503_not_a_crash(tmp_path: Path) -> None:
    env = {"HERON__LIMITS__MAILBOX_SIZE": "1", "HERON__LIMITS__MAILBOX_WAIT_SEC": "0.001"}
    server = HeronProcess(tmp_path / "storage", env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            http.put("/collections/f", json={"vectors": {"size": 64, "distance": "Dot"}})
        acked: list[int] = []
        statuses: list[int] = []
        bodies: list[dict] = []
        lock = threading.Lock()

        def writer(w: int) -> None:
            rng = np.random.default_rng(w)
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for b in range(8):
                    ids = [w * 10_000 + b * 200 + i for i in range(200)]
                    points = [{"id": i, "vector": rng.normal(size=64).tolist()} for i in ids]
                    r = http.put("/collections/f/points?wait=true", json={"points": points})
                    with lock:
                        statuses.append(r.status_code)
                        if r.status_code == 200:
                            acked.extend(ids)
                        else:
                            bodies.append(r.json())

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(statuses) <= {200, 503}
        assert 503 in statuses, "the flood never filled the mailbox"
        assert 200 in statuses
        for body in bodies:
            assert "overloaded" in body["status"]["error"] and "time" in body
        with httpx.Client(base_url=server.url, timeout=30) as http:
            count = http.post("/collections/f/points/count", json={}).json()["result"]["count"]
            got = http.post("/collections/f/points", json={"ids": acked[:500]}).json()["result"]
        assert count == len(acked)
        assert len(got) == min(500, len(acked))
    finally:
        assert server.stop() == 0
