"""The startup summary: where the data is, what was loaded, where heron listens, and whether
API keys are required (one INFO line each, after the server is up)."""

from __future__ import annotations

import logging
from typing import Any

from server.config import Settings

log = logging.getLogger("heron")


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
