"""Aliases and snapshots over gRPC (qdrant-client with ``prefer_grpc``): the same operations as
REST, the same answers."""

from __future__ import annotations

from pathlib import Path

import httpx
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess


def test_aliases_and_snapshots_over_grpc(tmp_path: Path) -> None:
    server = HeronProcess(tmp_path / "storage").start()
    client = QdrantClient(url=server.url, grpc_port=server.grpc_port, prefer_grpc=True,
                          timeout=30)
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        client.create_collection("c", vectors_config=models.VectorParams(
            size=2, distance=models.Distance.DOT))
        client.upsert("c", [models.PointStruct(id=i, vector=[1.0, float(i)]) for i in range(5)])
        assert client.update_collection_aliases([
            models.CreateAliasOperation(create_alias=models.CreateAlias(
                collection_name="c", alias_name="a")),
            models.CreateAliasOperation(create_alias=models.CreateAlias(
                collection_name="c", alias_name="b")),
        ])
        client.update_collection_aliases([models.RenameAliasOperation(
            rename_alias=models.RenameAlias(old_alias_name="b", new_alias_name="bb"))])
        assert sorted(a.alias_name for a in client.get_aliases().aliases) == ["a", "bb"]
        assert sorted(a.alias_name for a in client.get_collection_aliases("c").aliases) == [
            "a", "bb"]
        assert client.count("a").count == 5
        rest = http.get("/aliases").json()["result"]["aliases"]
        assert {x["alias_name"] for x in rest} == {"a", "bb"}

        snap = client.create_snapshot("a")
        assert snap is not None and snap.name.startswith("c-") and snap.checksum
        assert [s.name for s in client.list_snapshots("c")] == [snap.name]
        rest = http.get("/collections/c/snapshots").json()["result"]
        assert rest[0]["checksum"] == snap.checksum and rest[0]["size"] == snap.size
        client.delete_snapshot("c", snap.name)
        assert client.list_snapshots("c") == []
        full = client.create_full_snapshot()
        assert [s.name for s in client.list_full_snapshots()] == [full.name]
        client.delete_full_snapshot(full.name)
        assert client.list_full_snapshots() == []
        client.delete_collection("c")
        assert client.get_aliases().aliases == []
    finally:
        client.close()
        http.close()
        assert server.stop() == 0, server.log()
