"""Query API prefetch trees: heron and qdrant-client's local mode must answer alike.

One collection with six named vectors of every kind (dense Cosine, Dot and Euclid, a Cosine
multivector, a plain and an IDF sparse vector; each missing from some points) and payloads
with a distinct integer ``price`` is loaded into heron and into local mode. Hypothesis draws
prefetch trees up to three levels deep whose nodes are nearest-vector searches, queries by
point id, RRF (plain, with ``k``, with weights), DBSF, ``order_by`` and id order, each with
its own limit, filter and sometimes a score threshold; both sides run the same request and
the answers are compared.

Where the two may legitimately differ (equal scores ranked in another order) the test avoids
or tolerates it: every prefetch is re-run alone in local mode and an example whose prefetch
output has near-equal scores where they matter (at its limit cut, or anywhere when an RRF
parent reads its ranks) is rejected; at the root, runs of equal scores compare as sets.
Score thresholds sit halfway between two distinct scores of the stage they cut.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models

from tests.server import HeronProcess

COLL = "qprops"
SEED = 90_210
N_INT_IDS = 380
N_UUID_IDS = 20
VOCAB = 100
PRICES = 5_000
CATS = ["a", "b", "c", "d", "e"]
TAGS = ["x", "y", "z", "w"]
MAX_DEPTH = 3
MAX_PREFETCHES = 14
TIE = 1e-6  # scores closer than this (relative) count as tied

D = models.Distance
DENSE: dict[str, models.VectorParams] = {
    "d1": models.VectorParams(size=16, distance=D.COSINE),
    "d2": models.VectorParams(size=8, distance=D.DOT),
    "e": models.VectorParams(size=8, distance=D.EUCLID),
    "m": models.VectorParams(
        size=4,
        distance=D.COSINE,
        multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM
        ),
    ),
}
SPARSE: dict[str, models.SparseVectorParams] = {
    "s": models.SparseVectorParams(),
    "si": models.SparseVectorParams(modifier=models.Modifier.IDF),
}
NAMES: list[str] = [*DENSE, *SPARSE]

# sparse index popularity falls off like Zipf, so IDF weights differ a lot between indices
_POPULARITY = 1.0 / np.arange(1, VOCAB + 1) ** 0.8
_POPULARITY /= _POPULARITY.sum()


# --- data --------------------------------------------------------------------------------


def _f32(a: np.ndarray) -> list[Any]:
    """Values rounded to float32 first, so both sides store exactly the same numbers."""
    return a.astype(np.float32).astype(np.float64).tolist()  # type: ignore[no-any-return]


def _sparse(rng: np.random.Generator, lo: int, hi: int) -> models.SparseVector:
    nnz = int(rng.integers(lo, hi + 1))
    indices = rng.choice(VOCAB, size=nnz, replace=False, p=_POPULARITY)
    return models.SparseVector(
        indices=[int(i) for i in indices], values=_f32(rng.uniform(0.05, 2.0, size=nnz))
    )


def make_vector(rng: np.random.Generator, name: str, query: bool = False) -> Any:
    """A stored vector (or, with ``query``, a query vector) of the kind ``name`` holds."""
    if name in SPARSE:
        return _sparse(rng, 1, 6) if query else _sparse(rng, 3, 15)
    size = DENSE[name].size
    if name == "m":
        rows = int(rng.integers(1, 4) if query else rng.integers(2, 6))
        return _f32(rng.normal(size=(rows, size)))
    return _f32(rng.normal(size=size))


def make_points() -> list[models.PointStruct]:
    """~400 points: int and uuid ids, each vector missing from ~15%, distinct prices."""
    rng = np.random.default_rng(SEED)
    ids: list[int | str] = [int(i) for i in rng.choice(10**6, size=N_INT_IDS, replace=False)]
    ids += [str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | 11, version=4))
            for _ in range(N_UUID_IDS)]
    prices = rng.permutation(PRICES)[: len(ids)]
    points = []
    for pid, price in zip(ids, prices, strict=True):
        vectors = {n: make_vector(rng, n) for n in NAMES if rng.random() < 0.85}
        payload: dict[str, Any] = {
            "cat": str(rng.choice(CATS)),
            "flag": bool(rng.random() < 0.5),
            "tags": [str(t) for t in rng.choice(TAGS, size=int(rng.integers(0, 4)), replace=False)],
        }
        if rng.random() < 0.95:
            payload["price"] = int(price)
        points.append(models.PointStruct(id=pid, vector=vectors, payload=payload))
    return points


POINTS = make_points()
ALL_IDS: list[Any] = [p.id for p in POINTS]
HAS: dict[str, list[Any]] = {
    n: [p.id for p in POINTS if n in p.vector]  # type: ignore[operator]
    for n in NAMES
}


def _load(client: QdrantClient, exact: models.OptimizersConfigDiff | None = None) -> None:
    client.create_collection(
        COLL, vectors_config=DENSE, sparse_vectors_config=SPARSE, optimizers_config=exact
    )
    with warnings.catch_warnings():  # local mode warns that it has no use for the index
        warnings.simplefilter("ignore", UserWarning)
        client.create_payload_index(COLL, "price", models.PayloadSchemaType.INTEGER, wait=True)
    for start in range(0, len(POINTS), 100):
        client.upsert(COLL, points=POINTS[start : start + 100], wait=True)


@pytest.fixture(scope="module")
def pair(heron: HeronProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    """(heron client, local-mode client), both holding the collection."""
    remote = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    local = QdrantClient(":memory:")
    # heron never builds an (approximate) HNSW index here: local mode searches exactly
    _load(remote, models.OptimizersConfigDiff(indexing_threshold=0))
    _load(local)
    yield remote, local
    remote.close()
    local.close()


# --- query trees -------------------------------------------------------------------------

RANKED_KINDS = {"vector", "id", "rrf", "rrf_k", "rrf_w", "dbsf"}
FUSIONS = {"rrf", "rrf_k", "rrf_w", "dbsf"}
RRF_KINDS = {"rrf", "rrf_k", "rrf_w"}


@dataclass
class Node:
    """One stage of a query: the root or a prefetch.

    ``threshold_at`` is where a score threshold is to cut (a fraction of the stage's ranked
    output); ``threshold`` is the value, worked out from local mode before the run.
    """

    kind: str
    query: Any = None
    using: str | None = None
    limit: int | None = 10  # None: left out of the request, so the default of 10 applies
    filter: models.Filter | None = None
    threshold_at: float | None = None
    threshold: float | None = None
    children: list[Node] = field(default_factory=list)
    bare: bool = False  # a single prefetch sent as an object rather than a one-item list

    def prefetches(self) -> list[models.Prefetch] | models.Prefetch | None:
        if self.bare and len(self.children) == 1:
            return self.children[0].prefetch()
        return [c.prefetch() for c in self.children] or None

    def prefetch(self) -> models.Prefetch:
        return models.Prefetch(
            prefetch=self.prefetches(),
            query=self.query,
            using=self.using,
            filter=self.filter,
            score_threshold=self.threshold,
            limit=self.limit,
        )

    @property
    def top(self) -> int:
        """The limit in force."""
        return 10 if self.limit is None else self.limit

    def exclusion(self) -> models.Filter | None:
        """A query by point id leaves that point out of this stage and everything below."""
        if self.kind != "id":
            return None
        pid = self.query.nearest if isinstance(self.query, models.NearestQuery) else self.query
        return models.Filter(must_not=[models.HasIdCondition(has_id=[pid])])


def _clauses(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _and(filters: Sequence[models.Filter | None]) -> models.Filter | None:
    """Filters joined the way Qdrant joins a prefetch's filter with its parent's: clause by
    clause (so must and must_not conditions add up, while `should` lists and min_should
    conditions are pooled, the larger min_count winning)."""
    parts = [f for f in filters if f is not None]
    if len(parts) <= 1:
        return parts[0] if parts else None
    pooled = [f.min_should for f in parts if f.min_should is not None]
    min_should = None
    if pooled:
        min_should = models.MinShould(
            conditions=[c for m in pooled for c in m.conditions],
            min_count=max(m.min_count for m in pooled),
        )
    return models.Filter(
        must=[c for f in parts for c in _clauses(f.must)] or None,
        must_not=[c for f in parts for c in _clauses(f.must_not)] or None,
        should=[c for f in parts for c in _clauses(f.should)] or None,
        min_should=min_should,
    )


def request_kwargs(
    root: Node, offset: int = 0, context: Sequence[models.Filter | None] = (), **extra: Any
) -> dict[str, Any]:
    """``query_points`` arguments that run ``root`` as the top stage (under ``context``)."""
    return {
        "query": root.query,
        "using": root.using,
        "prefetch": root.prefetches(),
        "query_filter": _and([*context, root.filter]),
        "score_threshold": root.threshold,
        "limit": root.top,
        "offset": offset,
        **extra,
    }


def request_json(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The REST body of a ``query_points`` call, for failure messages and bug reports."""
    body = models.QueryRequest(
        query=kwargs["query"],
        using=kwargs["using"],
        prefetch=kwargs["prefetch"],
        filter=kwargs["query_filter"],
        score_threshold=kwargs["score_threshold"],
        limit=kwargs["limit"],
        offset=kwargs.get("offset") or None,
    )
    return body.model_dump(mode="json", exclude_none=True)


