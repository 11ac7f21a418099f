"""gRPC message -> the JSON request body heron's REST side takes, walked field by field.

One generic walk covers most messages (set fields only, snake_case names as in the REST API);
the tables below hold the differences: renamed fields, fields merged into their parent, dropped
transport-only fields, messages that are unions (``PointId``, ``Value``, ``Vector``, ``Condition``,
``Match``, selectors ...) and enum spellings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from collection.errors import BadRequest

DROPPED = frozenset({"read_consistency", "ordering", "shard_key_selector", "timeout", "wait"})
"""Fields with no place in the REST body (cluster-only, or sent as query parameters)."""

RENAMES: dict[str, dict[str, str]] = {
    "qdrant.PointStruct": {"vectors": "vector"},
    "qdrant.PointVectors": {"vectors": "vector"},
    "qdrant.DeletePointVectors": {"vectors": "vector"},
    "qdrant.PointsUpdateOperation.DeleteVectors": {"vectors": "vector"},
    "qdrant.GetPoints": {"with_vectors": "with_vector"},
    "qdrant.ScrollPoints": {"with_vectors": "with_vector"},
    "qdrant.QueryPoints": {"with_vectors": "with_vector"},
    "qdrant.QueryPointGroups": {"with_vectors": "with_vector"},
    "qdrant.LookupLocation": {"collection_name": "collection", "vector_name": "vector"},
    "qdrant.FieldCondition": {"datetime_range": "range"},
    "qdrant.PointsUpdateOperation": {"delete_points": "delete"},
    "qdrant.CreateCollection": {"vectors_config": "vectors", "sparse_vectors_config": "sparse_vectors"},
    "qdrant.UpdateCollection": {"vectors_config": "vectors", "sparse_vectors_config": "sparse_vectors"},
    "qdrant.Formula": {"expression": "formula"},
    "qdrant.CreateVectorNameRequest": {"dense_config": "dense", "sparse_config": "sparse"},
    "qdrant.SearchPointGroups": {"vector_name": "using", "with_vectors": "with_vector"},
}

FLATTENED: dict[str, tuple[str, ...]] = {
    "qdrant.DeletePoints": ("points",),
    "qdrant.ClearPayloadPoints": ("points",),
    "qdrant.SetPayloadPoints": ("points_selector",),
    "qdrant.DeletePayloadPoints": ("points_selector",),
    "qdrant.DeletePointVectors": ("points_selector",),
    "qdrant.PointsUpdateOperation.SetPayload": ("points_selector",),
    "qdrant.PointsUpdateOperation.OverwritePayload": ("points_selector",),
    "qdrant.PointsUpdateOperation.DeletePayload": ("points_selector",),
    "qdrant.PointsUpdateOperation.DeleteVectors": ("points_selector",),
    "qdrant.PointsUpdateOperation.DeletePoints": ("points",),
    "qdrant.PointsUpdateOperation.ClearPayload": ("points",),
}
"""Fields whose (object) value is merged into the parent: a selector's ``points`` / ``filter``."""


ENUM_SPELLING: dict[str, Callable[[str], str | None]] = {
    "qdrant.Distance": lambda name: None if name == "UnknownDistance" else name,
    "qdrant.FieldType": lambda name: name.removeprefix("FieldType").lower(),
}

_NO_VALUE = frozenset({"Default", "UnknownDistance", "UnknownType", "UnknownQuantization",
                       "MemoryUnknown", "Unknown"})
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


def enum_json(enum: EnumDescriptor, number: int) -> str | None:
    """An enum value as the REST API spells it (``None`` for "unset" values such as Default)."""
    value = enum.values_by_number.get(number)
    if value is None:
        raise BadRequest(f"Wrong input: unknown value {number} of {enum.name}")
    spell = ENUM_SPELLING.get(enum.full_name)
    if spell is not None:
        return spell(value.name)
    return None if value.name in _NO_VALUE else snake(value.name)


