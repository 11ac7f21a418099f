"""Assertions shared by the API tests."""

from __future__ import annotations

import math
from typing import Any

import httpx


def assert_rejected(r: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """A 4xx (exactly ``status`` if given) with Qdrant's error body
    ``{"status": {"error": str}, "time": number}``; returns the body."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("status"), dict), body
    error = body["status"].get("error")
    assert isinstance(error, str) and error.strip(), body
    assert isinstance(body.get("time"), int | float) and math.isfinite(body["time"]), body
    return body


def payload_collection(client: Any, name: str, payloads: list[dict[str, Any]]) -> None:
    """A collection of one 2-d Dot vector per point, ids 0.. carrying ``payloads``."""
    from qdrant_client import models

    client.create_collection(
        name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert(name, [
        models.PointStruct(id=i, vector=[1.0, 0.0], payload=p) for i, p in enumerate(payloads)
    ])
