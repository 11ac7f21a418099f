"""A collection's configuration: vectors, HNSW, optimizer and WAL settings, as Qdrant shapes them.

The same models validate a create request, answer ``GET /collections/{name}`` and persist to
``config.json`` beside the collection's data, so what a client sends is what it reads back.

The vector-level shapes (distance, datatype, HNSW, quantization, vector params) belong to
storage and come from ``segments.types``; they are re-exported here for callers' convenience.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, StrictBool, StrictInt, field_validator

from collection.errors import invalid
from segments.types import (
    Datatype,
    Distance,
    HnswConfig,
    HnswConfigDiff,
    Model,
    MultiVectorConfig,
    QuantizationConfig,
    QuantizationConfigDiff,
    SegmentConfig,
    SparseIndexParams,
    SparseVectorParams,
    VectorParams,
    check_quantization,
)

UNNAMED = ""
"""Internal name of the default (unnamed) dense vector."""

SPARSE_TURBO4 = "turbo4 datatype is not supported for sparse vectors"
"""Why a sparse vector can't be ``turbo4``: its 4-bit codes quantize dense rows only."""


def check_sparse_datatypes(sparse: dict[str, SparseVectorParams] | None, where: str) -> None:
    """Refuse ``turbo4`` as a sparse index's datatype (a 422 at ``<where>.<name>.index.datatype``)."""
    for name, params in (sparse or {}).items():
        if params.index is not None and params.index.datatype is Datatype.TURBO4:
            raise invalid(f"{where}.{name}.index.datatype", SPARSE_TURBO4)


AUTO_SEGMENT_KB_PER_CPU = 256_000
"""With ``max_segment_size`` unset, a segment may hold this many KB of dense vectors per CPU
(Qdrant picks the limit from the CPU count too): ~1M 128-d float32 vectors on 2 cores."""


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not every platform has affinity
        return max(1, os.cpu_count() or 1)


class OptimizersConfig(Model):
    deleted_threshold: float = Field(0.2, ge=0, le=1)
    vacuum_min_vector_number: StrictInt = Field(1000, ge=0)
    default_segment_number: StrictInt = Field(0, ge=0)
    max_segment_size: StrictInt | None = Field(None, ge=1)
    memmap_threshold: StrictInt | None = Field(None, ge=0)
    indexing_threshold: StrictInt | None = Field(10000, ge=0)
    flush_interval_sec: StrictInt = Field(5, ge=0)
    max_optimization_threads: StrictInt | None = Field(None, ge=0)

    def segment_number(self) -> int:
        """The number of indexed segments the optimizer aims at (0 = auto: the CPU count,
        so a search spreads its segments evenly over the cores)."""
        return self.default_segment_number or cpus()

    def max_segment_kb(self) -> int:
        """KB of dense vectors a segment may grow to by merges (unset = auto, by CPUs)."""
        return self.max_segment_size or AUTO_SEGMENT_KB_PER_CPU * cpus()


class OptimizersConfigDiff(Model):
    deleted_threshold: float | None = Field(None, ge=0, le=1)
    vacuum_min_vector_number: StrictInt | None = Field(None, ge=0)
    default_segment_number: StrictInt | None = Field(None, ge=0)
    max_segment_size: StrictInt | None = Field(None, ge=1)
    memmap_threshold: StrictInt | None = Field(None, ge=0)
    indexing_threshold: StrictInt | None = Field(None, ge=0)
    flush_interval_sec: StrictInt | None = Field(None, ge=0)
    max_optimization_threads: int | str | None = None

    @field_validator("max_optimization_threads")
    @classmethod
    def _threads(cls, v: int | str | None) -> int | None:
        if v == "auto":
            return None
        if isinstance(v, str):
            raise ValueError("max_optimization_threads must be an integer or 'auto'")
        if v is not None and v < 0:
            raise ValueError("max_optimization_threads must be >= 0")
        return v


class WalConfig(Model):
    wal_capacity_mb: StrictInt = Field(32, ge=1)
    wal_segments_ahead: StrictInt = Field(0, ge=0)


class WalConfigDiff(Model):
    wal_capacity_mb: StrictInt | None = Field(None, ge=1)
    wal_segments_ahead: StrictInt | None = Field(None, ge=0)


