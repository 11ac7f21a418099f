"""Observability operations: metrics, telemetry, optimizations, issues and cluster status.

Thin rows over ``server.monitor``, which builds the answers from the registry and from what the
server observes of itself (``Context.monitor``).
"""

from __future__ import annotations

from typing import Any

from collection.errors import format_error
from server.api.context import Context, Op, ops
from server.api.params import Query
from server.api.service import QDRANT_API_VERSION
from server.monitor import metrics as prometheus
from server.monitor import optimizations as optimizer
from server.monitor import telemetry as telemetry_data

Path = dict[str, str]


def count(query: Query, name: str, default: int) -> int:
    """A non-negative integer query parameter."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise format_error(f"{name}: invalid digit found in {raw!r}", "query parameters") from None
    if value < 0:
        raise format_error(f"{name}: invalid value {value}, expected an unsigned integer",
                           "query parameters")
    return value


async def metrics(ctx: Context, path: Path, query: Query, body: Any) -> str:
    return prometheus.render(ctx.monitor, ctx.collections(), QDRANT_API_VERSION)


async def telemetry(ctx: Context, path: Path, query: Query, body: Any) -> dict[str, Any]:
    return telemetry_data.telemetry(
        ctx.monitor, ctx.collections(), ctx.registry.root, QDRANT_API_VERSION,
        count(query, "details_level", 0),
    )


async def cluster_status(ctx: Context, path: Path, query: Query, body: Any) -> dict[str, Any]:
    return telemetry_data.cluster_status()


async def collection_cluster_info(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    return telemetry_data.collection_cluster(coll, ctx.registry.root)


async def get_optimizations(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    parts = optimizer.parse_with(query.get("with"))
    return optimizer.optimizations(coll, parts, count(query, "completed_limit", 16))


async def get_issues(ctx: Context, path: Path, query: Query, body: Any) -> dict[str, Any]:
    return {"issues": ctx.monitor.issues.current(ctx.collections())}


async def clear_issues(ctx: Context, path: Path, query: Query, body: Any) -> bool:
    ctx.monitor.issues.clear(ctx.collections())
    return True


OPS = ops(
    Op("metrics", "read", metrics),
    Op("telemetry", "read", telemetry),
    Op("cluster_status", "read", cluster_status),
    Op("collection_cluster_info", "read", collection_cluster_info),
    Op("get_optimizations", "read", get_optimizations),
    Op("get_issues", "read", get_issues),
    Op("clear_issues", "write", clear_issues),
)
