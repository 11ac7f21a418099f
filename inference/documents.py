"""``Document`` / ``Image`` / ``InferenceObject`` values where a vector goes, turned into vectors.

Only ``qdrant/bm25`` (model name compared case-insensitively) runs inside heron; any other
model would need Qdrant's external inference service, which heron doesn't have, so it is
refused. Documents to store are embedded as documents, those in queries as queries.
"""

from __future__ import annotations

from typing import Any

from inference.bm25 import MODEL, model

INFERENCE_KEYS = ("text", "image", "object")


class InferenceError(ValueError):
    """A Document that can't be turned into a vector (the message is the client's)."""


def is_inference(value: Any) -> bool:
    """Whether a vector value is a Document, Image or InferenceObject rather than numbers."""
    return isinstance(value, dict) and "model" in value and any(k in value for k in INFERENCE_KEYS)


def embed(value: dict[str, Any], query: bool) -> dict[str, Any]:
    """The sparse vector ``{"indices", "values"}`` of a BM25 Document."""
    name = value.get("model")
    if not isinstance(name, str) or not name:
        raise InferenceError("Document needs a non-empty `model`")
    if name.lower() != MODEL or "text" not in value:
        raise InferenceError(
            f"Inference is not configured: model `{name}` can't be run here; "
            f"only `{MODEL}` documents are embedded by the server"
        )
    text = value["text"]
    if not isinstance(text, str):
        raise InferenceError("Document `text` must be a string")
    try:
        bm25 = model(value.get("options"))
        indices, values = bm25.query(text) if query else bm25.document(text)
    except InferenceError:
        raise
    except ValueError as exc:
        raise InferenceError(str(exc)) from None
    return {"indices": indices.tolist(), "values": values.tolist()}
