"""Turn a Query API request into a plan: a tree of stages, validated before anything runs.

A leaf stage searches the collection (nearest vector, order_by, or id order); an inner stage
merges its children's candidates (fusion, re-scoring with another vector, order_by, id order).
Filters are pushed down: every stage's effective filter is its parent's AND its own, plus the
exclusion of a point id used as the query; each request filter is compiled once, here, and the
stages carry the compiled ``Filter`` down to the executor and the segments. Limits, depth and shapes are checked here, so a bad
request fails with a 4xx before any search starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collection.config import UNNAMED, CollectionConfig
from collection.errors import BadRequest, NotFound, format_error, invalid
from collection.operations import check_key, compile_filter, vector_name
from collection.query.formula.parse import FormulaSpec, parse_formula
from collection.query.fusion import DEFAULT_RRF_K
from collection.query.kinds import specs
from collection.query.kinds.specs import Average, Examples, Mmr, Sample
from inference.documents import is_inference
from segments.filter import Filter, parse_datetime
from segments.filter.model import HasIdCondition
from segments.ids import PointId, normalize_id

DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class Limits:
    """Bounds a request must stay within."""

    max_limit: int = 100_000
    max_depth: int = 8
    max_prefetches: int = 64


@dataclass
class Nearest:
    """Score by similarity to a vector (or to a stored point's vector, looked up first)."""

    vector: Any
    point_id: PointId | None = None
    lookup_collection: str | None = None
    lookup_vector: str | None = None
    mmr: Mmr | None = None


@dataclass
class Fusion:
    method: str  # "rrf" or "dbsf"
    k: float = DEFAULT_RRF_K
    weights: list[float] | None = None


@dataclass
class OrderBy:
    key: str
    descending: bool = False
    start_from: Any = None


QuerySpec = Nearest | Fusion | OrderBy | Average | Examples | FormulaSpec | Sample | None
VECTOR_KINDS = (Nearest, Average, Examples)
"""Query kinds that compare vectors (and so use the stage's ``using`` vector)."""


@dataclass
class Stage:
    """One node of the plan."""

    query: QuerySpec
    using: str
    filter: Filter | None  # the effective filter, compiled once when planning
    limit: int
    offset: int = 0
    score_threshold: float | None = None
    params: dict[str, Any] | None = None
    children: list[Stage] = field(default_factory=list)
    label: str = "root"
    lookup: tuple[str | None, str | None] = (None, None)
    """``lookup_from`` (collection, vector) for examples given as point ids."""

    @property
    def is_leaf(self) -> bool:
        return not self.children


def merge_filters(outer: Filter | None, inner: Filter | None) -> Filter | None:
    """A parent's compiled filter AND a stage's, merged the way Qdrant does (see
    ``Filter.merged``); ``None`` when neither filters anything."""
    if outer is None:
        return inner
    merged = outer.merged(inner)
    return None if merged.is_empty else merged


def at(label: str, key: str) -> str:
    """The JSON body path of ``key`` in the stage labelled ``label`` (``root``,
    ``root.prefetch[0]``, ...): ``limit``, ``prefetch[0].filter``; ``key=""``: the stage."""
    base = label.removeprefix("root").lstrip(".")
    return ".".join(part for part in (base, key) if part) or "body"


def check_count(value: Any, name: str, most: int) -> int:
    """A count such as ``limit``: an unsigned integer (else a 400 format error), at least 1
    (else a 422 validation error, as Qdrant's); above ``most`` (heron's cap) it is capped."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise format_error(f"{name}: invalid value {value!r}, expected an unsigned integer")
    if value < 1:
        raise invalid(name, f"value {value} invalid, must be 1 or larger")
    if value >= 1 << 64:
        raise format_error(f"{name}: invalid value {value!r}, expected an unsigned 64-bit integer")
    return min(value, most)  # any u64 is taken, as Qdrant does: more than there is means all


def _is_number_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    )


RANGE_TYPES = ("integer", "float", "datetime")


def range_indexed(payload_schema: dict[str, dict[str, Any]]) -> set[str]:
    """Fields whose payload index supports ranges (what ``order_by`` needs, as in Qdrant):
    float and datetime indexes, and integer ones unless made with ``range: false``."""
    return {
        field
        for field, schema in payload_schema.items()
        if schema.get("type") in RANGE_TYPES and schema.get("range", True) is not False
    }


class Planner:
    """Builds a ``Stage`` tree for one collection."""

    def __init__(
        self,
        config: CollectionConfig,
        collection_name: str,
        limits: Limits,
        indexed_fields: set[str],
        collection_exists: Callable[[str], bool],
    ) -> None:
        self.config = config
        self.collection_name = collection_name
        self.limits = limits
        self.indexed = indexed_fields
        self.collection_exists = collection_exists
        self.stage_count = 0

    # --- public -----------------------------------------------------------------------------
    def plan(self, request: dict[str, Any]) -> Stage:
        """The plan of a QueryRequest body (also used for each request of a batch)."""
        limit = self._limit(request.get("limit"), "limit")
        offset = request.get("offset") or 0
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise format_error(f"offset: invalid value {offset!r}, expected an unsigned integer")
        offset = min(offset, self.limits.max_limit)  # any u64 is taken, as Qdrant does
        return self._stage(request, None, 0, "root", limit, offset)

    # --- building ---------------------------------------------------------------------------
    def _limit(self, value: Any, name: str) -> int:
        return DEFAULT_LIMIT if value is None else check_count(value, name, self.limits.max_limit)

    def _filter(self, value: Any, where: str = "filter") -> Filter | None:
        if value is not None and not isinstance(value, dict):
            raise format_error(f"{where}: invalid type: expected an object (a filter)")
        return compile_filter(value)

    def _using(self, value: Any, where: str = "using") -> str:
        if value is not None and not isinstance(value, str):
            raise format_error(f"{where}: invalid type: expected a string")
        return vector_name(self.config, value)

    def _stage(
        self,
        req: Any,
        parent_filter: Filter | None,
        depth: int,
        label: str,
        limit: int,
        offset: int = 0,
    ) -> Stage:
        if not isinstance(req, dict):
            raise format_error(f"{at(label, '')}: invalid type: expected an object")
        if depth > self.limits.max_depth:
            raise BadRequest(
                f"Wrong input: prefetches are nested deeper than {self.limits.max_depth} levels"
            )
        self.stage_count += 1
        if self.stage_count > self.limits.max_prefetches + 1:
            raise BadRequest(
                f"Wrong input: a query may hold at most {self.limits.max_prefetches} prefetches"
            )
        raw_children = req.get("prefetch")
        if raw_children is None:
            raw_children = []
        elif isinstance(raw_children, dict):
            raw_children = [raw_children]
        elif not isinstance(raw_children, list):
            raise format_error(
                f"{at(label, 'prefetch')}: invalid type: expected an object or a list of objects"
            )

        using_raw = req.get("using")
        threshold = req.get("score_threshold")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float)
        ):
            raise format_error(f"{at(label, 'score_threshold')}: invalid type: expected a number")
        lookup = self._lookup(req.get("lookup_from"))
        query = self._query(req.get("query"), lookup, has_children=bool(raw_children))
        self._check_combination(query, raw_children, threshold, using_raw)
        if isinstance(query, Fusion):
            using = UNNAMED
        else:
            using = (
                self._using(using_raw, at(label, "using"))
                if (isinstance(query, VECTOR_KINDS) or using_raw) else UNNAMED
            )
        if threshold is not None:
            threshold = float(threshold)
        own = self._filter(req.get("filter"), at(label, "filter"))
        exclude: Filter | None = None
        example_ids = _example_ids(query)
        if example_ids and lookup[0] in (None, self.collection_name):
            exclude = Filter(must_not=(HasIdCondition(frozenset(example_ids)),))
        effective = merge_filters(parent_filter, merge_filters(own, exclude))
        params = req.get("params")
        if params is not None and not isinstance(params, dict):
            raise format_error(f"{at(label, 'params')}: invalid type: expected an object")
        stage = Stage(
            query=query,
            using=using,
            filter=effective,
            limit=limit,
            offset=offset,
            score_threshold=threshold,
            params=params,
            label=label,
            lookup=lookup,
        )
        if isinstance(query, Fusion) and query.weights is not None:
            if len(query.weights) != len(raw_children):
                raise BadRequest(
                    f"Wrong input: RRF weights ({len(query.weights)}) must match the number "
                    f"of prefetches ({len(raw_children)})"
                )
        for i, child in enumerate(raw_children):
            child_limit = self._limit(child.get("limit") if isinstance(child, dict) else None,
                                      "prefetch.limit")
            stage.children.append(
                self._stage(child, effective, depth + 1, f"{label}.prefetch[{i}]", child_limit)
            )
        return stage

    @staticmethod
    def _check_combination(
        query: QuerySpec, children: list[Any], threshold: Any, using: Any
    ) -> None:
        """The Query API's own checks of a stage, in Qdrant's order."""
        if children and query is None:
            raise BadRequest(
                "Bad request: A query is needed to merge the prefetches. "
                "Can't have prefetches without defining a query."
            )
        if threshold is not None and isinstance(query, OrderBy):
            raise BadRequest("Bad request: Can't use score_threshold with an order_by query.")
        if threshold is not None and query is None:
            raise BadRequest(
                "Bad request: A query is needed to use the score_threshold. "
                "Can't have score_threshold without defining a query."
            )
        if isinstance(query, Fusion) and using not in (None, ""):
            raise BadRequest("Bad request: Fusion queries cannot be combined with the 'using' field.")

    def _query(
        self, value: Any, lookup: tuple[str | None, str | None], has_children: bool
    ) -> QuerySpec:
        if value is None:
            return None
        kind = _kind_of(value)
        if kind in _EXAMPLE_KINDS:
            return _EXAMPLE_KINDS[kind](value[kind])
        if kind == "formula":
            extra = sorted(set(value) - {"formula", "defaults"})
            if extra:
                raise format_error(f"query: unknown field `{extra[0]}`, expected `formula` or "
                                   "`defaults`")
            spec = parse_formula(value["formula"], value.get("defaults"))
            if not has_children:
                raise BadRequest("Wrong input: cannot apply Formula without prefetches")
            return spec
        if isinstance(value, dict) and "fusion" in value and len(value) == 1:
            method = value["fusion"]
            if method not in ("rrf", "dbsf"):
                raise format_error(
                    f"query.fusion: unknown variant `{method}`, expected `rrf` or `dbsf`"
                )
            if not has_children:
                raise BadRequest("Wrong input: fusion needs at least one prefetch")
            return Fusion(method)
        if isinstance(value, dict) and "rrf" in value and len(value) == 1:
            if not has_children:
                raise BadRequest("Wrong input: fusion needs at least one prefetch")
            return self._rrf(value["rrf"])
        if isinstance(value, dict) and "order_by" in value and len(value) == 1:
            return self._order_by(value["order_by"])
        mmr = None
        if isinstance(value, dict) and "nearest" in value:
            extra = set(value) - {"nearest", "mmr"}
            if extra:
                raise format_error(
                    f"query: unknown field `{sorted(extra)[0]}`, expected `nearest` or `mmr`"
                )
            mmr = specs.mmr(value.get("mmr"))
            value = value["nearest"]
        elif (
            isinstance(value, dict)
            and not ({"indices", "values"} >= set(value))
            and not is_inference(value)
        ):
            kind = next(iter(value), "?")
            raise BadRequest(f"Wrong input: query type `{kind}` is not supported")
        nearest = self._nearest(value, lookup)
        nearest.mmr = mmr
        return nearest

    def _rrf(self, spec: Any) -> Fusion:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise format_error("query.rrf: invalid type: expected an object")
        k = spec.get("k")
        if k is None:
            k = DEFAULT_RRF_K
        elif isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise format_error(f"query.rrf.k: invalid value {k!r}, expected an unsigned integer")
        elif k < 1:  # Rrf.k has ``minimum: 1``: Qdrant's validation stage (422)
            raise invalid("query.rrf.k", f"value {k} invalid, must be 1 or larger")
        weights = spec.get("weights")
        if weights is not None:
            if not _is_number_list(weights):
                raise format_error("query.rrf.weights: invalid type: expected a list of numbers")
            if any(w < 0 for w in weights):  # no bound in the schema: an engine-side check
                raise BadRequest("Bad request: RRF weights must be non-negative")
            weights = [float(w) for w in weights]
        return Fusion("rrf", float(k), weights)

    def _order_by(self, spec: Any) -> OrderBy:
        if isinstance(spec, str):
            spec = {"key": spec}
        if not isinstance(spec, dict):
            raise format_error("query.order_by: invalid type: expected a string or an object")
        if "key" not in spec:
            raise format_error("query.order_by: missing field `key`")
        if not isinstance(spec["key"], str) or not spec["key"]:
            raise format_error("query.order_by.key: invalid type: expected a non-empty string")
        direction = spec.get("direction") or "asc"
        if direction not in ("asc", "desc"):
            raise format_error(
                f"query.order_by.direction: unknown variant `{direction}`, expected `asc` or `desc`"
            )
        key = spec["key"]
        check_key(key)
        if key not in self.indexed:
            raise BadRequest(
                f"Bad request: No range index for `order_by` key: `{key}`. "
                "Please create one to use `order_by`."
            )
        start = spec.get("start_from")
        if start is not None and (
            isinstance(start, bool)
            or not isinstance(start, int | float | str)
            or (isinstance(start, str) and parse_datetime(start) is None)
        ):
            raise format_error(
                "query.order_by.start_from: invalid value: expected a number or an RFC 3339 datetime"
            )
        return OrderBy(key, direction == "desc", start)

    def _lookup(self, lookup_from: Any) -> tuple[str | None, str | None]:
        lookup_collection = lookup_vector = None
        if lookup_from is not None:
            if not isinstance(lookup_from, dict):
                raise format_error("lookup_from: invalid type: expected an object")
            if not isinstance(lookup_from.get("collection"), str):
                raise format_error("lookup_from: missing field `collection` (a string)")
            lookup_collection = lookup_from["collection"]
            lookup_vector = lookup_from.get("vector")
            if lookup_vector is not None and not isinstance(lookup_vector, str):
                raise format_error("lookup_from.vector: invalid type: expected a string")
            if not self.collection_exists(lookup_collection):
                raise NotFound(f"Collection `{lookup_collection}` doesn't exist!")
        return lookup_collection, lookup_vector

    def _nearest(self, value: Any, lookup: tuple[str | None, str | None]) -> Nearest:
        lookup_collection, lookup_vector = lookup
        if isinstance(value, int | str) and not isinstance(value, bool):
            try:
                pid = normalize_id(value)
            except ValueError as exc:
                raise BadRequest(f"Wrong input: {exc}") from None
            return Nearest(None, pid, lookup_collection, lookup_vector)
        if isinstance(value, list | dict):
            return Nearest(value)
        raise BadRequest("Wrong input: unsupported query: expected a vector, a point id or a query object")


_EXAMPLE_KINDS: dict[str, Callable[[Any], QuerySpec]] = {
    "recommend": specs.recommend,
    "discover": specs.discover,
    "context": specs.context,
    "relevance_feedback": specs.feedback,
    "sample": specs.sample,
}


def _kind_of(value: Any) -> str | None:
    """The operator key of a query object (``None`` for vectors and point ids)."""
    if not isinstance(value, dict) or not value:
        return None
    if "formula" in value:
        return "formula"
    if len(value) == 1:
        return next(iter(value))
    return None


def _example_ids(query: QuerySpec) -> list[PointId]:
    """Point ids a query uses as examples (Qdrant leaves them out of the results)."""
    if isinstance(query, Nearest):
        return [] if query.point_id is None else [query.point_id]
    refs: list[specs.VectorRef] = []
    if isinstance(query, Average):
        refs = [*query.positives, *query.negatives]
    elif isinstance(query, Examples):
        refs = query.refs()
    return list(dict.fromkeys(r.point_id for r in refs if r.point_id is not None))
