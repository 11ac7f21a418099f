"""The ``heron`` command line: ``heron serve`` runs the Qdrant-compatible HTTP server on hypercorn/trio.

Shutdown is graceful: the first SIGTERM or SIGINT stops accepting connections, lets in-flight
requests finish (up to ``GRACEFUL_TIMEOUT_SEC``) and runs the app's after_serving hooks, then the
process exits 0. A second signal during that wait abandons it and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from segments.heap import MMAP_THRESHOLD, tune_allocator
from server.config import ConfigError, Settings, load_settings
from server.monitor.startup import log_startup
from server.storage_lock import StorageLock, StorageLocked

log = logging.getLogger("heron")

GRACEFUL_TIMEOUT_SEC = 5.0
"""How long in-flight requests may run after a shutdown signal before they are cancelled."""
READ_SIZE = MMAP_THRESHOLD // 2
"""Bytes hypercorn asks a connection for per read (its own default is 64 KiB). Python
allocates the whole size for every ``recv`` (then shrinks it), so it stays under the
allocator's mmap threshold: at 1 MiB each read was an mmap and an munmap, and 16 clients'
``GET /`` rate fell 11 % (1,375 against 1,552 req/s at 512 KiB, 1,549 at 64 KiB)."""

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser; flags left out are ``None`` so they do not override settings."""
    parser = argparse.ArgumentParser(
        prog="heron", description="A vector search engine that speaks Qdrant's REST API."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to listen on (service.host)")
    serve.add_argument("--port", type=int, help="TCP port to listen on (service.port)")
    serve.add_argument(
        "--grpc-port", help="gRPC port (service.grpc_port; 'null' disables gRPC)"
    )
    serve.add_argument("--storage", type=Path, help="data directory (storage.path)")
    serve.add_argument("--config", type=Path, metavar="FILE", help="YAML settings file")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    serve.add_argument("--storage-snapshot", type=Path, metavar="FILE",
                       help="restore a storage-wide snapshot (POST /snapshots) before starting; "
                            "same-named collections are replaced")
    return parser


def cli_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Turn the serve flags that were given into a nested settings override dict."""
    flags = {
        ("service", "host"): args.host,
        ("service", "port"): args.port,
        ("service", "grpc_port"): args.grpc_port,
        ("service", "log_level"): args.log_level,
        ("storage", "path"): args.storage,
    }
    overrides: dict[str, dict[str, Any]] = {}
    for (section, key), value in flags.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def configure_logging(settings: Settings) -> None:
    """Send all logs to stderr at the configured level; hypercorn's own chatter only when DEBUG."""
    level = settings.service.log_level_number
    logging.basicConfig(level=level, format=_LOG_FORMAT, stream=sys.stderr, force=True)
    hypercorn_level = level if level <= logging.DEBUG else max(level, logging.WARNING)
    logging.getLogger("hypercorn.error").setLevel(hypercorn_level)


def hypercorn_config(settings: Settings) -> Any:
    """Translate our settings into a hypercorn ``Config`` (no access log, short graceful timeout)."""
    import hypercorn.trio.tcp_server as tcp_server
    from hypercorn.config import Config

    host, port = settings.service.host, settings.service.port
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal needs brackets in a bind string
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.loglevel = settings.service.log_level
    config.graceful_timeout = GRACEFUL_TIMEOUT_SEC
    # hypercorn reads a connection 64 KiB at a time, and each read goes through h11, hypercorn
    # and quart-trio's tasks: a 600 KB upsert body took ~10 reads; 512 KiB reads take 2.
    tcp_server.MAX_RECV = READ_SIZE
    return config


def shield_final_send(app: Any) -> Any:
    """Wrap an ASGI app so the last body message of a response is sent shielded from cancellation.

    quart-trio cancels its per-request nursery as soon as a response is out, which can cancel
    hypercorn's h11 bookkeeping that runs inside that final ``send`` (re-arming the idle timer of a
    keep-alive connection). Without this, idle keep-alive connections are never closed: they
    outlive ``keep_alive_timeout`` and hold every graceful shutdown for the full timeout.
    """

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Pass through, shielding only the response's final ``http.response.body`` send."""
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_final_shielded(message: dict[str, Any]) -> None:
            """Send ``message``; the final body part gets a shielded, time-bounded send."""
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                with trio.CancelScope(
                    shield=True, deadline=trio.current_time() + GRACEFUL_TIMEOUT_SEC
                ):
                    await send(message)
            else:
                await send(message)

        await app(scope, receive, send_final_shielded)

    return asgi


async def serve_until_signalled(app: Any, config: Any) -> bool:
    """Serve ``app`` until SIGTERM/SIGINT, then shut down gracefully; return False if forced."""
    from hypercorn.trio import serve

    shutdown = trio.Event()
    forced = False
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                """Trigger a graceful shutdown on the first signal and abandon it on the second."""
                nonlocal forced
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if not shutdown.is_set():
                        log.info("received %s, shutting down gracefully", name)
                        shutdown.set()
                    else:
                        log.warning("received %s again, exiting without waiting", name)
                        forced = True
                        nursery.cancel_scope.cancel()
                        return

            async def grpc_then_http() -> None:
                """Shutdown order: the gRPC grace period first, then hypercorn drains HTTP."""
                await shutdown.wait()
                grpc_host = getattr(app, "config", {}).get("HERON_GRPC")
                if grpc_host is not None:
                    await grpc_host.stop()

            async def run_server(task_status: trio.TaskStatus[list[str]]) -> None:
                """Run hypercorn; once it has drained and stopped, stop watching for signals."""
                await serve(
                    shield_final_send(app),
                    config,
                    shutdown_trigger=grpc_then_http,
                    task_status=task_status,
                    mode="asgi",
                )
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch_signals)
            binds = await nursery.start(run_server)
            log.info("heron serving on %s", ", ".join(binds))
            api = getattr(app, "config", {}).get("HERON_API")
            if api is not None:
                log_startup(api.settings, api.ctx.registry, binds)
    return not forced


