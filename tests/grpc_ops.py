"""Send a REST-shaped point write over gRPC: the crash drill's and the benchmark's gRPC side.

The body is validated into qdrant-client's models and sent with ``prefer_grpc=True``, so the
gRPC front end sees exactly what the official client sends.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from qdrant_client import QdrantClient, models

_OPERATION = TypeAdapter(models.UpdateOperation)


def grpc_client(url: str, grpc_port: int, timeout: int = 20) -> QdrantClient:
    return QdrantClient(url=url, grpc_port=grpc_port, prefer_grpc=True, timeout=timeout,
                        check_compatibility=False)


def send_write(client: QdrantClient, collection: str, path: str, body: dict[str, Any],
               wait: bool) -> Any:
    """The write REST would do for ``path`` (``points``, ``points/delete`` ...) and ``body``."""
    c = collection
    if path == "points":
        return client.upsert(c, points=[models.PointStruct(**p) for p in body["points"]],
                             wait=wait)
    if path == "points/delete":
        selector: Any = (models.FilterSelector(filter=models.Filter(**body["filter"]))
                         if "filter" in body else models.PointIdsList(points=body["points"]))
        return client.delete(c, points_selector=selector, wait=wait)
    if path == "points/payload/set":
        return client.set_payload(c, payload=body["payload"], points=body["points"], wait=wait)
    if path == "points/payload/overwrite":
        return client.overwrite_payload(c, payload=body["payload"], points=body["points"],
                                        wait=wait)
    if path == "points/vectors":
        return client.update_vectors(c, points=[models.PointVectors(**p) for p in body["points"]],
                                     wait=wait)
    if path == "points/batch":
        ops = [_OPERATION.validate_python(op) for op in body["operations"]]
        return client.batch_update_points(c, update_operations=ops, wait=wait)
    raise ValueError(f"no gRPC form for {path}")
