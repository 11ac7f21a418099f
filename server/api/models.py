"""Request models for the read side of the API, with Qdrant's field names and defaults.

Update bodies are checked in ``collection.operations`` against the collection's config; the
models here check shape and ranges, so a wrong type or a negative limit is a 422 before any
work is done.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collection.errors import invalid
from collection.operations import check_filter
from segments.ids import PointId, normalize_id


class Request(BaseModel):
    """Base for request bodies: unknown fields are ignored (as Qdrant does for most)."""

    model_config = ConfigDict(extra="ignore", strict=True)


def _pid(value: Any) -> PointId:
    return normalize_id(value)


class WithFilter(Request):
    filter: dict[str, Any] | None = None

    @field_validator("filter", mode="before")
    @classmethod
    def _check_filter(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, dict):
            raise ValueError("filter must be an object")
        return check_filter(v)


class PointRequest(Request):
    """``POST /collections/{c}/points``."""

    ids: list[Any]
    with_payload: Any = True
    with_vector: Any = False

    @field_validator("ids")
    @classmethod
    def _ids(cls, v: list[Any]) -> list[PointId]:
        return [_pid(x) for x in v]


class ScrollRequest(WithFilter):
    """``POST /collections/{c}/points/scroll``."""

    offset: Any = None
    limit: int = Field(10, ge=1)
    with_payload: Any = True
    with_vector: Any = False
    order_by: Any = None

    @field_validator("offset")
    @classmethod
    def _offset(cls, v: Any) -> PointId | None:
        return None if v is None else _pid(v)


class CountRequest(WithFilter):
    """``POST /collections/{c}/points/count``."""

    exact: bool = True


class SearchParams(Request):
    hnsw_ef: int | None = Field(None, ge=0)
    exact: bool = False
    quantization: dict[str, Any] | None = None
    indexed_only: bool = False


class QueryRequest(WithFilter):
    """``POST /collections/{c}/points/query`` (the plain nearest-neighbour part)."""

    prefetch: Any = None
    query: Any = None
    using: str | None = None
    params: SearchParams | None = None
    score_threshold: float | None = None
    limit: int = Field(10, ge=1)
    offset: int = Field(0, ge=0)
    with_payload: Any = False
    with_vector: Any = False
    lookup_from: Any = None


class CreateFieldIndex(Request):
    """``PUT /collections/{c}/index``."""

    field_name: str = Field(min_length=1)
    field_schema: Any = None


PAYLOAD_TYPES = ("keyword", "integer", "float", "geo", "text", "bool", "datetime", "uuid")


def field_schema(value: Any) -> dict[str, Any]:
    """Normalise a payload index schema to ``{"type": ..., **params}``."""
    if isinstance(value, str):
        if value not in PAYLOAD_TYPES:
            raise ValueError(f"unknown payload schema type {value!r}")
        return {"type": value}
    if isinstance(value, dict) and value.get("type") in PAYLOAD_TYPES:
        if value["type"] == "integer" and value.get("lookup") is False and value.get("range") is False:
            raise invalid("field_schema", "the 'lookup' and 'range' capabilities can't be both disabled")
        return dict(value)
    raise ValueError("field_schema must be one of " + ", ".join(PAYLOAD_TYPES) + " or params")
