"""Every REST route as one row: (method, URL rule, operation id, how the result is written).

URL parameters are named as in Qdrant's OpenAPI document, so they reach the operation as its
path parameters unchanged.
"""

from __future__ import annotations

import re
from typing import Literal

Render = Literal["envelope", "json", "text", "upload"]
"""``upload``: the body is a multipart file upload, answered in the envelope."""

C = "/collections/<collection_name>"
P = C + "/points"

ROUTES: tuple[tuple[str, str, str, Render], ...] = (
    ("GET", "/", "root", "json"),
    ("GET", "/healthz", "healthz", "text"),
    ("GET", "/livez", "livez", "text"),
    ("GET", "/readyz", "readyz", "text"),
    ("GET", "/collections", "get_collections", "envelope"),
    ("POST", "/collections/aliases", "update_aliases", "envelope"),
    ("GET", "/aliases", "get_collections_aliases", "envelope"),
    ("GET", C + "/aliases", "get_collection_aliases", "envelope"),
    ("POST", C + "/snapshots", "create_snapshot", "envelope"),
    ("GET", C + "/snapshots", "list_snapshots", "envelope"),
    ("PUT", C + "/snapshots/recover", "recover_from_snapshot", "envelope"),
    ("POST", C + "/snapshots/upload", "recover_from_uploaded_snapshot", "upload"),
    ("GET", C + "/snapshots/<snapshot_name>", "get_snapshot", "envelope"),
    ("DELETE", C + "/snapshots/<snapshot_name>", "delete_snapshot", "envelope"),
    ("POST", "/snapshots", "create_full_snapshot", "envelope"),
    ("GET", "/snapshots", "list_full_snapshots", "envelope"),
    ("GET", "/snapshots/<snapshot_name>", "get_full_snapshot", "envelope"),
    ("DELETE", "/snapshots/<snapshot_name>", "delete_full_snapshot", "envelope"),
    ("GET", C, "get_collection", "envelope"),
    ("PUT", C, "create_collection", "envelope"),
    ("PATCH", C, "update_collection", "envelope"),
    ("DELETE", C, "delete_collection", "envelope"),
    ("GET", C + "/exists", "collection_exists", "envelope"),
    ("PUT", C + "/index", "create_field_index", "envelope"),
    ("DELETE", C + "/index/<path:field_name>", "delete_field_index", "envelope"),
    ("PUT", C + "/vectors/<vector_name>", "create_vector_name", "envelope"),
    ("DELETE", C + "/vectors/<vector_name>", "delete_vector_name", "envelope"),
    ("PUT", P, "upsert_points", "envelope"),
    ("POST", P, "get_points", "envelope"),
    ("GET", P + "/<id>", "get_point", "envelope"),
    ("POST", P + "/delete", "delete_points", "envelope"),
    ("POST", P + "/scroll", "scroll_points", "envelope"),
    ("POST", P + "/count", "count_points", "envelope"),
    ("POST", C + "/facet", "facet", "envelope"),
    ("POST", P + "/payload", "set_payload", "envelope"),
    ("PUT", P + "/payload", "overwrite_payload", "envelope"),
    ("POST", P + "/payload/delete", "delete_payload", "envelope"),
    ("POST", P + "/payload/clear", "clear_payload", "envelope"),
    ("PUT", P + "/vectors", "update_vectors", "envelope"),
    ("POST", P + "/vectors/delete", "delete_vectors", "envelope"),
    ("POST", P + "/batch", "batch_update", "envelope"),
    ("POST", P + "/query", "query_points", "envelope"),
    ("POST", P + "/query/batch", "query_batch_points", "envelope"),
    ("POST", P + "/query/groups", "query_points_groups", "envelope"),
    ("POST", P + "/search", "search_points", "envelope"),
    ("POST", P + "/search/batch", "search_batch_points", "envelope"),
    ("POST", P + "/search/matrix/pairs", "search_matrix_pairs", "envelope"),
    ("POST", P + "/search/matrix/offsets", "search_matrix_offsets", "envelope"),
    ("POST", P + "/recommend", "recommend_points", "envelope"),
    ("POST", P + "/recommend/batch", "recommend_batch_points", "envelope"),
    ("POST", P + "/recommend/groups", "recommend_point_groups", "envelope"),
    ("POST", P + "/discover", "discover_points", "envelope"),
    ("POST", P + "/discover/batch", "discover_batch_points", "envelope"),
    ("GET", "/telemetry", "telemetry", "envelope"),
    ("GET", "/metrics", "metrics", "text"),
    ("GET", "/issues", "get_issues", "envelope"),
    ("DELETE", "/issues", "clear_issues", "envelope"),
    ("GET", "/cluster", "cluster_status", "envelope"),
    ("GET", C + "/cluster", "collection_cluster_info", "envelope"),
    ("GET", C + "/optimizations", "get_optimizations", "envelope"),
)

UNDOCUMENTED: frozenset[str] = frozenset()
"""Operations served but left out of ``/openapi.json`` (none now that telemetry answers with
Qdrant's structure)."""


def openapi_path(rule: str) -> str:
    """A URL rule as an OpenAPI path: ``<path:field_name>`` -> ``{field_name}``."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
