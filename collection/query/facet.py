"""``/collections/{c}/facet``: how many matching points hold each value of a payload key.

As in Qdrant the key needs an index that answers ``match`` (keyword, integer with ``lookup``,
bool, uuid), and only values of that index's type are counted; a point counts once per distinct
value it holds. Hits are sorted by count (highest first), then by value. Counts are always exact
(``exact`` is accepted; heron has no cheaper approximate count).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from collection.errors import BadRequest, format_error
from collection.handle import Collection
from collection.operations import check_key, compile_filter, optional_int
from segments.payload_path import getter

DEFAULT_LIMIT = 10
_I64 = 2**63


def _int_value(value: Any) -> Any:
    return value if value.__class__ is int and -_I64 <= value < _I64 else None


def _str_value(value: Any) -> Any:
    return value if value.__class__ is str else None


def _bool_value(value: Any) -> Any:
    return value if value.__class__ is bool else None


def _uuid_value(value: Any) -> Any:
    if value.__class__ is not str:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _picker(schema: dict[str, Any] | None) -> Callable[[Any], Any] | None:
    """What an index of this schema facets: a function giving a payload value's facet value
    (``None`` to skip it), or ``None`` when the index can't facet."""
    kind = None if schema is None else schema.get("type")
    if kind == "keyword":
        return _str_value
    if kind == "integer" and schema.get("lookup", True) is not False:
        return _int_value
    if kind == "bool":
        return _bool_value
    if kind == "uuid":
        return _uuid_value
    return None


def _postings_index(seg: Any, key: str, pick: Callable[[Any], Any]) -> Any:
    """The segment's value -> offsets index on ``key`` when it holds exactly the values a
    facet counts (keyword, integer and bool indexes; not uuid, whose values are normalised)."""
    lookup = getattr(seg, "payload_index", None)
    index = None if lookup is None or pick is _uuid_value else lookup(key)
    return index if hasattr(index, "value_counts") else None


def _request(body: dict[str, Any]) -> tuple[str, int, Any]:
    key = body.get("key")
    if key is None:
        raise format_error("missing field `key`")
    if not isinstance(key, str) or not key:
        raise format_error("key: invalid type: expected a non-empty string")
    check_key(key)
    limit = optional_int(body, "limit", DEFAULT_LIMIT, 1)
    exact = body.get("exact")
    if exact is not None and not isinstance(exact, bool):
        raise format_error("exact: invalid type: expected a boolean")
    return key, limit, compile_filter(body.get("filter"))


def _order(item: tuple[Any, int]) -> tuple[int, Any]:
    return -item[1], item[0]


def facet(coll: Collection, body: dict[str, Any], max_limit: int) -> dict[str, Any]:
    """FacetResponse ``{"hits": [{"value", "count"}]}`` for a FacetRequest body."""
    key, limit, flt = _request(body)
    if limit > max_limit:
        raise BadRequest(f"Wrong input: limit must be at most {max_limit}")
    pick = _picker(coll.holder.payload_schema.get(key))
    if pick is None:
        raise BadRequest(
            f"Bad request: No appropriate index for faceting: `{key}`. "
            "Please create one to facet on this field."
        )
    read = getter(key)
    counts: Counter[Any] = Counter()
    for seg, mask in coll.matching(flt):
        index = _postings_index(seg, key, pick)
        offsets = np.flatnonzero(mask)
        if index is not None and index.distinct_values * 8 <= len(offsets):
            counts.update(index.value_counts(mask))  # few values: count their postings
            continue
        payloads = seg.payloads()
        for off in offsets.tolist():
            found = {v for raw in read(payloads[off] or {}) if (v := pick(raw)) is not None}
            counts.update(found)
    hits = sorted(counts.items(), key=_order)[:limit]
    return {"hits": [{"value": value, "count": count} for value, count in hits]}
