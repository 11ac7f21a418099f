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
    """The request body or parameters are well-formed but out of range or inconsistent
    (Qdrant's ``Validation error in JSON body: [path: message; ...]``)."""

    status = 422


def validation_text(where: str, problems: list[tuple[str, str]]) -> str:
    """Qdrant's validation message: ``Validation error in <where>: [path: message; ...]``
    (``where`` is ``JSON body``, ``path parameters`` or ``query parameters``)."""
    listed = "; ".join(f"{path}: {message}" if path else message for path, message in problems)
    return f"Validation error in {where}: [{listed}]"


def invalid(path: str, message: str, where: str = "JSON body") -> ValidationFailed:
    """A 422 for one problem at ``path``."""
    return ValidationFailed(validation_text(where, [(path, message)]))


def format_error(message: str, where: str = "JSON body") -> BadRequest:
    """A 400 for input that can't be read into the request types (Qdrant's ``Format error``)."""
    return BadRequest(f"Format error in {where}: {message}")


class NotFound(HeronError):
    """A collection, point or payload index the caller named does not exist; the message
    starts with ``Not found: `` as Qdrant's does."""

    status = 404

    def __init__(self, message: str) -> None:
        prefix = "Not found: "
        super().__init__(message if message.startswith(prefix) else prefix + message)


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
