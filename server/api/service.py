"""Service operations: version info and the health probes (telemetry is in ``observe``)."""

from __future__ import annotations

from typing import Any

from server.api.context import Context, Op, ops
from server.api.params import Query

QDRANT_API_VERSION = "1.19.0"
TITLE = "heron - vector search engine (Qdrant API)"
HEALTHY = "healthz check passed"


async def root(ctx: Context, path: dict[str, str], query: Query, body: Any) -> dict[str, Any]:
    return {"title": TITLE, "version": QDRANT_API_VERSION, "commit": None}


async def health(ctx: Context, path: dict[str, str], query: Query, body: Any) -> str:
    return HEALTHY


OPS = ops(
    Op("root", "read", root),
    Op("healthz", "open", health),
    Op("livez", "open", health),
    Op("readyz", "open", health),
)
