"""Filters, payload indexes and order_by over gRPC: every filter of the payload-index suite (match
variants, ranges, datetime ranges as Timestamps, geo, full text, min_should ...) gives over gRPC
what it gives over REST on the same data and in local mode; indexes are created over gRPC."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from tests.api.test_payload_index_api import DIM, FIELDS, NAME, _points, assert_same
from tests.server import HeronProcess


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[HeronProcess]:
    proc = HeronProcess(tmp_path / "storage").start()
    yield proc
    assert proc.stop() == 0, proc.log()


def test_filters_over_grpc_match_rest_and_local_mode(server: HeronProcess) -> None:
    over_grpc = QdrantClient(url=server.url, grpc_port=server.grpc_port, prefer_grpc=True,
                             timeout=30)
    over_rest = QdrantClient(url=server.url, timeout=30)
    local = QdrantClient(":memory:")
    points = _points(random.Random(23), range(0, 300))
    for client in (over_grpc, local):
        client.create_collection(
            NAME, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
        client.upsert(NAME, points, wait=True)
    for key, kind in FIELDS.items():
        over_grpc.create_payload_index(NAME, key, field_schema=kind, wait=True)
    schema = over_rest.get_collection(NAME).payload_schema
    assert {k: v.data_type for k, v in schema.items()} == FIELDS
    assert_same(over_grpc, local)
    assert_same(over_grpc, over_rest)
    over_grpc.delete_payload_index(NAME, "city", wait=True)
    assert "city" not in over_rest.get_collection(NAME).payload_schema
    assert_same(over_grpc, over_rest)
