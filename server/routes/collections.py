"""Collection endpoints: create, inspect, update, list, check, delete."""

from __future__ import annotations

import trio
from pydantic import ValidationError
from quart import Blueprint, Response

from collection.config import CreateCollection, UpdateCollection
from collection.errors import BadRequest, ValidationFailed
from server.errors import to_heron_error
from server.registry import check_name
from server.routes.common import body_object, collection, ok, registry

bp = Blueprint("collections", __name__)


@bp.get("/collections")
async def list_collections() -> Response:
    return ok({"collections": [{"name": n} for n in registry().names()]})


@bp.get("/collections/<name>")
async def get_collection(name: str) -> Response:
    return ok(collection(name).info())


@bp.get("/collections/<name>/exists")
async def collection_exists(name: str) -> Response:
    return ok({"exists": name in registry().collections})


@bp.put("/collections/<name>")
async def create_collection(name: str) -> Response:
    check_name(name)
    data = await body_object()
    try:
        config = CreateCollection.model_validate(data).to_config()
    except ValidationError as exc:
        raise to_heron_error(exc) from None
    except ValueError as exc:
        raise ValidationFailed(f"Validation error in JSON body: {exc}") from None
    await registry().create(name, config)
    return ok(True)


@bp.patch("/collections/<name>")
async def update_collection(name: str) -> Response:
    coll = collection(name)
    data = await body_object()
    diff = UpdateCollection.model_validate(data)
    try:
        new = diff.apply_to(coll.config)
    except KeyError as exc:
        raise BadRequest(f"Wrong input: Not existing vector name error: {exc.args[0]}") from None
    await trio.to_thread.run_sync(coll.save_config, new)
    return ok(True)


@bp.delete("/collections/<name>")
async def delete_collection(name: str) -> Response:
    return ok(await registry().drop(name))