# --- strategies --------------------------------------------------------------------------

conditions: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(CATS).map(
        lambda c: models.FieldCondition(key="cat", match=models.MatchValue(value=c))
    ),
    st.lists(st.sampled_from(CATS), min_size=1, max_size=3, unique=True).map(
        lambda cs: models.FieldCondition(key="cat", match=models.MatchAny(any=cs))
    ),
    st.tuples(st.integers(0, PRICES), st.integers(500, PRICES)).map(
        lambda lo_len: models.FieldCondition(
            key="price", range=models.Range(gte=lo_len[0], lt=lo_len[0] + lo_len[1])
        )
    ),
    st.integers(0, PRICES).map(
        lambda v: models.FieldCondition(key="price", range=models.Range(lte=v))
    ),
    st.sampled_from(NAMES).map(lambda n: models.HasVectorCondition(has_vector=n)),
    st.booleans().map(
        lambda b: models.FieldCondition(key="flag", match=models.MatchValue(value=b))
    ),
)
exclusions: st.SearchStrategy[Any] = st.one_of(
    st.lists(st.sampled_from(ALL_IDS), min_size=1, max_size=25, unique=True).map(
        lambda ids: models.HasIdCondition(has_id=ids)
    ),
    st.sampled_from(CATS).map(
        lambda c: models.FieldCondition(key="cat", match=models.MatchValue(value=c))
    ),
)
filters: st.SearchStrategy[models.Filter] = st.one_of(
    st.builds(
        lambda must, must_not: models.Filter(must=must, must_not=must_not or None),
        st.lists(conditions, min_size=1, max_size=2),
        st.lists(exclusions, max_size=1),
    ),
    st.builds(lambda must_not: models.Filter(must_not=[must_not]), exclusions),
    # nested `should` lists and min_should conditions pool across levels (see _and)
    st.builds(lambda should: models.Filter(should=should), st.lists(conditions, min_size=1, max_size=2)),
    st.lists(conditions, min_size=1, max_size=3).flatmap(
        lambda conds: st.integers(1, len(conds)).map(
            lambda n: models.Filter(min_should=models.MinShould(conditions=conds, min_count=n))
        )
    ),
)

