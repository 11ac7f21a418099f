"""heron's one exception tree: every error a request can cause, each carrying its HTTP status.

Names say whose fault it is: ``BadRequest`` and its children are the caller's, ``NotFound`` is a
missing thing the caller named, ``ServiceError`` is ours. ``server.api.errors`` maps any of
them to an HTTP status and a gRPC code.
"""

from __future__ import annotations


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


class CollectionClosed(ServiceError):
    """The collection was dropped or the server is shutting down while the request waited."""

    status = 503
