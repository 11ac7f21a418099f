"""heron's gRPC front end: Qdrant's gRPC API (port 6334) as thin translators over ``server.api``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.api.dispatch import Api
    from server.config import Settings
    from server.grpc.host import GrpcHost


def grpc_front_end(api: Api, settings: Settings) -> GrpcHost | None:
    """The gRPC server over ``api`` (the app starts it), or None when ``service.grpc_port`` is
    null."""
    if settings.service.grpc_port is None:
        return None
    from server.grpc.host import GrpcHost
    from server.grpc.services import build

    return GrpcHost(
        settings.service.host, settings.service.grpc_port, build(api), monitor=api.ctx.monitor
    )
