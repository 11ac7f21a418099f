"""Qdrant's public gRPC services as a table: each RPC names its REST operation, how its request
becomes (path, query, body) and how the operation's result becomes the reply.

Every RPC of the five services is registered; those whose operation heron does not serve answer
``UNIMPLEMENTED`` naming the RPC. Errors carry the REST error text with the status mapped to a gRPC
code; the API key comes from the ``api-key`` metadata or ``authorization: Bearer``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from collection.errors import BadRequest, HeronError
from server.api.auth import presented_key
from server.api.dispatch import OPERATIONS, Api
from server.api.errors import grpc_code, to_heron_error
from server.grpc import schema
from server.grpc.host import Rpc, RpcFailed
from server.grpc.to_reply import fill
from server.grpc.to_request import fields_json, to_json


def status_of(exc: HeronError) -> grpc.StatusCode:
    """The gRPC status for an error of the tree (the mapping lives in ``server.api.errors``)."""
    return grpc.StatusCode[grpc_code(exc)]


# -- request shaping ---------------------------------------------------------------------------


def body_of(msg: Any) -> dict[str, Any]:
    """The REST body: every set field but the path ones."""
    body = fields_json(msg)
    body.pop("collection_name", None)
    return body


def search_body(msg: Any) -> dict[str, Any]:
    """A SearchPoints as the REST SearchRequest (named, sparse and legacy dense vectors)."""
    body = body_of(msg)
    name = body.pop("vector_name", None)
    indices = body.pop("sparse_indices", None)
    vector: Any = list(msg.vector)
    if indices is not None:
        vector = {"indices": indices["data"] if isinstance(indices, dict) else indices,
                  "values": vector}
    body["vector"] = {"name": name, "vector": vector} if name else vector
    if "with_vectors" in body:
        body["with_vector"] = body.pop("with_vectors")
    return body


def search_groups_body(msg: Any) -> dict[str, Any]:
    """A SearchPointGroups as a QueryGroupsRequest (REST 1.19 has no search/groups)."""
    body = body_of(msg)
    indices = body.pop("sparse_indices", None)
    vector: Any = body.pop("vector", [])
    if indices is not None:
        vector = {"indices": indices["data"] if isinstance(indices, dict) else indices,
                  "values": vector}
    body["query"] = vector
    return body


def field_index_body(msg: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"field_name": msg.field_name}
    if msg.HasField("field_index_params"):
        body["field_schema"] = to_json(msg.field_index_params)
    elif msg.HasField("field_type"):
        body["field_schema"] = fields_json(msg)["field_type"]
    return body


def batch_body(field: str, each: Callable[[Any], dict[str, Any]]) -> Callable[[Any], Any]:
    return lambda msg: {"searches": [each(m) for m in getattr(msg, field)]}


def no_body(msg: Any) -> None:
    return None


# -- reply shaping -----------------------------------------------------------------------------


def as_result(result: Any) -> dict[str, Any]:
    return {"result": result}


def points_result(result: Any) -> dict[str, Any]:
    return {"result": result["points"] if isinstance(result, dict) else result}


def batch_result(result: Any) -> dict[str, Any]:
    return {"result": [points_result(r) for r in result]}


def scroll_result(result: Any) -> dict[str, Any]:
    return {"result": result["points"], "next_page_offset": result.get("next_page_offset")}


def snapshot(result: Any) -> dict[str, Any]:
    return {"snapshot_description": result}


def snapshots(result: Any) -> dict[str, Any]:
    return {"snapshot_descriptions": result}


def nothing(result: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    """One RPC: its operation, where its fields go, and how its result is wrapped."""

    op: str | None
    body: Callable[[Any], Any] = body_of
    reply: Callable[[Any], Any] = as_result
    path: tuple[str, ...] = ("collection_name",)


R = Route
ROUTES: dict[str, dict[str, Route]] = {
    "qdrant.Collections": {
        "Get": R("get_collection", no_body),
        "List": R("get_collections", no_body, lambda r: r, ()),
        "Create": R("create_collection"),
        "Update": R("update_collection"),
        "Delete": R("delete_collection", no_body),
        "UpdateAliases": R("update_aliases", path=()),
        "ListCollectionAliases": R("get_collection_aliases", no_body, lambda r: r),
        "ListAliases": R("get_collections_aliases", no_body, lambda r: r, ()),
        "CollectionClusterInfo": R("collection_cluster_info", no_body, lambda r: r),
        "CollectionExists": R("collection_exists", no_body),
        "UpdateCollectionClusterSetup": R("update_collection_cluster"),
        "CreateShardKey": R("create_shard_key", lambda m: to_json(m.request)),
        "DeleteShardKey": R("delete_shard_key", lambda m: to_json(m.request)),
        "ListShardKeys": R("list_shard_keys", no_body, lambda r: r),
    },
    "qdrant.Points": {
        "Upsert": R("upsert_points"),
        "Delete": R("delete_points"),
        "Get": R("get_points"),
        "UpdateVectors": R("update_vectors"),
        "DeleteVectors": R("delete_vectors"),
        "SetPayload": R("set_payload"),
        "OverwritePayload": R("overwrite_payload"),
        "DeletePayload": R("delete_payload"),
        "ClearPayload": R("clear_payload"),
        "CreateFieldIndex": R("create_field_index", field_index_body),
        "DeleteFieldIndex": R("delete_field_index", no_body,
                              path=("collection_name", "field_name")),
        "CreateVectorName": R("create_vector_name", path=("collection_name", "vector_name")),
        "DeleteVectorName": R("delete_vector_name", no_body,
                              path=("collection_name", "vector_name")),
        "Search": R("search_points", search_body),
        "SearchBatch": R("search_batch_points", batch_body("search_points", search_body),
                         batch_result),
        "SearchGroups": R("query_points_groups", search_groups_body),
        "Scroll": R("scroll_points", reply=scroll_result),
        "Recommend": R("recommend_points"),
        "RecommendBatch": R("recommend_batch_points", batch_body("recommend_points", body_of),
                            batch_result),
        "RecommendGroups": R("recommend_point_groups"),
        "Discover": R("discover_points"),
        "DiscoverBatch": R("discover_batch_points", batch_body("discover_points", body_of),
                           batch_result),
        "Count": R("count_points"),
        "UpdateBatch": R("batch_update"),
        "Query": R("query_points", reply=points_result),
        "QueryBatch": R("query_batch_points", batch_body("query_points", body_of),
                        batch_result),
        "QueryGroups": R("query_points_groups"),
        "Facet": R("facet", reply=lambda r: r),
        "SearchMatrixPairs": R("search_matrix_pairs"),
        "SearchMatrixOffsets": R("search_matrix_offsets"),
    },
    "qdrant.Snapshots": {
        "Create": R("create_snapshot", no_body, snapshot),
        "List": R("list_snapshots", no_body, snapshots),
        "Delete": R("delete_snapshot", no_body, nothing, ("collection_name", "snapshot_name")),
        "CreateFull": R("create_full_snapshot", no_body, snapshot, ()),
        "ListFull": R("list_full_snapshots", no_body, snapshots, ()),
        "DeleteFull": R("delete_full_snapshot", no_body, nothing, ("snapshot_name",)),
    },
}


def query_of(msg: Any) -> dict[str, str]:
    fields = msg.DESCRIPTOR.fields_by_name
    query = {}
    if "wait" in fields and msg.HasField("wait"):
        query["wait"] = "true" if msg.wait else "false"
    if "timeout" in fields and msg.HasField("timeout"):
        query["timeout"] = str(msg.timeout)
    return query


def routed_rpc(api: Api, service: str, method: str, route: Route, reply_type: Any) -> Rpc:
    """The trio-side handler of one RPC that maps onto a REST operation."""
    has_time = "time" in reply_type.DESCRIPTOR.fields_by_name

    async def rpc(request: Any, metadata: Mapping[str, str]) -> Any:
        started = time.perf_counter()
        op = route.op or ""
        try:
            api.authorize(api.op(op).auth, presented_key(metadata))  # before the body, as REST
            try:
                path = {name: str(getattr(request, name)) for name in route.path}
                body = route.body(request)
            except (TypeError, ValueError, KeyError) as exc:
                raise BadRequest(f"Wrong input: {exc}") from None
            if isinstance(body, dict):
                for name in route.path:
                    body.pop(name, None)
            result = await api.run(op, path, query_of(request), body)
            reply = fill(reply_type(), route.reply(result))
        except Exception as exc:  # a reply that can't be built is ours: INTERNAL, logged
            err = to_heron_error(exc)
            raise RpcFailed(status_of(err), err.message) from None
        if has_time:
            reply.time = time.perf_counter() - started
        return reply

    return rpc


def unimplemented_rpc(service: str, method: str) -> Rpc:
    async def rpc(request: Any, metadata: Mapping[str, str]) -> Any:
        raise RpcFailed(grpc.StatusCode.UNIMPLEMENTED,
                        f"{service}/{method} is not implemented by heron yet")

    return rpc


def health_rpcs(api: Api) -> dict[str, dict[str, Rpc]]:
    """``qdrant.Qdrant/HealthCheck`` (the title and version ``GET /`` answers) and
    ``grpc.health.v1.Health/Check``; both open without a key, like the REST probes."""
    reply = schema.message("qdrant.HealthCheckReply")
    status = schema.message("grpc.health.v1.HealthCheckResponse")

    async def qdrant_health(request: Any, metadata: Mapping[str, str]) -> Any:
        return fill(reply(), await api.run("root"))

    async def grpc_health(request: Any, metadata: Mapping[str, str]) -> Any:
        await api.run("readyz")
        return status(status=1)  # SERVING

    return {"qdrant.Qdrant": {"HealthCheck": qdrant_health},
            "grpc.health.v1.Health": {"Check": grpc_health}}


def build(api: Api) -> dict[str, dict[str, tuple[Rpc, Callable[[bytes], Any]]]]:
    """Every RPC of the public services -> (trio handler, request parser), for ``GrpcHost``."""
    special = health_rpcs(api)
    out: dict[str, dict[str, tuple[Rpc, Callable[[bytes], Any]]]] = {}
    for service in schema.SERVICES:
        rpcs: dict[str, tuple[Rpc, Callable[[bytes], Any]]] = {}
        for method in schema.methods(service):
            request_type = schema.message(method.input_type.full_name)
            reply_type = schema.message(method.output_type.full_name)
            route = ROUTES.get(service, {}).get(method.name)
            handler: Rpc
            if method.name in special.get(service, {}):
                handler = special[service][method.name]
            elif route is not None and route.op in OPERATIONS:
                handler = routed_rpc(api, service, method.name, route, reply_type)
            else:
                handler = unimplemented_rpc(service, method.name)
            rpcs[method.name] = (handler, _parser(request_type))
        out[service] = rpcs
    return out


def _parser(request_type: Any) -> Callable[[bytes], Any]:
    parse: Callable[[bytes], Any] = request_type.FromString
    return parse

