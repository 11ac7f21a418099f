"""HTTP <-> operation: read the request into (path, query, body, key), write the result in
Qdrant's envelope and any error as Qdrant's error body with its status."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from quart import Response, g, request, send_file

from collection.errors import BadRequest, HeronError, NotFound, PayloadTooLarge
from server.api.auth import presented_key
from server.api.context import ACCEPTED, FileResult
from server.api.dispatch import OPERATIONS, Api
from server.api.errors import to_heron_error
from server.api.params import JsonBytes, parse_json
from server.api.snapshots import UPLOADED
from server.rest.routes import Render

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def elapsed() -> float:
    started = getattr(g, "started", None)
    return 0.0 if started is None else time.perf_counter() - started


def request_key() -> str | None:
    return presented_key(request.headers)


async def json_body(raw: bool = False) -> Any:
    """The request's JSON body (None when empty); malformed JSON is a 400. ``raw``: the bytes
    unparsed (``JsonBytes``), for an operation that parses them its own way."""
    data = await request.get_data(cache=False)
    if raw and data and data.strip():
        return JsonBytes(data)
    return parse_json(data)


def envelope(result: Any, status: int = 200) -> Response:
    """Qdrant's success envelope."""
    payload = {"result": result, "status": "ok", "time": elapsed()}
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        status=status,
        content_type="application/json",
    )


def render(how: Render, result: Any) -> Response:
    if how == "text":
        return Response(str(result), content_type="text/plain")
    if how == "json":
        return Response(orjson.dumps(result), content_type="application/json")
    return envelope(result)


def http_error(exc: BaseException) -> HeronError:
    """An exception from the HTTP machinery (unknown route, wrong method, body over the size
    limit) or from an operation, as a member of the error tree."""
    status = getattr(exc, "code", None)
    if not isinstance(exc, HeronError) and isinstance(status, int):
        if status == 413:
            return PayloadTooLarge("Payload error: request body is over the size limit")
        if status == 404:
            return NotFound(f"no route for {request.method} {request.path}")
        if 400 <= status < 500:
            name = getattr(exc, "name", None) or "Bad request"
            err = HeronError(f"{name}: {request.method} {request.path}")
            err.status = status
            return err
    return to_heron_error(exc)


def error_response(exc: BaseException) -> Response:
    err = http_error(exc)
    body = orjson.dumps({"status": {"error": err.message}, "time": elapsed()})
    return Response(body, status=err.status, content_type="application/json")


async def upload_body(api: Api) -> dict[str, Any]:
    """Save the multipart field ``snapshot`` to a temp file the operation takes over."""
    request.max_content_length = None  # a snapshot may be bigger than any JSON body
    request.body_timeout = None
    upload = (await request.files).get("snapshot")
    if upload is None:
        raise BadRequest("Bad request: multipart field `snapshot` is missing")
    tmp = api.ctx.snapshots.upload_path()
    await upload.save(tmp)
    return {UPLOADED: str(tmp)}


async def answer(how: Render, result: Any) -> Response:
    """The HTTP answer for an operation's result: a file, 202 accepted, or ``render``."""
    if isinstance(result, FileResult):
        return await send_file(result.path, mimetype="application/octet-stream",
                               as_attachment=True, attachment_filename=result.name)
    if result is ACCEPTED:
        body = orjson.dumps({"status": "accepted", "time": elapsed()})
        return Response(body, status=202, content_type="application/json")
    return render("envelope" if how == "upload" else how, result)


def view(api: Api, op: str, how: Render) -> Callable[..., Awaitable[Response]]:
    """The Quart view of one operation: URL parameters are its path parameters."""

    raw = op in OPERATIONS and OPERATIONS[op].raw_json

    async def handle(**path: str) -> Response:
        if how == "upload":
            body: Any = await upload_body(api)
        elif request.method in BODY_METHODS:
            body = await json_body(raw)
        else:
            body = None
        query = request.args.to_dict() if request.query_string else {}
        return await answer(how, await api.run(op, path, query, body))

    handle.__name__ = op
    return handle
