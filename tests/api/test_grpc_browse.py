"""BM25 Documents, scroll ``order_by``, facets and the distance matrix over gRPC give what the
same requests give over REST."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess


@pytest.fixture()
def both(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    rest = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30, cloud_inference=True)
    grpc = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=30,
                        cloud_inference=True)
    yield rest, grpc
    rest.close()
    grpc.close()


def test_browsing_over_grpc(both: tuple[QdrantClient, QdrantClient], collection_name: str) -> None:
    rest, grpc = both
    grpc.create_collection(
        collection_name,
        vectors_config={"d": models.VectorParams(size=2, distance=models.Distance.DOT)},
        sparse_vectors_config={"t": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    words = ["dog", "cats", "running", "the", "house"]
    grpc.upsert(collection_name, [
        models.PointStruct(
            id=i,
            vector={"d": [1.0, (i + 1) / 10],  # no ties among neighbours
                    "t": models.Document(text=" ".join(words[: 1 + i % 5]), model="qdrant/bm25")},
            payload={"k": f"v{i % 3}", "n": i % 7},
        )
        for i in range(30)
    ])
    grpc.create_payload_index(collection_name, "k", "keyword", wait=True)
    grpc.create_payload_index(collection_name, "n", "integer", wait=True)
    # the Documents were embedded alike: same stored vectors, same BM25 ranking
    # (REST writes float32 values as their shortest decimal; gRPC carries the float32 itself)
    by_rest, by_grpc = (c.retrieve(collection_name, [4], with_vectors=True)[0].vector["t"]
                        for c in (rest, grpc))
    assert by_rest.indices == by_grpc.indices
    assert np.array_equal(np.float32(by_rest.values), np.float32(by_grpc.values))
    query = models.Document(text="running cats", model="qdrant/bm25")
    got, want = (c.query_points(collection_name, query=query, using="t", limit=30).points
                 for c in (grpc, rest))
    assert [(p.id, round(p.score, 5)) for p in got] == [(p.id, round(p.score, 5)) for p in want]
    # facets
    assert grpc.facet(collection_name, "k").hits == rest.facet(collection_name, "k").hits
    # scroll order_by, both directions
    for direction in (models.Direction.ASC, models.Direction.DESC):
        order = models.OrderBy(key="n", direction=direction, start_from=3)
        g, nxt = grpc.scroll(collection_name, limit=8, order_by=order)
        r, _ = rest.scroll(collection_name, limit=8, order_by=order)
        assert nxt is None
        assert [(p.id, p.order_value) for p in g] == [(p.id, p.order_value) for p in r]
    # the matrix: a sample of every point gives the same pairs either way
    def offsets(c: QdrantClient) -> set[tuple[int, int, float]]:
        m = c.search_matrix_offsets(collection_name, sample=30, limit=2, using="d")
        assert len(m.ids) == 30
        return {(m.ids[a], m.ids[b], round(s, 4))
                for a, b, s in zip(m.offsets_row, m.offsets_col, m.scores, strict=True)}

    pairs = {(p.a, p.b, round(p.score, 4)) for p in
             grpc.search_matrix_pairs(collection_name, sample=30, limit=2, using="d").pairs}
    assert len(pairs) == 60 and pairs == offsets(grpc) == offsets(rest)
