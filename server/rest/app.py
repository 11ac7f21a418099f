"""The Quart-Trio app: one route per row of ``server.rest.routes``, auth before the body is
read, the error handler, and the registry started in the app nursery."""

from __future__ import annotations

import time

import trio
from quart import Response, g, request
from quart_trio import QuartTrio

from server.api.auth import method_class
from server.api.dispatch import OPERATIONS, Api
from server.api.service import commit
from server.config import Settings
from server.dashboard import bp as dashboard_bp
from server.grpc import grpc_front_end
from server.registry import Registry
from server.rest import access, openapi, reason
from server.rest.http import error_response, http_error, request_key, view
from server.rest.routes import ROUTES

DASHBOARD = dashboard_bp.name + "."


def create_app(settings: Settings) -> QuartTrio:
    """Build the app; the registry loads collections when serving starts."""
    reason.install()
    commit()  # read the git commit once, before serving
    app = QuartTrio("heron")
    app.config["MAX_CONTENT_LENGTH"] = settings.service.max_request_size_mb * 1024 * 1024
    registry = Registry(
        settings.storage.path,
        max_points_per_segment=settings.storage.max_points_per_segment,
        mailbox_size=settings.limits.mailbox_size,
        mailbox_wait=settings.limits.mailbox_wait_sec,
        flush_interval=settings.storage.flush_interval_sec,
    )
    api = Api(registry, settings)
    app.config["HERON_REGISTRY"] = registry
    app.config["HERON_API"] = api

    for method, rule, op, how in ROUTES:
        app.add_url_rule(rule, endpoint=op, view_func=view(api, op, how), methods=[method])
    app.add_url_rule("/openapi.json", endpoint="openapi_json", view_func=openapi.document)
    app.register_blueprint(dashboard_bp)
    access.install(app, settings, api.ctx.monitor)

    grpc_host = grpc_front_end(api, settings)
    app.config["HERON_GRPC"] = grpc_host

    @app.before_serving
    async def start_registry() -> None:
        await trio.to_thread.run_sync(api.ctx.snapshots.clean)
        await app.nursery.start(registry.run)
        if grpc_host is not None:
            await app.nursery.start(grpc_host.run)

    @app.after_serving
    async def stop_registry() -> None:
        if grpc_host is not None:
            await grpc_host.stop()
        await registry.close()

    keys = settings.service
    open_server = keys.api_key is None and keys.read_only_api_key is None

    @app.before_request
    async def start_timer() -> None:
        """Time the request and check its key before its body is read."""
        g.started = time.perf_counter()
        if open_server:
            return  # no keys configured: every operation is allowed
        rule = request.url_rule
        if rule is not None and rule.endpoint.startswith(DASHBOARD):
            return  # the page's static files; the page asks for a key before calling the API
        op = OPERATIONS.get(rule.endpoint) if rule is not None else None
        api.authorize(op.auth if op is not None else method_class(request.method), request_key())

    @app.errorhandler(Exception)
    async def handle_error(exc: Exception) -> Response:
        err = http_error(exc)
        g.error_reason = err.message  # logged at DEBUG with the request
        return error_response(err)

    return app
