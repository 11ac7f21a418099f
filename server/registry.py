"""Collections by name: create, drop, and load at start; owns the nursery their actors run in."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from collection import snapshot
from collection.config import CollectionConfig
from collection.errors import BadRequest, Conflict, NotFound, ServiceError, invalid
from collection.handle import Collection
from optimizer.flusher import run_flusher
from optimizer.worker import run_optimizer
from segments.heap import release_free_memory
from server.aliases import AliasMap

log = logging.getLogger("heron.registry")

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
MAX_NAME = 255
"""Qdrant's limit on a collection name, in characters."""
MAX_NAME_BYTES = 255
"""The file system's limit on a directory name (heron stores a collection under its name)."""


QDRANT_FORBIDDEN = '<>:"/\\|?*\x00\x1f'
"""Characters Qdrant's collection-name validator refuses on every route."""


def check_path_name(name: str) -> str:
    """The ``collection_name`` of any ``/collections/{collection_name}/...`` route, checked as
    Qdrant's path validator does (1..255 characters, none of ``QDRANT_FORBIDDEN``) before
    anything looks the collection up: a 422 ``Validation error in path parameters``."""
    where = "path parameters"
    if not name or len(name) > MAX_NAME:
        raise invalid("collection_name", f"length must be between 1 and {MAX_NAME}", where)
    bad = next((c for c in QDRANT_FORBIDDEN if c in name), None)
    if bad is not None:
        shown = bad if bad.isprintable() else repr(bad)[1:-1]
        raise invalid("collection_name", f'collection name cannot contain "{shown}" char', where)
    return name


def check_name(name: str) -> str:
    """Refuse collection names that are empty, too long, or could escape the storage dir
    (Qdrant's path checks, then heron's own: a name is a directory name)."""
    where = "path parameters"
    check_path_name(name)
    if len(name.encode()) > MAX_NAME_BYTES:
        raise invalid("collection_name", f"must be at most {MAX_NAME_BYTES} bytes", where)
    if _FORBIDDEN.search(name) or ".." in name or name in (".",) or name.strip() != name:
        raise invalid(
            "collection_name",
            f"collection name {name!r} holds a forbidden character "
            "(path separators, '..', control characters or any of <>:\"|?*)",
            where,
        )
    return name


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


