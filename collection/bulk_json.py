"""An upsert body read straight from its JSON bytes: vectors go from the text to numpy.

``points_from_json`` parses ``PUT /points`` with simdjson (PyPI ``pysimdjson``) and copies
every vector out of the parsed document as a buffer of doubles or integers (``as_buffer``,
which refuses anything but numbers), so no Python float is made per vector element. Ids,
payloads and the body's other fields become Python values as orjson would make them. Like
``collection.bulk``, it accepts only what the per-point path accepts, with the same values;
anything else (malformed JSON, a duplicate key, a value to refuse, a Document, a multivector)
raises ``NotBulk`` and the caller parses the body with orjson and goes the usual way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import simdjson

from collection.bulk import NotBulk, as_datatype, sparse_rows_sorted
from collection.config import UNNAMED, CollectionConfig
from segments import columns
from segments.ids import MAX_ID, normalize_id
from segments.vectors.sparse import MAX_INDEX

_INFERENCE = ("model",)
_SPARSE = ("indices", "values")
_UNNAMED = (UNNAMED,)
_OPEN = ord("[")


def _plain(value: Any) -> Any:
    """A simdjson value as the Python value orjson would give (objects: last key wins)."""
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def _keys(obj: Any) -> list[str]:
    """An object's keys, refusing duplicates (simdjson finds the first, orjson keeps the last)."""
    keys = list(obj.keys())
    if len(set(keys)) != len(keys):
        raise NotBulk
    return keys


def _only(obj: Any, names: tuple[str, ...]) -> bool:
    """Whether an object's keys are exactly ``names``, each once (cheaper than listing them:
    a duplicate or another key makes its length differ)."""
    if len(obj) != len(names):
        return False
    for name in names:
        if name not in obj:
            return False
    return True


def _flat(arr: Any, of_type: str, careful: bool) -> Any:
    """A flat JSON array of numbers as a buffer of raw 8-byte values. simdjson flattens nested
    arrays, so ``careful`` looks at the array's text for one (see ``points_from_json``)."""
    try:
        buf = arr.as_buffer(of_type=of_type)
    except (TypeError, ValueError):
        raise NotBulk from None
    if careful and b"[" in arr.mini[1:]:
        raise NotBulk
    return buf


def points_from_json(
    config: CollectionConfig, data: bytes
) -> tuple[dict[str, Any], tuple[list[Any], list[Any], dict[str, columns.Column]]]:
    """(the body without ``points``, (ids, payloads, columns) of its points), or ``NotBulk``.

    A vector's array must not nest another (simdjson would flatten ``[[1], 2, 3]``). When the
    text has no ``[`` beyond the arrays the points and vectors open, none does; otherwise (a
    payload's list, a ``[`` in a string) the body is read again, checking each vector."""
    parser = simdjson.Parser()
    try:
        doc = parser.parse(data)
    except (ValueError, TypeError, RuntimeError):
        raise NotBulk from None
    try:
        rest, parsed, arrays = _read(config, doc, careful=False)
        if np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == _OPEN) != arrays:
            rest, parsed, arrays = _read(config, doc, careful=True)
        return rest, parsed
    finally:
        del doc


