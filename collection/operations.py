"""Turn update requests into operation records, checked against the collection's config.

Everything that could make an operation fail is checked here, before the record reaches the
WAL: vector names, dimensions, finite values, id and key syntax. A batch with one bad point is
refused whole. What can only be checked against the data (ids that must exist) becomes a
``check`` the actor runs right before logging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from collection.bulk import NotBulk, as_datatype, points_columns
from collection.config import UNNAMED, CollectionConfig
from collection.errors import BadRequest, HeronError, NotFound, format_error, invalid
from inference.documents import InferenceError, embed, is_inference
from segments import columns
from segments.filter import Filter, FilterError, parse_filter
from segments.filter.model import FilterShapeError
from segments.holder import SegmentHolder
from segments.ids import PointId, normalize_id
from segments.payload_path import parse_path
from segments.types import ShapeError
from segments.vectors.multi import validate_multi
from segments.vectors.sparse import validate_sparse

Record = dict[str, Any]
Check = Callable[[SegmentHolder], HeronError | None]


def point_id(value: Any) -> PointId:
    try:
        return normalize_id(value)
    except ValueError as exc:
        raise BadRequest(f"Format error in JSON body: {exc}") from None


def compile_filter(value: Any) -> Filter | None:
    """Validate a JSON filter and compile it (``None`` for no filter or an empty one)."""
    if value is None:
        return None
    try:
        flt = parse_filter(value)
    except FilterShapeError as exc:
        raise invalid(exc.where or "filter", exc.message) from None
    except FilterError as exc:
        raise BadRequest(f"Bad filter: {exc}") from None
    return None if flt.is_empty else flt


def check_filter(value: Any) -> Any:
    """Validate a filter's syntax; return it unchanged (records keep the JSON form)."""
    compile_filter(value)
    return value


def optional_int(body: dict[str, Any], key: str, default: int, least: int) -> int:
    """An optional integer field of a request body, at least ``least`` (``default`` if absent)."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise format_error(f"{key}: invalid value {value!r}, expected an unsigned integer")
    if value < least:  # the schema's ``minimum``: Qdrant's validation stage (422)
        raise invalid(key, f"value {value} invalid, must be {least} or larger")
    return value


def vector_name(config: CollectionConfig, name: str | None) -> str:
    """Map a request's vector name (``None`` or "" = the default vector) to the internal one."""
    key = name or UNNAMED
    if key not in config.vectors and key not in config.sparse_vectors:
        if key == UNNAMED:
            raise BadRequest("Wrong input: Vector with name `` is not configured in this collection")
        raise BadRequest(f"Wrong input: Not existing vector name error: {key}")
    return key


def dense_vector(config: CollectionConfig, name: str, value: Any) -> np.ndarray:
    """Check one dense vector against its config: a flat list of finite numbers of the size
    (whole numbers in 0..255 for uint8)."""
    params = config.vectors[name]
    try:
        arr = np.asarray(value) if isinstance(value, list) else None
    except ValueError:
        arr = None
    if (
        arr is None
        or arr.ndim != 1
        or (arr.dtype.kind not in "iuf" and len(arr))
        or bool in set(map(type, value))
    ):
        raise BadRequest(f"Wrong input: vector `{name}` must be a list of numbers")
    if len(arr) != params.size:
        raise BadRequest(
            f"Wrong input: Vector dimension error: expected dim: {params.size}, got {len(arr)}"
        )
    arr = as_datatype(arr, params.datatype).astype(np.float32)
    if not np.isfinite(arr).all():
        raise BadRequest(f"Wrong input: vector `{name}` holds NaN or infinite values")
    return arr


def document_vector(config: CollectionConfig, name: str, value: Any, query: bool) -> Any:
    """A Document's sparse vector (embedded as a query or a document) for ``name``."""
    if config.segment.kind(name) != "sparse":
        raise BadRequest(
            f"Wrong input: vector `{name or 'default'}` is not sparse: model "
            f"`{value.get('model')}` gives sparse vectors"
        )
    try:
        return embed(value, query)
    except InferenceError as exc:
        raise BadRequest(f"Wrong input: {exc}") from None