class VectorParamsDiff(Model):
    hnsw_config: HnswConfigDiff | None = None
    quantization_config: QuantizationConfigDiff = None
    on_disk: StrictBool | None = None


def _diff_into(base: Model, diff: Model | None) -> Model:
    """Return ``base`` with every field set in ``diff`` replaced."""
    if diff is None:
        return base
    changes = {k: v for k, v in diff.model_dump(exclude_none=True).items()}
    return base.model_copy(update=changes)


class CollectionConfig(Model):
    """Everything persisted about a collection except its data."""

    vectors: dict[str, VectorParams] = Field(default_factory=dict)
    vectors_unnamed: StrictBool = False
    sparse_vectors: dict[str, SparseVectorParams] = Field(default_factory=dict)
    shard_number: StrictInt = 1
    replication_factor: StrictInt = 1
    write_consistency_factor: StrictInt = 1
    on_disk_payload: StrictBool = True
    hnsw_config: HnswConfig = Field(default_factory=HnswConfig)
    optimizer_config: OptimizersConfig = Field(default_factory=OptimizersConfig)
    wal_config: WalConfig = Field(default_factory=WalConfig)
    quantization_config: dict[str, Any] | None = None
    strict_mode_config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def vector(self, name: str) -> VectorParams | None:
        return self.vectors.get(name)

    @property
    def segment(self) -> SegmentConfig:
        """The part segments read (vectors, HNSW, quantization), sharing this config's values."""
        return SegmentConfig.model_construct(
            vectors=self.vectors,
            sparse_vectors=self.sparse_vectors,
            hnsw_config=self.hnsw_config,
            quantization_config=self.quantization_config,
        )

    def params_json(self) -> dict[str, Any]:
        """CollectionParams as Qdrant answers it."""
        vectors: Any
        if self.vectors_unnamed:
            vectors = _vector_json(self.vectors[UNNAMED])
        else:
            vectors = {name: _vector_json(p) for name, p in self.vectors.items()}
        out: dict[str, Any] = {
            "vectors": vectors,
            "shard_number": self.shard_number,
            "replication_factor": self.replication_factor,
            "write_consistency_factor": self.write_consistency_factor,
            "on_disk_payload": self.on_disk_payload,
        }
        if self.sparse_vectors:
            out["sparse_vectors"] = {
                name: p.model_dump(mode="json", exclude_none=True)
                for name, p in self.sparse_vectors.items()
            }
        return out

    def to_json(self) -> dict[str, Any]:
        """CollectionConfig as Qdrant answers it in CollectionInfo."""
        out: dict[str, Any] = {
            "params": self.params_json(),
            "hnsw_config": self.hnsw_config.model_dump(mode="json", exclude_none=True),
            "optimizer_config": self.optimizer_config.model_dump(mode="json"),
            "wal_config": self.wal_config.model_dump(mode="json"),
            "quantization_config": self.quantization_config,
        }
        if self.strict_mode_config is not None:
            out["strict_mode_config"] = self.strict_mode_config
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out


def _vector_json(p: VectorParams) -> dict[str, Any]:
    return p.model_dump(mode="json", exclude_none=True)


class CreateCollection(Model):
    """Body of ``PUT /collections/{name}``."""

    vectors: VectorParams | dict[str, VectorParams] | None = None
    shard_number: StrictInt | None = Field(None, ge=1)
    replication_factor: StrictInt | None = Field(None, ge=1)
    write_consistency_factor: StrictInt | None = Field(None, ge=1)
    on_disk_payload: StrictBool | None = None
    hnsw_config: HnswConfigDiff | None = None
    wal_config: WalConfigDiff | None = None
    optimizers_config: OptimizersConfigDiff | None = None
    quantization_config: QuantizationConfig = None
    sparse_vectors: dict[str, SparseVectorParams] | None = None
    strict_mode_config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def to_config(self) -> CollectionConfig:
        cfg = CollectionConfig()
        if isinstance(self.vectors, VectorParams):
            cfg.vectors = {UNNAMED: self.vectors}
            cfg.vectors_unnamed = True
        elif self.vectors:
            for name in self.vectors:
                if not name:
                    raise ValueError("vector name must not be empty")
            cfg.vectors = dict(self.vectors)
        for params in cfg.vectors.values():
            params.quantization_config = check_quantization(params.quantization_config)
        check_sparse_datatypes(self.sparse_vectors, "sparse_vectors")
        cfg.sparse_vectors = dict(self.sparse_vectors or {})
        both = set(cfg.vectors) & set(cfg.sparse_vectors)
        if both:
            raise ValueError(f"vector name {sorted(both)[0]!r} is both dense and sparse")
        for key in ("shard_number", "replication_factor", "write_consistency_factor",
                    "on_disk_payload", "quantization_config", "strict_mode_config", "metadata"):
            value = getattr(self, key)
            if value is not None:
                setattr(cfg, key, value)
        cfg.hnsw_config = _diff_into(cfg.hnsw_config, self.hnsw_config)  # type: ignore[assignment]
        cfg.wal_config = _diff_into(cfg.wal_config, self.wal_config)  # type: ignore[assignment]
        cfg.optimizer_config = _diff_into(  # type: ignore[assignment]
            cfg.optimizer_config, self.optimizers_config
        )
        return cfg


