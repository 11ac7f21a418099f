"""A full disk, on a real small filesystem (a tmpfs this test mounts; needs root): writes that
cannot be made durable are refused and never acknowledged, reads go on, a failed flush keeps
the WAL, and writes work again once space returns."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.server import HeronProcess

DIM = 512


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path: Path) -> None:
    """Write ``path`` until the filesystem refuses."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    block = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError:
                if len(block) == 512:
                    return
                block = block[: len(block) // 2]
    finally:
        os.close(fd)


def _points(ids: range) -> list[dict]:
    vecs = np.random.default_rng(ids.start).normal(size=(len(ids), DIM)).round(3)
    return [{"id": i, "vector": v.tolist(), "payload": {"i": i}} for i, v in zip(ids, vecs,
                                                                               strict=True)]


def _count(http: httpx.Client) -> int:
    r = http.post("/collections/c/points/count", json={"exact": True})
    assert r.status_code == 200, r.text
    return int(r.json()["result"]["count"])


def test_full_disk_refuses_writes_keeps_reads_and_recovers(small_disk: Path) -> None:
    server = HeronProcess(small_disk / "storage",
                          env={"HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.2"}).start()
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        assert http.put("/collections/c", json={
            "vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
        r = http.put("/collections/c/points?wait=true", json={"points": _points(range(300))})
        assert r.status_code == 200, r.text
        time.sleep(1.0)  # flushed
        reserve = small_disk / "reserve"
        reserve.write_bytes(b"\0" * 256 * 1024)
        _fill(small_disk / "filler")

        for wait in ("true", "false"):
            r = http.put(f"/collections/c/points?wait={wait}",
                         json={"points": _points(range(500, 510))})
            assert r.status_code == 507, r.text
            assert "No space left on device" in r.json()["status"]["error"]
        r = http.post("/collections/aliases", json={"actions": [
            {"create_alias": {"collection_name": "c", "alias_name": "a"}}]})
        assert r.status_code == 507, r.text
        assert http.get("/aliases").json()["result"]["aliases"] == []
        r = http.post("/collections/c/snapshots")
        assert r.status_code == 507, r.text
        assert http.get("/collections/c/snapshots").json()["result"] == []
        # the server is up and readable
        assert _count(http) == 300
        r = http.post("/collections/c/points/query", json={"query": [1.0] * DIM, "limit": 3})
        assert r.status_code == 200 and len(r.json()["result"]["points"]) == 3
        assert http.post("/collections/c/points", json={"ids": [505]}).json()["result"] == []

        # a little room: a small write fits in the WAL but its flush does not
        offset = server.log_path.stat().st_size
        reserve.unlink()
        r = http.put("/collections/c/points?wait=true", json={"points": _points(range(1000, 1001))})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 15
        while "flush of collection c failed" not in server.log_path.read_bytes()[offset:].decode(
            errors="replace"
        ):
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        assert _count(http) == 301

        # crash while the flush cannot be made: the WAL still has the write
        server.kill()
        (small_disk / "filler").unlink()
        server.start()
        http = httpx.Client(base_url=server.url, timeout=30)
        assert _count(http) == 301
        r = http.post("/collections/c/points", json={"ids": [1000], "with_payload": True})
        assert r.json()["result"][0]["payload"] == {"i": 1000}
        # space is back: writes, aliases and snapshots work again
        r = http.put("/collections/c/points?wait=true", json={"points": _points(range(500, 510))})
        assert r.status_code == 200, r.text
        assert _count(http) == 311
        r = http.post("/collections/aliases", json={"actions": [
            {"create_alias": {"collection_name": "c", "alias_name": "a"}}]})
        assert r.status_code == 200, r.text
        assert http.post("/collections/a/snapshots").status_code == 200
    finally:
        http.close()
        code = server.stop()
    assert code == 0, server.log()
