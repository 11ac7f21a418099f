"""Run load-generating workers in threads and report their combined rate (for the benches)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def rate(worker: Callable[[int], None], clients: int, done: list[int]) -> float:
    """Start ``worker(w)`` for each of ``clients`` threads, wait for all, and return the sum of
    ``done`` (each worker counts its own requests there) per second of wall time."""
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)
