"""What the server holds for a collection: send updates to its actor, run reads directly.

Reads look at the segment holder between two of the actor's operations (both run on the trio
thread), so they never wait in the writer's mailbox.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import trio

from collection import operations, snapshot
from collection.actor import CollectionActor, replay
from collection.config import CollectionConfig
from collection.errors import BadRequest, CollectionClosed, NotFound, Overloaded
from collection.messages import Call, Flush, Stop, Update, UpdateResult
from collection.points import check_with_payload, check_with_vector, point_json
from segments.filter import Filter, mask, parse_filter
from segments.holder import FlushPlan, SegmentHolder
from segments.ids import PointId, id_sort_key
from segments.payload_path import parse_path, values_at
from segments.storage import DamagedFile, read_json, write_json_atomic
from wal.log import WriteAheadLog

log = logging.getLogger("heron.collection")

CONFIG_FILE = "config.json"
MAILBOX_WAIT = 10.0
"""Seconds an update may wait for room in a full mailbox before it is refused with 503."""


class Collection:
    """One open collection: config, segments, WAL and the mailbox of its actor."""

    def __init__(
        self,
        name: str,
        path: Path,
        config: CollectionConfig,
        holder: SegmentHolder,
        wal: WriteAheadLog,
        last_op: int,
        mailbox_size: int,
    ) -> None:
        self.name = name
        self.path = path
        self.config = config
        self.holder = holder
        self.wal = wal
        self._send, receive = trio.open_memory_channel[Any](mailbox_size)
        self.actor = CollectionActor(name, holder, wal, last_op, receive)
        self.closed = False
        self.mailbox_wait = MAILBOX_WAIT
        self._flush_lock = trio.Lock()
        self._config_lock = trio.Lock()
        self.optimizing = False
        self.optimizer_scope = trio.CancelScope()
        self.needs_optimization: Any = None
        """Set by the optimizer: a callable telling whether segments await a rebuild."""
        self.planned_optimizations: Any = None
        """Set by the optimizer: a callable listing the rebuilds it would start now."""
        self.optimizations: Any = None
        """Set by the optimizer: its tracker of running and finished optimizations."""
        self.unindexed_filters: Counter[str] = Counter()
        """Reads that filtered on each payload key without an index (for /issues)."""

    # --- lifecycle ------------------------------------------------------------------------
    @staticmethod
    def create_files(path: Path, config: CollectionConfig) -> None:
        """Blocking: lay out a new collection directory with its config."""
        path.mkdir(parents=True)
        write_json_atomic(path / CONFIG_FILE, config.model_dump(mode="json"))

    @classmethod
    def open(cls, name: str, path: Path, max_points: int | None, mailbox_size: int) -> Collection:
        """Blocking: load config and segments, replay the WAL past the flushed version."""
        config = CollectionConfig.model_validate(read_json(path / CONFIG_FILE))
        wal = WriteAheadLog(path / "wal")
        try:
            try:
                holder = SegmentHolder.load(path, config.segment, max_points)
            except DamagedFile as exc:
                if wal.first_op() != 1:  # the log no longer covers everything: refuse
                    raise
                log.warning("collection %s: %s; the WAL holds all its operations: rebuilt "
                            "from the WAL", name, exc)
                holder = SegmentHolder(config.segment, max_points)
            last_op, replayed = replay(holder, wal)
        except BaseException:
            wal.close()
            raise
        if replayed:
            log.info("collection %s: replayed %d operations from the WAL", name, replayed)
        return cls(name, path, config, holder, wal, last_op, mailbox_size)

    def save_config(self, config: CollectionConfig) -> None:
        """Blocking: persist a changed config (PATCH); indexed segments then rebuild the
        quantized copies a changed quantization config asks for (searches meanwhile use
        the old copies)."""
        write_json_atomic(self.path / CONFIG_FILE, config.model_dump(mode="json"))
        self.config = config
        self.holder.config = config.segment
        self.holder.requantize(config.segment)

    async def change_vectors(self, change: Any) -> int:
        """Create or delete a named vector: ``change(config)`` gives the new config (or raises).
        It is taken on the writer's side between two operations (so segments follow it before
        any later update), persisted, then the segments are flushed so the WAL holds no record
        naming a vector that is gone. Returns the operation number it follows."""
        async with self._config_lock:
            config = change(self.config)  # refused here, before the writer sees it

            def apply(holder: SegmentHolder) -> int:
                self.config = config
                holder.set_config(config.segment)
                return holder.version

            version = await self.call(apply)
            await trio.to_thread.run_sync(
                write_json_atomic, self.path / CONFIG_FILE, config.model_dump(mode="json")
            )
        await self.flush()
        return int(version)

    async def stop(self) -> None:
        """Let the actor finish its queue, flush, and close the WAL."""
        if self.closed:
            return
        msg = Stop()
        try:
            await self._send.send(msg)
            await msg.reply.wait()
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass
        await self.flush()
        self.closed = True
        await self._send.aclose()
        self.wal.close()

    def remove_files(self) -> None:
        """Blocking: delete the collection's directory (after ``stop``)."""
        shutil.rmtree(self.path, ignore_errors=True)

    # --- the write side ------------------------------------------------------------------
    async def update(
        self,
        record: dict[str, Any],
        wait: bool = True,
        check: operations.Check | None = None,
    ) -> UpdateResult:
        """Send one operation to the actor and wait for its answer."""
        if self.closed:
            raise CollectionClosed(f"Collection `{self.name}` is closed")
        msg = Update(record=record, wait=wait, check=check)
        try:
            try:
                self._send.send_nowait(msg)
            except trio.WouldBlock:
                with trio.move_on_after(self.mailbox_wait) as waited:
                    await self._send.send(msg)  # not sent at all if the wait runs out
                if waited.cancelled_caught:
                    raise Overloaded(
                        f"Collection `{self.name}` is overloaded: its update queue is full; "
                        "retry later"
                    ) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise CollectionClosed(f"Collection `{self.name}` is closed") from None
        return await msg.reply.wait()

    async def call(self, fn: Any) -> Any:
        """Run ``fn(holder)`` on the actor's side between two operations; return its result."""
        if self.closed or self.actor.stopped:
            raise CollectionClosed(f"Collection `{self.name}` is closed")
        msg = Call(fn)
        await self._send.send(msg)
        return await msg.reply.wait()

    async def flush(self) -> int:
        """Persist changed segments and drop the WAL records they cover; returns that version."""
        async with self._flush_lock:
            return await self._flush_locked()

    async def _flush_locked(self) -> int:
        if self.actor.stopped:
            plan = self.holder.flush_plan()
        else:
            msg = Flush()
            await self._send.send(msg)
            plan = await msg.reply.wait()
        await self._write_flush(plan)
        return plan.version

    async def snapshot(self, final_for: Callable[[int], Path]) -> tuple[Path, int, str]:
        """Snapshot at one operation number while writes go on: flush at that number (the
        actor's cut), then tar the flushed files while no other flush can replace them.
        Returns (file, operation number, sha256)."""
        if self.closed:
            raise CollectionClosed(f"Collection `{self.name}` is closed")
        async with self._flush_lock:
            version = await self._flush_locked()
            final = final_for(version)

            def write() -> str:
                files = snapshot.collection_files(self.path)
                meta = {"collection": self.name, "version": version, "format": 1}
                return snapshot.write_snapshot(self.path, files, meta, final)

            digest = await trio.to_thread.run_sync(write)
        return final, version, digest

    async def _write_flush(self, plan: FlushPlan) -> None:
        if plan.version == self.holder.flushed_version and not plan.snapshots:
            return
        try:
            await trio.to_thread.run_sync(self.holder.write_flush, self.path, plan)
        except Exception:
            for snap in plan.snapshots:
                seg = self.holder.segments.get(snap["seg_id"])
                if seg is not None:
                    seg.dirty = True
            raise
        self.holder.adopt_saved(self.path, plan)  # here, on the writer's (trio) thread
        await trio.to_thread.run_sync(self.wal.truncate_until, plan.version)

    # --- reads -----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """CollectionInfo as Qdrant answers it."""
        points = self.holder.points_count
        indexed = sum(getattr(seg, "indexed_vectors", 0) for seg in self.holder)
        return {
            "status": "yellow" if self.busy() else "green",
            "optimizer_status": "ok",
            "indexed_vectors_count": indexed,
            "points_count": points,
            "segments_count": len(self.holder.segments),
            "config": self.config.to_json(),
            "payload_schema": self.payload_schema(),
            "update_queue": {"length": self.mailbox_stats().current_buffer_used},
        }

    async def stop_optimizer(self, wait: float = 10.0) -> None:
        """Cancel the optimizer; a running build stops at its next batch, and is waited for
        (up to ``wait`` seconds) so no build thread outlives the collection."""
        tracker = self.optimizations
        if tracker is not None:
            tracker.cancel_all()
        self.optimizer_scope.cancel()
        with trio.move_on_after(wait):
            while tracker is not None and tracker.threads:
                await trio.sleep(0.02)

    def mailbox_stats(self) -> Any:
        """The update queue's statistics (``current_buffer_used``, ``max_buffer_size``)."""
        return self._send.statistics()

    def busy(self) -> bool:
        """Whether the optimizer is rebuilding or has rebuilds planned (status yellow)."""
        return self.optimizing or bool(self.needs_optimization and self.needs_optimization())

    def payload_schema(self) -> dict[str, Any]:
        """Indexed fields with their type and how many live points hold a value there (of the
        index's type, as the index counts them)."""
        out = {}
        for field, schema in self.holder.payload_schema.items():
            path = parse_path(field)
            count = 0
            for seg in self.holder:
                index = seg.payload_index(field)
                if index is not None:
                    count += index.points_count
                    continue
                payloads = seg.payloads()
                live = np.flatnonzero(seg.live_mask())
                count += sum(1 for off in live.tolist() if values_at(payloads[off] or {}, path))
            info: dict[str, Any] = {"data_type": schema["type"], "points": count}
            params = {k: v for k, v in schema.items() if k != "type"}
            if params:
                info["params"] = {"type": schema["type"], **params}
            out[field] = info
        return out

    def retrieve(self, ids: Iterable[PointId], with_payload: Any, with_vector: Any) -> list[dict]:
        """Points by id, in the order asked, skipping ids that don't exist."""
        with_payload = check_with_payload(with_payload)
        with_vector = check_with_vector(self.config, with_vector)
        out = []
        seen = set()
        for pid in ids:
            if pid in seen:
                continue
            seen.add(pid)
            found = self.holder.locate(pid)
            if found is not None:
                seg, off = found
                out.append(point_json(self.config, seg, off, with_payload, with_vector))
        return out

    def matching(self, flt: Filter | None) -> list[tuple[Any, np.ndarray]]:
        """(segment, mask of the live offsets matching the compiled filter) for each segment."""
        out = []
        for seg in self.holder:
            live = seg.live_mask()
            if flt is not None and not flt.is_empty:
                live &= mask(flt, seg)
            out.append((seg, live))
        return out

    def note_filters(self, *filters: Filter | None) -> None:
        """Count one read against each payload key its filters look at without an index."""
        keys: set[str] = set()
        for flt in filters:
            if flt is not None:
                keys |= flt.field_keys()
        schema = self.holder.payload_schema
        self.unindexed_filters.update(k for k in keys if k not in schema)

    def count(self, filter_json: Any) -> int:
        """Live points matching a (validated) JSON filter; it is compiled once, here."""
        flt = parse_filter(filter_json) if filter_json else None
        self.note_filters(flt)
        return int(sum(int(m.sum()) for _, m in self.matching(flt)))

    def scroll(
        self,
        filter_json: Any,
        offset: PointId | None,
        limit: int,
        with_payload: Any,
        with_vector: Any,
    ) -> tuple[list[dict], PointId | None]:
        """Points in id order starting at ``offset``; also the id to continue from."""
        with_payload = check_with_payload(with_payload)
        with_vector = check_with_vector(self.config, with_vector)
        start = None if offset is None else id_sort_key(offset)
        found: list[tuple[tuple[int, int], Any, int]] = []
        flt = parse_filter(filter_json) if filter_json else None  # compiled once, here
        self.note_filters(flt)
        for seg, live in self.matching(flt):
            offs = np.flatnonzero(live)
            ids = seg.point_ids(offs)
            for pid, off in zip(ids, offs.tolist(), strict=True):
                key = id_sort_key(pid)
                if start is None or key >= start:
                    found.append((key, seg, off))
        found.sort(key=lambda t: t[0])
        page = found[: limit + 1]
        points = [
            point_json(self.config, seg, off, with_payload, with_vector)
            for _, seg, off in page[:limit]
        ]
        next_id = page[limit][1].ids.ids[page[limit][2]] if len(page) > limit else None
        return points, next_id

    def stored_vector(self, pid: PointId, name: str) -> Any:
        """A point's vector ``name`` as stored (JSON form), for query by id."""
        found = self.holder.locate(pid)
        if found is None:
            raise NotFound(f"No point with id {pid} found")
        seg, off = found
        value = seg.vector_of(off, name)
        if value is None:
            raise BadRequest(f"Wrong input: point {pid} has no vector `{name}`")
        return value
