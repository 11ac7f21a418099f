"""Snapshot operations, per collection and for the whole storage (see ``server.snapshots``).

``get_*`` answer a ``FileResult`` (front ends stream the file); with ``?wait=false`` the
changing ones start in the background and answer ``ACCEPTED``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from collection.errors import BadRequest, format_error
from server.api.context import ACCEPTED, Context, FileResult, Op, ops
from server.api.params import Query, body_object, flag
from server.snapshots import check_priority, local_path

Path = dict[str, str]
UPLOADED = "uploaded_file"
"""Body key under which a front end hands over the local path of an uploaded snapshot."""


async def _maybe_wait(ctx: Context, query: Query, job: Callable[[], Awaitable[Any]],
                      what: str) -> Any:
    if flag(query, "wait", True):
        return await job()
    ctx.registry.spawn(job, what)
    return ACCEPTED


async def create_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    name = path["collection_name"]
    ctx.collection(name)
    return await _maybe_wait(ctx, query, lambda: ctx.snapshots.create(name),
                             f"snapshot of {name}")


async def list_snapshots(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return await ctx.snapshots.list(path["collection_name"])


async def get_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    snap = path["snapshot_name"]
    return FileResult(ctx.snapshots.file(path["collection_name"], snap), snap)


async def delete_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    name, snap = path["collection_name"], path["snapshot_name"]
    ctx.snapshots.file(name, snap)  # 404 now, not in the background
    return await _maybe_wait(ctx, query, lambda: ctx.snapshots.delete(name, snap),
                             f"deleting {snap}")


async def recover_from_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    name = path["collection_name"]
    data = body_object(body)
    source = local_path(data.get("location"))
    check_priority(data.get("priority"))
    checksum = data.get("checksum")
    if checksum is not None and not isinstance(checksum, str):
        raise format_error("checksum: invalid type: expected a string")
    return await _maybe_wait(ctx, query, lambda: ctx.snapshots.recover(name, source, checksum),
                             f"recovering {name}")


async def recover_from_uploaded_snapshot(ctx: Context, path: Path, query: Query,
                                         body: Any) -> Any:
    """Recover from a file a front end received and saved (it is removed afterwards)."""
    name = path["collection_name"]
    upload = body_object(body).get(UPLOADED)
    if not isinstance(upload, str):
        raise BadRequest("Bad request: multipart field `snapshot` is missing")
    checksum = query.get("checksum")
    try:
        check_priority(query.get("priority"))
    except BadRequest:
        await trio.to_thread.run_sync(ctx.snapshots.discard_upload, upload)
        raise
    return await _maybe_wait(ctx, query, lambda: ctx.snapshots.recover_upload(
        name, upload, checksum), f"recovering {name} from an upload")


async def create_full_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return await _maybe_wait(ctx, query, ctx.snapshots.create_full, "full snapshot")


async def list_full_snapshots(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return await ctx.snapshots.list_full()


async def get_full_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    snap = path["snapshot_name"]
    return FileResult(ctx.snapshots.full_file(snap), snap)


async def delete_full_snapshot(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    snap = path["snapshot_name"]
    ctx.snapshots.full_file(snap)
    return await _maybe_wait(ctx, query, lambda: ctx.snapshots.delete_full(snap),
                             f"deleting {snap}")


OPS = ops(
    Op("create_snapshot", "write", create_snapshot),
    Op("list_snapshots", "read", list_snapshots),
    Op("get_snapshot", "read", get_snapshot),
    Op("delete_snapshot", "write", delete_snapshot),
    Op("recover_from_snapshot", "write", recover_from_snapshot),
    Op("recover_from_uploaded_snapshot", "write", recover_from_uploaded_snapshot),
    Op("create_full_snapshot", "write", create_full_snapshot),
    Op("list_full_snapshots", "read", list_full_snapshots),
    Op("get_full_snapshot", "read", get_full_snapshot),
    Op("delete_full_snapshot", "write", delete_full_snapshot),
)
