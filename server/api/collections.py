"""Collection operations: create, inspect, update, list, check, delete; payload indexes."""

from __future__ import annotations

from typing import Any

import trio
from pydantic import ValidationError

from collection.config import (
    SPARSE_TURBO4,
    CreateCollection,
    Datatype,
    UpdateCollection,
    check_sparse_datatypes,
)
from collection.errors import BadRequest, ValidationFailed, invalid, validation_text
from collection.operations import check_key
from collection.vector_names import VectorNameConfig, with_vector, without_vector
from server.api.context import Context, Op, ops, update_result
from server.api.errors import to_heron_error
from server.api.models import CreateFieldIndex, field_schema
from server.api.params import Query, body_object, flag
from server.registry import check_name

Path = dict[str, str]


async def get_collections(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return {"collections": [{"name": n} for n in ctx.registry.names()]}


async def get_collection(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return ctx.collection(path["collection_name"]).info()


async def collection_exists(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return {"exists": ctx.exists(path["collection_name"])}


async def create_collection(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    name = check_name(path["collection_name"])
    data = body_object(body)
    try:
        config = CreateCollection.model_validate(data).to_config()
    except ValidationError as exc:
        raise to_heron_error(exc) from None
    except ValueError as exc:
        raise ValidationFailed(validation_text("JSON body", [("", str(exc))])) from None
    await ctx.registry.create(name, config)
    return True


async def update_collection(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    diff = UpdateCollection.model_validate(body_object(body))
    check_sparse_datatypes(diff.sparse_vectors, "sparse_vectors")
    coll = ctx.collection(path["collection_name"])
    try:
        new = diff.apply_to(coll.config)
    except KeyError as exc:
        raise BadRequest(f"Wrong input: Not existing vector name error: {exc.args[0]}") from None
    await trio.to_thread.run_sync(coll.save_config, new)
    return True


async def delete_collection(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return await ctx.registry.drop(path["collection_name"])


async def create_field_index(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    req = CreateFieldIndex.model_validate(body_object(body))
    check_key(req.field_name)
    try:
        schema = field_schema(req.field_schema)
    except ValueError as exc:
        raise BadRequest(f"Wrong input: {exc}") from None
    record = {"op": "create_index", "field_name": req.field_name, "field_schema": schema}
    return update_result(await coll.update(record, wait=flag(query, "wait", False)))


async def delete_field_index(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    record = {"op": "delete_index", "field_name": path["field_name"]}
    return update_result(await coll.update(record, wait=flag(query, "wait", False)))


async def create_vector_name(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    spec = VectorNameConfig.model_validate(body_object(body))
    if spec.sparse is not None and spec.sparse.datatype is Datatype.TURBO4:
        raise invalid("sparse.datatype", SPARSE_TURBO4)
    flag(query, "wait", False)  # checked; the change is always applied before answering
    coll = ctx.collection(path["collection_name"])
    name = path["vector_name"]
    version = await coll.change_vectors(lambda cfg: with_vector(cfg, name, spec))
    return {"operation_id": version, "status": "completed"}


async def delete_vector_name(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    coll = ctx.collection(path["collection_name"])
    flag(query, "wait", False)
    name = path["vector_name"]
    version = await coll.change_vectors(lambda cfg: without_vector(cfg, name))
    return {"operation_id": version, "status": "completed"}


OPS = ops(
    Op("get_collections", "read", get_collections),
    Op("get_collection", "read", get_collection),
    Op("collection_exists", "read", collection_exists),
    Op("create_collection", "write", create_collection),
    Op("update_collection", "write", update_collection),
    Op("delete_collection", "write", delete_collection),
    Op("create_field_index", "write", create_field_index),
    Op("delete_field_index", "write", delete_field_index),
    Op("create_vector_name", "write", create_vector_name),
    Op("delete_vector_name", "write", delete_vector_name),
)
