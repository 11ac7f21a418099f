"""API key rules: open probes, full and read-only keys, read vs write classes in the table."""

from __future__ import annotations

import pytest

from collection.errors import Forbidden, Unauthorized
from server.api.auth import authorize, method_class, presented_key
from server.api.dispatch import OPERATIONS


def test_reads_and_writes_are_told_apart() -> None:
    auth = {name: op.auth for name, op in OPERATIONS.items()}
    for read in ("get_collection", "get_points", "query_points_groups", "scroll_points",
                 "count_points", "search_batch_points", "root"):
        assert auth[read] == "read"
    for write in ("delete_points", "upsert_points", "set_payload", "batch_update",
                  "create_collection", "delete_field_index"):
        assert auth[write] == "write"
    assert {n for n, a in auth.items() if a == "open"} == {"healthz", "livez", "readyz"}
    assert method_class("GET") == "read" and method_class("POST") == "write"


def test_keys() -> None:
    authorize("write", None, None, None)  # no keys configured: open
    authorize("open", None, "k", "r")
    authorize("write", "k", "k", "r")
    authorize("read", "r", "k", "r")
    with pytest.raises(Forbidden):
        authorize("write", "r", "k", "r")
    with pytest.raises(Unauthorized):
        authorize("read", None, "k", "r")
    with pytest.raises(Unauthorized):
        authorize("read", "wrong", "k", "r")


def test_presented_key() -> None:
    assert presented_key({"api-key": "a"}) == "a"
    assert presented_key({"authorization": "Bearer b"}) == "b"
    assert presented_key({}) is None
