"""Alias operations: change aliases (all-or-nothing), list all, list one collection's."""

from __future__ import annotations

from typing import Any

from server.api.context import Context, Op, ops
from server.api.params import Query, body_object

Path = dict[str, str]


async def update_aliases(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    await ctx.registry.update_aliases(body_object(body).get("actions"))
    return True


async def get_collections_aliases(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return {"aliases": ctx.registry.aliases.all()}


async def get_collection_aliases(ctx: Context, path: Path, query: Query, body: Any) -> Any:
    return {"aliases": ctx.registry.aliases.of(ctx.collection(path["collection_name"]).name)}


OPS = ops(
    Op("update_aliases", "write", update_aliases),
    Op("get_collections_aliases", "read", get_collections_aliases),
    Op("get_collection_aliases", "read", get_collection_aliases),
)
