"""heron's one exception tree: every error a request can cause, each carrying its HTTP status.

Names say whose fault it is: ``BadRequest`` and its children are the caller's, ``NotFound`` is a
missing thing the caller named, ``ServiceError`` is ours. ``server.api.errors`` maps any of
them to an HTTP status and a gRPC code.
"""

from __future__ import annotations

import errno


class HeronError(Exception):
    """Base of all errors that reach a client; ``status`` is the HTTP status to answer with."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HeronError):
    """The request is malformed or asks for something the collection can't do."""

    status = 400


class ValidationFailed(BadRequest):
    """The request body or parameters do not match the API's schema."""

    status = 422


class NotFound(HeronError):
    """A collection, point or payload index the caller named does not exist."""

    status = 404


class Conflict(HeronError):
    """The thing the caller wants to create already exists."""

    status = 409


class PayloadTooLarge(HeronError):
    """The request body is over the configured limit."""

    status = 413


class Unauthorized(HeronError):
    """No valid API key was sent."""

    status = 401


class Forbidden(HeronError):
    """The API key sent does not allow this operation."""

    status = 403


class Overloaded(HeronError):
    """The collection's mailbox is full: the caller should retry later."""

    status = 503


class Timeout(HeronError):
    """The operation did not finish within the caller's ``timeout`` (or gRPC deadline)."""

    status = 408


class ServiceError(HeronError):
    """Something went wrong on our side."""

    status = 500


class StorageFull(ServiceError):
    """The disk is full: a write could not be made durable, so it was refused."""

    status = 507


def not_durable(exc: BaseException, what: str, free_bytes: int | None = None) -> ServiceError:
    """The error for a write that could not be made durable (ENOSPC, EIO, a failed fsync).

    LMDB reports a full disk as EIO when its own file cannot grow, so a low ``free_bytes``
    on the filesystem also counts as full."""
    text = str(exc)
    full = (
        getattr(exc, "errno", None) == errno.ENOSPC
        or "No space left" in text
        or (free_bytes is not None and free_bytes < LOW_SPACE_BYTES)
    )
    if full:
        return StorageFull(
            f"Service internal error: No space left on device: {what} was not made durable "
            "and was not applied; free some disk space and retry"
        )
    return ServiceError(
        f"Service internal error: I/O error: {what} was not made durable and was not "
        f"applied: {text}"
    )


LOW_SPACE_BYTES = 1 << 20
"""Below this much free space an I/O error while writing is taken for a full disk."""


class CollectionClosed(ServiceError):
    """The collection was dropped or the server is shutting down while the request waited."""

    status = 503