class Registry:
    """The open collections and the directory they live in."""

    def __init__(
        self,
        root: Path,
        max_points_per_segment: int | None,
        mailbox_size: int,
        flush_interval: float,
        mailbox_wait: float = 10.0,
    ) -> None:
        self.root = root
        self.dir = root / "collections"
        self.max_points = max_points_per_segment
        self.mailbox_size = mailbox_size
        self.mailbox_wait = mailbox_wait
        self.flush_interval = flush_interval
        self.collections: dict[str, Collection] = {}
        self.failed: dict[str, str] = {}
        """Collections that could not be loaded (damaged files): name → why."""
        self.aliases = AliasMap(root)
        self._lock = trio.Lock()
        self._nursery: trio.Nursery | None = None
        self._done = trio.Event()
        self.optimizer_limiter = trio.CapacityLimiter(max(1, os.cpu_count() or 1))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Load every collection, start their actors and the flusher; run until closed."""
        await trio.to_thread.run_sync(lambda: self.dir.mkdir(parents=True, exist_ok=True))
        await trio.to_thread.run_sync(self.aliases.load)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for path in sorted(self.dir.iterdir()):
                if path.name.startswith(".") or not (path / "config.json").exists():
                    if path.name.startswith(".trash-") or path.name.startswith(".new-"):
                        shutil.rmtree(path, ignore_errors=True)
                    continue
                try:
                    await self._open(path.name, path)
                except Exception as exc:  # a damaged collection must not stop the others
                    log.error("collection %s not loaded: %s", path.name, exc)
                    self.failed[path.name] = str(exc)
            await trio.to_thread.run_sync(release_free_memory)  # what loading freed
            known = set(self.collections) | set(self.failed)
            if any(c not in known for c in self.aliases.map.values()):
                kept = {a: c for a, c in self.aliases.map.items() if c in known}
                await trio.to_thread.run_sync(self.aliases.save, kept)
            await nursery.start(
                run_flusher, lambda: list(self.collections.values()), self.flush_interval
            )
            task_status.started()
            await self._done.wait()
            nursery.cancel_scope.cancel()

    async def _open(self, name: str, path: Path) -> Collection:
        return await self._start(await self._load(name, path))

    async def _load(self, name: str, path: Path) -> Collection:
        coll = await trio.to_thread.run_sync(
            Collection.open, name, path, self.max_points, self.mailbox_size
        )
        coll.mailbox_wait = self.mailbox_wait
        return coll

    async def _start(self, coll: Collection) -> Collection:
        name = coll.name
        assert self._nursery is not None
        await self._nursery.start(coll.actor.run)
        await self._nursery.start(self._optimize, coll)
        self.collections[name] = coll
        return coll

    async def _optimize(
        self, coll: Collection, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The collection's optimizer, in a cancel scope its owner cancels before stopping."""
        with trio.CancelScope() as scope:
            coll.optimizer_scope = scope
            await run_optimizer(coll, self.optimizer_limiter, task_status=task_status)

    async def close(self) -> None:
        """Stop every actor (each flushes), then end the registry's nursery."""
        async with self._lock:
            for coll in list(self.collections.values()):
                try:
                    await coll.stop_optimizer()
                    await coll.stop()
                except Exception:
                    log.exception("stopping collection %s failed", coll.name)
            self._done.set()

    def resolve(self, name: str) -> str:
        """The collection a name means: itself if a collection has it, else its alias target."""
        if name in self.collections or name in self.failed:
            return name
        return self.aliases.resolve(name) or name

    def get(self, name: str) -> Collection:
        """The open collection called ``name`` or aliased by it."""
        real = self.resolve(name)
        coll = self.collections.get(real)
        if coll is None:
            if real in self.failed:
                raise ServiceError(
                    f"Service internal error: collection `{real}` could not be loaded: "
                    f"{self.failed[real]}"
                )
            raise NotFound(f"Collection `{name}` doesn't exist!")
        return coll

    def exists(self, name: str) -> bool:
        return self.resolve(name) in self.collections

    def names(self) -> list[str]:
        return sorted(self.collections)

    async def update_aliases(self, actions: Any) -> None:
        """Apply alias actions all-or-nothing and persist them before answering."""
        async with self._lock:
            new = self.aliases.plan(actions, self._taken, check_name)
            await trio.to_thread.run_sync(self.aliases.save, new)

    def _taken(self, name: str) -> bool:
        return name in self.collections or name in self.failed

    async def create(self, name: str, config: CollectionConfig) -> None:
        check_name(name)
        async with self._lock:
            if self._taken(name):
                raise Conflict(f"Wrong input: Collection `{name}` already exists!")
            if self.aliases.resolve(name) is not None:
                raise Conflict(f"Wrong input: Alias `{name}` already exists!")
            final = self.dir / name
            tmp = self.scratch_dir(name)

            def lay_out() -> None:
                if tmp.exists():
                    shutil.rmtree(tmp)
                if final.exists():
                    shutil.rmtree(final)
                try:
                    Collection.create_files(tmp, config)
                    tmp.rename(final)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise

            await trio.to_thread.run_sync(lay_out)
            await self._open(name, final)

    async def drop(self, name: str) -> bool:
        check_name(name)
        async with self._lock:
            if name in self.failed:
                await self._drop_aliases(name)
                del self.failed[name]
                await trio.to_thread.run_sync(shutil.rmtree, self.dir / name, True)
                return True
            coll = self.collections.get(name)
            if coll is None:
                return False
            await self._drop_aliases(name)
            del self.collections[name]
            await coll.stop_optimizer()
            await coll.stop()
            trash = self.dir / f".trash-{_digest(name)}"

            def remove() -> None:
                if trash.exists():
                    shutil.rmtree(trash)
                coll.path.rename(trash)
                shutil.rmtree(trash, ignore_errors=True)

            await trio.to_thread.run_sync(remove)
            return True

    async def _drop_aliases(self, name: str) -> None:
        if self.aliases.of(name):
            await trio.to_thread.run_sync(self.aliases.save, self.aliases.without(name))

    def spawn(self, job: Callable[[], Awaitable[Any]], what: str) -> None:
        """Run ``job`` in the background (``wait=false`` requests); failures are logged."""

        async def run() -> None:
            try:
                await job()
            except Exception:
                log.exception("%s failed", what)

        assert self._nursery is not None
        self._nursery.start_soon(run)

    async def install(self, name: str, prepared: Path) -> None:
        """Make the collection directory ``prepared`` (under ``self.dir``) the collection
        ``name``, replacing an existing one; aliases of that name stay.

        The new collection is loaded (checks, graphs) before the old one is stopped, and the
        directories are exchanged in one rename, so a failure or a crash keeps the old one."""
        check_name(name)
        async with self._lock:
            if not self._taken(name) and self.aliases.resolve(name) is not None:
                raise Conflict(f"Wrong input: Alias `{name}` already exists!")
            try:
                coll = await self._load(name, prepared)
            except Exception as exc:
                await trio.to_thread.run_sync(shutil.rmtree, prepared, True)
                raise BadRequest(f"Wrong input: the snapshot does not load: {exc}") from None
            old = self.collections.get(name)
            if old is not None:
                await old.stop_optimizer()
                await old.stop()
            final = self.dir / name
            await trio.to_thread.run_sync(snapshot.swap_in, prepared, final)
            await trio.to_thread.run_sync(shutil.rmtree, prepared, True)
            coll.path = final
            self.failed.pop(name, None)
            await self._start(coll)

    def scratch_dir(self, name: str) -> Path:
        """Where a collection called ``name`` is laid out before it is installed."""
        return self.dir / f".new-{_digest(name)}"
