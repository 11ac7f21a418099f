"""The one entry point of the transport-neutral layer: ``Api.call(op, path, query, body, key)``.

Front ends translate their request into (operation id, path parameters, query-string
parameters, JSON body, presented key), call ``Api``, and translate the result (or the
``HeronError`` raised) back. Operation ids are Qdrant's OpenAPI ``operationId``s.
"""

from __future__ import annotations

from typing import Any

import trio

from collection.errors import HeronError, NotFound
from server.api import aliases, collections, observe, points, query, service, snapshots
from server.api.auth import AuthClass, authorize
from server.api.context import Context, Op
from server.api.errors import to_heron_error
from server.api.params import Query, timeout
from server.config import Settings
from server.registry import Registry, check_path_name

OPERATIONS: dict[str, Op] = {
    **service.OPS, **collections.OPS, **aliases.OPS, **snapshots.OPS, **points.OPS,
    **query.OPS, **observe.OPS,
}
"""Every operation heron serves, by operation id."""


class Api:
    """The operations over one registry, with the settings' limits and keys."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.ctx = Context(registry, settings)
        self.settings = settings

    def op(self, name: str) -> Op:
        found = OPERATIONS.get(name)
        if found is None:
            raise NotFound(f"Unknown operation `{name}`")
        return found

    def authorize(self, auth: AuthClass, key: str | None) -> None:
        """Raise 401 / 403 unless ``key`` allows an operation of class ``auth``."""
        keys = self.settings.service
        authorize(auth, key, keys.api_key, keys.read_only_api_key)

    async def call(
        self,
        op: str,
        path: dict[str, str] | None = None,
        query: Query | None = None,
        body: Any = None,
        key: str | None = None,
    ) -> Any:
        """Authorize ``key`` for ``op``, then run it (see ``run``)."""
        self.authorize(self.op(op).auth, key)
        return await self.run(op, path, query, body)

    async def run(
        self,
        op: str,
        path: dict[str, str] | None = None,
        query: Query | None = None,
        body: Any = None,
    ) -> Any:
        """Run an already authorized operation under its ``?timeout``; any failure is raised
        as a ``HeronError``."""
        entry = self.op(op)
        query = query or {}
        try:
            name = (path or {}).get("collection_name")
            if name is not None:  # Qdrant's path validator runs before anything else
                check_path_name(name)
            deadline = timeout(query)
            if deadline is None:
                return await entry.run(self.ctx, path or {}, query, body)
            with trio.fail_after(deadline):
                return await entry.run(self.ctx, path or {}, query, body)
        except HeronError:
            raise
        except Exception as exc:
            raise to_heron_error(exc) from exc
