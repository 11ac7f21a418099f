"""Point endpoints: upsert, retrieve, delete, scroll, count, payload and vector updates, batch."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app

from collection import operations as ops
from collection.errors import BadRequest, NotFound
from segments.ids import normalize_id
from server.models import CountRequest, PointRequest, ScrollRequest
from server.routes.common import body_object, collection, flag, ok, update_result

bp = Blueprint("points", __name__)


def check_batch_size(record: dict[str, Any]) -> None:
    """Refuse an update that carries more points than ``limits.max_batch_points``."""
    most = current_app.config["HERON_SETTINGS"].limits.max_batch_points
    if len(record.get("points") or ()) > most:
        raise BadRequest(f"Wrong input: at most {most} points may be sent in one request")


async def _update(name: str, build: Any) -> Response:
    """Build a record (and check) from the body, send it to the actor, answer UpdateResult."""
    coll = collection(name)
    data = await body_object()
    built = build(coll.config, data)
    record, check = built if isinstance(built, tuple) else (built, None)
    check_batch_size(record)
    res = await coll.update(record, wait=flag("wait", False), check=check)
    return ok(update_result(res))


@bp.put("/collections/<name>/points")
async def upsert_points(name: str) -> Response:
    return await _update(name, ops.upsert)


@bp.post("/collections/<name>/points/delete")
async def delete_points(name: str) -> Response:
    return await _update(name, ops.BUILDERS["delete"])


@bp.post("/collections/<name>/points/payload")
async def set_payload(name: str) -> Response:
    return await _update(name, ops.BUILDERS["set_payload"])


@bp.put("/collections/<name>/points/payload")
async def overwrite_payload(name: str) -> Response:
    return await _update(name, ops.BUILDERS["overwrite_payload"])


@bp.post("/collections/<name>/points/payload/delete")
async def delete_payload(name: str) -> Response:
    return await _update(name, ops.BUILDERS["delete_payload"])


@bp.post("/collections/<name>/points/payload/clear")
async def clear_payload(name: str) -> Response:
    return await _update(name, ops.BUILDERS["clear_payload"])


@bp.put("/collections/<name>/points/vectors")
async def update_vectors(name: str) -> Response:
    return await _update(name, ops.update_vectors)


@bp.post("/collections/<name>/points/vectors/delete")
async def delete_vectors(name: str) -> Response:
    return await _update(name, ops.delete_vectors)


@bp.post("/collections/<name>/points/batch")
async def batch_update(name: str) -> Response:
    coll = collection(name)
    data = await body_object()
    record, check = ops.batch(coll.config, data)
    for sub in record["ops"]:
        check_batch_size(sub)
    res = await coll.update(record, wait=flag("wait", False), check=check)
    return ok([update_result(res) for _ in record["ops"]])


@bp.post("/collections/<name>/points")
async def retrieve_points(name: str) -> Response:
    coll = collection(name)
    req = PointRequest.model_validate(await body_object())
    return ok(coll.retrieve(req.ids, req.with_payload, req.with_vector))


@bp.get("/collections/<name>/points/<pid>")
async def get_point(name: str, pid: str) -> Response:
    coll = collection(name)
    try:
        point_id = normalize_id(int(pid) if pid.isdigit() else pid)
    except ValueError as exc:
        raise BadRequest(f"Wrong input: {exc}") from None
    found = coll.retrieve([point_id], True, True)
    if not found:
        raise NotFound(f"No point with id {point_id} found")
    return ok(found[0])


@bp.post("/collections/<name>/points/scroll")
async def scroll_points(name: str) -> Response:
    coll = collection(name)
    req = ScrollRequest.model_validate(await body_object())
    most = current_app.config["HERON_SETTINGS"].limits.max_limit
    if req.limit > most:
        raise BadRequest(f"Wrong input: limit must be at most {most}")
    if req.order_by is not None:
        raise BadRequest("Wrong input: order_by in scroll is not supported yet")
    points, next_id = coll.scroll(
        req.filter, req.offset, req.limit, req.with_payload, req.with_vector
    )
    return ok({"points": points, "next_page_offset": next_id})


@bp.post("/collections/<name>/points/count")
async def count_points(name: str) -> Response:
    coll = collection(name)
    req = CountRequest.model_validate(await body_object())
    return ok({"count": coll.count(req.filter)})
