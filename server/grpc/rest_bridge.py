"""A stand-in for ``server.api`` until the transport-neutral layer lands: the same ``call``,
answered in process by the REST app (its routes, validation, limits and auth) through its ASGI
interface, so the gRPC front end writes no rule of its own. Operations are found by Qdrant's operationId in the OpenAPI file.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote, unquote, urlencode

import orjson
import trio
from quart_trio import QuartTrio

from collection.errors import HeronError
from server import openapi


@cache
def operations() -> dict[str, tuple[str, str]]:
    """operationId -> (HTTP method, path template) from the OpenAPI document heron serves."""
    spec = orjson.loads(openapi.spec_bytes())
    out = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if isinstance(op, dict) and "operationId" in op:
                out[op["operationId"]] = (method.upper(), path)
    return out


class RestBridge:
    """``await bridge.call(op, path=..., query=..., body=..., key=...)`` -> the REST ``result``."""

    def __init__(self, app: QuartTrio) -> None:
        self.app = app

    def serves(self, op: str) -> bool:
        """Whether heron implements this operation (it is in heron's OpenAPI document)."""
        return op in operations()

    async def call(
        self,
        op: str,
        path: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
        key: str | None = None,
    ) -> Any:
        method, template = operations()[op]
        url = template.format(**{k: quote(str(v), safe="") for k, v in (path or {}).items()})
        headers = [(b"content-type", b"application/json")]
        if key is not None:
            headers.append((b"api-key", key.encode()))
        data = b"" if body is None else orjson.dumps(body)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": unquote(url), "raw_path": url.encode(),
            "query_string": urlencode(query or {}).encode(), "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 0), "server": ("heron-grpc", 0),
            "extensions": {},
        }
        sent = False
        status = 500
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await trio.sleep_forever()
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        raw = b"".join(chunks)
        answer = orjson.loads(raw) if raw else {}
        if status >= 300:
            message = (answer.get("status") or {}).get("error") if isinstance(answer, dict) else None
            err = HeronError(message or raw.decode(errors="replace"))
            err.status = status
            raise err
        return answer.get("result") if isinstance(answer, dict) else answer
