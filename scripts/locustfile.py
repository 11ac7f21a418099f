"""Locust load profile for heron: the query mix it is built for, plus concurrent writers.

User classes (weights are their share of the simulated users):

- ``DenseQueryUser``: nearest neighbours on the dense vector.
- ``FilteredQueryUser``: dense query with a payload filter (keyword match + float range).
- ``HybridUser``: RRF fusion of a dense and a sparse prefetch.
- ``RescoreUser``: multi-stage: a dense prefetch re-scored by the ColBERT multivector.
- ``GroupsUser``: ``/points/query/groups`` grouped by category.
- ``WriterUser``: upserts, deletes and payload updates (on ids above the seeded range for
  upserts and deletes, so the seeded data the readers query stays in place).

Sized by environment variables: ``HERON_LOAD_COLLECTION`` (``load``), ``HERON_LOAD_POINTS``
(10000), ``HERON_LOAD_DIM`` (64), ``HERON_LOAD_COLBERT_DIM`` (16), ``HERON_LOAD_COLBERT_TOKENS``
(8), ``HERON_LOAD_VOCAB`` (5000), ``HERON_LOAD_SPARSE_NNZ`` (20), ``HERON_LOAD_THINK_MS`` (50:
mean pause between a user's requests) and ``HERON_LOAD_WAIT`` (``false``: writers' ``wait``).

Seed the collection first, then run locust (``scripts/load`` does both around a fresh server):

    .venv/bin/python scripts/locustfile.py --seed-only --host http://127.0.0.1:6333
    .venv/bin/locust -f scripts/locustfile.py --headless -u 50 -r 10 -t 60s \\
        --host http://127.0.0.1:6333
"""

from __future__ import annotations

import os
import random
from typing import Any

COLLECTION = os.environ.get("HERON_LOAD_COLLECTION", "load")
POINTS = int(os.environ.get("HERON_LOAD_POINTS", "10000"))
DIM = int(os.environ.get("HERON_LOAD_DIM", "64"))
COLBERT_DIM = int(os.environ.get("HERON_LOAD_COLBERT_DIM", "16"))
COLBERT_TOKENS = int(os.environ.get("HERON_LOAD_COLBERT_TOKENS", "8"))
VOCAB = int(os.environ.get("HERON_LOAD_VOCAB", "5000"))
SPARSE_NNZ = int(os.environ.get("HERON_LOAD_SPARSE_NNZ", "20"))
THINK_MS = float(os.environ.get("HERON_LOAD_THINK_MS", "50"))
WRITER_WAIT = os.environ.get("HERON_LOAD_WAIT", "false").lower() == "true"
CATEGORIES = [f"cat{i}" for i in range(20)]
BASE = f"/collections/{COLLECTION}/points"


def dense_vector(rng: random.Random, dim: int = DIM) -> list[float]:
    return [round(rng.gauss(0, 1), 5) for _ in range(dim)]


def sparse_vector(rng: random.Random) -> dict[str, list[Any]]:
    """Term-weight-like: frequent low indices, ``SPARSE_NNZ`` distinct ones at most."""
    indices = sorted({min(VOCAB - 1, int(rng.paretovariate(1.2)) - 1) * 7 % VOCAB
                      for _ in range(SPARSE_NNZ * 2)})[:SPARSE_NNZ]
    return {"indices": indices, "values": [round(rng.random(), 4) for _ in indices]}


def multivector(rng: random.Random, tokens: int = COLBERT_TOKENS) -> list[list[float]]:
    return [dense_vector(rng, COLBERT_DIM) for _ in range(tokens)]


def payload(rng: random.Random, pid: int) -> dict[str, Any]:
    return {
        "category": CATEGORIES[pid % len(CATEGORIES)],
        "price": round(rng.uniform(1, 1000), 2),
        "tags": rng.sample(["red", "green", "blue", "new", "sale", "eco"], 2),
    }


def point(rng: random.Random, pid: int) -> dict[str, Any]:
    return {
        "id": pid,
        "vector": {"dense": dense_vector(rng), "sparse": sparse_vector(rng),
                   "colbert": multivector(rng)},
        "payload": payload(rng, pid),
    }


def collection_config() -> dict[str, Any]:
    return {
        "vectors": {
            "dense": {"size": DIM, "distance": "Cosine"},
            "colbert": {"size": COLBERT_DIM, "distance": "Cosine",
                        "multivector_config": {"comparator": "max_sim"}},
        },
        "sparse_vectors": {"sparse": {}},
    }


