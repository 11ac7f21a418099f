"""Request parameters every front end hands over the same way: query-string flags as strings,
the body as parsed JSON (or unparsed, ``JsonBytes``, for the operations that read it their own
way). Their checks and the configured limits live here, once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from collection.errors import BadRequest, format_error, invalid
from server.config import LimitsSettings

Query = Mapping[str, str]


def flag(query: Query, name: str, default: bool) -> bool:
    """A boolean query parameter such as ``?wait=true``."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    low = str(raw).lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise format_error(f"{name}: provided string was not `true` or `false`", "query parameters")


def timeout(query: Query) -> float | None:
    """``?timeout=N``: whole seconds the operation may take (None: no deadline)."""
    raw = query.get("timeout")
    if raw is None or raw == "":
        return None
    try:
        seconds = int(str(raw))
    except ValueError:
        raise format_error("timeout: invalid digit found in string", "query parameters") from None
    if seconds < 0:
        raise format_error("timeout: invalid digit found in string", "query parameters")
    if seconds < 1:
        raise invalid("timeout", f"value {seconds} invalid, must be 1 or larger",
                      "query parameters")
    return float(seconds)


@dataclass(frozen=True)
class JsonBytes:
    """A request's JSON body, not parsed yet (for operations with ``raw_json``)."""

    data: bytes


def parse_json(data: bytes | JsonBytes) -> Any:
    """A JSON body parsed (None when empty); malformed JSON is a 400."""
    if isinstance(data, JsonBytes):
        data = data.data
    if not data or not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise format_error(str(exc)) from None


def body_object(body: Any) -> dict[str, Any]:
    """The body as a JSON object (an absent body is ``{}``)."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise format_error("invalid type: expected a JSON object")
    return body


def explain(query: Query, body: dict[str, Any]) -> bool:
    """``?explain=true`` or ``"explain": true`` in the body (a heron extension); the body field
    is removed so the query engine never sees it."""
    in_body = body.pop("explain", False)
    if not isinstance(in_body, bool):
        raise format_error("explain: invalid type: expected a boolean")
    return flag(query, "explain", False) or in_body


def request_list(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """``searches`` of a batch request: a list of objects, each copied (they get edited)."""
    searches = body.get("searches")
    if not isinstance(searches, list):
        raise format_error(f"searches: invalid type: expected a list of {kind} requests")
    out = []
    for req in searches:
        if not isinstance(req, dict):
            raise format_error("searches: invalid type: expected each search to be an object")
        out.append(dict(req))
    return out


def check_batch_size(limits: LimitsSettings, record: dict[str, Any]) -> None:
    """Refuse an update that carries more points than ``limits.max_batch_points``."""
    most = limits.max_batch_points
    if len(record.get("ids") or record.get("points") or ()) > most:
        raise BadRequest(f"Wrong input: at most {most} points may be sent in one request")