order_bys: st.SearchStrategy[Any] = st.one_of(
    st.just("price"),
    st.builds(
        models.OrderBy,
        key=st.just("price"),
        direction=st.sampled_from([None, models.Direction.ASC, models.Direction.DESC]),
        start_from=st.none() | st.integers(0, PRICES),
    ),
)


def _wrap(draw: st.DrawFn, value: Any) -> Any:
    """A nearest query as a bare vector/id or as ``{"nearest": ...}``."""
    return models.NearestQuery(nearest=value) if draw(st.booleans()) else value


@st.composite
def nodes(draw: st.DrawFn, depth: int, budget: list[int]) -> Node:
    """A random stage ``depth`` levels below the root, holding at most ``budget[0]`` more
    prefetches (shared by the whole tree)."""
    n_children = 0
    if depth < MAX_DEPTH and budget[0] > 0:
        most = min(3, budget[0])
        least = 1 if depth == 0 and draw(st.integers(0, 9)) > 0 else 0
        n_children = draw(st.integers(least, max(least, most)))
        budget[0] -= n_children
    children = [draw(nodes(depth + 1, budget)) for _ in range(n_children)]
    if children:
        kind = draw(st.sampled_from(["vector", "id", "rrf", "rrf_k", "rrf_w", "dbsf", "order_by"]))
    else:
        kind = draw(st.sampled_from(["vector", "vector", "vector", "id", "order_by", "none"]))
    limit = draw(st.integers(0 if depth else 1, 30)) or None  # a prefetch may omit its limit
    node = Node(kind, children=children, limit=limit, bare=draw(st.booleans()))
    if draw(st.integers(0, 9)) < 3:
        node.filter = draw(filters)
    if kind == "vector":
        node.using = draw(st.sampled_from(NAMES))
        seed = draw(st.integers(0, 2**32 - 1))
        node.query = _wrap(draw, make_vector(np.random.default_rng(seed), node.using, True))
    elif kind == "id":
        node.using = draw(st.sampled_from(NAMES))
        node.query = _wrap(draw, draw(st.sampled_from(HAS[node.using])))
    elif kind == "rrf":
        node.query = models.FusionQuery(fusion=models.Fusion.RRF)
    elif kind == "rrf_k":
        node.query = models.RrfQuery(rrf=models.Rrf(k=draw(st.integers(1, 80))))
    elif kind == "rrf_w":
        weights = [draw(st.floats(0.1, 3.0)) for _ in children]
        k = draw(st.none() | st.integers(1, 80))
        node.query = models.RrfQuery(rrf=models.Rrf(k=k, weights=weights))
    elif kind == "dbsf":
        node.query = models.FusionQuery(fusion=models.Fusion.DBSF)
    elif kind == "order_by":
        node.query = models.OrderByQuery(order_by=draw(order_bys))
    if kind in ("vector", "id") and draw(st.integers(0, 3)) == 0:
        node.threshold_at = draw(st.floats(0.0, 1.0))
    elif kind in FUSIONS and draw(st.integers(0, 9)) == 0:
        node.threshold_at = draw(st.floats(0.0, 1.0))
    return node


