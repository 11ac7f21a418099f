"""API keys as Qdrant has them: a full-access key and a read-only key.

A key comes in the ``api-key`` header or as ``Authorization: Bearer <key>``. Health probes stay
open. Without a valid key the answer is 401; the read-only key on a write is 403.
"""

from __future__ import annotations

import hmac
import re

from collection.errors import Forbidden, Unauthorized

OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
OPEN_PREFIX = "/dashboard"
"""The dashboard's static files: the page itself asks for a key before calling the API."""

_READ_POST = re.compile(
    r"^/collections/[^/]+/points(/scroll|/count|/query(/batch|/groups)?|/search(/batch|/groups)?"
    r"|/recommend(/batch|/groups)?|/discover(/batch)?)?$"
)


def is_read(method: str, path: str) -> bool:
    """Whether a request only reads: GET/HEAD, or one of the read endpoints that use POST."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return True
    return method == "POST" and bool(_READ_POST.match(path))


def presented_key(headers: dict[str, str] | object) -> str | None:
    get = headers.get  # type: ignore[attr-defined]
    key = get("api-key")
    if key:
        return str(key)
    auth = get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def authorize(
    method: str, path: str, key: str | None, api_key: str | None, read_only_key: str | None
) -> None:
    """Raise ``Unauthorized`` / ``Forbidden`` unless ``key`` allows this request."""
    if (api_key is None and read_only_key is None) or path in OPEN_PATHS:
        return
    if method in ("GET", "HEAD") and (path == OPEN_PREFIX or path.startswith(OPEN_PREFIX + "/")):
        return
    if key is not None and api_key is not None and hmac.compare_digest(key, api_key):
        return
    if key is not None and read_only_key is not None and hmac.compare_digest(key, read_only_key):
        if is_read(method, path):
            return
        raise Forbidden("Forbidden: the read-only API key can't perform this operation")
    raise Unauthorized("Must provide an API key or an Authorization bearer token")
