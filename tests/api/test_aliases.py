"""Aliases: Qdrant's actions all-or-nothing, listing, resolution everywhere, persistence, and a
switch under query load with no failed request."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess


def _make(client: QdrantClient, name: str, value: float, n: int = 5) -> None:
    client.create_collection(name, vectors_config=models.VectorParams(
        size=2, distance=models.Distance.DOT))
    client.upsert(name, [models.PointStruct(id=i, vector=[value, 1.0], payload={"src": name})
                         for i in range(n)])


def _aliases(http: httpx.Client) -> list[dict]:
    r = http.get("/aliases")
    assert r.status_code == 200, r.text
    return r.json()["result"]["aliases"]


def test_alias_actions_and_resolution(tmp_path: Path) -> None:
    server = HeronProcess(tmp_path / "storage").start()
    client = QdrantClient(url=server.url, timeout=30)
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        _make(client, "v1", 1.0)
        _make(client, "v2", 2.0, n=7)
        assert client.update_collection_aliases([models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name="v1", alias_name="live"))])
        # every collection endpoint resolves the alias: read, count, query, write
        assert client.get_collection("live").points_count == 5
        assert client.count("live").count == 5
        hits = client.query_points("live", query=[1.0, 0.0], limit=1, with_payload=True).points
        assert hits[0].payload == {"src": "v1"}
        client.upsert("live", [models.PointStruct(id=100, vector=[1.0, 1.0])])
        assert client.count("v1").count == 6
        assert client.collection_exists("live")
        assert [a.alias_name for a in client.get_collection_aliases("v1").aliases] == ["live"]

        # all-or-nothing: a valid switch followed by a bad delete changes nothing
        r = http.post("/collections/aliases", json={"actions": [
            {"delete_alias": {"alias_name": "live"}},
            {"create_alias": {"collection_name": "v2", "alias_name": "live"}},
            {"delete_alias": {"alias_name": "nope"}},
        ]})
        assert r.status_code == 404, r.text
        assert "nope" in r.json()["status"]["error"]
        assert _aliases(http) == [{"alias_name": "live", "collection_name": "v1"}]

        # errors: unknown collection 404, alias named like a collection 409, rename unknown 404
        for action, status in [
            ({"create_alias": {"collection_name": "zz", "alias_name": "x"}}, 404),
            ({"create_alias": {"collection_name": "v1", "alias_name": "v2"}}, 409),
            ({"rename_alias": {"old_alias_name": "zz", "new_alias_name": "y"}}, 404),
            ({"bogus": {}}, 400),
        ]:
            r = http.post("/collections/aliases", json={"actions": [action]})
            assert r.status_code == status, (action, r.text)
            assert r.json()["status"]["error"]
        r = http.put("/collections/live", json={"vectors": {"size": 2, "distance": "Dot"}})
        assert r.status_code == 409, r.text

        # rename, then the switch in one request
        client.update_collection_aliases([models.RenameAliasOperation(
            rename_alias=models.RenameAlias(old_alias_name="live", new_alias_name="prod"))])
        client.update_collection_aliases([
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="prod")),
            models.CreateAliasOperation(create_alias=models.CreateAlias(
                collection_name="v2", alias_name="prod")),
            models.CreateAliasOperation(create_alias=models.CreateAlias(
                collection_name="v1", alias_name="old")),
        ])
        assert client.count("prod").count == 7
        assert {(a.alias_name, a.collection_name) for a in client.get_aliases().aliases} == {
            ("prod", "v2"), ("old", "v1")}

        # aliases survive a crash
        server.restart()
        client = QdrantClient(url=server.url, timeout=30)
        http = httpx.Client(base_url=server.url, timeout=30)
        assert client.count("prod").count == 7
        assert len(_aliases(http)) == 2

        # dropping a collection drops its aliases, durably
        client.delete_collection("v2")
        assert _aliases(http) == [{"alias_name": "old", "collection_name": "v1"}]
        assert http.get("/collections/prod").status_code == 404
        server.restart()
        http = httpx.Client(base_url=server.url, timeout=30)
        assert _aliases(http) == [{"alias_name": "old", "collection_name": "v1"}]
    finally:
        http.close()
        assert server.stop() == 0


def test_alias_switch_under_query_load(tmp_path: Path) -> None:
    server = HeronProcess(tmp_path / "storage").start()
    client = QdrantClient(url=server.url, timeout=30)
    try:
        _make(client, "blue", 1.0)
        _make(client, "green", 2.0)
        client.update_collection_aliases([models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name="blue", alias_name="app"))])
        stop = threading.Event()
        failures: list[str] = []
        seen: set[str] = set()
        counts = [0]

        def query_loop() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as h:
                while not stop.is_set():
                    r = h.post("/collections/app/points/query",
                               json={"query": [1.0, 0.0], "limit": 1, "with_payload": True})
                    counts[0] += 1
                    if r.status_code != 200:
                        failures.append(r.text)
                    else:
                        seen.add(r.json()["result"]["points"][0]["payload"]["src"])

        threads = [threading.Thread(target=query_loop) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(20):
            target, other = ("green", "blue") if i % 2 == 0 else ("blue", "green")
            client.update_collection_aliases([
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="app")),
                models.CreateAliasOperation(create_alias=models.CreateAlias(
                    collection_name=target, alias_name="app")),
            ])
        stop.set()
        for t in threads:
            t.join()
        assert failures == []
        assert counts[0] > 20
        assert seen == {"blue", "green"}
    finally:
        assert server.stop() == 0
