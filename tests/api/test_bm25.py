"""Server-side BM25: ``qdrant/bm25`` Documents in upserts and queries, checked against Qdrant's
engine (qdrant-edge-py) on the same texts: same sparse vectors, same ids, same scores."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import qdrant_edge as edge
from qdrant_client import QdrantClient, models

from tests.checks import assert_rejected
from tests.server import HeronProcess

WORDS = (
    "the running dogs jumped over lazy foxes while cats were sleeping quietly in warm houses "
    "généralement les chiens courent café naïve über straße foo_bar 3.5 don't Hello WORLD"
).split()


def texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 25))) for _ in range(n)]


@pytest.fixture()
def inference_client(heron: HeronProcess) -> Iterator[QdrantClient]:
    """A client that sends Documents to the server instead of embedding them itself."""
    c = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30, cloud_inference=True)
    yield c
    c.close()


def edge_shard(tmp_path: Path, docs: list[str], options: dict | None = None) -> edge.EdgeShard:
    config = edge.EdgeConfig(
        vectors={},
        sparse_vectors={"text": edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
    )
    shard = edge.EdgeShard.create(str(tmp_path / "edge"), config)
    model = edge_model(options)
    points = [
        edge.Point(i, {"text": model.embed_document(t)}, {"n": i % 4}) for i, t in enumerate(docs)
    ]
    shard.update(edge.UpdateOperation.upsert_points(points))
    return shard


def edge_model(options: dict | None) -> edge.Bm25:
    if not options:
        return edge.Bm25()
    kw = dict(options)
    if "tokenizer" in kw:
        kw["tokenizer"] = getattr(edge.TokenizerType, kw["tokenizer"].capitalize())
    return edge.Bm25(edge.Bm25Config(**kw))


def make_collection(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name,
        vectors_config={},
        sparse_vectors_config={"text": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-4 * max(1.0, abs(y)) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "options",
    [
        None,
        {"language": "french", "k": 0.9, "b": 0.5, "avg_len": 12.0},
        {"tokenizer": "prefix", "min_token_len": 2, "max_token_len": 5},
        {"ascii_folding": True, "lowercase": False},
    ],
)
def test_documents_match_the_engine(
    inference_client: QdrantClient, collection_name: str, tmp_path: Path, options: dict | None
) -> None:
    docs = texts(120, seed=7)
    make_collection(inference_client, collection_name)
    inference_client.upsert(
        collection_name,
        [
            models.PointStruct(
                id=i,
                vector={"text": models.Document(text=t, model="qdrant/bm25", options=options)},
                payload={"n": i % 4},
            )
            for i, t in enumerate(docs)
        ],
    )
    # the stored vector is the engine's document embedding
    stored = inference_client.retrieve(collection_name, [3, 4], with_vectors=True)
    model = edge_model(options)
    for rec in stored:
        ref = model.embed_document(docs[rec.id])
        assert rec.vector["text"].indices == list(ref.indices)
        assert close(rec.vector["text"].values, list(ref.values))

    shard = edge_shard(tmp_path, docs, options)
    for query in texts(15, seed=11):
        got = inference_client.query_points(
            collection_name,
            query=models.Document(text=query, model="qdrant/bm25", options=options),
            using="text",
            limit=10,
        ).points
        want = shard.query(
            edge.QueryRequest(
                limit=10, query=edge.Query.Nearest(model.embed_query(query), using="text")
            )
        )
        assert close([p.score for p in got], [p.score for p in want]), query
        # equal scores may come in any order: compare the sets of ids above the last score
        if want:
            edge_score = want[-1].score
            assert {p.id for p in got if p.score > edge_score + 1e-4} == {
                p.id for p in want if p.score > edge_score + 1e-4
            }
    shard.close()


def test_batch_upsert_prefetch_and_idf_corpus(
    inference_client: QdrantClient, http: httpx.Client, collection_name: str, tmp_path: Path
) -> None:
    docs = texts(80, seed=3)
    make_collection(inference_client, collection_name)
    inference_client.upsert(
        collection_name,
        models.Batch(
            ids=list(range(len(docs))),
            vectors={"text": [models.Document(text=t, model="Qdrant/BM25") for t in docs]},
            payloads=[{"n": i % 4} for i in range(len(docs))],
        ),
    )
    shard = edge_shard(tmp_path, docs)
    query = "running dogs and cats"
    corpus = {"must": [{"key": "n", "match": {"value": 1}}]}
    r = http.post(
        f"/collections/{collection_name}/points/query",
        json={
            "prefetch": {
                "query": {"text": query, "model": "qdrant/bm25"},
                "using": "text",
                "limit": 30,
                "params": {"idf": {"corpus": corpus}},
            },
            "query": {"fusion": "rrf"},
            "limit": 30,
        },
    )
    assert r.status_code == 200, r.text
    got_ids = [p["id"] for p in r.json()["result"]["points"]]
    direct = http.post(
        f"/collections/{collection_name}/points/query",
        json={
            "query": {"nearest": {"text": query, "model": "qdrant/bm25"}},
            "using": "text",
            "limit": 30,
            "params": {"idf": {"corpus": corpus}},
        },
    ).json()["result"]["points"]
    assert sorted(got_ids) == sorted(p["id"] for p in direct)
    flt = edge.Filter(must=[edge.FieldCondition(key="n", match=edge.MatchValue(1))])
    want = shard.query(
        edge.QueryRequest(
            limit=30,
            query=edge.Query.Nearest(edge.Bm25().embed_query(query), using="text"),
            params=edge.SearchParams(idf=edge.IdfParams(corpus=flt)),
        )
    )
    assert close([p["score"] for p in direct], [p.score for p in want])
    glob = http.post(
        f"/collections/{collection_name}/points/query",
        json={"query": {"text": query, "model": "qdrant/bm25"}, "using": "text",
              "params": {"idf": "global"}},
    ).json()["result"]["points"]
    want = shard.query(
        edge.QueryRequest(
            limit=10, query=edge.Query.Nearest(edge.Bm25().embed_query(query), using="text")
        )
    )
    assert close([p["score"] for p in glob], [p.score for p in want])
    shard.close()


def test_bad_documents_are_refused(http: httpx.Client, collection_name: str) -> None:
    r = http.put(
        f"/collections/{collection_name}",
        json={"vectors": {"d": {"size": 2, "distance": "Dot"}},
              "sparse_vectors": {"text": {"modifier": "idf"}}},
    )
    assert r.status_code == 200, r.text
    url = f"/collections/{collection_name}/points?wait=true"

    def upsert(vector: object) -> httpx.Response:
        return http.put(url, json={"points": [{"id": 1, "vector": vector}]})

    cases = [
        ({"text": {"text": "hi", "model": "sentence-transformers/all-minilm-l6-v2"}},
         "Inference is not configured"),
        ({"d": {"text": "hi", "model": "qdrant/bm25"}}, "is not sparse"),
        ({"text": {"text": "hi", "model": "qdrant/bm25", "options": {"b": 2}}}, "BM25 b"),
        ({"text": {"text": "hi", "model": "qdrant/bm25", "options": {"language": "klingon"}}},
         "unsupported language"),
        ({"text": {"text": "hi", "model": "qdrant/bm25", "options": {"tokenizer": "nope"}}},
         "tokenizer"),
        ({"text": {"text": 5, "model": "qdrant/bm25"}}, "text"),
    ]
    for vector, words in cases:
        body = assert_rejected(upsert(vector), 400)
        assert words in body["status"]["error"], (vector, body)
    assert http.post(f"/collections/{collection_name}/points/count", json={}).json()[
        "result"]["count"] == 0
    body = assert_rejected(http.put(url, json={"points": [
        {"id": 1, "vector": {"text": "hello", "model": "qdrant/bm25"}}]}), 400)
    assert "not configured" in body["status"]["error"] or "dense" in body["status"]["error"]
    r = http.post(
        f"/collections/{collection_name}/points/query",
        json={"query": {"text": "hi", "model": "qdrant/bm25"}, "using": "text",
              "params": {"idf": {"corpus": 3}}},
    )
    assert "params.idf" in assert_rejected(r, 400)["status"]["error"]
    # vector updates take Documents too (embedded as documents)
    r = http.put(f"/collections/{collection_name}/points?wait=true", json={"points": [
        {"id": 2, "vector": {"d": [1.0, 0.0]}}]})
    assert r.status_code == 200, r.text
    r = http.put(f"/collections/{collection_name}/points/vectors?wait=true", json={"points": [
        {"id": 2, "vector": {"text": {"text": "Dogs running", "model": "qdrant/bm25"}}}]})
    assert r.status_code == 200, r.text
    got = http.post(f"/collections/{collection_name}/points",
                    json={"ids": [2], "with_vector": ["text"]}).json()["result"][0]["vector"]
    ref = edge.Bm25().embed_document("Dogs running")
    assert got["text"]["indices"] == list(ref.indices)
    assert close(got["text"]["values"], list(ref.values))
    # an empty text is an empty sparse vector: stored, and it matches nothing
    r = upsert({"text": {"text": "the a of", "model": "qdrant/bm25"}})
    assert r.status_code == 200, r.text
    r = http.post(
        f"/collections/{collection_name}/points/query",
        json={"query": {"text": "the", "model": "qdrant/bm25"}, "using": "text"},
    )
    assert r.status_code == 200 and r.json()["result"]["points"] == [], r.text
