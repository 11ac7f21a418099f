"""The hybrid-queries guide's examples with qdrant-client over gRPC (``prefer_grpc=True``).

The collections are loaded over gRPC; each example is compared with local mode, and the guide's
HTTP tab (a raw REST POST) must give the answer the gRPC client gets: same ids, scores, payloads.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qdrant_client import QdrantClient

from tests.api.test_guide import (  # noqa: F401 - the guide's own tests, re-run over gRPC
    World,
    build_world,
    test_example_http_body_matches_client,
    test_example_matches_local_mode,
    test_groups_http_body_matches_client,
    test_groups_match_local_mode,
    test_multi_stage_rescores_only_prefetched_points,
    test_offset_applies_at_the_root_only,
    test_order_by_guide_samples_both_colors_cheapest_first,
    test_order_by_respects_direction_and_start_from,
    test_query_batch_http_body_matches_client,
    test_query_batch_matches_local_mode_and_single_queries,
    test_query_by_id_excludes_the_point_but_lookup_from_does_not,
    test_root_filter_equals_filter_in_every_prefetch,
    test_score_threshold_is_respected,
    test_with_lookup_records_are_the_documents,
)
from tests.server import HeronProcess

pytestmark = pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")


@pytest.fixture(scope="module")
def world(heron: HeronProcess) -> Iterator[World]:
    remote = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=60)
    yield from build_world(heron, remote)
