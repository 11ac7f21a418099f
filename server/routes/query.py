"""The Query API endpoint."""

from __future__ import annotations

from quart import Blueprint, Response

from collection.query.api import query_points
from server.models import QueryRequest
from server.routes.common import body_object, collection, ok

bp = Blueprint("query", __name__)


@bp.post("/collections/<name>/points/query")
async def query(name: str) -> Response:
    coll = collection(name)
    req = QueryRequest.model_validate(await body_object())
    return ok({"points": await query_points(coll, req)})
