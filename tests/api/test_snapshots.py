"""Snapshots: taken at one operation number under concurrent writers, recovered (path, file URL,
upload) with exactly their points, payload indexes and loaded (not rebuilt) graphs; checksums;
SIGKILL mid-snapshot leaves nothing partial; storage-wide snapshots; errors."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from qdrant_client import QdrantClient, models

from tests.api.test_optimizer import log_since, log_size, wait_green
from tests.server import HeronProcess

DIM = 16


def _server(storage: Path) -> HeronProcess:
    return HeronProcess(storage, env={"HERON__STORAGE__MAX_POINTS_PER_SEGMENT": "300",
                                      "HERON__STORAGE__FLUSH_INTERVAL_SEC": "0.3"})


def _points(ids: range, dim: int = DIM) -> list[dict]:
    rng = np.random.default_rng(ids.start)
    vecs = rng.normal(size=(len(ids), dim)).astype(np.float32)
    return [{"id": i, "vector": v.tolist(), "payload": {"group": f"g{i % 5}", "n": i}}
            for i, v in zip(ids, vecs, strict=True)]


def _create(http: httpx.Client, name: str, dim: int = DIM) -> None:
    r = http.put(f"/collections/{name}", json={
        "vectors": {"size": dim, "distance": "Cosine"},
        "optimizers_config": {"indexing_threshold": 10},
        "hnsw_config": {"full_scan_threshold": 1}})
    assert r.status_code == 200, r.text
    r = http.put(f"/collections/{name}/index",
                 json={"field_name": "group", "field_schema": "keyword"})
    assert r.status_code == 200, r.text


def _upsert(http: httpx.Client, name: str, points: list[dict]) -> int:
    r = http.put(f"/collections/{name}/points?wait=true", json={"points": points})
    assert r.status_code == 200, r.text
    return int(r.json()["result"]["operation_id"])


def _ids(client: QdrantClient, name: str) -> set[int]:
    out: set[int] = set()
    offset = None
    while True:
        page, offset = client.scroll(name, limit=1000, offset=offset, with_payload=False)
        out |= {int(p.id) for p in page}
        if offset is None:
            return out


def _graph_digests(collection_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in collection_dir.glob("segments/*/hnsw-*.bin")}


def _answers(client: QdrantClient, name: str) -> list[list[tuple[int, float]]]:
    rng = np.random.default_rng(7)
    out = []
    for q in rng.normal(size=(10, DIM)):
        hits = client.query_points(name, query=q.tolist(), limit=5, query_filter=models.Filter(
            must=[models.FieldCondition(key="group", match=models.MatchValue(value="g1"))])).points
        out.append([(int(h.id), round(h.score, 5)) for h in hits])
    return out


def test_snapshot_drop_recover_under_concurrent_writers(tmp_path: Path) -> None:
    server = _server(tmp_path / "storage").start()
    client = QdrantClient(url=server.url, timeout=60)
    http = httpx.Client(base_url=server.url, timeout=60)
    try:
        _create(http, "c")
        for start in range(0, 1200, 300):
            _upsert(http, "c", _points(range(start, start + 300)))
        before = wait_green(client, "c")
        assert before.indexed_vectors_count
        # no more indexing: the writers' points stay in the write segment, so the optimizer
        # cannot change the segments between the cut and the checks below
        r = http.patch("/collections/c", json={"optimizers_config": {"indexing_threshold": 0}})
        assert r.status_code == 200, r.text
        time.sleep(0.5)  # the flusher has persisted the graphs

        acked: dict[int, int] = {}
        stop = threading.Event()
        errors: list[str] = []

        def writer(base: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as h:
                i = base
                while not stop.is_set():
                    r = h.put("/collections/c/points?wait=true", json={"points": _points(range(i, i + 1))})
                    if r.status_code == 200:
                        acked[i] = r.json()["result"]["operation_id"]
                    else:
                        errors.append(r.text)
                    i += 1

        threads = [threading.Thread(target=writer, args=(b,)) for b in (100_000, 200_000)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        snap = client.create_snapshot("c")
        assert snap is not None
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        assert errors == []
        op = int(re.fullmatch(r"c-(\d+)-[\d-]+\.snapshot", snap.name).group(1))
        after = {i for i, o in acked.items() if o > op}
        assert after and any(o <= op for o in acked.values()), "writes on both sides of the cut"
        expected = set(range(1200)) | {i for i, o in acked.items() if o <= op}

        # the listing, the checksum beside the file and the download agree
        listed = client.list_snapshots("c")
        assert [s.name for s in listed] == [snap.name]
        path = server.storage / "snapshots" / "collections" / "c" / snap.name
        body = http.get(f"/collections/c/snapshots/{snap.name}").content
        assert hashlib.sha256(body).hexdigest() == snap.checksum == listed[0].checksum
        assert (path.with_name(path.name + ".checksum")).read_text() == snap.checksum
        assert len(body) == snap.size

        graphs = _graph_digests(server.storage / "collections" / "c")
        assert graphs
        assert client.delete_collection("c")
        offset = log_size(server)
        assert client.recover_snapshot("c", location=path.as_uri(), wait=True)
        info = client.get_collection("c")
        assert info.status == models.CollectionStatus.GREEN
        assert info.payload_schema["group"].data_type == models.PayloadSchemaType.KEYWORD
        assert info.indexed_vectors_count == before.indexed_vectors_count
        assert _ids(client, "c") == expected
        answers = _answers(client, "c")

        # under a new name, by upload with priority and checksum
        r = http.post("/collections/copy/snapshots/upload",
                      params={"priority": "snapshot", "checksum": snap.checksum},
                      files={"snapshot": (snap.name, io.BytesIO(body))})
        assert r.status_code == 200, r.text
        assert _ids(client, "copy") == expected
        assert _answers(client, "copy") == answers
        # a plain path into an existing collection replaces it
        _upsert(http, "copy", _points(range(900_000, 900_001)))
        r = http.put("/collections/copy/snapshots/recover", json={"location": str(path)})
        assert r.status_code == 200, r.text
        assert _ids(client, "copy") == expected
        time.sleep(1.0)  # longer than the optimizer's poll: nothing gets rebuilt
        text = log_since(server, offset)
        assert " started" not in text, text
        assert _graph_digests(server.storage / "collections" / "c") == graphs

        # recovered collections take writes and keep them across a crash
        _upsert(http, "c", _points(range(700_000, 700_010)))
        server.restart()
        client = QdrantClient(url=server.url, timeout=60)
        http = httpx.Client(base_url=server.url, timeout=60)
        assert _ids(client, "c") == expected | set(range(700_000, 700_010))
        assert [s.name for s in client.list_snapshots("c")] == [snap.name]
    finally:
        http.close()
        assert server.stop() == 0, server.log()


def test_snapshot_errors_delete_and_full_snapshots(tmp_path: Path) -> None:
    server = _server(tmp_path / "storage").start()
    client = QdrantClient(url=server.url, timeout=60)
    http = httpx.Client(base_url=server.url, timeout=60)
    try:
        _create(http, "a")
        _upsert(http, "a", _points(range(50)))
        _create(http, "b")
        _upsert(http, "b", _points(range(10)))
        client.update_collection_aliases([models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name="b", alias_name="bee"))])
        snap = client.create_snapshot("bee")  # an alias resolves here too
        assert snap.name.startswith("b-")
        path = server.storage / "snapshots" / "collections" / "b" / snap.name

        bad = tmp_path / "junk.snapshot"
        bad.write_bytes(b"not a tar at all" * 100)
        for body, status in [
            ({"location": path.as_uri(), "checksum": "0" * 64}, 400),
            ({"location": str(tmp_path / "missing.snapshot")}, 404),
            ({"location": str(bad)}, 400),
            ({"location": "http://127.0.0.1:1/x.snapshot"}, 400),
            ({"location": str(path), "priority": "first"}, 400),
            ({}, 400),
        ]:
            r = http.put("/collections/b/snapshots/recover", json=body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["status"]["error"]
        assert client.count("b").count == 10  # nothing above touched it
        assert http.get("/collections/zz/snapshots").status_code == 404
        assert http.post("/collections/zz/snapshots").status_code == 404
        assert http.get("/collections/b/snapshots/nope.snapshot").status_code == 404
        assert http.get("/collections/b/snapshots/..%2F..%2Faliases.json").status_code == 404

        # wait=false answers 202 and the snapshot appears
        r = http.post("/collections/a/snapshots?wait=false")
        assert r.status_code == 202 and r.json()["status"] == "accepted", r.text
        deadline = time.monotonic() + 20
        while not client.list_snapshots("a") and time.monotonic() < deadline:
            time.sleep(0.05)
        (a_snap,) = client.list_snapshots("a")
        assert client.delete_snapshot("a", a_snap.name)
        assert client.list_snapshots("a") == []
        assert http.get(f"/collections/a/snapshots/{a_snap.name}").status_code == 404
        assert http.delete(f"/collections/a/snapshots/{a_snap.name}").status_code == 404

        # the whole storage: one snapshot per collection plus the aliases
        full = client.create_full_snapshot()
        assert [s.name for s in client.list_full_snapshots()] == [full.name]
        data = http.get(f"/snapshots/{full.name}").content
        assert hashlib.sha256(data).hexdigest() == full.checksum
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            names = tar.getnames()
            meta = tar.extractfile("snapshot.json").read()
        assert b'"bee":"b"' in meta
        assert any(n.startswith("a-") and n.endswith(".snapshot") for n in names)
        assert any(n.startswith("b-") and n.endswith(".snapshot") for n in names)
        kept = tmp_path / "full.snapshot"
        kept.write_bytes(data)
        assert client.delete_full_snapshot(full.name)
        assert client.list_full_snapshots() == []
        assert os.listdir(server.storage / "snapshots" / "full") == []
    finally:
        http.close()
        assert server.stop() == 0, server.log()

    # a storage-wide snapshot restores into a fresh storage at start
    other = HeronProcess(tmp_path / "other", args=["--storage-snapshot", str(kept)]).start()
    try:
        client = QdrantClient(url=other.url, timeout=60)
        assert sorted(c.name for c in client.get_collections().collections) == ["a", "b"]
        assert client.count("a").count == 50
        assert client.count("bee").count == 10
        assert client.get_collection("b").payload_schema["group"]
    finally:
        assert other.stop() == 0, other.log()
    bad = HeronProcess(tmp_path / "third", args=["--storage-snapshot", str(tmp_path / "no")])
    try:
        bad.start()
        raise AssertionError("started from a missing storage snapshot")
    except RuntimeError as exc:
        assert "cannot restore storage snapshot" in str(exc)


def test_sigkill_mid_snapshot_leaves_nothing_partial(tmp_path: Path) -> None:
    server = _server(tmp_path / "storage").start()
    http = httpx.Client(base_url=server.url, timeout=60)
    folder = server.storage / "snapshots" / "collections" / "big"
    dim = 512
    try:
        r = http.put("/collections/big", json={"vectors": {"size": dim, "distance": "Dot"}})
        assert r.status_code == 200
        for start in range(0, 6000, 1000):
            _upsert(http, "big", _points(range(start, start + 1000), dim))
        killed_mid = False
        for _ in range(10):
            http.post("/collections/big/snapshots?wait=false")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if folder.is_dir() and any(n.endswith(".tmp") for n in os.listdir(folder)):
                    server.kill()
                    killed_mid = any(n.endswith(".tmp") for n in os.listdir(folder))
                    break
            server.start()
            http = httpx.Client(base_url=server.url, timeout=60)
            if killed_mid:
                break
        assert killed_mid, "never caught a snapshot in the middle"
        # after the restart: only complete snapshots, each matching its checksum; no temp files
        listed = http.get("/collections/big/snapshots").json()["result"]
        for s in listed:
            body = http.get(f"/collections/big/snapshots/{s['name']}").content
            assert hashlib.sha256(body).hexdigest() == s["checksum"]
        assert not [n for n in os.listdir(folder) if n.startswith(".")]
        assert http.post("/collections/big/points/count", json={}).json()["result"]["count"] == 6000
    finally:
        http.close()
        assert server.stop() == 0, server.log()


def test_read_only_key_lists_but_does_not_change(tmp_path: Path) -> None:
    server = HeronProcess(tmp_path / "storage", env={"HERON__SERVICE__API_KEY": "full",
                                                     "HERON__SERVICE__READ_ONLY_API_KEY": "ro"})
    server.start()
    full = httpx.Client(base_url=server.url, timeout=30, headers={"api-key": "full"})
    ro = httpx.Client(base_url=server.url, timeout=30, headers={"api-key": "ro"})
    try:
        _create(full, "c")
        assert full.post("/collections/c/snapshots").status_code == 200
        for method, url, body in [
            ("POST", "/collections/aliases",
             {"actions": [{"create_alias": {"collection_name": "c", "alias_name": "x"}}]}),
            ("POST", "/collections/c/snapshots", None),
            ("PUT", "/collections/c/snapshots/recover", {"location": "/nope"}),
            ("POST", "/snapshots", None),
        ]:
            r = ro.request(method, url, json=body)
            assert r.status_code == 403, (url, r.text)
        assert ro.get("/aliases").status_code == 200
        assert ro.get("/collections/c/aliases").status_code == 200
        (snap,) = ro.get("/collections/c/snapshots").json()["result"]
        assert ro.get(f"/collections/c/snapshots/{snap['name']}").status_code == 200
        assert ro.get("/snapshots").status_code == 200
        assert httpx.get(server.url + "/aliases").status_code == 401
    finally:
        full.close()
        ro.close()
        assert server.stop() == 0, server.log()
