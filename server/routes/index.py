"""Payload index endpoints: create and delete a field index (logged like any update)."""

from __future__ import annotations

from quart import Blueprint, Response

from collection.errors import BadRequest
from collection.operations import check_key
from server.models import CreateFieldIndex, field_schema
from server.routes.common import body_object, collection, flag, ok, update_result

bp = Blueprint("index", __name__)


@bp.put("/collections/<name>/index")
async def create_index(name: str) -> Response:
    coll = collection(name)
    req = CreateFieldIndex.model_validate(await body_object())
    check_key(req.field_name)
    try:
        schema = field_schema(req.field_schema)
    except ValueError as exc:
        raise BadRequest(f"Wrong input: {exc}") from None
    record = {"op": "create_index", "field_name": req.field_name, "field_schema": schema}
    res = await coll.update(record, wait=flag("wait", False))
    return ok(update_result(res))


@bp.delete("/collections/<name>/index/<path:field>")
async def delete_index(name: str, field: str) -> Response:
    coll = collection(name)
    record = {"op": "delete_index", "field_name": field}
    res = await coll.update(record, wait=flag("wait", False))
    return ok(update_result(res))
