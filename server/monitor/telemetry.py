"""``GET /telemetry``, ``GET /cluster`` and ``GET /collections/{c}/cluster`` as a single Qdrant
node without distributed mode answers them, built from what heron tracks."""

from __future__ import annotations

import hashlib
import os
import platform
from datetime import UTC, datetime
from typing import Any

from optimizer.progress import segment_uuid
from server.monitor.metrics import vector_counts
from server.monitor.stats import Monitor, ResponseStats


def node_id(storage: Any) -> int:
    """A stable peer id for this node, derived from its storage directory."""
    digest = hashlib.sha1(str(os.path.abspath(storage)).encode()).digest()
    return int.from_bytes(digest[:7], "big")


def responses_json(stats: ResponseStats) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"METHOD /endpoint": {"status": OperationDurationStatistics}}`` as Qdrant shows it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (method, endpoint, status), d in stats.items():
        name = f"{method} {endpoint}" if method else endpoint
        out.setdefault(name, {})[status] = {
            "count": d.count,
            "fail_count": d.count if stats.failed(status) else 0,
            "avg_duration_micros": round(d.avg * 1e6, 3),
            "min_duration_micros": round(d.min * 1e6, 3),
            "max_duration_micros": round(d.max * 1e6, 3),
            "total_duration_micros": int(d.total * 1e6),
            "last_responded": datetime.fromtimestamp(d.last, UTC).isoformat(),
        }
    return out


def _segment_json(seg: Any, schema: dict[str, Any]) -> dict[str, Any]:
    live = seg.live_count
    counts = vector_counts([seg])
    return {
        "info": {
            "uuid": segment_uuid(seg.seg_id),
            "segment_type": "plain" if seg.appendable else "indexed",
            "num_vectors": sum(counts.values()),
            "num_points": live,
            "num_indexed_vectors": getattr(seg, "indexed_vectors", 0),
            "num_deleted_vectors": seg.size - live,
            "vectors_size_bytes": 0,
            "payloads_size_bytes": 0,
            "ram_usage_bytes": 0,
            "disk_usage_bytes": 0,
            "is_appendable": bool(seg.appendable),
            "index_schema": schema,
            "vector_data": {name: {"num_vectors": n} for name, n in counts.items()},
        },
    }


def _shard_json(coll: Any, level: int) -> dict[str, Any]:
    status = "yellow" if coll.busy() else "green"
    tracker = coll.optimizations
    optimized = 0
    if tracker is not None:
        optimized = sum(s["points_count"] for o in tracker.completed for s in o.segments)
    local: dict[str, Any] = {
        "variant_name": "local",
        "status": status,
        "total_optimized_points": optimized,
        "num_points": coll.holder.points_count,
        "num_vectors_by_name": vector_counts(coll.holder),
        "update_queue": {"length": coll.mailbox_stats().current_buffer_used},
        "optimizations": {
            "status": "ok",
            "optimizations": {
                "count": sum(tracker.runs.values()) if tracker else 0,
                "fail_count": sum(tracker.failures.values()) if tracker else 0,
            },
        },
    }
    local["num_vectors"] = sum(local["num_vectors_by_name"].values())
    if level >= 3:
        schema = coll.payload_schema()
        local["segments"] = [_segment_json(seg, schema) for seg in coll.holder]
    return {"id": 0, "key": None, "local": local, "remote": [], "replicate_states": {}}


def collection_json(coll: Any, level: int) -> dict[str, Any]:
    """One collection at ``level``: 1 aggregated, 2 with config and shard, 3 with segments."""
    config = coll.config.to_json()
    if level <= 1:
        return {
            "vectors": sum(vector_counts(coll.holder).values()),
            "optimizers_status": "ok",
            "params": config["params"],
        }
    return {
        "id": coll.name,
        "init_time_ms": 0,
        "config": config,
        "shards": [_shard_json(coll, level)],
        "transfers": [],
        "resharding": [],
        "shard_clean_tasks": {},
    }


def telemetry(
    monitor: Monitor, collections: list[Any], storage: Any, version: str, details_level: int
) -> dict[str, Any]:
    """TelemetryData: app, collections (more per level), cluster and requests."""
    app: dict[str, Any] = {
        "name": "heron",
        "version": version,
        "features": {
            "debug": False, "service_debug_feature": False, "recovery_mode": False,
            "gpu": False, "rocksdb": False, "staging": False,
        },
        "startup": datetime.fromtimestamp(monitor.started, UTC).isoformat(),
        "jwt_rbac": False,
    }
    if details_level >= 1:
        app["system"] = {
            "distribution": platform.system(),
            "distribution_version": platform.release(),
            "is_docker": os.path.exists("/.dockerenv"),
            "cores": os.cpu_count(),
            "cpu_flags": "",
        }
    colls: dict[str, Any] = {"number_of_collections": len(collections)}
    if details_level >= 1:
        colls["collections"] = [collection_json(c, details_level) for c in collections]
    return {
        "id": str(node_id(storage)),
        "app": app,
        "collections": colls,
        "cluster": {"enabled": False},
        "requests": {
            "rest": {"responses": responses_json(monitor.rest)},
            "grpc": {"responses": responses_json(monitor.grpc)},
        },
    }


def cluster_status() -> dict[str, Any]:
    """``GET /cluster`` with distributed mode off."""
    return {"status": "disabled"}


def collection_cluster(coll: Any, storage: Any) -> dict[str, Any]:
    """``GET /collections/{c}/cluster``: one local shard holding every point."""
    return {
        "peer_id": node_id(storage),
        "shard_count": 1,
        "local_shards": [
            {"shard_id": 0, "points_count": coll.holder.points_count, "state": "Active"}
        ],
        "remote_shards": [],
        "shard_transfers": [],
    }
