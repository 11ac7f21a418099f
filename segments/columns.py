"""Columnar upsert batches: the vectors of many points as a few numpy arrays per vector name.

An upsert record (see ``wal.records``) carries ``ids``, ``payloads`` and ``vectors``: for each
vector name a *column*, a plain dict so the WAL can store its arrays as raw bytes:

- ``{"kind": "dense", "has": bool[n], "rows": float32[m, dim]}``
- ``{"kind": "sparse", "has": bool[n], "lengths": int64[m], "indices": uint32[t],
  "values": float32[t]}`` (each row's indices ascending and unique)
- ``{"kind": "multi", "has": bool[n], "counts": int64[m], "rows": float32[r, dim]}``

``has[i]`` says whether point i of the batch holds that vector; rows are those of the points
that do, in batch order. Columns are sliced by point (``take``) and stored (``put``) in bulk,
so no per-point Python work is done between the request and the segment's arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segments.vectors import storage_item
from segments.vectors.sparse import gather_positions

Column = dict[str, Any]

def dense_column(has: np.ndarray, rows: np.ndarray) -> Column:
    return {"kind": "dense", "has": has, "rows": rows}


def sparse_column(
    has: np.ndarray, lengths: np.ndarray, indices: np.ndarray, values: np.ndarray
) -> Column:
    return {"kind": "sparse", "has": has, "lengths": lengths, "indices": indices,
            "values": values}


def multi_column(has: np.ndarray, counts: np.ndarray, rows: np.ndarray) -> Column:
    return {"kind": "multi", "has": has, "counts": counts, "rows": rows}


def column_of_items(items: list[Any], has: np.ndarray, dim: int | None = None) -> Column:
    """A column from per-point storage items (``segments.vectors.storage_item`` values: an
    ``(indices, values)`` pair, a 1-d dense row or a 2-d multivector)."""
    if items and isinstance(items[0], tuple):
        lengths = np.fromiter((len(ix) for ix, _ in items), dtype=np.int64, count=len(items))
        indices = np.concatenate([np.asarray(ix, dtype=np.int64) for ix, _ in items]).astype(
            np.uint32  # checked u32 indices, stored as the sparse storage keeps them
        )
        values = np.concatenate([np.asarray(vs, dtype=np.float32) for _, vs in items])
        return sparse_column(has, lengths, indices, values)
    if items and np.ndim(items[0]) == 2:
        mats = [np.asarray(m, dtype=np.float32) for m in items]
        counts = np.fromiter((len(m) for m in mats), dtype=np.int64, count=len(mats))
        return multi_column(has, counts, np.concatenate(mats))
    rows = np.asarray(items, dtype=np.float32)
    return dense_column(has, rows.reshape(len(items), -1 if items else (dim or 0)))


def columns_of_points(points: list[dict[str, Any]], names: list[str]) -> dict[str, Column]:
    """Columns (for the vector names given) of points in the JSON record form
    ``{"id", "vector": {name: value}, "payload"}`` (format-1 WAL records, moved points)."""
    out: dict[str, Column] = {}
    for name in names:
        has = np.fromiter((name in (p.get("vector") or {}) for p in points), dtype=bool,
                          count=len(points))
        if has.any():
            items = [storage_item(p["vector"][name]) for p in points if name in p["vector"]]
            out[name] = column_of_items(items, has)
    return out


def upsert_parts(
    record: dict[str, Any], names: list[str]
) -> tuple[list[Any], list[Any], dict[str, Column]]:
    """(ids, payloads, columns) of an upsert record, columnar or in the per-point form."""
    if "points" in record:
        points = record["points"]
        return ([p["id"] for p in points], [p.get("payload") for p in points],
                columns_of_points(points, names))
    ids = list(record["ids"])
    payloads = record.get("payloads")
    return ids, (list(payloads) if payloads is not None else [None] * len(ids)), dict(
        record.get("vectors") or {}
    )


def _row_positions(has: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For batch positions ``idx``: which of them hold the vector, and their row numbers."""
    sub_has = has[idx]
    rank = np.cumsum(has) - 1
    return sub_has, rank[idx[sub_has]]


def take(col: Column, idx: np.ndarray) -> Column:
    """The column of the points at batch positions ``idx`` (in that order)."""
    has = np.asarray(col["has"], dtype=bool)
    if len(idx) == len(has) and np.array_equal(idx, np.arange(len(has))):
        return col
    sub_has, rows = _row_positions(has, idx)
    kind = col["kind"]
    if kind == "dense":
        return dense_column(sub_has, col["rows"][rows])
    lengths_key = "lengths" if kind == "sparse" else "counts"
    lengths = np.asarray(col[lengths_key], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    pos = gather_positions(starts[rows], lengths[rows])
    if kind == "sparse":
        return sparse_column(sub_has, lengths[rows], col["indices"][pos], col["values"][pos])
    return multi_column(sub_has, lengths[rows], col["rows"][pos])


def put(store: Any, offsets: np.ndarray, col: Column) -> None:
    """Store a column's rows at ``offsets`` (one per row, i.e. per point that has it)."""
    kind = col["kind"]
    if kind == "dense":
        store.put(offsets, col["rows"])
    elif kind == "sparse":
        store.put_flat(offsets, col["lengths"], col["indices"], col["values"])
    else:
        store.put_flat(offsets, col["counts"], col["rows"])


__all__ = ["Column", "column_of_items", "columns_of_points", "put", "take", "upsert_parts"]
