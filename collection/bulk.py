"""An upsert's points parsed in bulk: ids, payloads and one numpy column per vector name.

``points_columns`` takes the JSON points list of ``PUT /points`` (as orjson parsed it) and
builds, per vector name, the arrays of ``segments.columns`` with one ``np.array`` call per
batch and checks done on whole arrays: dimension, numeric type, finiteness, sparse index
range, order and uniqueness. It accepts only batches the per-point checks of
``collection.operations`` would accept and gives the same values; anything else (a value to
refuse, a Document to embed, a multivector, a tuple instead of a list) raises ``NotBulk`` and
the caller runs the per-point path, which refuses with the first error in point order.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from collection.config import UNNAMED, CollectionConfig, Datatype
from inference.documents import is_inference
from segments import columns
from segments.ids import MAX_ID, normalize_id
from segments.vectors.sparse import MAX_INDEX


class NotBulk(Exception):
    """The batch needs the per-point path (something to refuse, or an unusual shape)."""


def as_datatype(arr: np.ndarray, datatype: Datatype | None) -> np.ndarray:
    """Values as the storage datatype reads them: for uint8, Rust's ``as u8`` (truncated toward
    zero, saturated to 0..255, NaN -> 0), as Qdrant converts instead of refusing."""
    if datatype is not Datatype.UINT8 or not arr.size:
        return arr
    wide = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.trunc(wide), 0.0, 255.0).astype(np.float32)


def _no_bools(arr: np.ndarray, flat: list[Any]) -> None:
    """numpy reads ``true``/``false`` among numbers as 1/0: look at those positions only."""
    suspects = np.flatnonzero((arr == 0) | (arr == 1))
    if any(type(flat[k]) is bool for k in suspects.tolist()):
        raise NotBulk


def _numbers(values: list[Any], kinds: str) -> np.ndarray:
    """``np.array(values)`` if it is an array of numbers of the given dtype kinds."""
    try:
        arr = np.array(values)
    except (ValueError, TypeError, OverflowError):
        raise NotBulk from None
    if arr.dtype.kind not in kinds:
        raise NotBulk
    return arr


def _dense(config: CollectionConfig, name: str, values: list[Any]) -> np.ndarray:
    """Float32 rows of JSON dense vectors (uint8 values converted as the storage reads them)."""
    params = config.vectors[name]
    if any(type(v) is not list for v in values):
        raise NotBulk
    arr = _numbers(values, "iuf")
    if arr.ndim != 2 or arr.shape[1] != params.size:
        raise NotBulk
    _no_bools_rows(arr, values)
    with np.errstate(over="ignore"):
        rows = as_datatype(arr, params.datatype).astype(np.float32)
    if not np.isfinite(rows).all():
        raise NotBulk
    return rows


def _no_bools_rows(arr: np.ndarray, rows: list[list[Any]]) -> None:
    """``_no_bools`` for a matrix read from lists of rows."""
    suspects = np.flatnonzero(((arr == 0) | (arr == 1)).reshape(-1))
    width = arr.shape[1]
    for k in suspects.tolist():
        if type(rows[k // width][k % width]) is bool:
            raise NotBulk


def _sparse(values: list[Any]) -> columns.Column:
    """Flat (lengths, indices, values) of JSON sparse vectors, each row sorted by index."""
    idx_lists, val_lists = [], []
    for v in values:
        if type(v) is not dict or is_inference(v):
            raise NotBulk
        ix, vs = v.get("indices"), v.get("values")
        if type(ix) is not list or type(vs) is not list or len(ix) != len(vs):
            raise NotBulk
        idx_lists.append(ix)
        val_lists.append(vs)
    lengths = np.fromiter(map(len, idx_lists), dtype=np.int64, count=len(idx_lists))
    if not lengths.sum():
        return columns.sparse_column(np.zeros(0, bool), lengths, np.zeros(0, dtype=np.uint32),
                                     np.zeros(0, dtype=np.float32))
    flat_ix = list(chain.from_iterable(idx_lists))
    flat_vs = list(chain.from_iterable(val_lists))
    indices = _numbers(flat_ix, "i").astype(np.int64, copy=False)
    _no_bools(indices, flat_ix)
    if indices.min() < 0 or indices.max() > MAX_INDEX:
        raise NotBulk
    raw = _numbers(flat_vs, "if")
    _no_bools(raw, flat_vs)
    with np.errstate(over="ignore"):
        vals = raw.astype(np.float64).astype(np.float32)
    if not np.isfinite(vals).all():
        raise NotBulk
    indices, vals = sparse_rows_sorted(lengths, indices, vals)
    return columns.sparse_column(np.zeros(0, bool), lengths, indices.astype(np.uint32), vals)


def sparse_rows_sorted(
    lengths: np.ndarray, indices: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Flat sparse rows with each row sorted by index (as Qdrant stores them); ``NotBulk`` on
    a duplicate index within a row."""
    rising = np.diff(indices) > 0  # entry k+1 above entry k
    starts = np.cumsum(lengths)[:-1]
    rising[starts[(starts > 0) & (starts < len(indices))] - 1] = True  # a new row may start low
    if not rising.all():  # not ascending: sort each row
        row = np.repeat(np.arange(len(lengths)), lengths)
        same_row = row[1:] == row[:-1]
        order = np.lexsort((indices, row))
        indices, values = indices[order], values[order]
        if (np.diff(indices)[same_row] == 0).any():
            raise NotBulk  # a duplicate index
    return indices, values


def points_columns(
    config: CollectionConfig, raw: list[Any]
) -> tuple[list[Any], list[Any], dict[str, columns.Column]]:
    """(ids, payloads, columns) of a ``points`` list, or ``NotBulk``."""
    n = len(raw)
    ids: list[Any] = []
    payloads: list[Any] = []
    per_name: dict[str, tuple[list[int], list[Any]]] = {}
    for i, p in enumerate(raw):
        if type(p) is not dict or "id" not in p:
            raise NotBulk
        pid = p["id"]
        if type(pid) is not int or not 0 <= pid <= MAX_ID:
            try:
                pid = normalize_id(pid)
            except ValueError:
                raise NotBulk from None
        ids.append(pid)
        vec = p.get("vector", {})
        if type(vec) is list:
            named: Any = ((UNNAMED, vec),)
        elif type(vec) is dict and not is_inference(vec):
            named = vec.items()
        else:
            raise NotBulk
        for name, value in named:
            at, values = per_name.setdefault(name or UNNAMED, ([], []))
            at.append(i)
            values.append(value)
        payload = p.get("payload")
        if payload is not None and type(payload) is not dict:
            raise NotBulk
        payloads.append(payload)
    out: dict[str, columns.Column] = {}
    kinds = config.segment
    for name, (at, values) in per_name.items():
        if name not in config.vectors and name not in config.sparse_vectors:
            raise NotBulk
        if len(set(at)) != len(at):
            raise NotBulk
        has = np.zeros(n, dtype=bool)
        has[at] = True
        kind = kinds.kind(name)
        if kind == "dense":
            out[name] = columns.dense_column(has, _dense(config, name, values))
        elif kind == "sparse":
            col = _sparse(values)
            col["has"] = has
            out[name] = col
        else:
            raise NotBulk  # multivectors: per point
    return ids, payloads, out
