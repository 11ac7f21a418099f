"""Writes tests/clients/fixture.json: the data and expected answers for the guide's client programs.

The Rust, Java and TypeScript programs under tests/clients/ create collections shaped like the
hybrid-queries guide's, upsert the points from the fixture, run the guide's examples over gRPC
and compare what heron answers with the ``expected`` section.  The expected answers come from
qdrant-edge-py (Qdrant's own engine, embedded), never from heron, so the check is independent.

Random data can put two scores so close that float rounding decides which of them is inside a
limit; the generator measures every cut-off (each prefetch limit and each final limit) and moves
to the next seed until all of them have a clear gap, so the fixture has one right answer.

Run: ``/work/main/.venv/bin/python tests/clients/make_fixture.py`` (rewrites the file).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

FIXTURE = Path(__file__).with_name("fixture.json")
FIRST_SEED = 10_610
GUIDE_UUID = "43cf51e2-8777-4f52-bc74-c2cbde0c8b04"
GAP = 2e-3  # smallest score gap allowed at a cut-off
RRF_K = 2  # Qdrant's default k for reciprocal rank fusion

# The guide's query inputs, as its Rust/Java/TypeScript examples write them.
Q_SPARSE = ([1, 42], [0.22, 0.8])
Q_DENSE = [0.01, 0.45, 0.67]
Q_MRL = [1.0, 23.0, 45.0, 67.0]
Q_FULL = [0.01, 0.299, 0.45, 0.67]
Q_COLBERT = [[0.1, 0.2], [0.2, 0.1], [0.8, 0.9]]
COLORS = ["red", "green", "blue"]

COS = qe.Distance.Cosine
MAXSIM = qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)


class TooClose(Exception):
    """Two scores straddle a cut-off within GAP: this seed gives an ambiguous answer."""


def dense(size: int, datatype: Any = None, multi: bool = False) -> qe.EdgeVectorParams:
    return qe.EdgeVectorParams(
        size=size, distance=COS, datatype=datatype, multivector_config=MAXSIM if multi else None
    )


def rounded(a: np.ndarray) -> list[Any]:
    """4 decimals: every language reads the same float32 from the JSON text."""
    return np.round(a, 4).tolist()


def make_points(rng: np.random.Generator) -> dict[str, list[dict[str, Any]]]:
    """Points of each collection: ``id``, ``vector`` (list or name → value) and ``payload``."""
    hybrid = []
    for i in range(1, 201):
        nnz = int(rng.integers(1, 6))
        idx = sorted(rng.choice(np.arange(60), size=nnz, replace=False).tolist())
        if rng.random() < 0.5 and 1 not in idx and 42 not in idx:
            idx = sorted(idx[1:] + [int(rng.choice([1, 42]))])
        vals = rounded(rng.uniform(0.05, 1.0, size=len(idx)))
        hybrid.append(
            {
                "id": i,
                "vector": {
                    "dense": rounded(rng.normal(size=3)),
                    "sparse": {"indices": idx, "values": vals},
                },
            }
        )
    mrl = [
        {
            "id": i,
            "vector": {
                "mrl_byte": rng.integers(0, 256, size=4).tolist(),
                "full": rounded(rng.normal(size=4)),
            },
        }
        for i in range(1, 301)
    ]
    multistage = [
        {
            "id": i,
            "vector": {
                "dense": rounded(rng.normal(size=3)),
                "mrl_byte": rng.integers(0, 256, size=4).tolist(),
                "full": rounded(rng.normal(size=3)),
                "colbert": rounded(rng.normal(size=(int(rng.integers(1, 5)), 2))),
            },
        }
        for i in range(1, 301)
    ]
    prices = rng.permutation(np.arange(100, 100 + 201 * 7, 7))[:201] / 100.0
    plain_ids: list[Any] = [*range(1, 201), GUIDE_UUID]
    plain = [
        {
            "id": pid,
            "vector": rounded(rng.normal(size=3)),
            "payload": {
                "color": COLORS[int(rng.integers(0, 3))],
                "price": float(prices[n]),
                "document_id": int(rng.integers(0, 30)),
            },
        }
        for n, pid in enumerate(plain_ids)
    ]
    lookup = [
        {"id": i, "vector": {"512d-vector": rounded(rng.normal(size=512))}} for i in range(1, 41)
    ]
    another = [
        {"id": pid, "vector": {"image-512": rounded(rng.normal(size=512))}}
        for pid in [GUIDE_UUID, 7, 8, 9]
    ]
    return {
        "hybrid": hybrid,
        "mrl": mrl,
        "multistage": multistage,
        "plain": plain,
        "lookup": lookup,
        "another_collection": another,
    }


CONFIGS: dict[str, Callable[[], qe.EdgeConfig]] = {
    "hybrid": lambda: qe.EdgeConfig(
        vectors={"dense": dense(3)}, sparse_vectors={"sparse": qe.EdgeSparseVectorParams()}
    ),
    "mrl": lambda: qe.EdgeConfig(
        vectors={"mrl_byte": dense(4, qe.VectorStorageDatatype.Uint8), "full": dense(4)}
    ),
    "multistage": lambda: qe.EdgeConfig(
        vectors={
            "dense": dense(3),
            "mrl_byte": dense(4, qe.VectorStorageDatatype.Uint8),
            "full": dense(3),
            "colbert": dense(2, multi=True),
        }
    ),
    "plain": lambda: qe.EdgeConfig(vectors=dense(3)),
    "lookup": lambda: qe.EdgeConfig(vectors={"512d-vector": dense(512)}),
    "another_collection": lambda: qe.EdgeConfig(vectors={"image-512": dense(512)}),
}


def edge_vector(v: Any) -> Any:
    if isinstance(v, dict) and "indices" in v:
        return qe.SparseVector(v["indices"], [float(x) for x in v["values"]])
    if isinstance(v, dict):
        return {name: edge_vector(x) for name, x in v.items()}
    return v


def load_shards(points: dict[str, list[dict[str, Any]]], root: Path) -> dict[str, qe.EdgeShard]:
    shards = {}
    for name, make in CONFIGS.items():
        shard = qe.EdgeShard.create(str(root / name), make())
        shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(p["id"], edge_vector(p["vector"]), p.get("payload"))
                    for p in points[name]
                ]
            )
        )
        shards[name] = shard
    shards["plain"].update(
        qe.UpdateOperation.create_field_index("price", qe.PayloadSchemaType.Float)
    )
    shards["plain"].update(
        qe.UpdateOperation.create_field_index("color", qe.PayloadSchemaType.Keyword)
    )
    return shards


def pid(p: qe.ScoredPoint) -> Any:
    return str(p.id) if not isinstance(p.id, int) else p.id


def cut(shard: qe.EdgeShard, query: Any, limit: int, flt: Any = None, pre: Any = None) -> list[Any]:
    """Top ``limit`` of one stage; raises TooClose if the score at the cut-off is ambiguous."""
    got = shard.query(qe.QueryRequest(limit=limit + 1, query=query, filter=flt, prefetches=pre))
    if len(got) > limit and abs(got[limit - 1].score - got[limit].score) < GAP:
        raise TooClose(f"{query} cut at {limit}")
    return got[:limit]


def scored(points: list[qe.ScoredPoint]) -> list[list[Any]]:
    """[id, score] pairs; equal scores (RRF ties) listed by id so the file is reproducible."""
    pairs = [[pid(p), round(float(p.score), 6)] for p in points]
    return sorted(pairs, key=lambda pair: (-pair[1], str(pair[0])))


def color(c: str) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition("color", match=qe.MatchValue(c))])


def expectations(shards: dict[str, qe.EdgeShard]) -> dict[str, Any]:
    """Each guide example's answer, with every cut-off checked for a clear gap."""
    hy, mrl, ms, plain = shards["hybrid"], shards["mrl"], shards["multistage"], shards["plain"]
    sparse_q = qe.Query.Nearest(qe.SparseVector(*Q_SPARSE), using="sparse")
    dense_q = qe.Query.Nearest(Q_DENSE, using="dense")
    cut(hy, sparse_q, 20)
    cut(hy, dense_q, 20)
    hybrid_pre = [qe.Prefetch(limit=20, query=sparse_q), qe.Prefetch(limit=20, query=dense_q)]
    out: dict[str, Any] = {}
    for name, fusion in [("rrf", qe.Fusion.Rrf(k=RRF_K)), ("dbsf", qe.Fusion.Dbsf())]:
        got = hy.query(qe.QueryRequest(limit=11, query=fusion, prefetches=hybrid_pre))
        if len(got) > 10 and abs(got[9].score - got[10].score) < GAP:
            raise TooClose(name)  # a tie at the cut-off: the set of 10 is not unique
        out[name] = scored(got[:10])

    mrl_q = qe.Query.Nearest(Q_MRL, using="mrl_byte")
    cut(mrl, mrl_q, 1000)
    out["mrl_full"] = scored(
        cut(
            mrl,
            qe.Query.Nearest(Q_FULL, using="full"),
            10,
            pre=[qe.Prefetch(limit=1000, query=mrl_q)],
        )
    )
    colbert_q = qe.Query.Nearest(Q_COLBERT, using="colbert")
    cut(ms, dense_q, 100)
    out["dense_colbert"] = scored(
        cut(ms, colbert_q, 10, pre=[qe.Prefetch(limit=100, query=dense_q)])
    )
    full_q = qe.Query.Nearest(Q_DENSE, using="full")
    mrl_pre = [qe.Prefetch(limit=1000, query=qe.Query.Nearest(Q_MRL, using="mrl_byte"))]
    cut(ms, full_q, 100, pre=mrl_pre)
    out["mrl_full_colbert"] = scored(
        cut(ms, colbert_q, 10, pre=[qe.Prefetch(limit=100, query=full_q, prefetches=mrl_pre)])
    )

    (target,) = plain.retrieve([GUIDE_UUID], with_vector=True, with_payload=False)
    by_id = [p for p in cut(plain, qe.Query.Nearest(target.vector), 11) if pid(p) != GUIDE_UUID]
    out["by_id"] = scored(by_id[:10])
    (image,) = shards["another_collection"].retrieve(
        [GUIDE_UUID], with_vector=True, with_payload=False
    )
    vec = image.vector["image-512"]
    out["lookup_from"] = scored(
        cut(shards["lookup"], qe.Query.Nearest(vec, using="512d-vector"), 10)
    )

    plain_q = qe.Query.Nearest(Q_DENSE)
    for c in ("red", "green"):
        cut(plain, plain_q, 10, flt=color(c))
    pre = [qe.Prefetch(limit=10, query=plain_q, filter=color(c)) for c in ("red", "green")]
    got = plain.query(
        qe.QueryRequest(limit=10, query=qe.OrderBy("price"), prefetches=pre, with_payload=True)
    )
    out["order_by"] = [[pid(p), p.payload["price"]] for p in got]
    out["groups"] = groups(plain)
    return out


