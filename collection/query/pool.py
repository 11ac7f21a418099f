"""The search threads: a queue of blocking search jobs drained by at most ``workers`` threads.

A ``trio.to_thread.run_sync`` per job wakes a thread per job; under concurrent queries those
wake-ups (and the GIL hand-overs around them) cost the trio thread more than the jobs' numpy
glue does. Here a job is queued, and a thread is woken only when fewer than ``workers`` are
draining: a busy thread takes the next job itself, without a round trip through trio. Each
submitter waits for its own job (shielded: a job reads segments its caller owns, so it is never
abandoned), so no thread outlives the jobs it serves.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import outcome
import trio

T = TypeVar("T")

WORKERS = max(2, min(4, os.cpu_count() or 1))
"""Threads draining search jobs at once (about the cores)."""


class Ticket(Generic[T]):
    """A queued job: ``await ticket.result()`` for its value (or its exception).

    The waiting task is parked with ``wait_task_rescheduled`` and woken by a callback the
    worker queues on the trio loop: no Event and no shielded cancel scope per job (the wait
    refuses cancellation, as the shield did: a job is never abandoned)."""

    __slots__ = ("_done", "_outcome", "_task", "_token")

    def __init__(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._outcome: outcome.Outcome[T] | None = None
        self._task: trio.lowlevel.Task | None = None
        self._done = False

    def _finish(self, result: outcome.Outcome[T]) -> None:
        """Called on the worker thread."""
        self._outcome = result
        self._token.run_sync_soon(self._wake)

    def _wake(self) -> None:
        """On the trio loop, once the job is done."""
        self._done = True
        if self._task is not None:
            trio.lowlevel.reschedule(self._task)

    async def result(self) -> T:
        if not self._done:
            self._task = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(_refuse_abort)
        assert self._outcome is not None
        return self._outcome.unwrap()


def _refuse_abort(_raise_cancel: object) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED


class SearchPool:
    """Search jobs in a queue and the threads draining it (see the module docstring)."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self._jobs: collections.deque[tuple[Callable[[], object], Ticket[object]]] = (
            collections.deque()
        )
        self._lock = threading.Lock()
        self._draining = 0

    def submit(self, fn: Callable[[], T]) -> Ticket[T]:
        """Queue ``fn`` (from the trio thread); a thread is woken if fewer than ``workers``
        are draining."""
        ticket: Ticket[T] = Ticket()
        with self._lock:
            self._jobs.append((fn, ticket))  # type: ignore[arg-type]
            wake = self._draining < self.workers
            if wake:
                self._draining += 1
        if wake:
            trio.lowlevel.start_thread_soon(self._drain, _ignore, name="heron-search")
        return ticket

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a search thread."""
        return await self.submit(fn).result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._draining -= 1
                    return
                fn, ticket = self._jobs.popleft()
            ticket._finish(outcome.capture(fn))


def _ignore(_result: outcome.Outcome[None]) -> None:
    """``_drain`` never raises: each job's outcome goes to its ticket."""


POOL = SearchPool()
"""The process's search threads (its state is only the queue, so one serves every trio run)."""
