"""Response statistics per transport, endpoint and status: what /metrics and /telemetry report.

The REST side records every routed request from the app's after-request hook; the gRPC side
calls ``Monitor.grpc.record(endpoint, status, seconds)`` once per call (``status`` is the gRPC
code name, e.g. ``"OK"``). Everything runs on the trio thread except gRPC records, which come
from the gRPC loop thread: a record is a handful of attribute updates under a lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from server.monitor.issues import Issues

BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
"""Upper bounds (seconds) of the response duration histograms, as Qdrant buckets them."""

RECENT = 128
"""The average duration is taken over this many latest responses (as Qdrant does)."""


@dataclass
class Durations:
    """Counts and durations of the responses of one endpoint with one status."""

    count: int = 0
    total: float = 0.0
    min: float = float("inf")
    max: float = 0.0
    last: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.min = min(self.min, seconds)
        self.max = max(self.max, seconds)
        self.last = time.time()
        self.recent.append(seconds)
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
                break

    @property
    def avg(self) -> float:
        return sum(self.recent) / len(self.recent) if self.recent else 0.0

    def cumulative(self) -> list[int]:
        """Histogram counts per bucket bound, cumulative as Prometheus wants them."""
        out, running = [], 0
        for n in self.buckets:
            running += n
            out.append(running)
        return out


class ResponseStats:
    """Durations keyed by (method, endpoint, status); ``method`` is empty for gRPC."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.by_key: dict[tuple[str, str, str], Durations] = {}
        self._lock = threading.Lock()

    def record(self, endpoint: str, status: str | int, seconds: float, method: str = "") -> None:
        """Count one response of ``endpoint`` (a route template such as
        ``/collections/{name}/points``, or a gRPC method path)."""
        key = (method, endpoint, str(status))
        with self._lock:
            entry = self.by_key.get(key)
            if entry is None:
                entry = self.by_key[key] = Durations()
            entry.add(seconds)

    def items(self) -> list[tuple[tuple[str, str, str], Durations]]:
        with self._lock:
            return sorted(self.by_key.items())

    @staticmethod
    def failed(status: str) -> bool:
        """Whether a status counts as a failure: HTTP 5xx/4xx, or any gRPC code but OK."""
        if status.isdigit():
            return int(status) >= 400
        return status != "OK"


class Monitor:
    """What the server observes about itself: REST and gRPC responses, its start time, and the
    issues it has noticed."""

    def __init__(self) -> None:
        self.rest = ResponseStats("rest")
        self.grpc = ResponseStats("grpc")
        self.started = time.time()
        self.issues = Issues()
