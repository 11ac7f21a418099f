#!/usr/bin/env python3
"""Generate ``server/rest/openapi.json``: the part of Qdrant's OpenAPI document that heron implements.

Reads the reference document, keeps only the paths and methods heron serves plus the component
schemas they reference (transitively), and strips prose (descriptions, summaries, examples,
titles, tags) so only structure is left: types, properties, required, enums, formats,
composition, refs, parameters and responses.

The legacy ``/points/search``, ``/points/recommend`` and ``/points/discover`` endpoints (and
their batch and groups forms) are gone from the 1.19 reference; heron still serves them, so their
operations are described here (``HERON_EXTRA``).

    .venv/bin/python scripts/gen_openapi.py [REFERENCE.json] [--out server/rest/openapi.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = ROOT / ".." / "shared" / "reference" / "qdrant-openapi-1.19.json"
DEFAULT_OUT = ROOT / "server" / "rest" / "openapi.json"

sys.path.insert(0, str(ROOT))
from server.rest.routes import ROUTES, UNDOCUMENTED, openapi_path  # noqa: E402

P = "/collections/{collection_name}/points"

IMPLEMENTED: dict[str, tuple[str, ...]] = {}
"""The paths and methods heron serves (its route table), in the route table's order."""
for _method, _rule, _op, _ in ROUTES:
    if _op not in UNDOCUMENTED:
        _path = openapi_path(_rule)
        IMPLEMENTED[_path] = (*IMPLEMENTED.get(_path, ()), _method.lower())

PROSE = {"description", "summary", "example", "examples", "externalDocs", "tags", "title",
         "deprecated"}
"""Keys dropped wherever they are annotations (not names inside a ``properties`` map)."""

NAME_MAPS = {"properties", "patternProperties", "schemas", "responses", "content", "paths",
             "securitySchemes", "headers", "variables"}
"""Keys whose value maps arbitrary names to objects: those names are kept as they are."""


def _envelope(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "time": {"type": "number", "format": "float"},
            "status": {"type": "string"},
            "result": result,
        },
    }


def _responses(result: dict[str, Any]) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    return {
        "200": {"description": "", "content": {"application/json": {"schema": _envelope(result)}}},
        "4XX": {"description": "", "content": error},
        "default": {"description": "", "content": error},
    }


def _collection_param() -> dict[str, Any]:
    return {"name": "collection_name", "in": "path", "required": True,
            "schema": {"type": "string"}}


SEARCH_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["vector"],
    "properties": {
        "vector": {"$ref": "#/components/schemas/HeronSearchVector"},
        "filter": {"anyOf": [{"$ref": "#/components/schemas/Filter"}, {"nullable": True}]},
        "params": {"anyOf": [{"$ref": "#/components/schemas/SearchParams"}, {"nullable": True}]},
        "limit": {"type": "integer", "format": "uint", "minimum": 1},
        "offset": {"type": "integer", "format": "uint", "minimum": 0, "nullable": True},
        "with_payload": {"anyOf": [{"$ref": "#/components/schemas/WithPayloadInterface"},
                                   {"nullable": True}]},
        "with_vector": {"anyOf": [{"$ref": "#/components/schemas/WithVector"},
                                  {"nullable": True}]},
        "score_threshold": {"type": "number", "format": "float", "nullable": True},
    },
}

SEARCH_VECTOR: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": {"type": "number", "format": "float"}},
        {
            "type": "object",
            "required": ["name", "vector"],
            "properties": {
                "name": {"type": "string"},
                "vector": {"anyOf": [
                    {"type": "array", "items": {"type": "number", "format": "float"}},
                    {"$ref": "#/components/schemas/SparseVector"},
                ]},
            },
        },
    ]
}

HERON_EXTRA_SCHEMAS: dict[str, Any] = {
    "HeronSearchRequest": SEARCH_REQUEST,
    "HeronSearchVector": SEARCH_VECTOR,
    "HeronSearchRequestBatch": {
        "type": "object",
        "required": ["searches"],
        "properties": {
            "searches": {"type": "array",
                         "items": {"$ref": "#/components/schemas/HeronSearchRequest"}},
        },
    },
}

