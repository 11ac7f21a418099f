"""``GET /collections/{c}/optimizations`` (Qdrant 1.19): running optimizations with their
progress tree, and on request the queue the planner would work through, the finished ones and
the segments needing nothing."""

from __future__ import annotations

from typing import Any

from collection.errors import BadRequest
from optimizer.progress import OPTIMIZER_NAMES, segment_uuid

PARTS = ("queued", "completed", "idle_segments")


def parse_with(raw: str | None) -> set[str]:
    """The ``with`` query parameter: a comma-separated subset of ``PARTS``."""
    parts = {p.strip() for p in (raw or "").split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        raise BadRequest(
            f"Bad request: unknown value(s) in `with`: {', '.join(sorted(unknown))} "
            f"(possible: {', '.join(PARTS)})"
        )
    return parts


def _segment(seg: Any) -> dict[str, Any]:
    return {"uuid": segment_uuid(seg.seg_id), "points_count": seg.live_count}


def optimizations(coll: Any, parts: set[str], completed_limit: int = 16) -> dict[str, Any]:
    """OptimizationsResponse for one collection."""
    tracker = coll.optimizations
    running = list(tracker.running.values()) if tracker is not None else []
    busy = {sid for opt in running for sid in opt.seg_ids}
    tasks = coll.planned_optimizations() if coll.planned_optimizations is not None else []
    queued = [t for t in tasks if not busy.intersection(t.seg_ids)]
    segments = {seg.seg_id: seg for seg in coll.holder}
    waiting = {sid for t in queued for sid in t.seg_ids}
    idle = [seg for sid, seg in sorted(segments.items()) if sid not in waiting | busy]
    out: dict[str, Any] = {
        "summary": {
            "queued_optimizations": len(queued),
            "queued_segments": len(waiting),
            "queued_points": sum(segments[s].live_count for s in waiting if s in segments),
            "idle_segments": len(idle),
        },
        "running": [opt.to_json() for opt in running],
    }
    if "queued" in parts:
        out["queued"] = [
            {
                "optimizer": OPTIMIZER_NAMES.get(t.reason, t.reason),
                "segments": [_segment(segments[s]) for s in t.seg_ids if s in segments],
            }
            for t in queued
        ]
    if "completed" in parts:
        done = list(tracker.completed) if tracker is not None else []
        out["completed"] = [opt.to_json() for opt in done[:completed_limit]]
    if "idle_segments" in parts:
        out["idle_segments"] = [_segment(seg) for seg in idle]
    return out