@st.composite
def trees(draw: st.DrawFn) -> Node:
    return draw(nodes(0, [MAX_PREFETCHES]))


selections = st.tuples(
    st.sampled_from([False, True, ["price", "cat"], models.PayloadSelectorExclude(exclude=["tags"])]),
    st.sampled_from([False, True, ["d1", "s"], ["m", "si", "e"]]),
)


# --- the oracle's view of each stage ------------------------------------------------------


def _tied(a: float, b: float) -> bool:
    return abs(a - b) <= TIE * max(1.0, abs(a), abs(b))


def run_alone(
    local: QdrantClient, node: Node, context: Sequence[models.Filter | None], limit: int,
    threshold: bool = True,
) -> list[models.ScoredPoint]:
    """Local mode's output of ``node`` as it runs inside its tree (under its ancestors'
    filters and id exclusions), with another limit."""
    kw = request_kwargs(node, 0, context, with_payload=False)
    kw["limit"] = limit
    if not threshold:
        kw["score_threshold"] = None
    return local.query_points(COLL, **kw).points


def _threshold_between(ranked: Sequence[models.ScoredPoint], at: float) -> float | None:
    """A value halfway between two clearly distinct neighbouring scores near ``at``."""
    if len(ranked) < 2:
        return None
    start = min(int(at * (len(ranked) - 1)), len(ranked) - 2)
    for k in list(range(start, len(ranked) - 1)) + list(range(start - 1, -1, -1)):
        a, b = ranked[k].score, ranked[k + 1].score
        if abs(a - b) > 1e-3 * max(1.0, abs(a), abs(b)):
            return (a + b) / 2
    return None


def set_thresholds(
    local: QdrantClient, node: Node, context: Sequence[models.Filter | None] = ()
) -> None:
    """Turn every ``threshold_at`` into a score threshold, deepest stages first."""
    inner = [*context, node.filter, node.exclusion()]
    for child in node.children:
        set_thresholds(local, child, inner)
    if node.threshold_at is not None:
        ranked = run_alone(local, node, context, 400, threshold=False)
        node.threshold = _threshold_between(ranked, node.threshold_at)


