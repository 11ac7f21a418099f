"""HNSW graphs of indexed segments: building, extending, the default ef, and combined searches.

A graph is an hnswlib index whose labels are segment offsets. It is built once in an optimizer
thread and only read afterwards; a merge that starts from an indexed segment without deletions
copies its graph and inserts the other points instead of rebuilding from nothing.

Searches go through ``GraphSearcher``: hnswlib's ef is one setting of the index, so each
``set_ef`` + ``knn_query`` pair runs under one lock; and searches queued behind that lock with
the same ef are answered together in one ``knn_query`` call with several rows, spread over
``SEARCH_THREADS`` threads inside hnswlib (the GIL is released meanwhile).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import Any

import hnswlib
import numpy as np

from segments.types import Distance, HnswConfig
from segments.vectors.dense import DenseVectors
from segments.vectors.sparse import mask_of

SPACES = {Distance.COSINE: "ip", Distance.DOT: "ip", Distance.EUCLID: "l2"}

Progress = Callable[[str, int, int], None]
"""A build's progress callback: (step name, units done, units in total)."""

Threads = int | Callable[[], int]
"""A build's hnswlib threads: a count, or a function asked before each ``add_items`` batch (an
optimizer lends a core back to the writer while updates stream in)."""


def thread_count(threads: Threads) -> int:
    """The threads for the next batch (at least 1)."""
    return max(1, threads() if callable(threads) else threads)

INDEX_CHUNKS = 20
"""A graph is built in this many ``add_items`` batches (at least 1000 rows each), so the
build's progress can be reported between them."""

def new_index(distance: Distance, dim: int, capacity: int, hnsw: HnswConfig) -> Any:
    index = hnswlib.Index(space=SPACES[distance], dim=dim)
    index.init_index(
        max_elements=max(1, capacity), ef_construction=hnsw.ef_construct, M=max(2, hnsw.m)
    )
    return index


