"""A stand-in for ``server.api`` until the transport-neutral layer lands: the same ``call``,
answered in process by the REST app (its routes, validation, limits and auth), so the gRPC front
end writes no rule of its own. Operations are found by Qdrant's operationId in the OpenAPI file.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote

import orjson
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
        headers = {"content-type": "application/json"}
        if key is not None:
            headers["api-key"] = key
        data = b"" if body is None else orjson.dumps(body)
        client = self.app.test_client()
        response = await client.open(
            url, method=method, headers=headers, data=data, query_string=query or None
        )
        raw = await response.get_data()
        answer = orjson.loads(raw) if raw else {}
        if response.status_code >= 300:
            message = (answer.get("status") or {}).get("error") if isinstance(answer, dict) else None
            err = HeronError(message or raw.decode(errors="replace"))
            err.status = response.status_code
            raise err
        return answer.get("result") if isinstance(answer, dict) else answer
