"""Issue 12 items 1-4 over gRPC (qdrant-client, ``prefer_grpc=True``): float32 scores, the
lenient inputs (flat multivector, uint8 conversion, u64 limit, ``update_mode``), vector output
shapes, and a text index with a stemmer, stop words and phrases."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess


@pytest.fixture()
def grpc(heron: HeronProcess) -> Iterator[QdrantClient]:
    c = QdrantClient(url=heron.url, grpc_port=heron.grpc_port, prefer_grpc=True, timeout=30)
    yield c
    c.close()


def test_scores_and_vectors_are_float32(grpc: QdrantClient, collection_name: str) -> None:
    grpc.create_collection(collection_name, models.VectorParams(size=3, distance="Dot"))
    grpc.upsert(collection_name, [models.PointStruct(id=1, vector=[0.15, 0.1, 0.3])])
    hit = grpc.query_points(collection_name, [1.0, 1.0, 1.0], with_vectors=True).points[0]
    want = np.float32(0.15) + np.float32(0.1) + np.float32(0.3)
    assert np.float32(hit.score) == want
    assert [np.float32(x) for x in hit.vector] == [np.float32(0.15), np.float32(0.1),  # type: ignore[union-attr]
                                                   np.float32(0.3)]


def test_lenient_inputs(grpc: QdrantClient, collection_name: str) -> None:
    grpc.create_collection(collection_name, {
        "m": models.VectorParams(size=2, distance="Dot", multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM)),
        "u": models.VectorParams(size=3, distance="Dot", datatype=models.Datatype.UINT8),
    })
    grpc.upsert(collection_name, [
        models.PointStruct(id=1, vector={"m": [0.5, 0.25], "u": [1.9, -3.0, 300.0]}),
    ])
    got = grpc.retrieve(collection_name, [1], with_vectors=True)[0].vector
    assert got == {"m": [[0.5, 0.25]], "u": [1.0, 0.0, 255.0]}
    grpc.upsert(collection_name, [
        models.PointStruct(id=1, vector={"u": [9, 9, 9]}, payload={"v": 2}),
        models.PointStruct(id=2, vector={"u": [2, 2, 2]}, payload={"v": 2}),
    ], update_mode=models.UpdateMode.INSERT_ONLY)
    grpc.upsert(collection_name, [
        models.PointStruct(id=2, vector={"u": [3, 3, 3]}, payload={"v": 3}),
        models.PointStruct(id=3, vector={"u": [3, 3, 3]}, payload={"v": 3}),
    ], update_mode=models.UpdateMode.UPDATE_ONLY)
    records = grpc.retrieve(collection_name, [1, 2, 3])
    assert {r.id: r.payload for r in records} == {1: {}, 2: {"v": 3}}
    big = 2**64 - 1
    assert len(grpc.query_points(collection_name, [1, 1, 1], using="u", limit=big).points) == 2
    assert len(grpc.scroll(collection_name, limit=2**32 - 1)[0]) == 2  # a uint32 in gRPC


def test_vector_output_shapes(grpc: QdrantClient, collection_name: str) -> None:
    grpc.create_collection(
        collection_name, models.VectorParams(size=2, distance="Dot"),
        sparse_vectors_config={"text": models.SparseVectorParams()},
    )
    sparse = models.SparseVector(indices=[1], values=[0.5])
    grpc.upsert(collection_name, [
        models.PointStruct(id=1, vector={"": [1.0, 2.0], "text": sparse}),
        models.PointStruct(id=2, vector=[3.0, 4.0]),
    ])
    got = {r.id: r.vector for r in grpc.retrieve(collection_name, [1, 2], with_vectors=True)}
    assert got == {1: {"": [1.0, 2.0], "text": sparse}, 2: [3.0, 4.0]}
    only = grpc.retrieve(collection_name, [1, 2], with_vectors=["text"])
    assert [r.vector for r in only] == [{"text": sparse}, {}]


def test_text_index_with_filters(grpc: QdrantClient, collection_name: str) -> None:
    grpc.create_collection(collection_name, models.VectorParams(size=2, distance="Dot"))
    grpc.create_payload_index(collection_name, "t", models.TextIndexParams(
        type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.WORD,
        stemmer=models.SnowballParams(type=models.Snowball.SNOWBALL,
                                      language=models.SnowballLanguage.ENGLISH),
        stopwords=models.StopwordsSet(custom=["are"]), phrase_matching=True,
    ))
    texts = ["the cats are running", "Running quickly", "a cat sat"]
    grpc.upsert(collection_name, [
        models.PointStruct(id=i, vector=[1.0, 0.0], payload={"t": t}) for i, t in enumerate(texts)
    ])

    def ids(match: models.Match) -> list[int]:
        flt = models.Filter(must=[models.FieldCondition(key="t", match=match)])
        return sorted(int(p.id) for p in grpc.scroll(collection_name, flt, limit=10)[0])

    assert ids(models.MatchText(text="runs")) == [0, 1]
    assert ids(models.MatchText(text="cat")) == [0, 2]
    assert ids(models.MatchPhrase(phrase="cat run")) == [0]  # `are` is a stop word
    assert ids(models.MatchPhrase(phrase="run cat")) == []
    assert ids(models.MatchTextAny(text_any="quick sat")) == [1, 2]
