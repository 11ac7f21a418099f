"""What an operation runs against: the registry of collections and the settings, plus the
``Op`` entry of the operation table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from collection.handle import Collection
from collection.messages import UpdateResult
from collection.query.planner import Limits
from server.api.auth import AuthClass
from server.api.params import Query
from server.config import LimitsSettings, Settings
from server.monitor.stats import Monitor
from server.registry import Registry


@dataclass(frozen=True)
class Context:
    """The registry and settings one ``Api`` serves, and what the server observes of itself
    (response statistics of every transport, issues)."""

    registry: Registry
    settings: Settings
    monitor: Monitor = field(default_factory=Monitor)

    @property
    def limits(self) -> LimitsSettings:
        return self.settings.limits

    def collection(self, name: str) -> Collection:
        """The open collection ``name`` (404 when there is none)."""
        return self.registry.get(name)

    def collections(self) -> list[Collection]:
        """Every open collection, by name."""
        return [self.registry.collections[n] for n in self.registry.names()]

    def exists(self, name: str) -> bool:
        return name in self.registry.collections

    def query_limits(self) -> Limits:
        s = self.settings.limits
        return Limits(s.max_limit, s.max_prefetch_depth, s.max_prefetches)


Handler = Callable[[Context, dict[str, str], Query, Any], Awaitable[Any]]
"""An operation: (context, path parameters, query-string parameters, JSON body) -> result."""


@dataclass(frozen=True)
class Op:
    """One row of the operation table."""

    name: str
    auth: AuthClass
    run: Handler


def ops(*rows: Op) -> dict[str, Op]:
    """A table (or part of one) keyed by operation id."""
    return {row.name: row for row in rows}


def update_result(res: UpdateResult) -> dict[str, Any]:
    """An ``UpdateResult`` as Qdrant's JSON."""
    return {"operation_id": res.operation_id, "status": res.status}
