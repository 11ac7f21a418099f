"""What a segment knows about its vectors: distance, datatype, size, multivector, HNSW and
quantization parameters, and the per-segment config that groups them.

Storage owns these shapes (the collection layer composes its config from them), so nothing
under ``segments/`` needs to look upward. The models validate a create request as Qdrant does
and persist unchanged in the collection's ``config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)


class ShapeError(ValueError):
    """A vector that reads fine but breaks a shape rule (Qdrant answers these with a 422
    validation error, not a format error); ``field`` is the part at fault (e.g. ``indices``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Model(BaseModel):
    """Base for config models: unknown fields are ignored, as Qdrant ignores them."""

    model_config = ConfigDict(extra="ignore", use_enum_values=False)


class Distance(StrEnum):
    """Similarity functions; Euclid and Manhattan are distances (smaller is better)."""

    COSINE = "Cosine"
    EUCLID = "Euclid"
    DOT = "Dot"
    MANHATTAN = "Manhattan"

    @property
    def higher_is_better(self) -> bool:
        return self in (Distance.COSINE, Distance.DOT)


class Datatype(StrEnum):
    """Element type a dense vector is stored in (``turbo4``: 4-bit TurboQuant codes, see
    ``segments/vectors/turbo4.py``; dense and multivectors only, not sparse)."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    UINT8 = "uint8"
    TURBO4 = "turbo4"


# --- quantization parameters ----------------------------------------------------------------

QUANTIZATION_KINDS = ("scalar", "binary", "turbo")
"""Quantization methods heron builds; ``product`` (and anything else) is refused."""

MEMORY = ("cold", "cached", "pinned")
"""Qdrant's ``Memory`` placements of quantized vectors (accepted and reported; heron keeps
quantized copies in RAM whatever is asked)."""

TURBO_BITS = ("bits1", "bits1_5", "bits2", "bits4")
"""``turbo`` quantization's bit sizes (Qdrant's ``TurboQuantBitSize``)."""

TURBO_DEFAULT_BITS = "bits4"
"""What a ``turbo`` config without ``bits`` builds (the config itself is echoed as given)."""

TURBO_KEYS = ("always_ram", "memory", "bits")
"""The fields of a ``turbo`` config; others are dropped, as Qdrant drops unknown fields."""


@dataclass(frozen=True)
class QuantizationSpec:
    """What to build for one vector: ``kind`` is ``scalar``, ``binary`` or ``turbo``;
    ``quantile`` is scalar's clipping, ``bits`` turbo's bit size."""

    kind: str
    quantile: float | None = None
    bits: str | None = None


def _flag(section: dict[str, Any], key: str, where: str) -> None:
    """Check that an optional field is a boolean."""
    value = section.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{where}.{key} must be a boolean")


def _variant(section: dict[str, Any], key: str, variants: tuple[str, ...], where: str
             ) -> str | None:
    """Check that an optional field is one of an enum's spellings; returns it."""
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}.{key} must be a string")
    if value is not None and value not in variants:
        listed = ", ".join(f"`{v}`" for v in variants)
        raise ValueError(f"{where}.{key}: unknown variant `{value}`, expected one of {listed}")
    return value


def parse_quantization(raw: Any) -> QuantizationSpec | None:
    """Validate a ``quantization_config`` as Qdrant shapes it; raises ValueError if wrong."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(
            "quantization_config must be an object with exactly one of 'scalar', 'binary' "
            "or 'turbo'"
        )
    kind, section = next(iter(raw.items()))
    if kind == "product":
        raise ValueError(
            "product quantization is not supported; use 'scalar', 'binary' or 'turbo' "
            "quantization"
        )
    if kind not in QUANTIZATION_KINDS:
        raise ValueError(
            f"unknown quantization method {kind!r}; use 'scalar', 'binary' or 'turbo'"
        )
    where = f"quantization_config.{kind}"
    if not isinstance(section, dict):
        raise ValueError(f"{where} must be an object")
    _flag(section, "always_ram", where)
    _variant(section, "memory", MEMORY, where)
    if kind == "turbo":
        bits = _variant(section, "bits", TURBO_BITS, where)
        return QuantizationSpec("turbo", bits=bits or TURBO_DEFAULT_BITS)
    if kind == "binary":
        if section.get("encoding") not in (None, "one_bit"):
            raise ValueError(f"{where}.encoding: only 'one_bit' is supported")
        if section.get("query_encoding") not in (None, "default", "binary"):
            raise ValueError(f"{where}.query_encoding: only 'default' and 'binary' are supported")
        return QuantizationSpec("binary")
    if section.get("type") != "int8":
        raise ValueError(f"{where}.type must be 'int8'")
    quantile = section.get("quantile")
    if quantile is not None:
        if isinstance(quantile, bool) or not isinstance(quantile, int | float):
            raise ValueError(f"{where}.quantile must be a number")
        if not 0.5 <= quantile <= 1.0:
            raise ValueError(f"{where}.quantile must be between 0.5 and 1.0")
        quantile = float(quantile)
    return QuantizationSpec("scalar", quantile)


def _as_stored(value: dict[str, Any]) -> dict[str, Any]:
    """A valid config as it is kept and reported: a ``turbo`` section keeps only its set,
    known fields (what Qdrant writes back); the other methods are kept as given."""
    section = value.get("turbo")
    if not isinstance(section, dict):
        return value
    return {"turbo": {k: section[k] for k in TURBO_KEYS if section.get(k) is not None}}


def check_quantization(value: Any) -> Any:
    """Refuse a quantization config heron can't build (``"Disabled"`` clears one in a diff)."""
    if value is not None and value != "Disabled":
        parse_quantization(value)
        return _as_stored(value)
    return value


