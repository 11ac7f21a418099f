"""Random data of every vector kind (dense float32 / float16 / uint8, multivectors of every
distance, sparse with and without IDF) loaded and queried with qdrant-client over gRPC.

The tests are test_vector_kinds' congruence tests against local mode; only the client differs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qdrant_client import QdrantClient

from tests.api.test_vector_kinds import (  # noqa: F401 - the same tests, re-run over gRPC
    POINTS,
    _mutate,
    load,
    test_collection_info_round_trip,
    test_has_vector_count,
    test_loaded_equally,
    test_mutated_equally,
    test_mutated_queries,
    test_prefetch_across_kinds,
    test_query_by_id,
    test_query_by_vector,
    test_retrieve_with_vector_selection,
    test_stored_values,
)
from tests.server import HeronProcess


def grpc_client(heron: HeronProcess) -> QdrantClient:
    return QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=30)


@pytest.fixture(scope="module")
def pair(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """(heron over gRPC, local mode), both holding collection "kinds"."""
    remote, local = grpc_client(heron), QdrantClient(":memory:")
    for c in (remote, local):
        load(c, "kinds", POINTS)
    yield remote, local
    remote.close()
    local.close()


@pytest.fixture(scope="module")
def mutated(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """"kinds_mut" after the same vector updates and deletions, sent over gRPC to heron."""
    remote, local = grpc_client(heron), QdrantClient(":memory:")
    for c in (remote, local):
        load(c, "kinds_mut", POINTS)
        _mutate(c, "kinds_mut")
    yield remote, local
    remote.close()
    local.close()