def one_vector(config: CollectionConfig, name: str, value: Any, query: bool = False) -> Any:
    """Check a vector of any kind against what ``name`` is configured as; a Document becomes
    the sparse vector heron's BM25 computes (as a query when ``query``)."""
    kind = config.segment.kind(name)
    shown = name or "default"
    if is_inference(value):
        value = document_vector(config, name, value, query)
    try:
        if kind == "sparse":
            if not isinstance(value, dict):
                raise ValueError(f"vector `{shown}` is sparse: expected {{indices, values}}")
            indices, values = validate_sparse(value)
            return {"indices": indices, "values": values}
        if kind == "multi":
            if isinstance(value, list) and value and not isinstance(value[0], list):
                value = [value]  # a flat vector is a one-row multivector, as Qdrant takes it
            if not (isinstance(value, list) and value and isinstance(value[0], list)):
                if isinstance(value, list) and not value:
                    raise ShapeError("", "multivector must not be empty")
                raise ValueError(f"vector `{shown}` is a multivector: expected a list of vectors")
            rows = validate_multi(value, config.vectors[name].size)
            return as_datatype(rows, config.vectors[name].datatype)
    except ShapeError as exc:
        where = ".".join(x for x in ("vector", name, exc.field) if x)
        raise invalid(where, exc.message) from None
    except ValueError as exc:
        msg = str(exc)
        raise BadRequest(msg if msg.startswith("Wrong input") else f"Wrong input: {msg}") from None
    if isinstance(value, dict):
        raise BadRequest(f"Wrong input: vector `{shown}` is dense: expected a list of numbers")
    return dense_vector(config, name, value)


def named_vectors(config: CollectionConfig, value: Any) -> dict[str, Any]:
    """A point's vectors as {internal name: checked value}; a bare list is the default."""
    if isinstance(value, list) or is_inference(value):
        return {UNNAMED: one_vector(config, vector_name(config, None), value)}
    if isinstance(value, dict):
        return {vector_name(config, n): one_vector(config, vector_name(config, n), v)
                for n, v in value.items()}
    raise BadRequest("Wrong input: vector must be a list of numbers or an object of named vectors")


