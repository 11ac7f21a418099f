"""Routes of the observability endpoints: thin wrappers over the builders of this package."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, request

from collection.errors import BadRequest
from server.monitor import metrics, optimizations, telemetry
from server.monitor.stats import Monitor
from server.routes.common import collection, ok, registry
from server.routes.service import QDRANT_API_VERSION

bp = Blueprint("monitor", __name__)


def monitor() -> Monitor:
    return current_app.config["HERON_MONITOR"]


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Format error in query string: `{name}` must be an integer") from None
    if value < 0:
        raise BadRequest(f"Validation error in query string: `{name}` must be >= 0")
    return value


def _collections() -> list:
    reg = registry()
    return [reg.collections[n] for n in reg.names()]


@bp.get("/metrics")
async def get_metrics() -> Response:
    text = metrics.render(monitor(), _collections(), QDRANT_API_VERSION)
    return Response(text, content_type=metrics.CONTENT_TYPE)


@bp.get("/telemetry")
async def get_telemetry() -> Response:
    level = _int_arg("details_level", 0)
    return ok(telemetry.telemetry(
        monitor(), _collections(), registry().root, QDRANT_API_VERSION, level
    ))


@bp.get("/cluster")
async def get_cluster() -> Response:
    return ok(telemetry.cluster_status())


@bp.get("/collections/<name>/cluster")
async def get_collection_cluster(name: str) -> Response:
    return ok(telemetry.collection_cluster(collection(name), registry().root))


@bp.get("/collections/<name>/optimizations")
async def get_optimizations(name: str) -> Response:
    coll = collection(name)
    parts = optimizations.parse_with(request.args.get("with"))
    return ok(optimizations.optimizations(coll, parts, _int_arg("completed_limit", 16)))


@bp.get("/issues")
async def get_issues() -> Response:
    return ok({"issues": monitor().issues.current(_collections())})


@bp.delete("/issues")
async def clear_issues() -> Response:
    monitor().issues.clear(_collections())
    return ok(True)