def groups(plain: qe.EdgeShard) -> list[dict[str, Any]]:
    """group_by document_id, 4 groups of at most 2, from the full ranking (no cut-off ties)."""
    ranking = plain.query(
        qe.QueryRequest(limit=1000, query=qe.Query.Nearest(Q_DENSE), with_payload=True)
    )
    scores = [p.score for p in ranking]
    if min(abs(a - b) for a, b in zip(scores, scores[1:], strict=False)) < 1e-5:
        raise TooClose("groups ranking")
    found: dict[int, list[qe.ScoredPoint]] = {}
    for p in ranking:
        hits = found.setdefault(p.payload["document_id"], [])
        if len(hits) < 2:
            hits.append(p)
    best = sorted(found.items(), key=lambda kv: -kv[1][0].score)
    if abs(best[3][1][0].score - best[4][1][0].score) < GAP:
        raise TooClose("groups cut")
    return [{"id": doc, "hits": scored(hits)} for doc, hits in best[:4]]


def build() -> dict[str, Any]:
    seed = FIRST_SEED
    while True:
        points = make_points(np.random.default_rng(seed))
        with tempfile.TemporaryDirectory() as tmp:
            shards = load_shards(points, Path(tmp))
            try:
                expected = expectations(shards)
            except TooClose:
                seed += 1
                continue
            finally:
                for shard in shards.values():
                    shard.close()
        return {"seed": seed, "uuid": GUIDE_UUID, "collections": points, "expected": expected}


def main() -> None:
    fixture = build()
    FIXTURE.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {FIXTURE} (seed {fixture['seed']})")


if __name__ == "__main__":
    main()