_SCORED = {"type": "array", "items": {"$ref": "#/components/schemas/ScoredPoint"}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _maybe(name: str) -> dict[str, Any]:
    return {"anyOf": [_ref(name), {"nullable": True}]}


_LEGACY_COMMON: dict[str, Any] = {
    key: value for key, value in SEARCH_REQUEST["properties"].items() if key != "vector"
} | {"using": {"type": "string", "nullable": True}, "lookup_from": _maybe("LookupLocation")}
_EXAMPLES = {"type": "array", "items": _ref("VectorInput")}
_RECOMMEND = {"type": "object", "properties": _LEGACY_COMMON | {
    "positive": _EXAMPLES, "negative": _EXAMPLES, "strategy": _maybe("RecommendStrategy")}}
HERON_EXTRA_SCHEMAS |= {
    "HeronRecommendRequest": _RECOMMEND,
    "HeronRecommendGroupsRequest": {
        "type": "object", "required": ["group_by"], "properties": _RECOMMEND["properties"] | {
            "group_by": {"type": "string", "minLength": 1},
            "group_size": {"type": "integer", "format": "uint32", "minimum": 1},
            "with_lookup": _maybe("WithLookupInterface")}},
    "HeronDiscoverRequest": {"type": "object", "required": ["target"],
                             "properties": _LEGACY_COMMON | {
                                 "target": _ref("VectorInput"),
                                 "context": {"type": "array", "items": _ref("ContextPair")}}},
}


def _legacy_op(op: str, request: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"post": {
        "operationId": op, "parameters": [_collection_param()],
        "requestBody": {"content": {"application/json": {"schema": _ref(request)}}},
        "responses": _responses(result),
    }}


def _batch_of(request: str) -> dict[str, Any]:
    return {"type": "object", "required": ["searches"],
            "properties": {"searches": {"type": "array", "items": _ref(request)}}}


for _kind in ("Recommend", "Discover"):
    HERON_EXTRA_SCHEMAS[f"Heron{_kind}RequestBatch"] = _batch_of(f"Heron{_kind}Request")

HERON_EXTRA: dict[str, dict[str, Any]] = {
    P + "/search": {
        "post": {
            "operationId": "search_points",
            "parameters": [_collection_param()],
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/HeronSearchRequest"}}}},
            "responses": _responses(_SCORED),
        }
    },
    P + "/search/batch": {
        "post": {
            "operationId": "search_batch_points",
            "parameters": [_collection_param()],
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/HeronSearchRequestBatch"}}}},
            "responses": _responses({"type": "array", "items": _SCORED}),
        }
    },
    P + "/recommend": _legacy_op("recommend_points", "HeronRecommendRequest", _SCORED),
    P + "/recommend/batch": _legacy_op("recommend_batch_points", "HeronRecommendRequestBatch",
                                       {"type": "array", "items": _SCORED}),
    P + "/recommend/groups": _legacy_op("recommend_point_groups",
                                        "HeronRecommendGroupsRequest", _ref("GroupsResult")),
    P + "/discover": _legacy_op("discover_points", "HeronDiscoverRequest", _SCORED),
    P + "/discover/batch": _legacy_op("discover_batch_points", "HeronDiscoverRequestBatch",
                                      {"type": "array", "items": _SCORED}),
}


RESPONSE = "#response"


def strip(node: Any, parent: str | None = None) -> Any:
    """A copy of ``node`` without prose; a Response object keeps an empty description, which
    OpenAPI 3.0 requires."""
    if isinstance(node, list):
        return [strip(x) for x in node]
    if not isinstance(node, dict):
        return node
    if parent in NAME_MAPS:
        child = RESPONSE if parent == "responses" else None
        return {k: strip(v, child) for k, v in node.items()}
    if parent in ("default", "enum", "example"):
        return node  # values, not schema objects
    out = {k: strip(v, k) for k, v in node.items() if k not in PROSE}
    if parent == RESPONSE:
        out["description"] = ""
    return out


def refs_in(node: Any) -> set[str]:
    """Names of component schemas referenced anywhere in ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs_in(value)
    return found


def build(reference: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The trimmed document and a list of (path, method) pairs taken from HERON_EXTRA."""
    all_schemas = {**reference["components"]["schemas"], **HERON_EXTRA_SCHEMAS}
    paths: dict[str, Any] = {}
    extra: list[str] = []
    for path, methods in IMPLEMENTED.items():
        source = reference["paths"].get(path, {})
        kept = {}
        for method in methods:
            if method in source:
                kept[method] = strip(source[method], method)
            elif method in HERON_EXTRA.get(path, {}):
                kept[method] = strip(HERON_EXTRA[path][method], method)
                extra.append(f"{method.upper()} {path}")
            else:
                raise SystemExit(f"{method.upper()} {path} is in neither the reference nor "
                                 "HERON_EXTRA")
        if "parameters" in source:
            paths.setdefault(path, {})["parameters"] = strip(source["parameters"])
        paths.setdefault(path, {}).update(kept)

    wanted: set[str] = set()
    todo = refs_in(paths)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        if name not in all_schemas:
            raise SystemExit(f"schema {name} is referenced but not defined")
        wanted.add(name)
        todo |= refs_in(all_schemas[name]) - wanted

    schemes = reference["components"].get("securitySchemes", {})
    doc: dict[str, Any] = {
        "openapi": reference.get("openapi", "3.0.1"),
        "info": {"title": "heron", "version": "1.19.0"},
        "security": reference.get("security", []),
        "paths": paths,
        "components": {
            "securitySchemes": strip(schemes, "securitySchemes"),
            "schemas": {name: strip(all_schemas[name]) for name in sorted(wanted)},
        },
    }
    return doc, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", nargs="?", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    reference = json.loads(args.reference.read_text())
    doc, extra = build(reference)
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    ops = sum(1 for methods in doc["paths"].values() for m in methods if m != "parameters")
    print(
        f"wrote {args.out}: {len(doc['paths'])} paths, {ops} operations, "
        f"{len(doc['components']['schemas'])} schemas"
        + (f"; described by heron: {', '.join(extra)}" if extra else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