def to_json(msg: Any) -> Any:
    """Any message as its REST form."""
    special = UNIONS.get(msg.DESCRIPTOR.full_name)
    if special is not None:
        return special(msg)
    return fields_json(msg)


def fields_json(msg: Any) -> dict[str, Any]:
    """The set fields of ``msg`` as a JSON object, after the table's renames and merges."""
    name = msg.DESCRIPTOR.full_name
    renames = RENAMES.get(name, {})
    out: dict[str, Any] = dict(implicit_zeros(msg.DESCRIPTOR))
    for fd, value in msg.ListFields():
        if fd.name in DROPPED:
            continue
        converted = field_json(fd, value)
        if converted is not None:
            out[renames.get(fd.name, fd.name)] = converted
    for field in FLATTENED.get(name, ()):
        inner = out.pop(field, None)
        if isinstance(inner, dict):
            out.update(inner)
    return out


@cache
def implicit_zeros(descriptor: Descriptor) -> dict[str, Any]:
    """The REST values of the message's numbers, bools and enums without presence: proto3 does
    not send a zero (``lon: 0``, ``comparator: MaxSim``), but REST needs the field."""
    renames = RENAMES.get(descriptor.full_name, {})
    out: dict[str, Any] = {}
    for fd in descriptor.fields:
        if fd.has_presence or fd.is_repeated or fd.name in DROPPED:
            continue
        if fd.type == FieldDescriptor.TYPE_ENUM:
            zero = enum_json(fd.enum_type, 0)
        elif fd.type == FieldDescriptor.TYPE_BOOL:
            zero = False
        elif fd.type in _NUMBERS:
            zero = 0
        else:
            continue
        if zero is not None:
            out[renames.get(fd.name, fd.name)] = zero
    return out


def field_json(fd: FieldDescriptor, value: Any) -> Any:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        value_fd = fd.message_type.fields_by_name["value"]
        return {k: single_json(value_fd, v) for k, v in value.items()}
    if fd.is_repeated:
        if fd.type in _NUMBERS:
            return list(value)
        return [single_json(fd, v) for v in value]
    return single_json(fd, value)


_NUMBERS = frozenset({FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE,
                      FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64,
                      FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32})


