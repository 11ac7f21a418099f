"""Vector storages and their scoring, one module per vector kind, and how to pick one.

Every storage has the same shape: ``present``, ``ensure_capacity``, ``put``, ``remove``,
``get``, ``search(query, candidates, top)``, ``score_offsets(query, offsets)``,
``higher_is_better`` and ``snapshot(size)``; a sparse query is an ``(indices, values)`` pair.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segments.types import SegmentConfig
from segments.vectors.dense import DenseVectors
from segments.vectors.multi import MultiVectors
from segments.vectors.sparse import SparseVectors

VectorStorage = DenseVectors | MultiVectors | SparseVectors


def make_storage(config: SegmentConfig, name: str, capacity: int = 0) -> VectorStorage:
    """An empty storage for vector ``name`` as configured."""
    kind = config.kind(name)
    if kind == "sparse":
        return SparseVectors(capacity)
    p = config.vectors[name]
    if kind == "multi":
        return MultiVectors(p.size, p.distance, p.datatype, capacity)
    return DenseVectors(p.size, p.distance, p.datatype, capacity)


def restore_storage(
    config: SegmentConfig, name: str, arrays: dict[str, np.ndarray], size: int
) -> VectorStorage:
    """The storage of vector ``name`` rebuilt from its snapshot arrays."""
    kind = config.kind(name)
    if kind == "sparse":
        return SparseVectors.restore(arrays, size)
    p = config.vectors[name]
    cls: Any = MultiVectors if kind == "multi" else DenseVectors
    return cls.restore(arrays, size, p.size, p.distance, p.datatype)


def storage_item(value: Any) -> Any:
    """A vector in its JSON form (a record's value, fresh or replayed, or what ``get``
    returns) as a storage's ``put`` takes it: an ``(indices, values)`` pair for sparse,
    a float32 array (1-d dense, 2-d multivector) otherwise."""
    if isinstance(value, dict):
        return (
            np.asarray(value["indices"], dtype=np.int64),
            np.asarray(value["values"], dtype=np.float32),
        )
    return np.asarray(value, dtype=np.float32)

