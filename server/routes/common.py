"""What every route needs: the JSON body, the registry, and Qdrant's response envelope."""

from __future__ import annotations

import time
from typing import Any

import orjson
from quart import Response, current_app, g, request

from collection.errors import BadRequest
from collection.handle import Collection
from collection.messages import UpdateResult
from server.registry import Registry


def registry() -> Registry:
    return current_app.config["HERON_REGISTRY"]


def collection(name: str) -> Collection:
    return registry().get(name)


async def body() -> Any:
    """The request's JSON body (``{}`` when empty); malformed JSON is a 400."""
    data = await request.get_data(cache=False)
    if not data or not data.strip():
        return {}
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Format error in JSON body: {exc}") from None


async def body_object() -> dict[str, Any]:
    value = await body()
    if not isinstance(value, dict):
        raise BadRequest("Format error in JSON body: expected a JSON object")
    return value


def flag(name: str, default: bool) -> bool:
    """A boolean query parameter such as ``?wait=true``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    low = raw.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise BadRequest(f"Format error in query string: `{name}` must be true or false")


def ok(result: Any, status: int = 200) -> Response:
    """Qdrant's success envelope."""
    started = getattr(g, "started", None)
    elapsed = 0.0 if started is None else time.perf_counter() - started
    payload = {"result": result, "status": "ok", "time": elapsed}
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        status=status,
        content_type="application/json",
    )


def update_result(res: UpdateResult) -> dict[str, Any]:
    return {"operation_id": res.operation_id, "status": res.status}
