"""API key rules: open probes, full and read-only keys, read vs write classification."""

from __future__ import annotations

import pytest

from collection.errors import Forbidden, Unauthorized
from server.auth import authorize, is_read, presented_key


def test_reads_and_writes_are_told_apart() -> None:
    assert is_read("GET", "/collections/c")
    assert is_read("POST", "/collections/c/points")
    assert is_read("POST", "/collections/c/points/query/groups")
    assert is_read("POST", "/collections/c/points/scroll")
    assert not is_read("POST", "/collections/c/points/delete")
    assert not is_read("PUT", "/collections/c/points")
    assert not is_read("POST", "/collections/c/points/payload")


def test_keys() -> None:
    authorize("PUT", "/collections/c", None, None, None)  # no keys configured: open
    authorize("GET", "/healthz", None, "k", "r")
    authorize("PUT", "/collections/c", "k", "k", "r")
    authorize("POST", "/collections/c/points/query", "r", "k", "r")
    with pytest.raises(Forbidden):
        authorize("PUT", "/collections/c/points", "r", "k", "r")
    with pytest.raises(Unauthorized):
        authorize("GET", "/collections", None, "k", "r")
    with pytest.raises(Unauthorized):
        authorize("GET", "/collections", "wrong", "k", "r")


def test_presented_key() -> None:
    assert presented_key({"api-key": "a"}) == "a"
    assert presented_key({"authorization": "Bearer b"}) == "b"
    assert presented_key({}) is None