def _read(
    config: CollectionConfig, doc: Any, careful: bool
) -> tuple[dict[str, Any], tuple[list[Any], list[Any], dict[str, columns.Column]], int]:
    """(rest, (ids, payloads, columns), the number of arrays the points and vectors open)."""
    if not isinstance(doc, simdjson.Object):
        raise NotBulk
    top = _keys(doc)
    rest = {k: _plain(doc[k]) for k in top if k != "points"}
    raw = doc["points"] if "points" in top else None
    if not isinstance(raw, simdjson.Array):
        raise NotBulk
    n = len(raw)
    arrays = 1
    ids: list[Any] = []
    payloads: list[Any] = []
    dense: dict[str, tuple[list[int], list[Any], list[int]]] = {}
    sparse: dict[str, tuple[list[int], list[Any], list[Any], list[int]]] = {}
    names: tuple[str, ...] = ()
    for i, p in enumerate(raw):
        if not isinstance(p, simdjson.Object) or "id" not in p:
            raise NotBulk
        has_vector, has_payload = "vector" in p, "payload" in p
        if len(p) != 1 + has_vector + has_payload:
            _keys(p)  # other keys are ignored, a duplicate is refused
        pid = p["id"]
        if type(pid) is not int or not 0 <= pid <= MAX_ID:
            try:
                pid = normalize_id(_plain(pid))
            except ValueError:
                raise NotBulk from None
        ids.append(pid)
        vec = p["vector"] if has_vector else None
        if isinstance(vec, simdjson.Object):
            if not _only(vec, names):  # most points name the vectors the last one did
                names = tuple(_keys(vec))
            point_names = names
        elif isinstance(vec, simdjson.Array):
            point_names = _UNNAMED
        elif has_vector:
            raise NotBulk
        else:
            point_names = ()
        for name in point_names:
            value = vec if point_names is _UNNAMED else vec[name]
            key = name or UNNAMED
            if isinstance(value, simdjson.Array):
                slot = dense.get(key)
                if slot is None:
                    slot = dense[key] = ([], [], [])
                slot[0].append(i)
                slot[1].append(_flat(value, "d", careful))
                slot[2].append(len(value))
                arrays += 1
                continue
            if not isinstance(value, simdjson.Object):
                raise NotBulk
            if not _only(value, _SPARSE):
                fields = _keys(value)
                if any(k in fields for k in _INFERENCE) or "indices" not in fields or (
                    "values" not in fields
                ):
                    raise NotBulk  # a Document to embed, or a shape the per-point path explains
            ix, vs = value["indices"], value["values"]
            if not isinstance(ix, simdjson.Array) or not isinstance(vs, simdjson.Array) or len(
                ix
            ) != len(vs):
                raise NotBulk
            entry = sparse.get(key)
            if entry is None:
                entry = sparse[key] = ([], [], [], [])
            entry[0].append(i)
            entry[1].append(_flat(ix, "i", careful))
            entry[2].append(_flat(vs, "d", careful))
            entry[3].append(len(ix))
            arrays += 2
        payload = p["payload"] if has_payload else None
        if payload is None:
            payloads.append(None)
        elif isinstance(payload, simdjson.Object):
            payloads.append(payload.as_dict())
        else:
            raise NotBulk
    out: dict[str, columns.Column] = {}
    for key, (at, rows, dims) in dense.items():
        out[key] = columns.dense_column(_has(config, key, "dense", at, n),
                                        _dense(config, key, rows, dims))
    for key, (at, ixs, vss, lengths) in sparse.items():
        has = _has(config, key, "sparse", at, n)
        out[key] = _sparse(has, ixs, vss, lengths)
    return rest, (ids, payloads, out), arrays


def _has(config: CollectionConfig, key: str, kind: str, at: list[int], n: int) -> np.ndarray:
    """The mask of points holding vector ``key``, once it is known to be of ``kind``."""
    if key not in config.vectors and key not in config.sparse_vectors:
        raise NotBulk
    if config.segment.kind(key) != kind or len(set(at)) != len(at):
        raise NotBulk
    has = np.zeros(n, dtype=bool)
    has[at] = True
    return has


def _dense(config: CollectionConfig, key: str, rows: list[Any], dims: list[int]) -> np.ndarray:
    """The rows (buffers of doubles, ``dims`` numbers each) as the vector's datatype; a row of
    another size (the per-point path says which) is ``NotBulk``."""
    params = config.vectors[key]
    if min(dims) != params.size or max(dims) != params.size:
        raise NotBulk
    wide = np.frombuffer(b"".join(rows), dtype=np.float64)
    if len(wide) != params.size * len(rows):
        raise NotBulk
    with np.errstate(over="ignore"):
        out = as_datatype(wide.reshape(len(rows), params.size), params.datatype).astype(np.float32)
    if not np.isfinite(out).all():
        raise NotBulk
    return out


def _sparse(has: np.ndarray, ixs: list[Any], vss: list[Any], lengths: list[int]) -> columns.Column:
    length = np.asarray(lengths, dtype=np.int64)
    indices = np.frombuffer(b"".join(ixs), dtype=np.int64)
    if len(indices) != int(length.sum()):
        raise NotBulk
    if len(indices) and (indices.min() < 0 or indices.max() > MAX_INDEX):
        raise NotBulk
    with np.errstate(over="ignore"):
        values = np.frombuffer(b"".join(vss), dtype=np.float64).astype(np.float32)
    if len(values) != len(indices) or not np.isfinite(values).all():
        raise NotBulk
    indices, values = sparse_rows_sorted(length, indices, values)
    return columns.sparse_column(has, length, indices.astype(np.uint32), values)
