"""What an operation runs against: the registry of collections and the settings, plus the
``Op`` entry of the operation table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from collection.handle import Collection
from collection.messages import UpdateResult
from collection.query.planner import Limits
from server.api.auth import AuthClass
from server.api.params import Query
from server.config import LimitsSettings, Settings
from server.monitor.stats import Monitor
from server.registry import Registry
from server.snapshots import Snapshots


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

    @cached_property
    def snapshots(self) -> Snapshots:
        """Snapshot operations over this registry (made on first use)."""
        return Snapshots(self.registry)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a collection or an alias of one."""
        return self.registry.exists(name)

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
    raw_json: bool = False
    """The operation takes a JSON body as ``params.JsonBytes`` (unparsed) and parses it its own
    way (upsert reads vectors straight into numpy); other callers may still pass parsed JSON."""


def ops(*rows: Op) -> dict[str, Op]:
    """A table (or part of one) keyed by operation id."""
    return {row.name: row for row in rows}


def update_result(res: UpdateResult) -> dict[str, Any]:
    """An ``UpdateResult`` as Qdrant's JSON."""
    return {"operation_id": res.operation_id, "status": res.status}


@dataclass(frozen=True)
class FileResult:
    """An operation's answer that is a file to send (a snapshot download)."""

    path: Path
    name: str


class Accepted:
    """The answer of an operation started in the background (``wait=false``)."""


ACCEPTED = Accepted()
