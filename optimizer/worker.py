"""The optimizer task of one collection: plan, rebuild in worker threads, swap atomically.

A rebuild snapshots its segment on the writer's side (new points go elsewhere from then on),
builds the indexed segment in a worker thread, then swaps it in on the writer's side, carrying
over whatever changed meanwhile. Nothing is persisted until the next flush, so a crash
mid-build loses nothing: the WAL still holds every operation since the last flush.
"""

from __future__ import annotations

import logging
import time

import trio

from collection.handle import Collection
from optimizer.planner import Task, plan
from segments.immutable import ImmutableSegment

log = logging.getLogger("heron.optimizer")

POLL_SECONDS = 0.5


async def rebuild(coll: Collection, task: Task, limiter: trio.CapacityLimiter,
                  threads: int) -> bool:
    """Rebuild one segment; returns whether the swap happened."""
    prepared = await coll.call(lambda holder: holder.prepare_rebuild(task.seg_id))
    if prepared is None:
        return False
    snapshot, version = prepared
    started = time.perf_counter()
    log.info(
        "collection %s: %s segment %d (%d points) started",
        coll.name, task.reason, task.seg_id, int((~snapshot["deleted"]).sum()),
    )
    built = await trio.to_thread.run_sync(
        ImmutableSegment.build, snapshot, coll.config, threads, limiter=limiter,
        abandon_on_cancel=True,
    )
    swapped = await coll.call(lambda holder: holder.swap(task.seg_id, built, version))
    log.info(
        "collection %s: %s segment %d done in %.2fs (%d indexed vectors)",
        coll.name, task.reason, task.seg_id, time.perf_counter() - started,
        built.indexed_vectors,
    )
    return bool(swapped)


async def run_optimizer(
    coll: Collection,
    limiter: trio.CapacityLimiter,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep the collection's segments optimized until cancelled."""
    coll.needs_optimization = lambda: bool(plan(list(coll.holder), coll.config))
    task_status.started()
    while not coll.closed:
        tasks = plan(list(coll.holder), coll.config)
        if not tasks:
            await trio.sleep(POLL_SECONDS)
            continue
        threads = coll.config.optimizer_config.max_optimization_threads or 0
        coll.optimizing = True
        try:
            await rebuild(coll, tasks[0], limiter, max(1, threads or int(limiter.total_tokens)))
        except trio.Cancelled:
            raise
        except Exception:
            log.exception("collection %s: optimization failed; retrying later", coll.name)
            await trio.sleep(5)
        finally:
            coll.optimizing = False
