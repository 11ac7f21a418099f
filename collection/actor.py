"""The collection actor: the only writer. It numbers, logs, applies and answers updates.

Messages queued together are handled together: their records go to the WAL in one LMDB
transaction (group commit), then are applied in order. ``wait=false`` updates are answered
once durable, ``wait=true`` ones once applied. An update whose ids must exist is checked
against the state right before it, so the group is cut there and committed first.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import trio

from collection.errors import HeronError, ServiceError, not_durable
from collection.messages import Call, Flush, Message, Stop, Update, UpdateResult
from segments.holder import SegmentHolder
from wal import records
from wal.log import WriteAheadLog

log = logging.getLogger("heron.actor")

MAX_GROUP = 256


class CollectionActor:
    """Owns the write side of one collection: its WAL and the mutation of its segments."""

    def __init__(
        self,
        name: str,
        holder: SegmentHolder,
        wal: WriteAheadLog,
        last_op: int,
        mailbox: trio.MemoryReceiveChannel[Message],
    ) -> None:
        self.name = name
        self.holder = holder
        self.wal = wal
        self.last_op = last_op
        self.mailbox = mailbox
        self.stopped = False
        self.last_write = float("-inf")
        """``time.monotonic()`` of the last logged update (the optimizer yields while recent)."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the mailbox until a ``Stop`` arrives or the mailbox closes."""
        task_status.started()
        async with self.mailbox:
            while not self.stopped:
                try:
                    first = await self.mailbox.receive()
                except trio.EndOfChannel:
                    break
                batch = [first]
                while len(batch) < MAX_GROUP:
                    try:
                        batch.append(self.mailbox.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                with trio.CancelScope(shield=True):
                    await self._handle(batch)
                    if self.wal.wants_room and not self.stopped and (
                            not self.mailbox.statistics().current_buffer_used):
                        await self._make_room()
                # a message (its reply: a flush plan, a rebuild's snapshots) must not stay
                # alive while the next one is awaited
                del first, batch
            self._refuse_rest()

    async def _make_room(self) -> None:
        """Zeros ahead of the WAL's data file (``WriteAheadLog.make_room``), in a gap between
        writes; an update arriving meanwhile waits for this one step."""
        try:
            await trio.to_thread.run_sync(self.wal.make_room)
        except Exception:  # the log works without it
            log.exception("making room in the WAL of %s failed", self.name)

    def _refuse_rest(self) -> None:
        while True:
            try:
                msg = self.mailbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return
            msg.reply.fail(ServiceError(f"collection {self.name} is shutting down"))

    async def _handle(self, batch: list[Message]) -> None:
        group: list[Update] = []
        for msg in batch:
            if isinstance(msg, Update):
                if msg.check is not None:
                    if group:
                        await self._commit(group)
                        group = []
                    error = msg.check(self.holder)
                    if error is not None:
                        msg.reply.fail(error)
                        continue
                group.append(msg)
                continue
            if group:
                await self._commit(group)
                group = []
            if isinstance(msg, Flush):
                msg.reply.set(self.holder.flush_plan())
            elif isinstance(msg, Call):
                try:
                    msg.reply.set(msg.fn(self.holder))
                except Exception as exc:
                    log.exception("call on the writer side of %s failed", self.name)
                    msg.reply.fail(exc)
            elif isinstance(msg, Stop):
                self.stopped = True
                msg.reply.set(None)
        if group:
            await self._commit(group)

    async def _commit(self, group: list[Update]) -> None:
        """Log the group durably, answer the no-wait senders, apply, answer the rest."""
        first = self.last_op + 1
        try:
            entries = [(first + i, records.encode(u.record)) for i, u in enumerate(group)]
            await trio.to_thread.run_sync(self.wal.append, entries)
        except Exception as exc:  # the log refused: nothing was acknowledged
            log.error("WAL append failed for %s: %s", self.name, exc)
            error = not_durable(exc, "the write", getattr(exc, "free_bytes", None))
            for u in group:
                u.reply.fail(error)
            return
        self.last_op = first + len(group) - 1
        self.last_write = time.monotonic()
        for i, u in enumerate(group):
            if not u.wait:
                u.reply.set(UpdateResult(first + i, "acknowledged"))
        for i, u in enumerate(group):
            op_num = first + i
            try:
                self.holder.apply(op_num, u.record)
            except HeronError as exc:
                u.reply.fail(exc)
                continue
            except Exception as exc:
                log.exception("applying operation %d to %s failed", op_num, self.name)
                u.reply.fail(ServiceError(f"applying operation {op_num} failed: {exc}"))
                continue
            u.reply.set(UpdateResult(op_num, "completed"))


def replay(holder: SegmentHolder, wal: WriteAheadLog) -> tuple[int, int]:
    """Blocking: apply every logged operation the segments don't reflect yet.

    Returns (last operation number, number of operations replayed).
    """
    replayed = 0
    for op_num, data in wal.read_from(holder.version + 1):
        record: dict[str, Any] = records.decode(data)
        try:
            holder.apply(op_num, record)
        except Exception:
            log.exception("replaying operation %d failed; skipped", op_num)
        holder.version = max(holder.version, op_num)
        replayed += 1
    return max(holder.version, wal.last_op()), replayed
