"""heron's JSON results -> gRPC reply messages, filled field by field.

The generic fill sets each JSON key on the field of the same name (after the table's renames);
keys the message has no field for are left out. Unions (``PointId``, ``Value``, vectors, group
ids, order values, configs ...) have their own fill functions. Enums are matched by spelling
(``"Cosine"``, ``"float32"``, ``"max_sim"``, ``"keyword"`` ...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor

RENAMES: dict[str, dict[str, str]] = {
    "qdrant.ScoredPoint": {"vector": "vectors"},
    "qdrant.RetrievedPoint": {"vector": "vectors"},
    "qdrant.CollectionConfig": {"optimizers_config": "optimizer_config"},
    "qdrant.CollectionParams": {"vectors": "vectors_config", "sparse_vectors": "sparse_vectors_config"},
}

_INT64_MAX = 2**63 - 1


def _key(name: str) -> str:
    return name.replace("_", "").lower()


@cache
def _enum_numbers(enum: EnumDescriptor) -> dict[str, int]:
    """Spellings -> numbers: the value's own name, and with a FieldType-like prefix stripped."""
    out: dict[str, int] = {}
    for value in enum.values:
        out[_key(value.name)] = value.number
        out[_key(value.name.removeprefix(enum.name))] = value.number
    return out


def enum_number(enum: EnumDescriptor, value: Any) -> int:
    if isinstance(value, int):
        return value
    return _enum_numbers(enum).get(_key(str(value)), 0)


def fill(msg: Any, data: Any) -> Any:
    """Fill ``msg`` from ``data`` (JSON-like) and return it."""
    name = msg.DESCRIPTOR.full_name
    special = FILLS.get(name)
    if special is not None:
        special(msg, data)
        return msg
    if not isinstance(data, dict):
        raise TypeError(f"{name} expects an object, got {type(data).__name__}")
    renames = RENAMES.get(name, {})
    fields = msg.DESCRIPTOR.fields_by_name
    for key, value in data.items():
        if value is None:
            continue
        fd = fields.get(renames.get(key, key))
        if fd is not None:
            set_field(msg, fd, value)
    return msg


def fill_key(msg: Any, key: str, value: Any) -> None:
    """One key of a JSON object onto ``msg`` as the generic ``fill`` sets it (renames applied,
    keys without a field left out; the caller skips None values)."""
    desc = msg.DESCRIPTOR
    fd = desc.fields_by_name.get(RENAMES.get(desc.full_name, {}).get(key, key))
    if fd is not None:
        set_field(msg, fd, value)


@cache
def _is_map(fd: FieldDescriptor) -> bool:
    """Whether the field is a protobuf map (cached: ``GetOptions()`` costs a microsecond)."""
    return fd.message_type is not None and bool(fd.message_type.GetOptions().map_entry)


def set_field(msg: Any, fd: FieldDescriptor, value: Any) -> None:
    if _is_map(fd):
        container = getattr(msg, fd.name)
        value_fd = fd.message_type.fields_by_name["value"]
        if value_fd.type == FieldDescriptor.TYPE_MESSAGE:
            each = FILLS.get(value_fd.message_type.full_name, fill)
            for k, v in value.items():
                each(container[k], v)
        else:
            for k, v in value.items():
                if v is not None:
                    container[k] = scalar(value_fd, v)
        return
    if fd.is_repeated:
        container = getattr(msg, fd.name)
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            each = FILLS.get(fd.message_type.full_name, fill)
            for item in value:
                each(container.add(), item)
        else:
            if hasattr(value, "tolist"):
                value = value.tolist()
            container.extend(scalar(fd, v) for v in value)
        return
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        sub = getattr(msg, fd.name)
        sub.SetInParent()
        fill(sub, value)
        return
    setattr(msg, fd.name, scalar(fd, value))


_INTS = frozenset({FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64,
                   FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32})
_FLOATS = frozenset({FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE})


