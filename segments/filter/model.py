"""The filter tree: conditions and their boolean combination, immutable and compiled.

Building a node compiles what it can ahead of time: every payload condition becomes a plain
predicate (parsed path, sets, datetime bounds) and a ``Filter`` becomes one closure over its
children's predicates (used per array element by ``nested`` and by ``matches_payload``). How a
tree runs over a segment is ``segments.filter.evaluate``; what uses indexes, ``plan``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from segments.filter.checks import DatetimeRange, Match, Predicate, Range, ValuesCount
from segments.filter.geo import GeoBoundingBox, GeoPolygon, GeoRadius
from segments.payload_path import getter, parse_path

PointId: TypeAlias = int | str


class FilterError(ValueError):
    """A filter (or part of one) that Qdrant would reject; the message says where and why."""


class FilterShapeError(FilterError):
    """A filter that reads fine but breaks a rule (Qdrant's 422): ``where`` and ``message``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


def _never(payload: Any) -> bool:
    """The payload-only answer of conditions that need more than a payload (ids, vectors)."""
    return False


def _is_empty_value(value: Any) -> bool:
    return value is None or (isinstance(value, list) and not value)


def _is_null_value(value: Any) -> bool:
    return value is None or (isinstance(value, list) and any(v is None for v in value))


@dataclass(frozen=True)
class FieldCondition:
    """A condition on the payload values at ``key``; exactly one check is set.

    ``is_empty``: no values, or only nulls/empty arrays. ``is_null``: some value is null or an
    array holding a null. Match/range/geo: some (array-flattened) value passes.
    """

    key: str
    match: Match | None = None
    range: Range | DatetimeRange | None = None
    geo_bounding_box: GeoBoundingBox | None = None
    geo_radius: GeoRadius | None = None
    geo_polygon: GeoPolygon | None = None
    values_count: ValuesCount | None = None
    is_empty: bool | None = None
    is_null: bool | None = None
    predicate: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        checks = (
            self.match,
            self.range,
            self.geo_bounding_box,
            self.geo_radius,
            self.geo_polygon,
            self.values_count,
            self.is_empty,
            self.is_null,
        )
        if sum(check is not None for check in checks) != 1:
            raise FilterError(f"field condition on {self.key!r} needs exactly one check")
        object.__setattr__(self, "predicate", self._compile())

    def _compile(self) -> Predicate:
        path = parse_path(self.key)
        if self.values_count is not None:
            get_all = getter(path, flat=False)
            count_ok = self.values_count.compile()
            return lambda p: count_ok(get_all(p))
        if self.is_empty is not None:
            get_all, want = getter(path, flat=False), self.is_empty
            return lambda p: all(map(_is_empty_value, get_all(p))) is want
        if self.is_null is not None:
            get_all, want = getter(path, flat=False), self.is_null
            return lambda p: any(map(_is_null_value, get_all(p))) is want
        spec = self.match or self.range or self.geo_bounding_box or self.geo_radius
        check = (spec or self.geo_polygon).compile()  # type: ignore[union-attr]
        get = getter(path)
        return lambda p: any(map(check, get(p)))


@dataclass(frozen=True)
class HasIdCondition:
    """Points whose external id is one of ``ids`` (ints or canonical UUID strings)."""

    ids: frozenset[PointId]

    @property
    def predicate(self) -> Predicate:
        return _never  # has_id is rejected inside nested filters, the only payload-only context


@dataclass(frozen=True)
class HasVectorCondition:
    """Points holding the named vector (``""`` = the default one); unknown names match none."""

    has_vector: str

    @property
    def predicate(self) -> Predicate:
        return _never  # array elements in a nested filter have no vectors


@dataclass(frozen=True)
class SliceCondition:
    """Points in slice ``index`` of ``total`` deterministic slices of the id space.

    Needs a context with ``point_ids`` (see ``PointIdContext``); never matches inside nested.
    """

    total: int
    index: int

    @property
    def predicate(self) -> Predicate:
        return _never


@dataclass(frozen=True)
class NestedCondition:
    """Points where some object element of the array at ``key`` satisfies ``filter`` alone."""

    key: str
    filter: Filter
    predicate: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = self.key[:-2] if len(self.key) > 2 and self.key.endswith("[]") else self.key
        get_all = getter(parse_path(key), flat=False)
        inner = self.filter.predicate

        def pred(payload: Any) -> bool:
            for value in get_all(payload):
                if isinstance(value, list):
                    for element in value:
                        if isinstance(element, dict) and inner(element):
                            return True
            return False

        object.__setattr__(self, "predicate", pred)


@dataclass(frozen=True)
class MinShould:
    """At least ``min_count`` of ``conditions`` must match."""

    conditions: tuple[Condition, ...]
    min_count: int


@dataclass(frozen=True)
class Filter:
    """A boolean combination of conditions; the empty filter matches every point.

    ``must``: all match; ``must_not``: none matches; ``should``: at least one matches (when
    non-empty); ``min_should``: at least ``min_count`` match. Empty lists impose nothing.
    """

    must: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()
    min_should: MinShould | None = None
    predicate: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "predicate", self._compile())

    def _compile(self) -> Predicate:
        """The payload-only evaluation as one closure."""
        must = tuple(c.predicate for c in self.must)
        must_not = tuple(c.predicate for c in self.must_not)
        should = tuple(c.predicate for c in self.should)
        min_tests = tuple(c.predicate for c in self.min_should.conditions) if self.min_should else ()
        min_count = self.min_should.min_count if self.min_should else 0
        if len(must) == 1 and not (must_not or should or self.min_should):
            return must[0]

        def pred(payload: Any) -> bool:
            for test in must:
                if not test(payload):
                    return False
            for test in must_not:
                if test(payload):
                    return False
            if should and not any(test(payload) for test in should):
                return False
            if min_count and sum(1 for test in min_tests if test(payload)) < min_count:
                return False
            return True

        return pred

    @property
    def is_empty(self) -> bool:
        """True if the filter has no conditions at all (it matches everything)."""
        return not (self.must or self.should or self.must_not or self.min_should)

    def field_keys(self) -> set[str]:
        """Payload keys the field conditions look at (nested ones as ``a[].b``), so the
        collection can notice keys filtered on often without an index."""
        keys: set[str] = set()
        children = [*self.must, *self.should, *self.must_not]
        if self.min_should is not None:
            children.extend(self.min_should.conditions)
        for cond in children:
            if isinstance(cond, FieldCondition):
                keys.add(cond.key)
            elif isinstance(cond, Filter):
                keys |= cond.field_keys()
            elif isinstance(cond, NestedCondition):
                base = cond.key if cond.key.endswith("[]") else cond.key + "[]"
                keys |= {f"{base}.{k}" for k in cond.filter.field_keys()}
        return keys

    def matches_payload(self, payload: dict[str, Any] | None) -> bool:
        """Evaluate against a lone payload (id/vector/slice conditions never match)."""
        return self.predicate(payload)

    def merged(self, inner: Filter | None) -> Filter:
        """This filter AND ``inner``, combined clause by clause as Qdrant merges a parent's
        filter with a prefetch's: ``should`` lists pool into one list of alternatives, and
        ``min_should`` pools its conditions keeping the larger count."""
        if inner is None or inner.is_empty:
            return self
        if self.is_empty:
            return inner
        a, b = self.min_should, inner.min_should
        min_should = a if b is None else b if a is None else MinShould(
            (*a.conditions, *b.conditions), max(a.min_count, b.min_count)
        )
        return Filter(
            (*self.must, *inner.must),
            (*self.should, *inner.should),
            (*self.must_not, *inner.must_not),
            min_should,
        )


Condition: TypeAlias = (
    FieldCondition | HasIdCondition | HasVectorCondition | SliceCondition | NestedCondition | Filter
)