def single_json(fd: FieldDescriptor, value: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return to_json(value)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return enum_json(fd.enum_type, value)
    if fd.type == FieldDescriptor.TYPE_FLOAT:
        return float32_json(value)
    return value


def float32_json(value: float) -> float:
    """A float32 scalar (a threshold, a weight) as the shortest decimal that is that float32:
    ``0.2``, not ``0.20000000298``, so it compares with scores as the client meant."""
    return float(str(np.float32(value)))


def _which(msg: Any, oneof: str) -> tuple[str | None, Any]:
    name = msg.WhichOneof(oneof)
    return name, (None if name is None else getattr(msg, name))


def _oneof_value(oneof: str) -> Callable[[Any], Any]:
    """A union whose REST form is just the chosen member's value (``PointId``, ``StartFrom``)."""

    def convert(msg: Any) -> Any:
        name, value = _which(msg, oneof)
        if name is None:
            return None
        return single_json(msg.DESCRIPTOR.fields_by_name[name], value)

    return convert


def _only(field: str) -> Callable[[Any], Any]:
    """A wrapper message whose REST form is its one (list) field."""

    def convert(msg: Any) -> Any:
        return field_json(msg.DESCRIPTOR.fields_by_name[field], getattr(msg, field))

    return convert


def value_json(msg: Any) -> Any:
    """``qdrant.Value`` as plain JSON (integers stay integers)."""
    kind = msg.WhichOneof("kind")
    if kind == "struct_value":
        return {k: value_json(v) for k, v in msg.struct_value.fields.items()}
    if kind == "list_value":
        return [value_json(v) for v in msg.list_value.values]
    if kind is None or kind == "null_value":
        return None
    return getattr(msg, kind)


def timestamp_json(msg: Any) -> str:
    when = datetime.fromtimestamp(msg.seconds, tz=UTC).replace(microsecond=msg.nanos // 1000)
    return when.isoformat().replace("+00:00", "Z")


def vector_json(msg: Any) -> Any:
    """``qdrant.Vector``: the oneof forms, or the legacy ``data`` / ``indices`` / ``vectors_count``."""
    name, value = _which(msg, "vector")
    if name == "dense":
        return list(value.data)
    if name == "sparse":
        return {"indices": list(value.indices), "values": list(value.values)}
    if name == "multi_dense":
        return [list(v.data) for v in value.vectors]
    if name is not None:
        return to_json(value)
    data = list(msg.data)
    if msg.HasField("indices"):
        return {"indices": list(msg.indices.data), "values": data}
    if msg.HasField("vectors_count") and msg.vectors_count > 1:
        count = msg.vectors_count
        if len(data) % count:
            raise BadRequest(
                f"Wrong input: {len(data)} numbers do not split into {count} vectors"
            )
        dim = len(data) // count
        return [data[i : i + dim] for i in range(0, len(data), dim)]
    return data


def vectors_json(msg: Any) -> Any:
    name, value = _which(msg, "vectors_options")
    if name == "vector":
        return vector_json(value)
    if name == "vectors":
        return {k: vector_json(v) for k, v in value.vectors.items()}
    return {}


def vector_input_json(msg: Any) -> Any:
    name, value = _which(msg, "variant")
    if name is None:
        raise BadRequest("Wrong input: VectorInput without a variant")
    if name == "id":
        return to_json(value)
    return vector_json_of(name, value)


def vector_json_of(kind: str, value: Any) -> Any:
    if kind == "dense":
        return list(value.data)
    if kind == "sparse":
        return {"indices": list(value.indices), "values": list(value.values)}
    if kind == "multi_dense":
        return [list(v.data) for v in value.vectors]
    return to_json(value)


def with_payload_json(msg: Any) -> Any:
    name, value = _which(msg, "selector_options")
    if name == "enable":
        return value
    if name == "include":
        return list(value.fields)
    if name == "exclude":
        return {"exclude": list(value.fields)}
    return None


def with_vectors_json(msg: Any) -> Any:
    name, value = _which(msg, "selector_options")
    if name == "enable":
        return value
    if name == "include":
        return list(value.names)
    return None


def points_selector_json(msg: Any) -> dict[str, Any]:
    name, value = _which(msg, "points_selector_one_of")
    if name == "points":
        return {"points": [to_json(i) for i in value.ids]}
    if name == "filter":
        return {"filter": to_json(value)}
    return {}


def condition_json(msg: Any) -> Any:
    name, value = _which(msg, "condition_one_of")
    if name is None:
        raise BadRequest("Wrong input: Condition without a variant")
    if name in ("field", "filter"):
        return to_json(value)
    if name == "has_id":
        return {"has_id": [to_json(i) for i in value.has_id]}
    if name == "has_vector":
        return {"has_vector": value.has_vector}
    return {name: to_json(value)}


_MATCH_KEYS = {
    "keyword": "value", "integer": "value", "boolean": "value", "keywords": "any",
    "integers": "any", "except_integers": "except", "except_keywords": "except",
}


def match_json(msg: Any) -> dict[str, Any]:
    name, value = _which(msg, "match_value")
    if name is None:
        raise BadRequest("Wrong input: Match without a value")
    if name in ("keywords", "except_keywords"):
        value = list(value.strings)
    elif name in ("integers", "except_integers"):
        value = list(value.integers)
    return {_MATCH_KEYS.get(name, name): value}


def query_json(msg: Any) -> Any:
    name, value = _which(msg, "variant")
    if name is None:
        raise BadRequest("Wrong input: Query without a variant")
    if name == "nearest":
        return {"nearest": to_json(value)}
    if name == "nearest_with_mmr":
        return {"nearest": to_json(value.nearest), "mmr": to_json(value.mmr)}
    if name == "formula":
        return to_json(value)
    return {name: single_json(msg.DESCRIPTOR.fields_by_name[name], value)}


def expression_json(msg: Any) -> Any:
    name, value = _which(msg, "variant")
    if name is None:
        raise BadRequest("Wrong input: Expression without a variant")
    if name in ("constant", "variable"):
        return value
    if name == "condition":
        return to_json(value)
    return {name: single_json(msg.DESCRIPTOR.fields_by_name[name], value)}


def payload_index_json(msg: Any) -> dict[str, Any]:
    """``PayloadIndexParams`` -> ``{"type": "keyword", ...}``."""
    name, value = _which(msg, "index_params")
    if name is None:
        return {}
    return {"type": name.removesuffix("_index_params"), **to_json(value)}


def stemmer_json(msg: Any) -> dict[str, Any] | None:
    """``StemmingAlgorithm`` -> REST's ``{"type": "snowball", "language": ...}`` (or none)."""
    name, value = _which(msg, "stemming_params")
    if name == "snowball":
        return {"type": "snowball", **to_json(value)}
    return {"type": "none"} if name == "disabled" else None


QUANTIZATION_KINDS = {"turboquant": "turbo"}
"""gRPC's quantization oneof members whose REST key differs (REST ``turbo``)."""


def quantization_json(msg: Any) -> Any:
    name, value = _which(msg, "quantization")
    if name is None:
        return None
    if name == "disabled":
        return "Disabled"
    return {QUANTIZATION_KINDS.get(name, name): to_json(value)}


def vectors_config_json(msg: Any) -> Any:
    name, value = _which(msg, "config")
    if name == "params":
        return to_json(value)
    if name == "params_map":
        return {k: to_json(v) for k, v in value.map.items()}
    return None


def max_threads_json(msg: Any) -> Any:
    name, value = _which(msg, "variant")
    return value if name == "value" else None


UNIONS: dict[str, Callable[[Any], Any]] = {
    "qdrant.PointId": _oneof_value("point_id_options"),
    "qdrant.Value": value_json,
    "qdrant.Struct": lambda msg: {k: value_json(v) for k, v in msg.fields.items()},
    "qdrant.ListValue": lambda msg: [value_json(v) for v in msg.values],
    "google.protobuf.Timestamp": timestamp_json,
    "qdrant.Vector": vector_json,
    "qdrant.Vectors": vectors_json,
    "qdrant.VectorInput": vector_input_json,
    "qdrant.VectorsSelector": _only("names"),
    "qdrant.WithPayloadSelector": with_payload_json,
    "qdrant.WithVectorsSelector": with_vectors_json,
    "qdrant.PointsSelector": points_selector_json,
    "qdrant.PointsIdsList": _only("ids"),
    "qdrant.Condition": condition_json,
    "qdrant.HasIdCondition": _only("has_id"),
    "qdrant.Match": match_json,
    "qdrant.StartFrom": _oneof_value("value"),
    "qdrant.Query": query_json,
    "qdrant.ContextInput": _only("pairs"),
    "qdrant.Expression": expression_json,
    "qdrant.MultExpression": _only("mult"),
    "qdrant.SumExpression": _only("sum"),
    "qdrant.PayloadIndexParams": payload_index_json,
    "qdrant.StemmingAlgorithm": stemmer_json,
    "qdrant.QuantizationConfig": quantization_json,
    "qdrant.QuantizationConfigDiff": quantization_json,
    "qdrant.VectorsConfig": vectors_config_json,
    "qdrant.VectorsConfigDiff": vectors_config_json,
    "qdrant.SparseVectorConfig": lambda msg: {k: to_json(v) for k, v in msg.map.items()},
    "qdrant.MaxOptimizationThreads": max_threads_json,
    "qdrant.TargetVector": _oneof_value("target"),
    "qdrant.ShardKey": _oneof_value("key"),
    "qdrant.VectorExample": _oneof_value("example"),
}
"""Messages whose REST form is not a plain object of their fields."""
