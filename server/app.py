"""The Quart-Trio app: routes, the error handler, and the registry started in the app nursery."""

from __future__ import annotations

import time

from quart import Response, g, request
from quart_trio import QuartTrio

from server import openapi
from server.auth import authorize, presented_key
from server.config import Settings
from server.dashboard import bp as dashboard_bp
from server.errors import error_response, to_heron_error
from server.monitor import logs
from server.monitor import routes as monitor_routes
from server.monitor.stats import Monitor
from server.registry import Registry
from server.routes import collections, index, points, query, service


def create_app(settings: Settings) -> QuartTrio:
    """Build the app; the registry loads collections when serving starts."""
    app = QuartTrio("heron")
    app.config["MAX_CONTENT_LENGTH"] = settings.service.max_request_size_mb * 1024 * 1024
    app.config["HERON_SETTINGS"] = settings
    registry = Registry(
        settings.storage.path,
        max_points_per_segment=settings.storage.max_points_per_segment,
        mailbox_size=settings.limits.mailbox_size,
        mailbox_wait=settings.limits.mailbox_wait_sec,
        flush_interval=settings.storage.flush_interval_sec,
    )
    app.config["HERON_REGISTRY"] = registry
    monitor = app.config["HERON_MONITOR"] = Monitor()

    for module in (service, collections, points, index, query, openapi, monitor_routes):
        app.register_blueprint(module.bp)
    app.register_blueprint(dashboard_bp)
    logs.install(app, settings, monitor)

    @app.before_serving
    async def start_registry() -> None:
        await app.nursery.start(registry.run)

    @app.after_serving
    async def stop_registry() -> None:
        await registry.close()

    keys = settings.service

    @app.before_request
    async def start_timer() -> None:
        g.started = time.perf_counter()
        authorize(
            request.method,
            request.path,
            presented_key(request.headers),
            keys.api_key,
            keys.read_only_api_key,
        )

    @app.errorhandler(Exception)
    async def handle_error(exc: Exception) -> Response:
        err = to_heron_error(exc)
        g.error_reason = err.message
        return error_response(err, getattr(g, "started", None))

    return app
