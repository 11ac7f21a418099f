"""Request observation in the REST front end: one access-log line per request, the reason of
a 4xx at DEBUG, and each response's endpoint, status and duration into ``Monitor.rest``."""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from quart import Response, g, request

from server.config import Settings
from server.monitor.stats import Monitor
from server.rest.routes import openapi_path

access_log = logging.getLogger("heron.access")
reason_log = logging.getLogger("heron.errors")

@cache
def endpoint_template(rule: str) -> str:
    """A route rule as Qdrant names endpoints in its metrics and telemetry:
    ``/collections/<collection_name>/points`` -> ``/collections/{name}/points`` (one per
    route, so worked out once)."""
    return openapi_path(rule).replace("{collection_name}", "{name}")


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
