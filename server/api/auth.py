"""API keys as Qdrant has them: a full-access key and a read-only key.

Every operation has an auth class in the operation table: ``open`` (health probes), ``read`` or
``write``. A key comes in the ``api-key`` header / metadata or as ``Authorization: Bearer <key>``.
Without a valid key the answer is 401; the read-only key on a write is 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Literal

from collection.errors import Forbidden, Unauthorized

AuthClass = Literal["open", "read", "write"]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def method_class(method: str) -> AuthClass:
    """The auth class of a request that names no operation (unknown routes, ``/openapi.json``)."""
    return "read" if method.upper() in READ_METHODS else "write"


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries (HTTP headers or gRPC metadata, lower-case names), or None."""
    key = headers.get("api-key")
    if key:
        return str(key)
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def authorize(
    auth: AuthClass, key: str | None, api_key: str | None, read_only_key: str | None
) -> None:
    """Raise ``Unauthorized`` / ``Forbidden`` unless ``key`` allows an operation of class ``auth``."""
    if (api_key is None and read_only_key is None) or auth == "open":
        return
    if key is not None and api_key is not None and hmac.compare_digest(key, api_key):
        return
    if key is not None and read_only_key is not None and hmac.compare_digest(key, read_only_key):
        if auth == "read":
            return
        raise Forbidden("Forbidden: the read-only API key can't perform this operation")
    raise Unauthorized("Must provide an API key or an Authorization bearer token")
