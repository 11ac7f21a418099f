"""``/points/scroll`` with ``order_by``: the same entries as Qdrant's engine (qdrant-edge-py),
repeated values and ties, paging through the whole collection in both directions."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import qdrant_edge as edge
from qdrant_client import QdrantClient, models

from tests.checks import assert_rejected, payload_collection


def payloads(n: int, seed: int) -> list[dict[str, Any]]:
    """Few distinct values (many ties), arrays with repeats, missing and non-numeric values."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rnd.random()
        if kind < 0.6:
            value: Any = rnd.randint(-5, 12)
        elif kind < 0.8:
            value = [rnd.randint(-5, 12) for _ in range(rnd.randint(1, 3))]
        elif kind < 0.9:
            value = "text"
        else:
            value = None
        out.append({} if value is None else {"n": value, "g": rnd.randint(0, 2)})
    return out


def edge_entries(tmp_path: Path, data: list[dict[str, Any]], schema: edge.PayloadSchemaType,
                 desc: bool, flt: edge.Filter | None = None) -> list[tuple[Any, float]]:
    shard = edge.EdgeShard.create(
        str(tmp_path / f"edge-{desc}-{flt is not None}"),
        edge.EdgeConfig(vectors={"d": edge.EdgeVectorParams(size=2, distance=edge.Distance.Dot)}),
    )
    shard.update(edge.UpdateOperation.upsert_points(
        [edge.Point(i, {"d": [1.0, 0.0]}, p) for i, p in enumerate(data)]
    ))
    shard.update(edge.UpdateOperation.create_field_index("n", schema))
    direction = edge.Direction.Desc if desc else edge.Direction.Asc
    recs, nxt = shard.scroll(edge.ScrollRequest(
        limit=10_000, filter=flt, with_payload=False, order_by=edge.OrderBy("n", direction)
    ))
    assert nxt is None
    shard.close()
    return [(r.id, r.order_value) for r in recs]


def ties_apart(entries: list[tuple[Any, float]]) -> tuple[list[float], dict[float, list[Any]]]:
    """The sequence of values, and per value the sorted ids holding it (ties in any order)."""
    by_value: dict[float, list[Any]] = defaultdict(list)
    for pid, value in entries:
        by_value[float(value)].append(pid)
    return [float(v) for _, v in entries], {v: sorted(ids) for v, ids in by_value.items()}


def page_all(client: QdrantClient, name: str, desc: bool, page: int,
             flt: models.Filter | None = None) -> list[tuple[Any, float]]:
    """Page through with ``start_from`` = the last value, skipping the entries already seen."""
    direction = models.Direction.DESC if desc else models.Direction.ASC
    seen: list[tuple[Any, float]] = []
    start = None
    while True:
        points, nxt = client.scroll(
            name, limit=page, scroll_filter=flt,
            order_by=models.OrderBy(key="n", direction=direction, start_from=start),
        )
        assert nxt is None
        fresh = [(p.id, p.order_value) for p in points if (p.id, p.order_value) not in seen]
        seen.extend(fresh)
        if not fresh and len(points) < page:
            return seen
        if not fresh:  # a page made only of ties already seen: ask for more at once
            page *= 2
            continue
        start = points[-1].order_value


@pytest.mark.parametrize("schema", ["float", "integer"])
def test_order_by_matches_the_engine(
    client: QdrantClient, collection_name: str, tmp_path: Path, schema: str
) -> None:
    data = payloads(150, seed=4)
    payload_collection(client, collection_name, data)
    client.create_payload_index(collection_name, "n", schema, wait=True)
    edge_schema = getattr(edge.PayloadSchemaType, schema.capitalize())
    flt = models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=1))])
    eflt = edge.Filter(must=[edge.FieldCondition(key="g", match=edge.MatchValue(1))])
    for desc in (False, True):
        want = edge_entries(tmp_path, data, edge_schema, desc)
        direction = models.Direction.DESC if desc else models.Direction.ASC
        points, nxt = client.scroll(
            collection_name, limit=10_000, order_by=models.OrderBy(key="n", direction=direction)
        )
        assert nxt is None
        got = [(p.id, p.order_value) for p in points]
        assert ties_apart(got) == ties_apart(want)
        assert all(p.payload is not None for p in points)  # with_payload defaults to true
        assert ties_apart(page_all(client, collection_name, desc, page=7)) == ties_apart(want)
        want = edge_entries(tmp_path, data, edge_schema, desc, eflt)
        assert ties_apart(page_all(client, collection_name, desc, 5, flt)) == ties_apart(want)
    # start_from is inclusive, and ties come in id order
    points, _ = client.scroll(collection_name, limit=3, order_by=models.OrderBy(key="n",
                              start_from=4))
    assert [p.order_value for p in points] == [4, 4, 4]
    assert [p.id for p in points] == sorted(p.id for p in points)
    # the string form of order_by is the key, ascending
    r = httpx.post(f"{client._client.rest_uri}/collections/{collection_name}/points/scroll",
                   json={"order_by": "n", "limit": 2, "with_payload": False})
    assert r.status_code == 200, r.text
    assert [p["order_value"] for p in r.json()["result"]["points"]] == [-5, -5]


def test_order_by_refusals(http: httpx.Client, collection_name: str) -> None:
    r = http.put(f"/collections/{collection_name}",
                 json={"vectors": {"size": 2, "distance": "Dot"}})
    assert r.status_code == 200, r.text
    http.put(f"/collections/{collection_name}/points?wait=true",
             json={"points": [{"id": 1, "vector": [1, 0], "payload": {"n": 1, "k": "a"}}]})
    url = f"/collections/{collection_name}/points/scroll"
    body = assert_rejected(http.post(url, json={"order_by": "n"}), 400)
    assert "No range index for `order_by` key: `n`" in body["status"]["error"]
    http.put(f"/collections/{collection_name}/index?wait=true",
             json={"field_name": "k", "field_schema": "keyword"})
    body = assert_rejected(http.post(url, json={"order_by": "k"}), 400)
    assert "No range index" in body["status"]["error"]
    http.put(f"/collections/{collection_name}/index?wait=true",
             json={"field_name": "n", "field_schema": "integer"})
    body = assert_rejected(http.post(url, json={"order_by": "n", "offset": 1}), 400)
    assert "Offset is not supported" in body["status"]["error"]
    for bad in ({"key": "n", "direction": "up"}, {"key": ""}, {"key": "n", "start_from": [1]}, 5):
        assert_rejected(http.post(url, json={"order_by": bad}), 400)
    r = http.post(url, json={"order_by": {"key": "n", "direction": "desc"}})
    assert r.status_code == 200, r.text
    assert r.json()["result"] == {
        "points": [{"id": 1, "payload": {"n": 1, "k": "a"}, "order_value": 1}],
        "next_page_offset": None,
    }
