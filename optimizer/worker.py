"""The optimizer task of one collection: plan, rebuild in worker threads, swap atomically.

A rebuild snapshots its segment on the writer's side (new points go elsewhere from then on),
builds the indexed segment in a worker thread, then swaps it in on the writer's side, carrying
over whatever changed meanwhile. Nothing is persisted until the next flush, so a crash
mid-build loses nothing: the WAL still holds every operation since the last flush.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import trio

from collection.config import CollectionConfig
from collection.handle import Collection
from optimizer.planner import Task, plan, point_kb, segment_points
from optimizer.progress import BuildCancelled, Tracker
from segments.appendable import AppendableSegment
from segments.graph import Threads
from segments.heap import release_free_memory
from segments.immutable import ImmutableSegment, Progress, graph_base
from segments.merge import merge_snapshots

log = logging.getLogger("heron.optimizer")

POLL_SECONDS = 0.5

WRITING_SECONDS = 1.0
"""A collection written to this recently is taking a stream of updates: an automatic-size build
leaves one core to the event loop (the writer answers them), as Qdrant's automatic optimizer
CPU budget keeps a CPU free."""

STREAM_GAP_SECONDS = 0.25
"""No write for this long: a stream of updates has paused (a client streaming batches writes
every few milliseconds)."""

PAUSE_SECONDS = 5.0
"""An automatic-size build waits at most this long in all for a stream of updates to pause
before it inserts its next batch: on a small machine the writer, its clients and a build
compete for the same cores, and a burst of uploads ends sooner when the build waits for it.
The bound keeps a stream that never pauses from starving indexing."""

PAUSE_POLL_SECONDS = 0.02


def build_threads(
    threads: int, configured: bool, last_write: Callable[[], float],
    cancelled: Callable[[], bool] = lambda: False, pause: float = PAUSE_SECONDS,
) -> Threads:
    """The hnswlib threads of a build: a configured count as is. Otherwise a function the build
    asks (in its worker thread) before each batch of inserts: while updates stream in
    (``last_write``: the ``time.monotonic()`` of the collection's last logged update) it first
    waits for them to pause, ``pause`` seconds over the whole build at most (or until
    ``cancelled()``), then answers ``threads`` (the server's share), one fewer while the
    stream goes on."""
    if configured:
        return threads
    budget = [pause]

    def now() -> int:
        while budget[0] > 0 and not cancelled() and (
            time.monotonic() - last_write() < STREAM_GAP_SECONDS
        ):
            started = time.monotonic()
            time.sleep(PAUSE_POLL_SECONDS)
            budget[0] -= time.monotonic() - started
        writing = time.monotonic() - last_write() < WRITING_SECONDS
        return max(1, threads - 1) if writing else threads

    return now


def build(
    snapshots: list[dict[str, Any]], config: CollectionConfig, threads: Threads,
    progress: Progress | None = None,
) -> tuple[AppendableSegment, list[tuple[int, int]]]:
    """Blocking: the new segment and where each of its points came from. One source is
    rebuilt with graphs; several are merged first (in bulk), and indexed if the result is big
    enough, extending the first source's graphs when it is an indexed segment without
    deleted points."""
    seg_config = config.segment
    if len(snapshots) == 1:
        snap = snapshots[0]
        built = ImmutableSegment.build(snap, seg_config, threads, progress)
        return built, [(int(snap["seg_id"]), int(o)) for o in built.source_offsets.tolist()]
    merged, origin = merge_snapshots(snapshots, seg_config)
    if progress is not None:
        progress("merge_segments", len(snapshots), len(snapshots))
    threshold = config.optimizer_config.indexing_threshold
    if threshold and len(origin) * point_kb(config) >= threshold:
        base = graph_base(snapshots[0])
        return ImmutableSegment.build(merged, seg_config, threads, progress, base), origin
    plain = AppendableSegment.restore(merged, seg_config)
    plain.attach_index_schema(merged.get("index_schema"))
    return plain, origin


async def rebuild(coll: Collection, task: Task, limiter: trio.CapacityLimiter,
                  threads: int, tracker: Tracker) -> bool:
    """Rebuild (or merge) segments; returns whether the swap happened."""
    seg_ids = list(task.seg_ids)
    prepared = await coll.call(lambda holder: holder.prepare_rebuild(seg_ids))
    if prepared is None:
        return False
    snapshots, version = prepared
    started = time.perf_counter()
    live = [int((~snap["deleted"]).sum()) for snap in snapshots]
    points = sum(live)
    label = ", ".join(str(sid) for sid in seg_ids)
    log.info("collection %s: %s segment %s (%d points) started",
             coll.name, task.reason, label, points)
    opt = tracker.begin(task.reason, list(zip(seg_ids, live, strict=True)))
    try:
        built, origin = await trio.to_thread.run_sync(
            tracker.in_thread, opt, build, snapshots, coll.config, build_threads(
                threads, bool(coll.config.optimizer_config.max_optimization_threads),
                lambda: coll.actor.last_write, lambda: opt.cancelled,
            ),
            opt.report,
            limiter=limiter, abandon_on_cancel=True,
        )
        swapped = await coll.call(lambda holder: holder.swap(seg_ids, built, version, origin))
        if swapped and isinstance(built, ImmutableSegment):  # a PATCH while it was built
            await trio.to_thread.run_sync(built.requantize, coll.config.segment)
    except (trio.Cancelled, BuildCancelled):
        tracker.end(opt, {"cancelled": "the collection is closing"})
        raise
    except Exception as exc:
        tracker.end(opt, {"error": str(exc)})
        raise
    tracker.end(opt, "done" if swapped else {"cancelled": "segments changed meanwhile"})
    del snapshots, prepared  # the sources' copies (and the replaced segments) are garbage now
    await trio.to_thread.run_sync(release_free_memory)
    log.info(
        "collection %s: %s segment %s done in %.2fs (%d indexed vectors)",
        coll.name, task.reason, label, time.perf_counter() - started,
        getattr(built, "indexed_vectors", 0),
    )
    return bool(swapped)


async def run_optimizer(
    coll: Collection,
    limiter: trio.CapacityLimiter,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep the collection's segments optimized until cancelled."""
    def planned() -> list[Task]:
        holder = coll.holder
        # the write segment's cut follows the collection's config (it may change)
        holder.rotate_at = segment_points(coll.config, holder.max_points)
        return plan(list(holder), coll.config, holder.write_segment, holder.max_points,
                    holder.rotate_at)

    coll.needs_optimization = lambda: bool(planned())
    coll.planned_optimizations = planned
    tracker = coll.optimizations = Tracker(coll.name)
    coll.holder.rotate_at = segment_points(coll.config, coll.holder.max_points)
    task_status.started()
    while not coll.closed:
        tasks = planned()
        if not tasks:
            await trio.sleep(POLL_SECONDS)
            continue
        threads = coll.config.optimizer_config.max_optimization_threads or 0
        coll.optimizing = True
        try:
            await rebuild(
                coll, tasks[0], limiter, max(1, threads or int(limiter.total_tokens)), tracker
            )
        except trio.Cancelled:
            raise
        except BuildCancelled:
            await trio.sleep(POLL_SECONDS)  # the collection is closing: the cancel follows
            continue
        except Exception:
            log.exception("collection %s: optimization failed; retrying later", coll.name)
            await trio.sleep(5)
        finally:
            coll.optimizing = False