def check_payload(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("Format error in JSON body: payload must be a JSON object")
    return value


UPDATE_MODES = ("upsert", "insert_only", "update_only")


def upsert(config: CollectionConfig, body: dict[str, Any], parsed: Any = None) -> Record:
    """Record for ``PUT /points``: a points list or a columnar batch; the last id wins.

    The record is columnar (``segments.columns``): ids, payloads and per vector name the
    stacked arrays, parsed in bulk when the batch allows (``collection.bulk``). ``parsed``:
    (ids, payloads, columns) already read from the JSON text (``collection.bulk_json``), with
    ``body`` the rest of the request."""
    if parsed is not None:
        ids, payloads, vectors = parsed
    elif "points" in body and body["points"] is not None:
        raw = body["points"]
        if not isinstance(raw, list):
            raise BadRequest("Format error in JSON body: points must be a list")
        try:
            ids, payloads, vectors = points_columns(config, raw)
        except NotBulk:  # something to refuse or unusual: the per-point path says what
            ids, payloads, vectors = _per_point(config, _points(config, raw))
    elif isinstance(body.get("batch"), dict):
        try:
            ids, payloads, vectors = points_columns(config, _batch_as_points(body["batch"]))
        except NotBulk:
            ids, payloads, vectors = _per_point(config, _batch_points(config, body["batch"]))
    else:
        raise BadRequest("Format error in JSON body: expected `points` or `batch`")
    if len(set(ids)) != len(ids):  # the last occurrence of an id wins
        last = {pid: i for i, pid in enumerate(ids)}
        keep = np.array(sorted(last.values()), dtype=np.int64)
        ids = [ids[i] for i in keep.tolist()]
        payloads = [payloads[i] for i in keep.tolist()]
        vectors = {name: columns.take(col, keep) for name, col in vectors.items()}
    record = {"op": "upsert", "ids": ids, "payloads": payloads, "vectors": vectors}
    if body.get("update_filter") is not None:
        record["update_filter"] = check_filter(body["update_filter"])
    mode = body.get("update_mode")
    if mode is not None and mode not in UPDATE_MODES:
        raise BadRequest(
            f"Format error in JSON body: update_mode must be one of {', '.join(UPDATE_MODES)}"
        )
    if mode not in (None, "upsert"):
        record["update_mode"] = mode  # insert_only: new ids only; update_only: existing only
    return record


def _points(config: CollectionConfig, raw: list[Any]) -> list[dict[str, Any]]:
    """The points of a ``points`` list checked one by one (the first error is raised)."""
    points = []
    for p in raw:
        if not isinstance(p, dict) or "id" not in p:
            raise BadRequest("Format error in JSON body: each point needs an id")
        points.append(
            {
                "id": point_id(p["id"]),
                "vector": named_vectors(config, p.get("vector", {})),
                "payload": check_payload(p.get("payload")),
            }
        )
    return points


def _per_point(
    config: CollectionConfig, points: list[dict[str, Any]]
) -> tuple[list[Any], list[Any], dict[str, columns.Column]]:
    """(ids, payloads, columns) of checked points."""
    return columns.upsert_parts({"points": points}, config.segment.names())


def _batch_as_points(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """A well-formed columnar batch as a points list (``NotBulk`` if anything is off)."""
    ids, vectors, payloads = batch.get("ids"), batch.get("vectors"), batch.get("payloads")
    if type(ids) is not list:
        raise NotBulk
    n = len(ids)
    per_name = {None: vectors} if type(vectors) is list else vectors
    if type(per_name) is not dict or any(
        type(col) is not list or len(col) != n for col in per_name.values()
    ):
        raise NotBulk
    if payloads is not None and (type(payloads) is not list or len(payloads) != n):
        raise NotBulk
    named = [(name or UNNAMED, col) for name, col in per_name.items()]
    return [
        {
            "id": pid,
            "vector": {name: col[i] for name, col in named if col[i] is not None},
            "payload": None if payloads is None else payloads[i],
        }
        for i, pid in enumerate(ids)
    ]


def _batch_points(config: CollectionConfig, batch: dict[str, Any]) -> list[dict[str, Any]]:
    ids = batch.get("ids")
    if not isinstance(ids, list):
        raise BadRequest("Format error in JSON body: batch.ids must be a list")
    n = len(ids)
    vectors = batch.get("vectors")
    per_name: dict[str | None, list[Any]]
    if isinstance(vectors, list):
        per_name = {None: vectors}
    elif isinstance(vectors, dict):
        per_name = dict(vectors)
    else:
        raise BadRequest("Format error in JSON body: batch.vectors must be a list or an object")
    payloads = batch.get("payloads")
    if payloads is not None and (not isinstance(payloads, list) or len(payloads) != n):
        raise BadRequest("Wrong input: batch.payloads must have one entry per id")
    for name, column in per_name.items():
        if not isinstance(column, list) or len(column) != n:
            raise BadRequest(f"Wrong input: batch vectors `{name or ''}` must have one per id")
    points = []
    for i, raw_id in enumerate(ids):
        vec: dict[str, Any] = {}
        for name, column in per_name.items():
            if column[i] is None:
                continue
            key = vector_name(config, name)
            vec[key] = one_vector(config, key, column[i])
        points.append(
            {
                "id": point_id(raw_id),
                "vector": vec,
                "payload": check_payload(payloads[i] if payloads is not None else None),
            }
        )
    return points


def selector(body: dict[str, Any], ids_field: str = "points") -> dict[str, Any]:
    """The ``ids`` or ``filter`` part of a record from a PointsSelector-like body."""
    ids = body.get(ids_field)
    flt = body.get("filter")
    if ids is not None and flt is not None:
        raise BadRequest("Wrong input: give either point ids or a filter, not both")
    if ids is not None:
        if not isinstance(ids, list):
            raise BadRequest(f"Format error in JSON body: `{ids_field}` must be a list of ids")
        if not ids:
            raise BadRequest("Wrong input: Empty update request")
        return {"ids": [point_id(i) for i in ids]}
    if flt is None:
        raise BadRequest("Wrong input: give point ids or a filter")
    return {"filter": check_filter(flt)}


def must_exist(ids: list[PointId]) -> Check:
    """A check that fails with 404 on the first id the collection does not hold."""

    def check(holder: SegmentHolder) -> HeronError | None:
        missing = holder.missing_ids(ids)
        return NotFound(f"No point with id {missing[0]} found") if missing else None

    return check


def delete_points(body: dict[str, Any]) -> Record:
    return {"op": "delete_points", **selector(body)}


def _payload_op(op: str, body: dict[str, Any], **extra: Any) -> tuple[Record, Check | None]:
    sel = selector(body)
    rec = {"op": op, **sel, **extra}
    return rec, (must_exist(sel["ids"]) if "ids" in sel else None)


def set_payload(body: dict[str, Any]) -> tuple[Record, Check | None]:
    payload = check_payload(body.get("payload"))
    if payload is None:
        raise BadRequest("Format error in JSON body: missing field `payload`")
    key = body.get("key")
    if key is not None:
        check_key(key)
    return _payload_op("set_payload", body, payload=payload, key=key)


def overwrite_payload(body: dict[str, Any]) -> tuple[Record, Check | None]:
    payload = check_payload(body.get("payload"))
    if payload is None:
        raise BadRequest("Format error in JSON body: missing field `payload`")
    return _payload_op("overwrite_payload", body, payload=payload)


def delete_payload(body: dict[str, Any]) -> tuple[Record, Check | None]:
    keys = body.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadRequest("Format error in JSON body: `keys` must be a list of strings")
    for k in keys:
        check_key(k)
    return _payload_op("delete_payload", body, keys=keys)


def clear_payload(body: dict[str, Any]) -> tuple[Record, Check | None]:
    return _payload_op("clear_payload", body)


def check_key(key: Any) -> None:
    """A payload key must be a string in Qdrant's path syntax (``a.b[].c``)."""
    if not isinstance(key, str):
        raise BadRequest("Format error in JSON body: payload key must be a string")
    try:
        parse_path(key)
    except ValueError as exc:
        raise BadRequest(f"Wrong input: bad payload key {key!r}: {exc}") from None


def update_vectors(config: CollectionConfig, body: dict[str, Any]) -> tuple[Record, Check]:
    raw = body.get("points")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("Wrong input: `points` must be a non-empty list")
    points = []
    for p in raw:
        if not isinstance(p, dict) or "id" not in p or "vector" not in p:
            raise BadRequest("Format error in JSON body: each point needs `id` and `vector`")
        vec = named_vectors(config, p["vector"])
        if not vec:
            raise BadRequest("Wrong input: no vectors to update")
        points.append({"id": point_id(p["id"]), "vector": vec})
    record = {"op": "update_vectors", "points": points}
    if body.get("update_filter") is not None:
        record["update_filter"] = check_filter(body["update_filter"])
    return record, must_exist([p["id"] for p in points])


def delete_vectors(config: CollectionConfig, body: dict[str, Any]) -> tuple[Record, Check | None]:
    names = body.get("vector")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadRequest("Format error in JSON body: `vector` must be a list of vector names")
    internal = [vector_name(config, n) for n in names]
    return _payload_op("delete_vectors", body, vectors=internal)


def finite_vector(query: Any, size: int) -> np.ndarray:
    """A query vector as float32, checked for size and finiteness."""
    arr = np.asarray(query, dtype=np.float32)
    if arr.ndim != 1 or len(arr) != size:
        raise BadRequest(
            f"Wrong input: Vector dimension error: expected dim: {size}, got {arr.size}"
        )
    if not np.isfinite(arr).all():
        raise BadRequest("Wrong input: query vector holds NaN or infinite values")
    return arr


# Every update kind by its name in ``/points/batch``: (config, body) -> record or (record, check).
BUILDERS: dict[str, Callable[[CollectionConfig, dict[str, Any]], Any]] = {
    "upsert": upsert,
    "delete": lambda _c, b: delete_points(b),
    "set_payload": lambda _c, b: set_payload(b),
    "overwrite_payload": lambda _c, b: overwrite_payload(b),
    "delete_payload": lambda _c, b: delete_payload(b),
    "clear_payload": lambda _c, b: clear_payload(b),
    "update_vectors": update_vectors,
    "delete_vectors": delete_vectors,
}


def batch(config: CollectionConfig, body: dict[str, Any]) -> tuple[Record, Check]:
    """One record for ``POST /points/batch``: all operations are checked, logged and applied
    together, so a bad one refuses the whole batch."""
    raw = body.get("operations")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("Format error in JSON body: `operations` must be a non-empty list")
    subs: list[Record] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise BadRequest("Format error in JSON body: each operation is a one-key object")
        (kind, op_body), = item.items()
        build = BUILDERS.get(kind)
        if build is None:
            raise BadRequest(f"Format error in JSON body: unknown operation `{kind}`")
        if not isinstance(op_body, dict):
            raise BadRequest(f"Format error in JSON body: `{kind}` must be an object")
        built = build(config, op_body)
        subs.append(built[0] if isinstance(built, tuple) else built)
    return {"op": "batch", "ops": subs}, _batch_check(subs)


def _batch_check(subs: list[Record]) -> Check:
    """Ids a sub-operation needs must exist before the batch or be upserted earlier in it."""

    def check(holder: SegmentHolder) -> HeronError | None:
        added: set[PointId] = set()
        removed: set[PointId] = set()
        for rec in subs:
            op = rec["op"]
            if op == "upsert":
                ids = rec["ids"]
                added.update(ids)
                removed.difference_update(ids)
                continue
            if op == "delete_points" and "ids" in rec:
                removed.update(rec["ids"])
                added.difference_update(rec["ids"])
                continue
            needed = rec.get("ids") if op != "update_vectors" else [
                p["id"] for p in rec["points"]
            ]
            if op == "delete_points" or not needed:
                continue
            for pid in needed:
                if pid in removed or (pid not in added and holder.locate(pid) is None):
                    return NotFound(f"No point with id {pid} found")
        return None

    return check
