"""Request observation and the logs a user reads: one access-log line per request, the reason
of a 4xx at DEBUG, response statistics for /metrics, and the startup summary."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from quart import Response, g, request

from server.config import Settings
from server.monitor.stats import Monitor

access_log = logging.getLogger("heron.access")
reason_log = logging.getLogger("heron.errors")
log = logging.getLogger("heron")

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_QDRANT_NAMES = {"collection_name": "name"}


def endpoint_template(rule: str) -> str:
    """A route rule as Qdrant names endpoints in its metrics and telemetry:
    ``/collections/<collection_name>/points`` -> ``/collections/{name}/points``."""
    return _PARAM.sub(lambda m: "{" + _QDRANT_NAMES.get(m[1], m[1]) + "}", rule)


def install(app: Any, settings: Settings, monitor: Monitor) -> None:
    """Hook request observation into ``app`` (after its timer starts in ``before_request``)."""
    enabled = settings.service.access_log

    @app.after_request
    async def observe(response: Response) -> Response:
        started = getattr(g, "started", None)
        seconds = 0.0 if started is None else time.perf_counter() - started
        rule = request.url_rule
        status = response.status_code
        if rule is not None:
            monitor.rest.record(endpoint_template(rule.rule), status, seconds, request.method)
        if enabled:
            path = request.full_path.rstrip("?") if request.query_string else request.path
            access_log.info("%s %s %s %d %.2fms", request.remote_addr or "-", request.method,
                            path, status, seconds * 1000)
        reason = getattr(g, "error_reason", None)
        if reason is not None and 400 <= status < 500:
            reason_log.debug("%s %s answered %d: %s", request.method, request.path, status, reason)
        return response


def startup_lines(settings: Settings, registry: Any, binds: list[str]) -> list[str]:
    """What a user wants to know once heron is up: where data is, what loaded, how to reach it."""
    service = settings.service
    if service.api_key and service.read_only_api_key:
        keys = "required (api_key and read_only_api_key)"
    elif service.api_key or service.read_only_api_key:
        keys = "required (" + ("api_key" if service.api_key else "read_only_api_key") + ")"
    else:
        keys = "not required"
    colls = registry.collections
    points = sum(c.holder.points_count for c in colls.values())
    lines = [
        f"storage: {registry.root.resolve()}",
        f"collections loaded: {len(colls)} ({points} points)",
    ]
    lines += [f"  {name}: {c.holder.points_count} points, {len(c.holder.segments)} segments"
              for name, c in sorted(colls.items())]
    lines.append(f"REST API on {', '.join(binds)} (dashboard at {binds[0] if binds else ''}"
                 "/dashboard)")
    grpc_port = getattr(service, "grpc_port", None)
    if grpc_port:
        lines.append(f"gRPC API on {service.host}:{grpc_port}")
    lines.append(f"API keys: {keys}")
    return lines


def log_startup(settings: Settings, registry: Any, binds: list[str]) -> None:
    for line in startup_lines(settings, registry, binds):
        log.info("%s", line)
