"""Named vectors created on or deleted from a live collection (Qdrant 1.19's
``PUT`` / ``DELETE /collections/{c}/vectors/{name}``): the request body and the config change.

Only what defines a vector space is given (size, distance, multivector comparator, datatype;
modifier for sparse); storage, index and quantization follow the collection's defaults.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt, model_validator

from collection.config import UNNAMED, CollectionConfig
from collection.errors import BadRequest
from segments.types import (
    Datatype,
    Distance,
    Model,
    MultiVectorConfig,
    SparseIndexParams,
    SparseVectorParams,
    VectorParams,
)

MAX_DENSE_SIZE = 65536


class DenseVectorConfig(Model):
    size: StrictInt = Field(ge=1, le=MAX_DENSE_SIZE)
    distance: Distance
    multivector_config: MultiVectorConfig | None = None
    datatype: Datatype | None = None


class SparseVectorConfig(Model):
    modifier: str | None = None
    datatype: Datatype | None = None


class VectorNameConfig(Model):
    """``{"dense": {...}}`` or ``{"sparse": {...}}``."""

    dense: DenseVectorConfig | None = None
    sparse: SparseVectorConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> VectorNameConfig:
        if (self.dense is None) == (self.sparse is None):
            raise ValueError("expected exactly one of `dense` or `sparse`")
        return self


def with_vector(config: CollectionConfig, name: str, spec: VectorNameConfig) -> CollectionConfig:
    """``config`` with vector ``name`` added; refused when the name is taken."""
    if not name:
        raise BadRequest("Wrong input: vector name must not be empty")
    if name in config.vectors or name in config.sparse_vectors:
        raise BadRequest(f"Wrong input: Vector with name `{name}` already exists")
    new = config.model_copy(deep=True)
    if spec.dense is not None:
        new.vectors[name] = VectorParams(**spec.dense.model_dump(exclude_none=True))
        new.vectors_unnamed = False  # the default vector (if any) is now "" among names
    else:
        assert spec.sparse is not None
        modifier: Any = spec.sparse.modifier
        datatype = spec.sparse.datatype
        index = None if datatype is None else SparseIndexParams(datatype=datatype)
        new.sparse_vectors[name] = SparseVectorParams(modifier=modifier, index=index)
    return new


def without_vector(config: CollectionConfig, name: str) -> CollectionConfig:
    """``config`` without vector ``name``; refused when there is no such vector."""
    if name not in config.vectors and name not in config.sparse_vectors or name == UNNAMED:
        raise BadRequest(f"Wrong input: Not existing vector name error: {name}")
    new = config.model_copy(deep=True)
    new.vectors.pop(name, None)
    new.sparse_vectors.pop(name, None)
    return new