def tie_free(
    local: QdrantClient, node: Node, context: Sequence[models.Filter | None] = ()
) -> bool:
    """No prefetch below ``node`` has near-equal scores where they decide what its parent
    sees: at its limit cut, or (under an RRF parent, which reads ranks) anywhere."""
    inner = [*context, node.filter, node.exclusion()]
    for child in node.children:
        if child.kind in RANKED_KINDS:
            out = run_alone(local, child, inner, child.top + 1)
            scores = [p.score for p in out]
            pairs = range(len(scores) - 1) if node.kind in RRF_KINDS else (
                [child.top - 1] if len(scores) > child.top else []
            )
            if any(_tied(scores[k], scores[k + 1]) for k in pairs):
                return False
        if not tie_free(local, child, inner):
            return False
    return True


# --- comparison --------------------------------------------------------------------------


def _show(points: Sequence[models.ScoredPoint]) -> list[tuple[Any, float]]:
    return [(p.id, round(p.score, 6)) for p in points]


def _same_vectors(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, models.SparseVector):
        if not isinstance(got, models.SparseVector):
            return False
        g = sorted(zip(got.indices, got.values, strict=True))
        w = sorted(zip(want.indices, want.values, strict=True))
        return [i for i, _ in g] == [i for i, _ in w] and np.allclose(
            [v for _, v in g], [v for _, v in w], rtol=1e-5, atol=1e-6
        )
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(got) == set(want)
                and all(_same_vectors(got[k], want[k]) for k in want))
    return bool(np.allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-5 + 1e-4 * abs(b)


def assert_same_answer(
    got: Sequence[models.ScoredPoint],
    want: Sequence[models.ScoredPoint],
    extended: Sequence[models.ScoredPoint] | None,
    offset: int,
    where: str,
    ordered_by: bool = False,
) -> None:
    """Same points with the same scores (and, when ``ordered_by``, order values), payloads
    and vectors.

    Without ``extended`` the order must be exactly the same. With it (local mode's output
    from rank 0 to one past the page), a run of tied scores may come in any order, and a run
    cut by the page's start or end may hold other members of the run.
    """
    msg = f"{where}\nheron: {_show(got)}\nlocal: {_show(want)}"
    assert len(got) == len(want), msg
    for g, w in zip(got, want, strict=True):
        assert _close(g.score, w.score), msg
        if ordered_by:
            assert g.order_value == w.order_value, (g.id, g.order_value, w.order_value, msg)
    if extended is None:
        assert [g.id for g in got] == [w.id for w in want], msg
    else:
        assert [p.id for p in extended[offset : offset + len(want)]] == [w.id for w in want]
        start = 0
        while start < len(extended):
            end = start + 1
            while end < len(extended) and _tied(extended[end - 1].score, extended[end].score):
                end += 1
            lo, hi = max(start, offset), min(end, offset + len(want))
            if lo < hi:
                page = {g.id for g in got[lo - offset : hi - offset]}
                run = {p.id for p in extended[start:end]}
                whole = start >= offset and end <= offset + len(want)
                if whole:
                    assert page == run, msg
                elif end < len(extended):
                    assert page <= run, msg
            start = end
    by_id = {w.id: w for w in want}
    for g in got:
        w = by_id.get(g.id)
        if w is not None:
            assert g.payload == w.payload, (g.id, g.payload, w.payload)
            assert _same_vectors(g.vector, w.vector), (g.id, g.vector, w.vector)


def check_tree(
    remote: QdrantClient,
    local: QdrantClient,
    root: Node,
    offset: int = 0,
    with_payload: Any = False,
    with_vectors: Any = False,
) -> None:
    """Run ``root`` on both sides and compare (thresholds and ties already dealt with)."""
    kw = request_kwargs(root, offset, with_payload=with_payload, with_vectors=with_vectors)
    where = f"request: {request_json(kw)}"
    want = local.query_points(COLL, **kw).points
    try:
        got = remote.query_points(COLL, **kw).points
    except Exception as exc:  # noqa: BLE001 - reported with the request that caused it
        raise AssertionError(f"heron failed: {exc}\n{where}") from exc
    extended = None
    if root.kind in RANKED_KINDS:
        extended = run_alone(local, root, (), offset + root.top + 1)
    assert_same_answer(got, want, extended, offset, where, root.kind == "order_by")


# --- tests -------------------------------------------------------------------------------


def test_loaded_equally(pair: tuple[QdrantClient, QdrantClient]) -> None:
    """Both sides hold the same points; each vector kind is missing from some of them."""
    remote, local = pair
    assert remote.count(COLL).count == local.count(COLL).count == len(POINTS)
    for name in NAMES:
        has = models.Filter(must=[models.HasVectorCondition(has_vector=name)])
        assert remote.count(COLL, count_filter=has).count == len(HAS[name])
        assert 0 < len(HAS[name]) < len(POINTS)


@settings(
    max_examples=int(os.environ.get("HERON_QUERY_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(root=trees(), offset=st.integers(0, 5), selection=selections)
def test_random_trees(
    pair: tuple[QdrantClient, QdrantClient], root: Node, offset: int, selection: tuple[Any, Any]
) -> None:
    """A random prefetch tree gives the same points, scores and order on both sides."""
    remote, local = pair
    set_thresholds(local, root)
    assume(tie_free(local, root))
    check_tree(remote, local, root, offset, *selection)


# --- hand-written cases --------------------------------------------------------------------


def _vec(name: str, seed: int) -> Any:
    return make_vector(np.random.default_rng(seed), name, query=True)


def _cat(*cats: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="cat", match=models.MatchAny(any=list(cats)))])


def _price(lo: int, hi: int) -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key="price", range=models.Range(gte=lo, lt=hi))]
    )


