"""The CRUD suite again, with qdrant-client speaking gRPC (``prefer_grpc=True``) to heron's port.

The tests are test_crud's own; only the ``client`` fixture differs. Tests that also use raw HTTP
check the gRPC writes through REST reads.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qdrant_client import QdrantClient

from tests.api.test_crud import *  # noqa: F403 - the suite is re-run as is
from tests.server import HeronProcess


@pytest.fixture()
def client(heron: HeronProcess) -> Iterator[QdrantClient]:
    c = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=30)
    yield c
    c.close()
