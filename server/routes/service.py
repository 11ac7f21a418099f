"""Service endpoints: version info and the health probes."""

from __future__ import annotations

from quart import Blueprint, Response

QDRANT_API_VERSION = "1.19.0"

bp = Blueprint("service", __name__)


@bp.get("/")
async def root() -> Response:
    return Response(
        b'{"title":"heron - vector search engine (Qdrant API)","version":"'
        + QDRANT_API_VERSION.encode()
        + b'","commit":null}',
        content_type="application/json",
    )


@bp.get("/healthz")
@bp.get("/livez")
@bp.get("/readyz")
async def health() -> Response:
    return Response("healthz check passed", content_type="text/plain")