def _has(name: str) -> models.Filter:
    return models.Filter(must=[models.HasVectorCondition(has_vector=name)])


def _rrf_k(k: int) -> models.RrfQuery:
    return models.RrfQuery(rrf=models.Rrf(k=k))


def _rrf_w(*weights: float) -> models.RrfQuery:
    return models.RrfQuery(rrf=models.Rrf(weights=list(weights)))


def _order(direction: str | None = None, start: int | None = None) -> models.OrderByQuery:
    d = None if direction is None else models.Direction(direction)
    return models.OrderByQuery(order_by=models.OrderBy(key="price", direction=d, start_from=start))


RRF = models.FusionQuery(fusion=models.Fusion.RRF)
DBSF = models.FusionQuery(fusion=models.Fusion.DBSF)
ID_D1 = HAS["d1"][3]
ID_M = HAS["m"][10]
ID_SI = HAS["si"][20]

FIXED: dict[str, Node] = {
    # DBSF of a sparse-IDF search and (RRF of two dense searches), re-scored by a multivector
    "multivector_over_dbsf_over_rrf": Node(
        "vector", _vec("m", 1), "m", 12, children=[
            Node("dbsf", DBSF, None, 25, children=[
                Node("vector", _vec("si", 2), "si", 20),
                Node("rrf", RRF, None, 20, _cat("a", "b", "c"), children=[
                    Node("vector", _vec("d1", 3), "d1", 15),
                    Node("vector", models.NearestQuery(nearest=_vec("e", 4)), "e", 15),
                ]),
            ]),
            Node("vector", _vec("d2", 5), "d2", 10, _price(0, 2500)),
        ],
    ),
    # weighted RRF at the root over: order_by re-ranking, an id query, a thresholded search
    "weighted_rrf_over_mixed_kinds": Node(
        "rrf_w", _rrf_w(2.0, 0.5, 1.25), None, 15, children=[
            Node("order_by", _order("desc"), None, 20, children=[
                Node("vector", _vec("s", 6), "s", 30),
                Node("id", ID_M, "m", 30, _has("d1"), children=[
                    Node("vector", _vec("d1", 7), "d1", 30),
                ]),
            ]),
            Node("id", models.NearestQuery(nearest=ID_D1), "d1", 20),
            Node("vector", _vec("e", 8), "e", 25, threshold=4.0),
        ],
    ),
    # order_by at the root, from a start value, over DBSF and an id-ordered scroll
    "order_by_root_over_fusion_and_scroll": Node(
        "order_by", _order("asc", 1200), None, 20, children=[
            Node("dbsf", DBSF, None, 100, children=[
                Node("vector", _vec("d1", 9), "d1", 30, threshold=0.1),
                Node("id", ID_SI, "si", 30),
                Node("order_by", models.OrderByQuery(order_by="price"), None, 30, _cat("d")),
            ]),
            Node("none", None, None, 25, _price(1000, 3000)),
        ],
    ),
    # rrf with k over three levels, an id query re-scoring below a filter that excludes ids
    "deep_rrf_k_with_exclusions": Node(
        "rrf_k", _rrf_k(7), None, 10, models.Filter(
            must_not=[models.HasIdCondition(has_id=ALL_IDS[:60])]), children=[
            Node("id", ID_D1, "d1", 20, children=[
                Node("rrf", RRF, None, 30, children=[
                    Node("vector", _vec("d2", 10), "d2", 30),
                    Node("vector", _vec("si", 11), "si", 30, _cat("a", "e")),
                ]),
            ]),
            Node("vector", _vec("m", 12), "m", 20, children=[
                Node("order_by", _order("desc", 3000), None, 30, _has("m")),
            ]),
        ],
    ),
}


