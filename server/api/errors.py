"""The one place any exception becomes a member of heron's error tree, with its HTTP status and
its gRPC status code.

The classes live in ``collection.errors`` (lower layers raise them); this module maps what
escapes an operation onto them, so REST and gRPC answer the same failure the same way.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import trio
from pydantic import ValidationError

from collection.errors import (
    HeronError,
    ServiceError,
    Timeout,
    ValidationFailed,
    format_error,
    not_durable,
    validation_text,
)

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


RANGE_ERRORS = frozenset({
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short",
    "too_long", "string_too_short", "string_too_long",
})
"""pydantic error types that are range / consistency problems (Qdrant's 422); every other
type (wrong JSON type, missing field, ...) means the body can't be read into the types (400)."""


def _loc(err: Any) -> str:
    return ".".join(str(x) for x in err.get("loc", ()))


def _unreadable(err: Any) -> bool:
    """Whether a pydantic error is a deserialisation failure: a wrong type, a missing field,
    or a negative number for an unsigned field (``ge`` 0 or 1, as Qdrant's ``usize`` fields)."""
    if err.get("type") not in RANGE_ERRORS:
        return True
    bound = (err.get("ctx") or {}).get("ge")
    value = err.get("input")
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return bound in (0, 1) and is_number and value < 0


def _message(err: Any) -> str:
    """Qdrant's wording for a range problem or a negative unsigned number, else pydantic's."""
    ctx = err.get("ctx") or {}
    value = err.get("input")
    kind = err.get("type")
    if kind == "greater_than_equal" and isinstance(value, int | float):
        if value < 0 and ctx.get("ge") in (0, 1):
            return f"invalid value: integer `{value}`, expected an unsigned integer"
        return f"value {value} invalid, must be {ctx.get('ge')} or larger"
    if kind == "less_than_equal" and isinstance(value, int | float):
        return f"value {value} invalid, must be {ctx.get('le')} or smaller"
    return str(err.get("msg"))


def from_pydantic(exc: ValidationError, where: str = "JSON body") -> HeronError:
    """A pydantic error as Qdrant answers it: 400 ``Format error in ...`` when the input can't be
    read into the types, else 422 ``Validation error in ...: [path: message; ...]``."""
    errors = exc.errors()
    unreadable = [e for e in errors if _unreadable(e)]
    if unreadable:
        err = unreadable[0]
        loc = _loc(err)
        return format_error(f"{loc}: {_message(err)}" if loc else _message(err), where)
    return ValidationFailed(validation_text(where, [(_loc(e), _message(e)) for e in errors[:5]]))


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
        return from_pydantic(exc)
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
