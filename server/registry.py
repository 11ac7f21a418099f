"""Collections by name: create, drop, and load at start; owns the nursery their actors run in."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

import trio

from collection.config import CollectionConfig
from collection.errors import BadRequest, Conflict, NotFound
from collection.handle import Collection
from optimizer.flusher import run_flusher
from optimizer.worker import run_optimizer

log = logging.getLogger("heron.registry")

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
MAX_NAME = 255


def check_name(name: str) -> str:
    """Refuse collection names that are empty, too long, or could escape the storage dir."""
    if not name:
        raise BadRequest("Validation error: collection name must not be empty")
    if len(name.encode()) > MAX_NAME:
        raise BadRequest(f"Validation error: collection name is longer than {MAX_NAME} bytes")
    if _FORBIDDEN.search(name) or ".." in name or name in (".",) or name.strip() != name:
        raise BadRequest(
            f"Validation error: collection name {name!r} holds a forbidden character "
            "(path separators, '..', control characters or any of <>:\"|?*)"
        )
    return name


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


class Registry:
    """The open collections and the directory they live in."""

    def __init__(
        self,
        root: Path,
        max_points_per_segment: int,
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
        self._lock = trio.Lock()
        self._nursery: trio.Nursery | None = None
        self._done = trio.Event()
        self.optimizer_limiter = trio.CapacityLimiter(max(1, os.cpu_count() or 1))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Load every collection, start their actors and the flusher; run until closed."""
        await trio.to_thread.run_sync(lambda: self.dir.mkdir(parents=True, exist_ok=True))
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for path in sorted(self.dir.iterdir()):
                if path.name.startswith(".") or not (path / "config.json").exists():
                    if path.name.startswith(".trash-") or path.name.startswith(".new-"):
                        shutil.rmtree(path, ignore_errors=True)
                    continue
                await self._open(path.name, path)
            await nursery.start(
                run_flusher, lambda: list(self.collections.values()), self.flush_interval
            )
            task_status.started()
            await self._done.wait()
            nursery.cancel_scope.cancel()

    async def _open(self, name: str, path: Path) -> Collection:
        coll = await trio.to_thread.run_sync(
            Collection.open, name, path, self.max_points, self.mailbox_size
        )
        coll.mailbox_wait = self.mailbox_wait
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
                    coll.optimizer_scope.cancel()
                    await coll.stop()
                except Exception:
                    log.exception("stopping collection %s failed", coll.name)
            self._done.set()

    def get(self, name: str) -> Collection:
        coll = self.collections.get(name)
        if coll is None:
            raise NotFound(f"Collection `{name}` doesn't exist!")
        return coll

    def names(self) -> list[str]:
        return sorted(self.collections)

    async def create(self, name: str, config: CollectionConfig) -> None:
        check_name(name)
        async with self._lock:
            if name in self.collections:
                raise Conflict(f"Wrong input: Collection `{name}` already exists!")
            final = self.dir / name
            tmp = self.dir / f".new-{_digest(name)}"

            def lay_out() -> None:
                if tmp.exists():
                    shutil.rmtree(tmp)
                if final.exists():
                    shutil.rmtree(final)
                Collection.create_files(tmp, config)
                tmp.rename(final)

            await trio.to_thread.run_sync(lay_out)
            await self._open(name, final)

    async def drop(self, name: str) -> bool:
        check_name(name)
        async with self._lock:
            coll = self.collections.pop(name, None)
            if coll is None:
                return False
            coll.optimizer_scope.cancel()
            await coll.stop()
            trash = self.dir / f".trash-{_digest(name)}"

            def remove() -> None:
                if trash.exists():
                    shutil.rmtree(trash)
                coll.path.rename(trash)
                shutil.rmtree(trash, ignore_errors=True)

            await trio.to_thread.run_sync(remove)
            return True