@pytest.mark.parametrize("name", list(FIXED))
def test_fixed_trees(pair: tuple[QdrantClient, QdrantClient], name: str) -> None:
    """Hand-written three-level trees of mixed kinds, easy to read when they fail."""
    remote, local = pair
    root = FIXED[name]
    assert tie_free(local, root), "the fixed case itself has ties that make it ambiguous"
    check_tree(remote, local, root, offset=2, with_payload=True, with_vectors=["d1", "s", "m"])


CAT_A = models.FieldCondition(key="cat", match=models.MatchValue(value="a"))
CAT_B = models.FieldCondition(key="cat", match=models.MatchValue(value="b"))
FLAG = models.FieldCondition(key="flag", match=models.MatchValue(value=True))

MERGED_FILTERS: dict[str, Node] = {
    # Qdrant merges a prefetch's filter into its parent's clause by clause: the two `should`
    # lists become one, so this asks for cat a OR cat b (an AND would find nothing)
    "should_lists_concatenate": Node(
        "rrf", RRF, None, 20, models.Filter(should=[CAT_A]), children=[
            Node("vector", _vec("d1", 21), "d1", 20, models.Filter(should=[CAT_B])),
        ],
    ),
    "should_lists_concatenate_two_levels_down": Node(
        "vector", _vec("d2", 22), "d2", 10, models.Filter(should=[CAT_A]), children=[
            Node("rrf", RRF, None, 20, children=[
                Node("vector", _vec("d1", 23), "d1", 20, models.Filter(should=[CAT_B])),
            ]),
        ],
    ),
    # min_should: conditions pooled, the larger min_count kept: 2 of (cat a, flag, cat b)
    "min_should_pools_conditions": Node(
        "vector", _vec("d2", 24), "d2", 20,
        models.Filter(min_should=models.MinShould(conditions=[CAT_A, FLAG], min_count=2)),
        children=[
            Node("vector", _vec("d1", 25), "d1", 30, models.Filter(
                min_should=models.MinShould(conditions=[CAT_B], min_count=1))),
        ],
    ),
}


@pytest.mark.parametrize("name", list(MERGED_FILTERS))
def test_nested_filters_merge_clause_by_clause(
    pair: tuple[QdrantClient, QdrantClient], name: str
) -> None:
    """A prefetch's filter joins its parent's the way Qdrant's (and local mode's) merge does."""
    remote, local = pair
    root = MERGED_FILTERS[name]
    assert tie_free(local, root), "the fixed case itself has ties that make it ambiguous"
    check_tree(remote, local, root, with_payload=["cat", "flag"])


@pytest.mark.parametrize("nested", [False, True])
def test_prefetch_without_query_is_rejected(
    pair: tuple[QdrantClient, QdrantClient], heron: HeronProcess, nested: bool
) -> None:
    """Prefetches need a query to merge them, at the root and inside a prefetch: local mode
    (like Qdrant: "A query is needed to merge the prefetches") refuses, so must heron."""
    _, local = pair
    leaf = {"query": [0.1] * 16, "using": "d1", "limit": 5}
    body: dict[str, Any] = {"prefetch": [leaf], "limit": 3}
    if nested:
        body = {"prefetch": [{"prefetch": [leaf], "limit": 3}], "query": {"fusion": "rrf"},
                "limit": 3}
    with pytest.raises(ValueError, match="query is needed"):
        local.query_points(COLL, **request_kwargs_from_json(body))
    with httpx.Client(base_url=heron.url, timeout=30) as http:
        r = http.post(f"/collections/{COLL}/points/query", json=body)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def request_kwargs_from_json(body: dict[str, Any]) -> dict[str, Any]:
    """``query_points`` arguments from a REST body (prefetch, query and limit only)."""
    req = models.QueryRequest(**body)
    return {"prefetch": req.prefetch, "query": req.query, "limit": req.limit}
