"""qdrant-edge (Qdrant's engine embedded) as the oracle for the Query API kinds.

``EdgeOracle`` holds the same points as a heron collection and answers the same REST request
bodies: ``to_edge`` translates a request dict (query kinds, prefetch trees, simple filters) into
edge's objects. Examples given as point ids become the stored vectors plus a ``must_not``
``has_id`` filter, which is what Qdrant does with them before its engine sees the query.
"""

from __future__ import annotations

import tempfile
from typing import Any

import qdrant_edge as E

DISTANCES = {"Cosine": E.Distance.Cosine, "Dot": E.Distance.Dot, "Euclid": E.Distance.Euclid,
             "Manhattan": E.Distance.Manhattan}
DECAY = {"lin_decay": E.DecayKind.Lin, "exp_decay": E.DecayKind.Exp,
         "gauss_decay": E.DecayKind.Gauss}


class EdgeOracle:
    """An edge shard with the given vectors config (REST shapes) and points (REST dicts)."""

    def __init__(self, vectors: dict[str, Any], sparse: dict[str, Any],
                 points: list[dict[str, Any]]) -> None:
        dense = {}
        for name, p in vectors.items():
            multi = None
            if p.get("multivector_config"):
                multi = E.MultiVectorConfig(E.MultiVectorComparator.MaxSim)
            dense[name] = E.EdgeVectorParams(size=p["size"], distance=DISTANCES[p["distance"]],
                                             multivector_config=multi)
        sp = {
            name: E.EdgeSparseVectorParams(modifier=E.Modifier.Idf if p.get("modifier") == "idf"
                                           else None)
            for name, p in sparse.items()
        }
        self.sparse_names = set(sparse)
        self.shard = E.EdgeShard.create(tempfile.mkdtemp(prefix="edge-"),
                                        E.EdgeConfig(vectors=dense, sparse_vectors=sp))
        self.vectors: dict[Any, dict[str, Any]] = {}
        batch = []
        for pt in points:
            self.vectors[pt["id"]] = pt["vector"]
            vec = {n: self._vec(n, v) for n, v in pt["vector"].items()}
            batch.append(E.Point(pt["id"], vec, pt.get("payload")))
        self.shard.update(E.UpdateOperation.upsert_points(batch))

    def _vec(self, name: str, value: Any) -> Any:
        if isinstance(value, dict):
            return E.SparseVector(list(value["indices"]), [float(x) for x in value["values"]])
        return value

    def query(self, body: dict[str, Any]) -> list[tuple[Any, float]]:
        ctx = _Ctx(self)
        req = E.QueryRequest(
            limit=body.get("limit", 10), offset=body.get("offset"),
            query=ctx.query(body), prefetches=ctx.prefetches(body),
            filter=ctx.filter(body), score_threshold=body.get("score_threshold"),
        )
        return [(p.id, p.score) for p in self.shard.query(req)]


