"""Shape stored points for the wire: Record and ScoredPoint JSON with the requested parts."""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.config import UNNAMED, CollectionConfig
from collection.errors import BadRequest
from collection.operations import check_key
from segments.appendable import AppendableSegment
from segments.payload_path import select


def with_vector_of(body: dict[str, Any]) -> Any:
    """``with_vector`` of a request body, or its alias ``with_vectors`` (Qdrant takes both)."""
    value = body.get("with_vector")
    return body.get("with_vectors") if value is None else value


def check_with_vector(config: CollectionConfig, with_vector: Any) -> Any:
    """Validate ``with_vector`` (bool or list of names) against the configured vectors."""
    if with_vector is None or isinstance(with_vector, bool):
        return bool(with_vector)
    if isinstance(with_vector, list) and all(isinstance(n, str) for n in with_vector):
        for name in with_vector:
            if (name or UNNAMED) not in config.vectors and name not in config.sparse_vectors:
                raise BadRequest(f"Wrong input: Not existing vector name error: {name}")
        return with_vector
    raise BadRequest("Format error in JSON body: with_vector must be a boolean or a list of names")


def check_with_payload(with_payload: Any) -> Any:
    """Validate ``with_payload``: bool, list of keys, or an include / exclude selector."""
    if with_payload is None:
        return False
    if isinstance(with_payload, bool):
        return with_payload
    if isinstance(with_payload, list) and all(isinstance(k, str) for k in with_payload):
        for key in with_payload:
            check_key(key)
        return with_payload
    if isinstance(with_payload, dict) and len(with_payload) == 1:
        (kind, keys), = with_payload.items()
        if kind in ("include", "exclude") and isinstance(keys, list) and all(
            isinstance(k, str) for k in keys
        ):
            for key in keys:
                check_key(key)
            return with_payload
    raise BadRequest(
        "Format error in JSON body: with_payload must be a boolean, a list of keys, "
        "or {include: [...]} / {exclude: [...]}"
    )


def vectors_json(
    config: CollectionConfig, seg: AppendableSegment, offset: int, with_vector: Any
) -> Any:
    """A point's requested vectors as Qdrant answers them: a bare list (or matrix) when they
    are exactly the unnamed default one, else an object by name (the default under ``""``),
    ``{}`` when it has none of them. Numbers stay float32 so they serialise shortest."""
    if with_vector is False:
        return None
    names = config.segment.names() if with_vector is True else [n or UNNAMED for n in with_vector]
    out = {}
    for name in dict.fromkeys(names):
        vec = seg.vector_output(offset, name)
        if vec is not None:
            out[name] = vec
    if config.vectors_unnamed and len(out) == 1 and UNNAMED in out:
        return out[UNNAMED]
    return out


def point_json(
    config: CollectionConfig,
    seg: AppendableSegment,
    offset: int,
    with_payload: Any,
    with_vector: Any,
    score: float | None = None,
) -> dict[str, Any]:
    """Record (no score) or ScoredPoint (with score) for the point at ``offset`` of ``seg``."""
    out: dict[str, Any] = {"id": seg.ids.ids[offset]}
    if score is not None:
        out["version"] = seg.version_of(offset)
        out["score"] = np.float32(score)
    if with_payload is not False:
        out["payload"] = select(seg.payload_of(offset), with_payload)
    vec = vectors_json(config, seg, offset, with_vector)
    if vec is not None:
        out["vector"] = vec
    return out