class CollectionParamsDiff(Model):
    replication_factor: StrictInt | None = Field(None, ge=1)
    write_consistency_factor: StrictInt | None = Field(None, ge=1)
    on_disk_payload: StrictBool | None = None


class UpdateCollection(Model):
    """Body of ``PATCH /collections/{name}``: what applies is merged into the config."""

    vectors: dict[str, VectorParamsDiff] | None = None
    optimizers_config: OptimizersConfigDiff | None = None
    params: CollectionParamsDiff | None = None
    hnsw_config: HnswConfigDiff | None = None
    quantization_config: QuantizationConfigDiff = None
    sparse_vectors: dict[str, SparseVectorParams] | None = None
    strict_mode_config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def apply_to(self, cfg: CollectionConfig) -> CollectionConfig:
        """Return a new config with this diff applied; unknown vector names are errors."""
        new = cfg.model_copy(deep=True)
        for name, diff in (self.vectors or {}).items():
            key = UNNAMED if (name == "" and new.vectors_unnamed) else name
            params = new.vectors.get(key)
            if params is None:
                raise KeyError(name)
            if diff.hnsw_config is not None:
                base = params.hnsw_config or HnswConfigDiff()
                params.hnsw_config = _diff_into(base, diff.hnsw_config)  # type: ignore[assignment]
            if diff.quantization_config is not None:
                disabled = diff.quantization_config == "Disabled"
                params.quantization_config = None if disabled else diff.quantization_config  # type: ignore[assignment]
            if diff.on_disk is not None:
                params.on_disk = diff.on_disk
        for name, sparse in (self.sparse_vectors or {}).items():
            if name not in new.sparse_vectors:
                raise KeyError(name)
            old = new.sparse_vectors[name]
            index = old.index
            if sparse.index is not None:
                index = _diff_into(old.index or SparseIndexParams(), sparse.index)  # type: ignore[assignment]
            new.sparse_vectors[name] = SparseVectorParams(
                index=index,
                modifier=sparse.modifier if sparse.modifier is not None else old.modifier,
            )
        if self.params is not None:
            for key, value in self.params.model_dump(exclude_none=True).items():
                setattr(new, key, value)
        new.hnsw_config = _diff_into(new.hnsw_config, self.hnsw_config)  # type: ignore[assignment]
        new.optimizer_config = _diff_into(  # type: ignore[assignment]
            new.optimizer_config, self.optimizers_config
        )
        if self.quantization_config is not None:
            disabled = self.quantization_config == "Disabled"
            new.quantization_config = None if disabled else self.quantization_config  # type: ignore[assignment]
        if self.strict_mode_config is not None:
            new.strict_mode_config = self.strict_mode_config
        if self.metadata is not None:
            new.metadata = {**(new.metadata or {}), **self.metadata}
        return new


__all__ = [
    "UNNAMED",
    "check_sparse_datatypes",
    "CollectionConfig",
    "CreateCollection",
    "Datatype",
    "Distance",
    "HnswConfig",
    "HnswConfigDiff",
    "MultiVectorConfig",
    "OptimizersConfig",
    "OptimizersConfigDiff",
    "QuantizationConfig",
    "QuantizationConfigDiff",
    "SparseIndexParams",
    "SparseVectorParams",
    "UpdateCollection",
    "VectorParams",
    "VectorParamsDiff",
    "WalConfig",
    "WalConfigDiff",
]
