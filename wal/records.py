"""Operation records: what an update is, encoded for the write-ahead log.

A record is a dict with an ``"op"`` tag (see ``OP_KINDS``) of JSON values and, under the key
``"vectors"`` (an upsert's columns, also inside a batch's ``"ops"``), numpy arrays. Point ids
are ints or canonical UUID strings, so a record decodes to exactly what was validated before
it was logged. The first byte is the format version:

- 1: the record as JSON (numpy arrays written as lists); still read, no longer written;
- 2: a little-endian u32 header length, the header as JSON (the record with each array
  replaced by ``null``, plus ``[path, dtype, shape]`` for every array), then the arrays' raw
  bytes, each aligned to 8 bytes, in header order. Vectors cost no text formatting or parsing.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

FORMAT_VERSION = 2
LEGACY_VERSION = 1

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

_HEADER_LEN = struct.Struct("<I")
_ALIGN = 8

Path = list[str | int]


class CorruptRecord(ValueError):
    """A stored record could not be decoded; the log is damaged."""


def _split(value: Any, path: Path, arrays: list[tuple[Path, np.ndarray]]) -> Any:
    """``value`` with its arrays replaced by None (collected with their paths in ``arrays``).

    Only dicts are walked, and lists under ``ops``: payloads, ids and filters are copied by
    reference, never visited."""
    if isinstance(value, np.ndarray):
        arrays.append((path, value))
        return None
    if isinstance(value, dict):
        return {k: _split(v, [*path, k], arrays) if isinstance(v, dict | np.ndarray) or (
            k == "ops" and isinstance(v, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_split(v, [*path, i], arrays) for i, v in enumerate(value)]
    return value


def encode(record: dict[str, Any]) -> bytes:
    """Serialise a record (numpy arrays allowed anywhere) in format 2."""
    if record.get("op") not in OP_KINDS:
        raise ValueError(f"unknown operation kind {record.get('op')!r}")
    arrays: list[tuple[Path, np.ndarray]] = []
    skeleton = _split(record, [], arrays)
    blobs = [np.ascontiguousarray(a) for _, a in arrays]
    header = orjson.dumps(
        {"r": skeleton, "a": [[p, b.dtype.str, list(b.shape)] for (p, _), b in zip(arrays, blobs,
                                                                                  strict=True)]},
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
    parts = [bytes([FORMAT_VERSION]), _HEADER_LEN.pack(len(header)), header]
    size = 1 + _HEADER_LEN.size + len(header)
    for blob in blobs:
        pad = -size % _ALIGN
        parts.append(b"\0" * pad)
        parts.append(blob.tobytes())
        size += pad + blob.nbytes
    return b"".join(parts)


def _place(record: Any, path: Path, value: np.ndarray) -> None:
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _decode_v2(data: bytes) -> Any:
    (length,) = _HEADER_LEN.unpack_from(data, 1)
    start = 1 + _HEADER_LEN.size
    header = orjson.loads(data[start : start + length])
    record = header["r"]
    pos = start + length
    for path, dtype, shape in header["a"]:
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        pos += -pos % _ALIGN
        if pos + count * dt.itemsize > len(data):
            raise CorruptRecord("WAL record shorter than its arrays")
        arr = np.frombuffer(data, dtype=dt, count=count, offset=pos).reshape(shape)
        pos += count * dt.itemsize
        _place(record, path, arr)
    return record


def decode(data: bytes) -> dict[str, Any]:
    """Parse bytes written by ``encode`` (format 2) or by format 1 back into a record; the
    arrays of a format-2 record are read-only views of ``data``."""
    if not data or data[0] not in (FORMAT_VERSION, LEGACY_VERSION):
        raise CorruptRecord("unknown WAL record format")
    try:
        record = _decode_v2(data) if data[0] == FORMAT_VERSION else orjson.loads(data[1:])
    except (orjson.JSONDecodeError, struct.error, KeyError, TypeError, IndexError,
            ValueError) as exc:
        if isinstance(exc, CorruptRecord):
            raise
        raise CorruptRecord(f"undecodable WAL record: {exc}") from exc
    if not isinstance(record, dict) or record.get("op") not in OP_KINDS:
        raise CorruptRecord("WAL record without a known operation kind")
    return record
