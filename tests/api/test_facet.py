"""``/collections/{c}/facet``: value counts agree with Qdrant's engine (qdrant-edge-py) and
with counts made by hand, for keyword, integer and bool indexes, with filters and limits."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import qdrant_edge as edge
from qdrant_client import QdrantClient, models

from tests.checks import assert_rejected, payload_collection

KEYS = {"tag": "keyword", "num": "integer", "flag": "bool", "meta.kind": "keyword"}


def payloads(n: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    tags = ["red", "green", "blue", "Blue", "", "x"]

    def some(pool: list[Any]) -> Any:
        r = rnd.random()
        if r < 0.5:
            return rnd.choice(pool)
        if r < 0.8:
            return [rnd.choice(pool) for _ in range(rnd.randint(0, 3))]
        return rnd.choice([None, 2.5, "7", {"a": 1}, True, 3])

    return [
        {
            "tag": some(tags),
            "num": some([-2, 0, 1, 3, 10, 2**40]),
            "flag": some([True, False]),
            "meta": {"kind": rnd.choice(["a", "b", "c"])} if rnd.random() < 0.7 else None,
            "g": rnd.randint(0, 3),
        }
        for _ in range(n)
    ]


def by_hand(data: list[dict[str, Any]], key: str, kind: str, keep: Any) -> Counter[Any]:
    """Each point counts once per distinct value of the index's type."""
    counts: Counter[Any] = Counter()
    for p in data:
        if not keep(p):
            continue
        value: Any = p
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values = value if isinstance(value, list) else [value]
        want = {"keyword": str, "integer": int, "bool": bool}[kind]
        counts.update({v for v in values if v.__class__ is want})
    return counts


def expected(counts: Counter[Any], limit: int) -> list[dict[str, Any]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"value": v, "count": c} for v, c in ranked]


def edge_shard(tmp_path: Path, data: list[dict[str, Any]]) -> edge.EdgeShard:
    shard = edge.EdgeShard.create(
        str(tmp_path / "edge"),
        edge.EdgeConfig(vectors={"d": edge.EdgeVectorParams(size=2, distance=edge.Distance.Dot)}),
    )
    shard.update(edge.UpdateOperation.upsert_points(
        [edge.Point(i, {"d": [1.0, 0.0]}, p) for i, p in enumerate(data)]
    ))
    for k, kind in {**KEYS, "g": "integer"}.items():
        shard.update(edge.UpdateOperation.create_field_index(
            k, getattr(edge.PayloadSchemaType, kind.capitalize())
        ))
    return shard


def edge_hits(shard: edge.EdgeShard, key: str, limit: int,
              flt: edge.Filter | None) -> list[dict[str, Any]]:
    hits = shard.facet(edge.FacetRequest(key=key, limit=limit, filter=flt, exact=True)).hits
    return [{"value": h.value, "count": h.count} for h in hits]


def test_facets_match_the_engine_and_hand_counts(
    client: QdrantClient, http: httpx.Client, collection_name: str, tmp_path: Path
) -> None:
    data = payloads(300, seed=9)
    payload_collection(client, collection_name, data)
    for key, kind in {**KEYS, "g": "integer"}.items():
        client.create_payload_index(collection_name, key, kind, wait=True)
    url = f"/collections/{collection_name}/facet"
    shard = edge_shard(tmp_path, data)
    g1 = {"must": [{"key": "g", "match": {"value": 1}}]}
    eg1 = edge.Filter(must=[edge.FieldCondition(key="g", match=edge.MatchValue(1))])
    for key, kind in KEYS.items():
        for limit in (3, 100):
            for flt, eflt, keep in ((None, None, lambda p: True),
                                    (g1, eg1, lambda p: p["g"] == 1)):
                body: dict[str, Any] = {"key": key, "limit": limit, "exact": True}
                if flt is not None:
                    body["filter"] = flt
                r = http.post(url, json=body)
                assert r.status_code == 200, r.text
                got = r.json()["result"]["hits"]
                assert got == expected(by_hand(data, key, kind, keep), limit), (key, flt)
                assert got == edge_hits(shard, key, limit, eflt), (key, flt)
    shard.close()
    # a narrow filter: few points, counted from their payloads rather than the postings
    narrow = {"must": [{"key": "g", "match": {"value": 1}}, {"key": "meta.kind",
                                                             "match": {"value": "a"}}]}
    for key, kind in KEYS.items():
        r = http.post(url, json={"key": key, "filter": narrow, "limit": 100})
        keep = lambda p: p["g"] == 1 and (p["meta"] or {}).get("kind") == "a"  # noqa: E731
        assert r.json()["result"]["hits"] == expected(by_hand(data, key, kind, keep), 100), key
    # the official client, the default limit of 10, and counts after deletes
    client.delete(collection_name, models.FilterSelector(filter=models.Filter.model_validate(g1)))
    got = client.facet(collection_name, "tag")
    want = expected(by_hand(data, "tag", "keyword", lambda p: p["g"] != 1), 10)
    assert [{"value": h.value, "count": h.count} for h in got.hits] == want


def test_facet_refusals(http: httpx.Client, collection_name: str) -> None:
    r = http.put(f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    assert r.status_code == 200, r.text
    url = f"/collections/{collection_name}/facet"
    body = assert_rejected(http.post(url, json={"key": "tag"}), 400)
    assert "No appropriate index for faceting: `tag`" in body["status"]["error"]
    for field, schema in (("price", "float"), ("n", {"type": "integer", "lookup": False,
                                                      "range": True})):
        r = http.put(f"/collections/{collection_name}/index?wait=true",
                     json={"field_name": field, "field_schema": schema})
        assert r.status_code == 200, r.text
        body = assert_rejected(http.post(url, json={"key": field}), 400)
        assert "No appropriate index" in body["status"]["error"]
    http.put(f"/collections/{collection_name}/index?wait=true",
             json={"field_name": "tag", "field_schema": "keyword"})
    r = http.post(url, json={"key": "tag"})
    assert r.status_code == 200 and r.json()["result"] == {"hits": []}, r.text
    for bad in ({}, {"key": ""}, {"key": "tag", "limit": "5"},
                {"key": "tag", "exact": "yes"}, {"key": "tag", "filter": {"must": 3}}):
        assert_rejected(http.post(url, json=bad), 400)
    assert_rejected(http.post(url, json={"key": "tag", "limit": 0}), 422)  # ``minimum: 1``
    assert_rejected(http.post("/collections/nope/facet", json={"key": "tag"}), 404)
