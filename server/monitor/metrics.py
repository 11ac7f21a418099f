"""``GET /metrics``: Prometheus text exposition, written here (no client library at runtime).

Qdrant's names where Qdrant has them (``app_info``, ``collections_total``, ``rest_responses_*``,
``grpc_responses_*``, ...) plus heron's own ``heron_*`` families: WAL commits and their time,
mailbox depth, optimizer runs and time, segments by kind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from segments.vectors.sparse import mask_of
from server.monitor.stats import BUCKETS, Monitor, ResponseStats


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Family:
    """One metric family: its HELP and TYPE lines and its samples."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.samples: list[tuple[str, dict[str, str], float]] = []

    def add(self, value: float, suffix: str = "", **labels: Any) -> Family:
        self.samples.append((self.name + suffix, {k: str(v) for k, v in labels.items()}, value))
        return self

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for name, labels, value in self.samples:
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {_number(value)}" if inner else
                         f"{name} {_number(value)}")
        return "\n".join(lines)


def response_families(stats: ResponseStats) -> list[Family]:
    """Counters, min/avg/max gauges and the duration histogram of one transport's responses."""
    t = stats.transport
    total = Family(f"{t}_responses_total", "counter", f"total number of {t} responses")
    fail = Family(f"{t}_responses_fail_total", "counter", f"total number of failed {t} responses")
    avg = Family(f"{t}_responses_avg_duration_seconds", "gauge",
                 f"average {t} response duration over the latest responses")
    low = Family(f"{t}_responses_min_duration_seconds", "gauge", f"minimum {t} response duration")
    high = Family(f"{t}_responses_max_duration_seconds", "gauge", f"maximum {t} response duration")
    hist = Family(f"{t}_responses_duration_seconds", "histogram", f"{t} response duration")
    for (method, endpoint, status), d in stats.items():
        labels = {"endpoint": endpoint, "status": status}
        if method:
            labels = {"method": method, **labels}
        total.add(d.count, **labels)
        fail.add(d.count if stats.failed(status) else 0, **labels)
        avg.add(d.avg, **labels)
        low.add(d.min, **labels)
        high.add(d.max, **labels)
        for bound, n in zip(BUCKETS, d.cumulative(), strict=True):
            hist.add(n, "_bucket", **labels, le=repr(float(bound)))
        hist.add(d.count, "_bucket", **labels, le="+Inf")
        hist.add(d.total, "_sum", **labels)
        hist.add(d.count, "_count", **labels)
    return [total, fail, avg, low, high, hist]


def vector_counts(segments: Iterable[Any]) -> dict[str, int]:
    """Live vectors per vector name over some segments (a collection's holder, or one)."""
    counts: dict[str, int] = {}
    for seg in segments:
        live = seg.live_mask()
        for name, store in seg.vectors.items():
            present = mask_of(store.present, seg.size) & live
            counts[name] = counts.get(name, 0) + int(np.count_nonzero(present))
    return counts


def collection_families(collections: Iterable[Any]) -> list[Family]:
    """Per-collection gauges and heron's counters from the WAL, mailbox and optimizer."""
    colls = list(collections)
    n = Family("collections_total", "gauge", "number of collections").add(len(colls))
    vectors_total = Family("collections_vector_total", "gauge", "total number of vectors")
    points = Family("collection_points", "gauge", "approximate number of points per collection")
    vectors = Family("collection_vectors", "gauge", "number of vectors per collection and name")
    indexed = Family("heron_collection_indexed_vectors", "gauge", "vectors held in HNSW graphs")
    segments = Family("heron_segments", "gauge", "segments by collection and kind")
    depth = Family("heron_mailbox_depth", "gauge", "updates queued for the collection's writer")
    capacity = Family("heron_mailbox_capacity", "gauge", "room in the collection's update queue")
    commits = Family("heron_wal_commits_total", "counter", "durable WAL commits (group commits)")
    records = Family("heron_wal_records_total", "counter", "operations written to the WAL")
    fsync = Family("heron_wal_commit_seconds_total", "counter",
                   "time spent in WAL commits, fsync included")
    runs = Family("heron_optimizer_runs_total", "counter", "finished optimizations")
    fails = Family("heron_optimizer_failures_total", "counter", "failed or cancelled optimizations")
    secs = Family("heron_optimizer_seconds_total", "counter", "time spent in optimizations")
    running = Family("heron_optimizer_running", "gauge", "optimizations running now")
    unindexed = Family("heron_unindexed_filter_reads_total", "counter",
                       "reads filtering on a payload key without an index")
    all_vectors = 0
    for coll in colls:
        c = coll.name
        points.add(coll.holder.points_count, collection=c)
        for name, count in sorted(vector_counts(coll.holder).items()):
            vectors.add(count, collection=c, vector=name)
            all_vectors += count
        indexed.add(sum(getattr(s, "indexed_vectors", 0) for s in coll.holder), collection=c)
        kinds = {"appendable": 0, "immutable": 0}
        for seg in coll.holder:
            kinds["appendable" if seg.appendable else "immutable"] += 1
        for kind, count in kinds.items():
            segments.add(count, collection=c, kind=kind)
        stats = coll.mailbox_stats()
        depth.add(stats.current_buffer_used, collection=c)
        capacity.add(stats.max_buffer_size, collection=c)
        commits.add(coll.wal.commits, collection=c)
        records.add(coll.wal.records, collection=c)
        fsync.add(coll.wal.commit_seconds, collection=c)
        tracker = coll.optimizations
        if tracker is not None:
            for opt in ("indexing", "vacuum", "merge"):
                runs.add(tracker.runs[opt], collection=c, optimizer=opt)
                fails.add(tracker.failures[opt], collection=c, optimizer=opt)
                secs.add(tracker.seconds[opt], collection=c, optimizer=opt)
            running.add(len(tracker.running), collection=c)
        unindexed.add(sum(coll.unindexed_filters.values()), collection=c)
    vectors_total.add(all_vectors)
    return [n, vectors_total, points, vectors, indexed, segments, depth, capacity, commits,
            records, fsync, runs, fails, secs, running, unindexed]


def render(monitor: Monitor, collections: Iterable[Any], version: str) -> str:
    """The whole exposition text."""
    families = [
        Family("app_info", "gauge", "information about the heron server").add(
            1, name="heron", version=version
        ),
        Family("app_status_recovery_mode", "gauge", "whether the server is in recovery mode").add(0),
        Family("cluster_enabled", "gauge", "whether cluster support is enabled").add(0),
        *collection_families(collections),
        *response_families(monitor.rest),
        *response_families(monitor.grpc),
    ]
    return "\n".join(f.render() for f in families) + "\n"
