"""The flush worker: periodically persist each collection's changed segments.

After a flush the WAL drops what the flushed segments reflect, so a restart replays only the
operations that came after. A failed flush is logged and retried at the next tick; the WAL
keeps everything until a flush succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import trio

from collection.handle import Collection
from segments.heap import release_free_memory

log = logging.getLogger("heron.flusher")


async def run_flusher(
    collections: Callable[[], Iterable[Collection]],
    interval: float,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Every ``interval`` seconds flush every open collection that has changed."""
    task_status.started()
    while True:
        await trio.sleep(interval)
        for coll in list(collections()):
            holder = coll.holder
            if coll.closed or (
                holder.version == holder.flushed_version and not any(s.dirty for s in holder)
            ):
                continue
            try:
                version = await coll.flush()
                log.debug("flushed %s at operation %d", coll.name, version)
                await trio.to_thread.run_sync(release_free_memory)  # the plan's copies
            except Exception:
                log.exception("flush of collection %s failed; will retry", coll.name)