def _all_sockets(sockets: Any) -> list[Any]:
    """List every socket in a hypercorn ``Sockets`` bundle."""
    return [*sockets.secure_sockets, *sockets.insecure_sockets, *sockets.quic_sockets]


def grpc_port_problem(settings: Settings) -> str | None:
    """Why the gRPC port can't be bound (checked before storage is opened), or None."""
    port = settings.service.grpc_port
    if port is None:
        return None
    import socket

    host = settings.service.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def run_serve(settings: Settings, storage_snapshot: Path | None = None) -> int:
    """Create the app for ``settings`` and serve it until a shutdown signal; return the exit code."""
    from server.rest.app import create_app

    config = hypercorn_config(settings)
    try:  # fail on a busy port before the app opens its storage, not after
        for sock in _all_sockets(config.create_sockets()):
            sock.close()
    except OSError as exc:
        log.error("cannot serve on %s: %s", ", ".join(config.bind), exc)
        return 1
    if (problem := grpc_port_problem(settings)) is not None:
        log.error("cannot serve gRPC on port %s: %s", settings.service.grpc_port, problem)
        return 1
    try:
        lock = StorageLock(settings.storage.path).acquire()
    except (StorageLocked, OSError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    try:
        if storage_snapshot is not None:
            from server.snapshots import restore_full

            try:
                names = restore_full(settings.storage.path, storage_snapshot)
            except Exception as exc:
                log.error("cannot restore storage snapshot %s: %s", storage_snapshot, exc)
                return 1
            log.info("restored %d collections from %s", len(names), storage_snapshot)
        tune_allocator()
        app = create_app(settings)
        graceful = trio.run(serve_until_signalled, app, config)
    finally:
        lock.release()
    log.info("heron stopped")
    return 0 if graceful else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``heron`` console script and ``python -m server``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = load_settings(config_file=args.config, overrides=cli_overrides(args))
    except ConfigError as exc:
        print(f"heron: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    return run_serve(settings, args.storage_snapshot)
