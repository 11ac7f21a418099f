"""Operation records: what an update is, encoded for the write-ahead log.

A record is a plain JSON-able dict with an ``"op"`` tag (see ``OP_KINDS``). Vectors travel as
lists of numbers, point ids as ints or canonical UUID strings, so a record decodes to exactly
what was validated before it was logged. The first byte is the format version.
"""

from __future__ import annotations

from typing import Any

import orjson

FORMAT_VERSION = 1

OP_KINDS = frozenset(
    {
        "upsert",
        "delete_points",
        "set_payload",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "update_vectors",
        "delete_vectors",
        "create_index",
        "delete_index",
        "batch",
    }
)


class CorruptRecord(ValueError):
    """A stored record could not be decoded; the log is damaged."""


def encode(record: dict[str, Any]) -> bytes:
    """Serialise a record (numpy arrays allowed) with its format-version byte."""
    if record.get("op") not in OP_KINDS:
        raise ValueError(f"unknown operation kind {record.get('op')!r}")
    body = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)
    return bytes([FORMAT_VERSION]) + body


def decode(data: bytes) -> dict[str, Any]:
    """Parse bytes written by ``encode`` back into a record."""
    if not data or data[0] != FORMAT_VERSION:
        raise CorruptRecord("unknown WAL record format")
    try:
        record = orjson.loads(data[1:])
    except orjson.JSONDecodeError as exc:
        raise CorruptRecord(f"undecodable WAL record: {exc}") from exc
    if not isinstance(record, dict) or record.get("op") not in OP_KINDS:
        raise CorruptRecord("WAL record without a known operation kind")
    return record
