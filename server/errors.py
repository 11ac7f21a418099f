"""The one place errors become HTTP answers: Qdrant's error body with the error's status."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from pydantic import ValidationError
from quart import Response

from collection.errors import HeronError, PayloadTooLarge, ServiceError, ValidationFailed

log = logging.getLogger("heron.errors")


def error_body(message: str, started: float | None = None) -> bytes:
    elapsed = 0.0 if started is None else time.perf_counter() - started
    return orjson.dumps({"status": {"error": message}, "time": elapsed})


def to_heron_error(exc: BaseException) -> HeronError:
    """Map any exception escaping a route to a member of the tree."""
    if isinstance(exc, HeronError):
        return exc
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return ValidationFailed("Validation error in JSON body: " + "; ".join(parts))
    status = getattr(exc, "code", None)
    if status == 413:
        return PayloadTooLarge("Payload error: request body is over the size limit")
    if isinstance(status, int) and 400 <= status < 500:
        err = HeronError(getattr(exc, "description", None) or str(exc))
        err.status = status
        return err
    log.error("unexpected error", exc_info=exc)
    return ServiceError(f"Service internal error: {exc}")


def error_response(exc: BaseException, started: float | None = None) -> Response:
    err = to_heron_error(exc)
    headers: dict[str, Any] = {}
    return Response(
        error_body(err.message, started),
        status=err.status,
        content_type="application/json",
        headers=headers,
    )
