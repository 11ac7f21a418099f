"""API keys end to end: the official client with ``api_key=``, raw 401 / 403 answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    storage: Path = tmp_path_factory.mktemp("keyed") / "storage"
    env = {"HERON__SERVICE__API_KEY": "full-key", "HERON__SERVICE__READ_ONLY_API_KEY": "ro-key"}
    server = HeronProcess(storage, env=env).start()
    yield server
    assert server.stop() == 0


def test_full_key_client_works_and_read_only_key_cannot_write(keyed: HeronProcess) -> None:
    admin = QdrantClient(url=keyed.url, api_key="full-key", https=False)
    admin.create_collection("k", vectors_config=models.VectorParams(size=2, distance="Dot"))
    admin.upsert("k", [models.PointStruct(id=1, vector=[1.0, 0.0])])
    reader = QdrantClient(url=keyed.url, api_key="ro-key", https=False)
    assert reader.count("k").count == 1
    assert [p.id for p in reader.query_points("k", query=[1.0, 0.0]).points] == [1]
    with httpx.Client(base_url=keyed.url) as http:
        r = http.put("/collections/k/points", json={"points": []},
                     headers={"api-key": "ro-key"})
        assert r.status_code == 403 and r.json()["status"]["error"]
        r = http.get("/collections")
        assert r.status_code == 401 and r.json()["status"]["error"]
        r = http.get("/collections", headers={"Authorization": "Bearer full-key"})
        assert r.status_code == 200
        assert http.get("/healthz").status_code == 200
    assert admin.count("k").count == 1
