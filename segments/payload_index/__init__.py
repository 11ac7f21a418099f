"""Per-segment payload indexes: they accelerate filters, counts and ``order_by``, never change them.

Each index reads a field's values exactly as the unindexed filter does (``getter`` on the key:
an array at the end of the path is flattened one level) and *captures* those of its type that
it can represent exactly: strings (keyword, uuid, text), ints within int64 (integer), finite
numbers exact as float64 (float), datetime strings as microseconds (datetime), booleans, and
in-range geo points. Conditions keep Qdrant's semantics as ``segments.filter`` implements them:
a point matches if any value matches, and types never mix (``1``, ``1.0`` and ``true`` differ).
Offsets holding values an index cannot decide on are handed back as ``IndexAnswer.rescan`` and
re-checked with the condition's own predicate, so an indexed answer always equals a scan.

Indexes are updated on every write of their segment (``update``); sorted arrays absorb changed
offsets lazily, at the next read. Nothing is persisted: indexes are rebuilt from payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segments.filter.context import IndexAnswer
from segments.payload_index.base import FieldIndex
from segments.payload_index.geo import GeoIndex
from segments.payload_index.keyword import BoolIndex, KeywordIndex, UuidIndex
from segments.payload_index.numeric import DatetimeIndex, FloatIndex, IntegerIndex
from segments.payload_index.text import TextIndex

INDEX_TYPES: dict[str, type[FieldIndex]] = {
    cls.kind: cls
    for cls in (
        KeywordIndex, UuidIndex, IntegerIndex, FloatIndex, BoolIndex, GeoIndex, TextIndex,
        DatetimeIndex,
    )
}


def build_index(field: str, schema: dict[str, Any], payloads: Sequence[Any]) -> FieldIndex | None:
    """An index of ``field`` over ``payloads`` (offset = position) for a payload schema
    ``{"type": ..., **params}``; ``None`` for a type without an index here."""
    cls = INDEX_TYPES.get(str(schema.get("type")))
    return None if cls is None else cls(field, schema).build(payloads)


__all__ = ["INDEX_TYPES", "FieldIndex", "IndexAnswer", "build_index"]
