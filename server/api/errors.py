"""The one place any exception becomes a member of heron's error tree, with its HTTP status and
its gRPC status code.

The classes live in ``collection.errors`` (lower layers raise them); this module maps what
escapes an operation onto them, so REST and gRPC answer the same failure the same way.
"""

from __future__ import annotations

import errno
import logging

import trio
from pydantic import ValidationError

from collection.errors import HeronError, ServiceError, Timeout, ValidationFailed, not_durable

log = logging.getLogger("heron.errors")

GRPC_CODES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    413: "RESOURCE_EXHAUSTED",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    507: "RESOURCE_EXHAUSTED",
}
"""HTTP status -> name of the ``grpc.StatusCode`` member, as Qdrant maps its errors. A body over
the size limit is ``RESOURCE_EXHAUSTED`` (what grpcio itself answers for an oversized message)."""


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as Qdrant's one-line validation message (the first five problems)."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "Validation error in JSON body: " + "; ".join(parts)


def _leaf(group: BaseExceptionGroup) -> BaseException:
    """The error a nursery's exception group stands for: its first heron error, else its first
    exception (groups nest when nurseries do)."""
    leaves: list[BaseException] = []
    todo: list[BaseException] = [group]
    while todo:
        exc = todo.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            todo[:0] = list(exc.exceptions)
        else:
            leaves.append(exc)
    return next((e for e in leaves if isinstance(e, HeronError)), leaves[0])


def to_heron_error(exc: BaseException) -> HeronError:
    """Map any exception escaping an operation to a member of the tree (unknown ones are 500s,
    logged with their traceback)."""
    if isinstance(exc, BaseExceptionGroup):
        return to_heron_error(_leaf(exc))
    if isinstance(exc, HeronError):
        return exc
    if isinstance(exc, ValidationError):
        return ValidationFailed(validation_message(exc))
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
        log.error("storage write failed: %s", exc)
        return not_durable(exc, "the change")
    if isinstance(exc, trio.TooSlowError):
        return Timeout("Timeout error: the operation did not finish in time")
    log.error("unexpected error", exc_info=exc)
    return ServiceError(f"Service internal error: {exc}")


def grpc_code(exc: BaseException) -> str:
    """The ``grpc.StatusCode`` member name for an exception (``grpc.StatusCode[name]``)."""
    status = to_heron_error(exc).status
    if status in GRPC_CODES:
        return GRPC_CODES[status]
    return "INVALID_ARGUMENT" if 400 <= status < 500 else "INTERNAL"
