"""What the optimizer is doing: running and finished optimizations with a progress tree.

The build runs in a worker thread and reports ``(step, done, total)`` through a plain callback;
the tracker turns that into Qdrant's ``ProgressTree`` (what ``/collections/{c}/optimizations``
shows) and logs progress at INFO every quarter. Plain attribute writes from the worker thread
are safe to read from the trio thread (each is one store under the GIL).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("heron.optimizer")

OPTIMIZER_NAMES = {"index": "indexing", "vacuum": "vacuum", "merge": "merge"}
"""Qdrant's optimizer names for heron's task reasons."""

COMPLETED_KEPT = 64


def segment_uuid(seg_id: int) -> str:
    """A stable UUID for a segment number (Qdrant names segments by UUID)."""
    return str(uuid.UUID(int=seg_id))


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


class BuildCancelled(Exception):
    """Raised in the build thread at the next progress report once the build is cancelled."""


@dataclass
class Step:
    """One node of a progress tree: a named unit of work, maybe counted in points."""

    name: str
    total: int | None = None
    done: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    children: list[Step] = field(default_factory=list)

    def start(self) -> Step:
        self.started_at = time.time()
        return self

    def finish(self) -> None:
        if self.started_at is None:
            self.started_at = time.time()
        self.finished_at = time.time()
        if self.total is not None:
            self.done = self.total

    def child(self, name: str) -> Step:
        """The child called ``name`` (created and started on first use)."""
        for step in self.children:
            if step.name == name:
                return step
        step = Step(name).start()
        self.children.append(step)
        return step

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "started_at": _iso(self.started_at)}
        if self.finished_at is not None:
            out["finished_at"] = _iso(self.finished_at)
            out["duration_sec"] = round(self.finished_at - (self.started_at or 0.0), 6)
        if self.total is not None:
            out["done"], out["total"] = self.done or 0, self.total
        out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass
class Optimization:
    """One optimization: which optimizer, over which segments, how far along."""

    optimizer: str
    segments: list[dict[str, Any]]
    collection: str
    seg_ids: tuple[int, ...] = ()
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: Any = "optimizing"
    progress: Step = field(default_factory=lambda: Step("optimization").start())
    cancelled: bool = False
    """Set on the trio side when the collection closes: the build stops at its next report."""
    _logged: dict[str, int] = field(default_factory=dict)

    def report(self, name: str, done: int, total: int) -> None:
        """The build's callback (worker thread): ``done`` of ``total`` units of step ``name``;
        raises ``BuildCancelled`` once the optimization is cancelled."""
        if self.cancelled:
            raise BuildCancelled(self.uuid)
        step = self.progress.child(name)
        step.total, step.done = total, done
        if done >= total:
            step.finish()
        quarter = 4 * done // max(1, total)
        if total and quarter > self._logged.get(name, 0):
            self._logged[name] = quarter
            log.info("collection %s: %s %s: %d/%d (%d%%)", self.collection, self.optimizer,
                     name, done, total, 100 * done // total)

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "optimizer": self.optimizer,
            "status": self.status,
            "segments": self.segments,
            "progress": self.progress.to_json(),
        }


class Tracker:
    """A collection's running optimizations, the last finished ones, and run counters."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.running: dict[str, Optimization] = {}
        self.completed: deque[Optimization] = deque(maxlen=COMPLETED_KEPT)
        self.runs: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.threads = 0
        """Build threads still running (also ones a cancelled optimizer abandoned)."""
        self._threads_lock = threading.Lock()

    def begin(self, reason: str, segments: list[tuple[int, int]]) -> Optimization:
        """Record the start of an optimization over ``(seg_id, live points)`` segments."""
        opt = Optimization(
            OPTIMIZER_NAMES.get(reason, reason),
            [{"uuid": segment_uuid(sid), "points_count": n} for sid, n in segments],
            self.collection,
            tuple(sid for sid, _ in segments),
        )
        self.running[opt.uuid] = opt
        return opt

    def cancel_all(self) -> None:
        """Ask every running build to stop at its next progress report."""
        for opt in list(self.running.values()):
            opt.cancelled = True

    def in_thread(self, opt: Optimization, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` (in the worker thread), counted while it runs: an abandoned build
        thread must end before the process exits (hnswlib aborts the process otherwise)."""
        with self._threads_lock:
            self.threads += 1
        try:
            return fn(*args)
        finally:
            with self._threads_lock:
                self.threads -= 1

    def end(self, opt: Optimization, status: Any = "done") -> None:
        """Move ``opt`` to the finished ones with its final status."""
        opt.status = status
        opt.progress.finish()
        self.running.pop(opt.uuid, None)
        self.completed.appendleft(opt)
        self.runs[opt.optimizer] += 1
        if status != "done":
            self.failures[opt.optimizer] += 1
        self.seconds[opt.optimizer] += opt.progress.finished_at - opt.progress.started_at