def scalar(fd: FieldDescriptor, value: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return enum_number(fd.enum_type, value)
    if fd.type in _INTS:
        return int(value)
    if fd.type in _FLOATS:
        return float(value)
    if fd.type == FieldDescriptor.TYPE_STRING:
        return str(value)
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return bool(value)
    return value


def fill_point_id(msg: Any, value: Any) -> None:
    if isinstance(value, str):
        msg.uuid = value
    else:
        msg.num = int(value)


def fill_value(msg: Any, value: Any) -> None:
    """Plain JSON -> ``qdrant.Value`` (bool before int; ints stay ints when they fit int64)."""
    kind = type(value)  # the plain JSON types first, by exact type: the common case
    if kind is str:
        msg.string_value = value
    elif kind is int and -_INT64_MAX - 1 <= value <= _INT64_MAX:
        msg.integer_value = value
    elif kind is float:
        msg.double_value = value
    elif kind is bool:
        msg.bool_value = value
    else:
        _fill_other_value(msg, value)


def _fill_other_value(msg: Any, value: Any) -> None:
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        value = value.item() if getattr(value, "ndim", 0) == 0 else value.tolist()
    if value is None:
        msg.null_value = 0
    elif isinstance(value, bool):
        msg.bool_value = value
    elif isinstance(value, int):
        if -_INT64_MAX - 1 <= value <= _INT64_MAX:
            msg.integer_value = value
        else:
            msg.double_value = float(value)
    elif isinstance(value, float):
        msg.double_value = value
    elif isinstance(value, str):
        msg.string_value = value
    elif isinstance(value, dict):
        struct = msg.struct_value
        struct.SetInParent()
        fields = struct.fields
        for k, v in value.items():
            fill_value(fields[k], v)
    elif isinstance(value, (list, tuple)):
        values = msg.list_value
        values.SetInParent()
        add = values.values.add
        for v in value:
            fill_value(add(), v)
    else:
        msg.string_value = str(value)


def fill_payload(container: Any, payload: dict[str, Any]) -> None:
    for k, v in payload.items():
        fill_value(container[k], v)


def fill_scored_point(msg: Any, data: dict[str, Any]) -> None:
    """A search hit: id, score, version and payload set directly (the hot path of every query
    reply), any other key (vectors, order value, shard key) the generic way."""
    for key, value in data.items():
        if value is None:
            continue
        if key == "id":
            fill_point_id(msg.id, value)
        elif key == "score":
            msg.score = float(value)
        elif key == "version":
            msg.version = int(value)
        elif key == "payload":
            fill_payload(msg.payload, value)
        else:
            fill_key(msg, key, value)


def fill_retrieved_point(msg: Any, data: dict[str, Any]) -> None:
    """A point of Get / Scroll: id and payload set directly, the rest the generic way."""
    for key, value in data.items():
        if value is None:
            continue
        if key == "id":
            fill_point_id(msg.id, value)
        elif key == "payload":
            fill_payload(msg.payload, value)
        else:
            fill_key(msg, key, value)


def _floats(value: Any) -> list[float]:
    return value.tolist() if hasattr(value, "tolist") else list(value)


def _is_sparse(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"indices", "values"}


def fill_vector_output(msg: Any, value: Any) -> None:
    """One vector: dense list, multivector (list of lists) or sparse ``{indices, values}``."""
    if _is_sparse(value):
        msg.sparse.indices.extend(_floats(value["indices"]))
        msg.sparse.values.extend(_floats(value["values"]))
        return
    rows = _floats(value)
    if rows and isinstance(rows[0], list):
        multi = msg.multi_dense
        multi.SetInParent()
        for row in rows:
            multi.vectors.add().data.extend(row)
        return
    msg.dense.SetInParent()
    msg.dense.data.extend(rows)


def fill_vectors_output(msg: Any, value: Any) -> None:
    if isinstance(value, dict) and not _is_sparse(value):
        named = msg.vectors
        named.SetInParent()
        for name, vec in value.items():
            fill_vector_output(named.vectors[name], vec)
    else:
        fill_vector_output(msg.vector, value)


def fill_group_id(msg: Any, value: Any) -> None:
    if isinstance(value, str):
        msg.string_value = value
    elif int(value) >= 0:
        msg.unsigned_value = int(value)
    else:
        msg.integer_value = int(value)


def fill_order_value(msg: Any, value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        msg.int = value
    else:
        msg.float = float(value)


def fill_vectors_config(msg: Any, value: Any) -> None:
    if isinstance(value, dict) and "size" in value:
        fill(msg.params, value)
        return
    params_map = msg.params_map
    params_map.SetInParent()
    for name, params in value.items():
        fill(params_map.map[name], params)


def fill_sparse_config(msg: Any, value: Any) -> None:
    for name, params in value.items():
        fill(msg.map[name], params or {})


QUANTIZATION_FIELDS = {"turbo": "turboquant"}
"""REST quantization methods whose gRPC oneof member is named otherwise."""


def fill_quantization(msg: Any, value: Any) -> None:
    for kind, params in value.items():
        kind = QUANTIZATION_FIELDS.get(kind, kind)
        if kind in msg.DESCRIPTOR.fields_by_name:
            sub = getattr(msg, kind)
            sub.SetInParent()
            fill(sub, params or {})


def fill_index_params(msg: Any, value: Any) -> None:
    kind = str(value.get("type", "")).lower()
    field = f"{kind}_index_params"
    if field in msg.DESCRIPTOR.fields_by_name:
        sub = getattr(msg, field)
        sub.SetInParent()
        fill(sub, {k: v for k, v in value.items() if k != "type"})


def fill_optimizer_status(msg: Any, value: Any) -> None:
    if value == "ok":
        msg.ok = True
    elif isinstance(value, dict):
        msg.error = str(value.get("error", value))


def fill_max_threads(msg: Any, value: Any) -> None:
    if isinstance(value, int):
        msg.value = value
    else:
        msg.setting = 0


def fill_update_result(msg: Any, value: Any) -> None:
    if value.get("operation_id") is not None:
        msg.operation_id = int(value["operation_id"])
    msg.status = enum_number(msg.DESCRIPTOR.fields_by_name["status"].enum_type, value["status"])


def fill_timestamp(msg: Any, value: Any) -> None:
    """An ISO date-time (no zone means UTC) as ``google.protobuf.Timestamp``."""
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp()
    msg.seconds = int(seconds // 1)
    msg.nanos = when.microsecond * 1000


def fill_scalar_union(*kinds: tuple[type, str]) -> Callable[[Any, Any], None]:
    """A oneof of scalars (``FacetValue``, ``ShardKey``): the member for the value's type."""

    def fill_union(msg: Any, value: Any) -> None:
        for kind, field in kinds:
            if type(value) is kind:
                setattr(msg, field, value)
                return
        raise TypeError(f"{msg.DESCRIPTOR.name} can't hold {value!r}")

    return fill_union


FILLS: dict[str, Callable[[Any, Any], None]] = {
    "qdrant.ScoredPoint": fill_scored_point,
    "qdrant.RetrievedPoint": fill_retrieved_point,
    "qdrant.PointId": fill_point_id,
    "qdrant.Value": fill_value,
    "qdrant.VectorOutput": fill_vector_output,
    "qdrant.VectorsOutput": fill_vectors_output,
    "qdrant.GroupId": fill_group_id,
    "qdrant.OrderValue": fill_order_value,
    "qdrant.VectorsConfig": fill_vectors_config,
    "qdrant.SparseVectorConfig": fill_sparse_config,
    "qdrant.QuantizationConfig": fill_quantization,
    "qdrant.PayloadIndexParams": fill_index_params,
    "qdrant.OptimizerStatus": fill_optimizer_status,
    "qdrant.MaxOptimizationThreads": fill_max_threads,
    "qdrant.UpdateResult": fill_update_result,
    "google.protobuf.Timestamp": fill_timestamp,
    "qdrant.FacetValue": fill_scalar_union(
        (str, "string_value"), (bool, "bool_value"), (int, "integer_value")),
    "qdrant.ShardKey": fill_scalar_union((str, "keyword"), (int, "number")),
}
"""Messages filled from a JSON value that is not a plain object of their fields."""