QuantizationConfig = Annotated[dict[str, Any] | None, AfterValidator(check_quantization)]
QuantizationConfigDiff = Annotated[
    dict[str, Any] | Literal["Disabled"] | None, AfterValidator(check_quantization)
]


# --- HNSW and vector parameters ---------------------------------------------------------------


class HnswConfig(Model):
    m: StrictInt = Field(16, ge=0)
    ef_construct: StrictInt = Field(100, ge=4)
    full_scan_threshold: StrictInt = Field(10000, ge=0)
    max_indexing_threads: StrictInt = Field(0, ge=0)
    on_disk: StrictBool = False
    payload_m: StrictInt | None = Field(None, ge=0)


class HnswConfigDiff(Model):
    m: StrictInt | None = Field(None, ge=0)
    ef_construct: StrictInt | None = Field(None, ge=4)
    full_scan_threshold: StrictInt | None = Field(None, ge=0)
    max_indexing_threads: StrictInt | None = Field(None, ge=0)
    on_disk: StrictBool | None = None
    payload_m: StrictInt | None = Field(None, ge=0)


class MultiVectorConfig(Model):
    comparator: str

    @field_validator("comparator")
    @classmethod
    def _cmp(cls, v: str) -> str:
        if v != "max_sim":
            raise ValueError("comparator must be 'max_sim'")
        return v


class VectorParams(Model):
    """One named dense vector (or multivector) as configured at creation."""

    size: StrictInt = Field(ge=1, le=65536)
    distance: Distance
    hnsw_config: HnswConfigDiff | None = None
    quantization_config: dict[str, Any] | None = None
    on_disk: StrictBool | None = None
    datatype: Datatype | None = None
    multivector_config: MultiVectorConfig | None = None


class SparseIndexParams(Model):
    full_scan_threshold: StrictInt | None = Field(None, ge=0)
    on_disk: StrictBool | None = None
    datatype: Datatype | None = None


class SparseVectorParams(Model):
    index: SparseIndexParams | None = None
    modifier: str | None = None

    @field_validator("modifier")
    @classmethod
    def _modifier(cls, v: str | None) -> str | None:
        if v not in (None, "none", "idf"):
            raise ValueError("modifier must be 'none' or 'idf'")
        return v


class SegmentConfig(Model):
    """What segments read of a collection's config: its vectors and how to index them."""

    vectors: dict[str, VectorParams] = Field(default_factory=dict)
    sparse_vectors: dict[str, SparseVectorParams] = Field(default_factory=dict)
    hnsw_config: HnswConfig = Field(default_factory=HnswConfig)
    quantization_config: dict[str, Any] | None = None

    def hnsw_for(self, name: str) -> HnswConfig:
        """The HNSW config with vector ``name``'s own overrides applied."""
        own = self.vectors[name].hnsw_config
        if own is None:
            return self.hnsw_config
        return self.hnsw_config.model_copy(update=own.model_dump(exclude_none=True))

    def quantization_for(self, name: str) -> QuantizationSpec | None:
        """The quantization of vector ``name``: its own config wins over the collection's."""
        params = self.vectors.get(name)
        if params is None or params.multivector_config is not None:
            return None
        raw = params.quantization_config
        if raw is None:
            raw = self.quantization_config
        try:
            return parse_quantization(raw)
        except ValueError:  # stored before configs were validated: nothing heron can build
            return None

    def names(self) -> list[str]:
        """Every configured vector name, dense (and multi) first, then sparse."""
        return [*self.vectors, *self.sparse_vectors]

    def kind(self, name: str) -> str:
        """"dense", "multi" or "sparse" for a configured vector name."""
        if name in self.sparse_vectors:
            return "sparse"
        return "multi" if self.vectors[name].multivector_config is not None else "dense"