def seed(host: str, batch: int = 256) -> None:
    """Recreate the collection, index its payload fields, upsert ``POINTS`` points."""
    import time

    import httpx

    rng = random.Random(0)
    with httpx.Client(base_url=host, timeout=120) as http:
        http.delete(f"/collections/{COLLECTION}")
        http.put(f"/collections/{COLLECTION}", json=collection_config()).raise_for_status()
        for field, schema in (("category", "keyword"), ("price", "float")):
            http.put(f"/collections/{COLLECTION}/index?wait=true",
                     json={"field_name": field, "field_schema": schema}).raise_for_status()
        started = time.perf_counter()
        for start in range(0, POINTS, batch):
            pts = [point(rng, pid) for pid in range(start, min(POINTS, start + batch))]
            http.put(f"{BASE}?wait=true", json={"points": pts}).raise_for_status()
        took = time.perf_counter() - started
        count = http.post(f"{BASE}/count", json={"exact": True}).json()["result"]["count"]
    print(f"seeded {count} points into {COLLECTION} (dim {DIM}, colbert {COLBERT_TOKENS}x"
          f"{COLBERT_DIM}, sparse nnz<={SPARSE_NNZ}) in {took:.1f}s")


try:
    from locust import between, task
    from locust.contrib.fasthttp import FastHttpUser
except ImportError:  # seeding needs no locust
    FastHttpUser = None  # type: ignore[assignment,misc]

if FastHttpUser is not None:

    class HeronUser(FastHttpUser):
        """Shared helpers; not run itself."""

        abstract = True
        wait_time = between(0, 2 * THINK_MS / 1000)

        def on_start(self) -> None:
            self.rng = random.Random()

        def query(self, name: str, body: dict[str, Any], path: str = "/query") -> None:
            self.client.post(BASE + path, json=body, name=name)

    class DenseQueryUser(HeronUser):
        weight = 30

        @task
        def dense(self) -> None:
            self.query("query dense", {"query": dense_vector(self.rng), "using": "dense",
                                       "limit": 10, "with_payload": True})

    class FilteredQueryUser(HeronUser):
        weight = 20

        @task
        def filtered(self) -> None:
            low = self.rng.uniform(1, 800)
            self.query("query filtered", {
                "query": dense_vector(self.rng), "using": "dense", "limit": 10,
                "filter": {"must": [
                    {"key": "category", "match": {"value": self.rng.choice(CATEGORIES)}},
                    {"key": "price", "range": {"gte": low, "lte": low + 200}},
                ]},
            })

    class HybridUser(HeronUser):
        weight = 20

        @task
        def hybrid(self) -> None:
            self.query("query hybrid rrf", {
                "prefetch": [
                    {"query": dense_vector(self.rng), "using": "dense", "limit": 50},
                    {"query": sparse_vector(self.rng), "using": "sparse", "limit": 50},
                ],
                "query": {"fusion": "rrf"},
                "limit": 10,
            })

    class RescoreUser(HeronUser):
        weight = 10

        @task
        def rescore(self) -> None:
            self.query("query rescore colbert", {
                "prefetch": {"query": dense_vector(self.rng), "using": "dense", "limit": 100},
                "query": multivector(self.rng, 4),
                "using": "colbert",
                "limit": 10,
            })

    class GroupsUser(HeronUser):
        weight = 5

        @task
        def groups(self) -> None:
            self.query("query groups", {
                "query": dense_vector(self.rng), "using": "dense", "group_by": "category",
                "limit": 5, "group_size": 3,
            }, path="/query/groups")

    class WriterUser(HeronUser):
        weight = 15

        def _wait(self) -> str:
            return "?wait=" + ("true" if WRITER_WAIT else "false")

        def _fresh_ids(self, n: int) -> list[int]:
            return [POINTS + self.rng.randrange(POINTS) for _ in range(n)]

        @task(5)
        def upsert(self) -> None:
            pts = [point(self.rng, pid) for pid in dict.fromkeys(self._fresh_ids(16))]
            self.client.put(BASE + self._wait(), json={"points": pts}, name="upsert")

        @task(2)
        def delete(self) -> None:
            self.client.post(BASE + "/delete" + self._wait(),
                             json={"points": self._fresh_ids(8)}, name="delete")

        @task(3)
        def set_payload(self) -> None:
            ids = [self.rng.randrange(POINTS) for _ in range(8)]
            self.client.post(BASE + "/payload" + self._wait(),
                             json={"payload": {"touched": self.rng.randrange(1000)},
                                   "points": ids},
                             name="set_payload")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Seed the load-test collection.")
    parser.add_argument("--seed-only", action="store_true", required=True,
                        help="create and fill the collection, then exit")
    parser.add_argument("--host", default="http://127.0.0.1:6333")
    parser.add_argument("--batch", type=int, default=256)
    cli = parser.parse_args()
    seed(cli.host, cli.batch)