def add_rows(
    index: Any, store: DenseVectors, offsets: np.ndarray, threads: Threads,
    progress: Progress | None, step: str, done: int = 0, total: int | None = None,
) -> None:
    """Blocking: insert the rows at ``offsets`` in batches, reporting after each."""
    total = len(offsets) + done if total is None else total
    chunk = max(1000, -(-total // INDEX_CHUNKS))
    for start in range(0, len(offsets), chunk):
        part = offsets[start : start + chunk]
        index.add_items(store.float_rows(part), part, num_threads=thread_count(threads))
        if progress is not None:
            progress(step, min(total, done + start + chunk), total)


def build_index(
    store: DenseVectors, size: int, hnsw: HnswConfig, threads: Threads,
    progress: Progress | None = None, step: str = "vector_index",
) -> Any:
    """Blocking: an hnswlib graph over the rows of ``store`` that are present."""
    offsets = np.flatnonzero(mask_of(store.present, size))
    index = new_index(store.distance, store.dim, len(offsets), hnsw)
    add_rows(index, store, offsets, threads, progress, step)
    return index


def extend_index(
    base: Any, store: DenseVectors, size: int, base_size: int, hnsw: HnswConfig,
    threads: Threads, progress: Progress | None = None, step: str = "vector_index",
) -> Any:
    """Blocking: a copy of graph ``base`` (over offsets ``0..base_size-1``, untouched: it is
    still searched) with the present rows from ``base_size`` on inserted."""
    index = pickle.loads(pickle.dumps(base))  # hnswlib's own serialisation: a deep copy
    offsets = np.flatnonzero(mask_of(store.present, size)[base_size:]) + base_size
    have = int(index.get_current_count())
    index.resize_index(max(1, have + len(offsets)))
    index.set_num_threads(thread_count(threads))
    add_rows(index, store, offsets, threads, progress, step, done=have, total=have + len(offsets))
    return index


def covers(index: Any, store: DenseVectors, size: int) -> bool:
    """Whether graph ``index`` holds exactly the present rows ``0..size-1`` of ``store``."""
    return int(index.get_current_count()) == int(mask_of(store.present, size).sum())


SEARCH_THREADS = 2
"""Threads hnswlib uses for a combined call of several query rows."""
COMBINE = True
"""Whether searches queued on a graph are combined (False: one call each under the lock)."""


class _Flag:
    """A one-shot event lighter than ``threading.Event`` (one lock, no condition)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        if self._lock.locked():
            try:
                self._lock.release()
            except RuntimeError:  # released by a concurrent set
                pass

    def wait(self) -> None:
        self._lock.acquire()
        self._lock.release()


class _Request:
    """One caller's query waiting for (or being given) its answer."""

    __slots__ = ("ef", "error", "k", "labels", "lead", "query", "ready")

    def __init__(self, query: np.ndarray, k: int, ef: int) -> None:
        self.query = query
        self.k = k
        self.ef = max(ef, k)
        self.labels: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.ready = _Flag()


class GraphSearcher:
    """knn searches on one graph, each with its own ef, concurrent ones combined.

    A caller queues its request; if no thread is running searches it runs them itself: it
    takes every queued request with the first one's ef, answers them with one ``knn_query``
    (k = the largest k asked: with the same ef hnswlib's answer to a smaller k is a prefix of
    it), and repeats until its own request is answered; then it hands the turn to the next
    queued request's thread, if any. Only the running thread touches the index.
    """

    def __init__(self, index: Any) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._running = False
        self.calls = 0
        """``knn_query`` calls made (a combined call counts once)."""
        self.rows = 0
        """Query rows answered."""

    def query(self, q: np.ndarray, k: int, ef: int) -> np.ndarray:
        """Labels of the ``k`` nearest to ``q`` (1-d float32) found with this ``ef``."""
        req = _Request(q, k, ef)
        if not COMBINE:
            with self._lock:
                self._answer([req], signal=False)
            assert req.labels is not None or req.error is not None
            if req.error is not None:
                raise req.error
            return req.labels  # type: ignore[return-value]
        with self._lock:
            lead = not self._running
            self._running = True
            if not lead:
                self._queue.append(req)
        if lead:  # nobody searching: answer it at once, then whatever queued meanwhile
            self._answer([req], signal=False)
            self._pass_turn()
        else:
            req.ready.wait()
            if req.labels is None and req.error is None:
                self._run(req)
        if req.error is not None:
            raise req.error
        assert req.labels is not None
        return req.labels

    def _run(self, mine: _Request) -> None:
        """Answer queued requests batch by batch until ``mine`` is answered; pass the turn."""
        while mine.labels is None and mine.error is None:
            with self._lock:
                first = self._queue[0]
                batch = [r for r in self._queue if r.ef == first.ef]
                self._queue = [r for r in self._queue if r.ef != first.ef]
            self._answer(batch)
        self._pass_turn()

    def _pass_turn(self) -> None:
        """Wake the first queued request's thread to run the searches, or stop running."""
        with self._lock:
            if self._queue:
                nxt = self._queue[0]
                nxt.lead = True
                nxt.ready.set()
            else:
                self._running = False

    def _answer(self, batch: list[_Request], signal: bool = True) -> None:
        k = max(r.k for r in batch)
        rows = (batch[0].query[None, :] if len(batch) == 1
                else np.stack([r.query for r in batch]))
        try:
            self.index.set_ef(batch[0].ef)
            labels, _ = self.index.knn_query(
                rows, k=k, num_threads=SEARCH_THREADS if len(batch) > 1 else 1
            )
        except BaseException as exc:  # each caller raises it in its own thread
            for r in batch:
                r.error = exc
        else:
            for i, r in enumerate(batch):
                r.labels = labels[i, : r.k].astype(np.int64)
        self.calls += 1
        self.rows += len(batch)
        if signal:
            for r in batch:
                r.ready.set()


__all__ = [
    "SPACES",
    "GraphSearcher",
    "build_index",
    "covers",
    "extend_index",
]
