"""Damaged files: segment files and manifests carry checksums. A file failing its check keeps
that collection from loading with an error naming the file (others load), or, when the WAL
still holds every operation, the collection is rebuilt from the WAL and the log says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np

from tests.server import HeronProcess

DIM = 8


def _server(storage: Path, flush: float = 0.2) -> HeronProcess:
    return HeronProcess(storage, env={"HERON__STORAGE__FLUSH_INTERVAL_SEC": str(flush)})


def _fill(http: httpx.Client, name: str, n: int = 50) -> None:
    assert http.put(f"/collections/{name}", json={
        "vectors": {"size": DIM, "distance": "Euclid"}}).status_code == 200
    vecs = np.random.default_rng(len(name)).normal(size=(n, DIM)).round(4)
    points = [{"id": i, "vector": v.tolist(), "payload": {"k": i}} for i, v in enumerate(vecs)]
    r = http.put(f"/collections/{name}/points?wait=true", json={"points": points})
    assert r.status_code == 200, r.text


def _all(http: httpx.Client, name: str) -> list[dict]:
    r = http.post(f"/collections/{name}/points/scroll",
                  json={"limit": 1000, "with_payload": True, "with_vector": True})
    assert r.status_code == 200, r.text
    return r.json()["result"]["points"]


def _flip(path: Path, at: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _setup(storage: Path) -> list[dict]:
    server = _server(storage).start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        _fill(http, "a")
        _fill(http, "b")
        good = _all(http, "b")
    assert server.stop() == 0  # a graceful stop flushes both
    return good


def _check_refused(storage: Path, damaged: Path, good_b: list[dict]) -> None:
    server = _server(storage).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert _all(http, "b") == good_b  # the healthy collection loads and serves
            r = http.get("/collections/a")
            assert r.status_code == 500, r.text
            error = r.json()["status"]["error"]
            assert str(damaged) in error and "damaged file" in error, error
            r = http.post("/collections/a/points/scroll", json={})
            assert r.status_code == 500
            assert "a" not in [c["name"] for c in http.get("/collections").json()["result"][
                "collections"]]
            # it can be dropped and made anew
            assert http.delete("/collections/a").json()["result"] is True
            _fill(http, "a", 3)
            assert len(_all(http, "a")) == 3
        assert str(damaged) in server.log()
    finally:
        assert server.stop() == 0, server.log()


def test_flipped_byte_in_a_segment_file(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    good_b = _setup(storage)
    vec = sorted((storage / "collections" / "a" / "segments").glob("*/vec-*.npy"))[0]
    _flip(vec)
    _check_refused(storage, vec, good_b)


def test_flipped_byte_in_the_manifest(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    good_b = _setup(storage)
    manifest = storage / "collections" / "a" / "manifest.json"
    text = manifest.read_bytes()
    at = text.index(b'"version":') + len(b'"version":')  # still valid JSON, different number
    _flip(manifest, at)
    _check_refused(storage, manifest, good_b)


def test_damage_covered_by_the_wal_is_rebuilt_from_it(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    server = _server(storage, flush=1000).start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        _fill(http, "a")
        before = _all(http, "a")
    server.kill()  # nothing flushed: the WAL holds operation 1 onwards
    wal = storage / "collections" / "a" / "wal"
    shutil.copytree(wal, tmp_path / "wal-copy")
    server = _server(storage).start()  # replays and flushes; the flush truncates the WAL
    assert server.stop() == 0
    # the state of a crash after the manifest was written but before the WAL was truncated
    shutil.rmtree(wal)
    shutil.copytree(tmp_path / "wal-copy", wal)
    (seg,) = (storage / "collections" / "a" / "segments").iterdir()
    _flip(seg / "payloads.json", 5)
    server = _server(storage).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert _all(http, "a") == before
        log = server.log()
        assert "rebuilt from the WAL" in log and "payloads.json" in log, log
    finally:
        assert server.stop() == 0
    server = _server(storage).start()  # and the rebuilt state was flushed soundly
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert _all(http, "a") == before
    finally:
        assert server.stop() == 0