class _Ctx:
    """Translation state for one request: the ids used as examples (left out of results)."""

    def __init__(self, oracle: EdgeOracle) -> None:
        self.o = oracle
        self.excluded: list[Any] = []

    def ref(self, value: Any, using: str) -> Any:
        if isinstance(value, int | str):
            self.excluded.append(value)
            value = self.o.vectors[value][using]
        return self.o._vec(using, value)

    def pairs(self, value: Any, using: str) -> list[Any]:
        items = [] if value is None else value if isinstance(value, list) else [value]
        return [E.ContextPair(self.ref(p["positive"], using), self.ref(p["negative"], using))
                for p in items]

    def query(self, body: dict[str, Any]) -> Any:
        """The stage's query (records the example ids for ``filter``)."""
        self.excluded = []
        q = body.get("query")
        using = body.get("using") or ""
        if q is None:
            return None
        if not isinstance(q, dict) or "indices" in q:
            return E.Query.Nearest(self.ref(q, using), using=using)
        if "nearest" in q:
            vec = self.ref(q["nearest"], using)
            if q.get("mmr") is not None:
                m = q["mmr"]
                return E.Mmr(vec, 1.0 - m.get("diversity", 0.5),
                             m.get("candidates_limit") or body.get("limit", 10), using=using)
            return E.Query.Nearest(vec, using=using)
        if "recommend" in q:
            r = q["recommend"]
            rq = E.RecommendQuery([self.ref(v, using) for v in r.get("positive") or []],
                                  [self.ref(v, using) for v in r.get("negative") or []])
            if r.get("strategy") == "sum_scores":
                return E.Query.RecommendSumScores(rq, using=using)
            return E.Query.RecommendBestScore(rq, using=using)
        if "discover" in q:
            d = q["discover"]
            return E.Query.Discover(
                E.DiscoverQuery(self.ref(d["target"], using), self.pairs(d.get("context"), using)),
                using=using)
        if "context" in q:
            return E.Query.Context(E.ContextQuery(self.pairs(q["context"], using)), using=using)
        if "relevance_feedback" in q:
            f = q["relevance_feedback"]
            n = f["strategy"]["naive"]
            return E.Query.FeedbackNaive(E.FeedbackNaiveQuery(
                self.ref(f["target"], using),
                [E.FeedbackItem(self.ref(i["example"], using), i["score"]) for i in f["feedback"]],
                E.NaiveFeedbackStrategy(n["a"], n["b"], n["c"])), using=using)
        if "fusion" in q:
            return E.Fusion.Rrf(k=2) if q["fusion"] == "rrf" else E.Fusion.Dbsf()
        if "formula" in q:
            return E.Formula(expression(q["formula"]), q.get("defaults"))
        if "sample" in q:
            return E.Sample.Random
        raise ValueError(f"no edge translation for {q}")

    def filter(self, body: dict[str, Any]) -> Any:
        """The stage's filter plus the exclusion of ids used as examples (call after query)."""
        must_not = [E.HasIdCondition(set(self.excluded))] if self.excluded else []
        flt = body.get("filter")
        if flt is None and not must_not:
            return None
        base = to_filter(flt) if flt else None
        if base is None:
            return E.Filter(must_not=must_not)
        return E.Filter(must=[base], must_not=must_not or None)

    def prefetches(self, body: dict[str, Any]) -> list[Any] | None:
        raw = body.get("prefetch")
        if raw is None:
            return None
        out = []
        for p in raw if isinstance(raw, list) else [raw]:
            sub = _Ctx(self.o)
            query = sub.query(p)
            out.append(E.Prefetch(limit=p.get("limit", 10), query=query,
                                  prefetches=sub.prefetches(p), filter=sub.filter(p),
                                  score_threshold=p.get("score_threshold")))
        return out


def condition(c: dict[str, Any]) -> Any:
    if "has_id" in c:
        return E.HasIdCondition(set(c["has_id"]))
    if "must" in c or "should" in c or "must_not" in c:
        return to_filter(c)
    key = c["key"]
    if "match" in c:
        m = c["match"]
        if "any" in m:
            return E.FieldCondition(key=key, match=E.MatchAny(m["any"]))
        return E.FieldCondition(key=key, match=E.MatchValue(m["value"]))
    if "range" in c:
        return E.FieldCondition(key=key, range=E.RangeFloat(**c["range"]))
    raise ValueError(f"no edge translation for condition {c}")


def to_filter(f: dict[str, Any]) -> Any:
    def conds(key: str) -> list[Any] | None:
        v = f.get(key)
        if v is None:
            return None
        return [condition(c) for c in (v if isinstance(v, list) else [v])]
    return E.Filter(must=conds("must"), should=conds("should"), must_not=conds("must_not"))


def expression(x: Any) -> Any:
    X = E.Expression
    if isinstance(x, int | float):
        return X.Constant(float(x))
    if isinstance(x, str):
        return X.Variable(x)
    (op, arg), = x.items() if len(x) == 1 else ((None, None),)
    if op in ("mult", "sum"):
        return (X.Mult if op == "mult" else X.Sum)([expression(e) for e in arg])
    unary = {"neg": X.Neg, "abs": X.Abs, "sqrt": X.Sqrt, "exp": X.Exp, "log10": X.Log10,
             "ln": X.Ln}
    if op in unary:
        return unary[op](expression(arg))
    if op == "div":
        return X.Div(expression(arg["left"]), expression(arg["right"]),
                     arg.get("by_zero_default"))
    if op == "pow":
        return X.Pow(expression(arg["base"]), expression(arg["exponent"]))
    if op in DECAY:
        t = arg.get("target")
        return X.Decay(DECAY[op], expression(arg["x"]), None if t is None else expression(t),
                       arg.get("midpoint"), arg.get("scale"))
    if op == "datetime":
        return X.Datetime(arg)
    if op == "datetime_key":
        return X.DatetimeKey(arg)
    if op == "geo_distance":
        o = arg["origin"]
        return X.GeoDistance(E.GeoPoint(o["lon"], o["lat"]), arg["to"])
    return X.Condition(condition(x))
