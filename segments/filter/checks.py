"""Value checks: one JSON value (an element of a field's values) -> bool.

Each check is an immutable spec that ``compile``s into a plain predicate once, when the filter
is built, so evaluation only calls closures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from segments.filter.values import parse_datetime, tokens

Predicate: TypeAlias = Callable[[Any], bool]


@dataclass(frozen=True)
class MatchValue:
    """Exact match of a keyword, integer or bool (``1`` never matches ``1.0`` or ``true``)."""

    value: str | int | bool

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        want = self.value
        if isinstance(want, bool):
            return lambda x: x is want
        kind = type(want)
        return lambda x: x.__class__ is kind and x == want


@dataclass(frozen=True)
class MatchAny:
    """Exact match of any of a list of keywords or integers."""

    any: tuple[str, ...] | tuple[int, ...]

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        wanted = frozenset(self.any)
        if not wanted:
            return lambda x: False
        kind = type(next(iter(wanted)))
        return lambda x: x.__class__ is kind and x in wanted


@dataclass(frozen=True)
class MatchExcept:
    """Any non-null value that is not one of a list of keywords or integers."""

    except_: tuple[str, ...] | tuple[int, ...]

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        banned = frozenset(self.except_)
        if not banned:
            return lambda x: x is not None
        kind = type(next(iter(banned)))
        return lambda x: x is not None and not (x.__class__ is kind and x in banned)


@dataclass(frozen=True)
class MatchText:
    """Full-text match (no index): every query word appears as a word of the value."""

    text: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        query = frozenset(tokens(self.text))
        if not query:
            return lambda x: False
        return lambda x: x.__class__ is str and query.issubset(tokens(x))


@dataclass(frozen=True)
class MatchTextAny:
    """Full-text match (no index): at least one query word appears as a word of the value."""

    text_any: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        query = frozenset(tokens(self.text_any))
        return lambda x: x.__class__ is str and not query.isdisjoint(tokens(x))


@dataclass(frozen=True)
class MatchPhrase:
    """Phrase match (no index): the query words appear consecutively in the value."""

    phrase: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        query = tokens(self.phrase)
        n = len(query)
        if not n:
            return lambda x: False

        def check(x: Any) -> bool:
            if x.__class__ is not str:
                return False
            words = tokens(x)
            return any(words[i : i + n] == query for i in range(len(words) - n + 1))

        return check


@dataclass(frozen=True)
class MatchPrefix:
    """Case-sensitive prefix match of keyword values."""

    prefix: str

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        prefix = self.prefix
        return lambda x: x.__class__ is str and x.startswith(prefix)


Match: TypeAlias = (
    MatchValue | MatchAny | MatchExcept | MatchText | MatchTextAny | MatchPhrase | MatchPrefix
)


def _tighter(
    a: float | None, a_strict: bool, b: float | None, b_strict: bool, upper: bool
) -> tuple[float | None, bool]:
    """The tighter of two optional bounds (at equal values the strict one)."""
    if a is None:
        return b, b_strict
    if b is None or a == b:
        return a, a_strict or (b is not None and b_strict)
    return (a, a_strict) if (a < b) == upper else (b, b_strict)


def _bounds_check(
    gt: float | None, gte: float | None, lt: float | None, lte: float | None
) -> Callable[[Any], bool]:
    """One comparison closure testing a comparable value against optional bounds."""
    lo, lo_strict = _tighter(gt, True, gte, False, upper=False)
    hi, hi_strict = _tighter(lt, True, lte, False, upper=True)
    if lo is None and hi is None:
        return lambda v: True
    if hi is None:
        return (lambda v: v > lo) if lo_strict else (lambda v: v >= lo)
    if lo is None:
        return (lambda v: v < hi) if hi_strict else (lambda v: v <= hi)
    if lo_strict:
        return (lambda v: lo < v < hi) if hi_strict else (lambda v: lo < v <= hi)
    return (lambda v: lo <= v < hi) if hi_strict else (lambda v: lo <= v <= hi)


@dataclass(frozen=True)
class Range:
    """Numeric range: matches int/float payload values (never bools or datetime strings)."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        inside = _bounds_check(self.gt, self.gte, self.lt, self.lte)
        return lambda x: (x.__class__ is int or x.__class__ is float) and inside(x)


@dataclass(frozen=True)
class DatetimeRange:
    """Datetime range: matches string payload values that parse as datetimes, as instants."""

    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None

    def compile(self) -> Predicate:
        """Predicate over one payload value."""
        bounds = [
            None if b is None else parse_datetime(b) for b in (self.gt, self.gte, self.lt, self.lte)
        ]
        inside = _bounds_check(*bounds)  # type: ignore[arg-type]

        def check(x: Any) -> bool:
            if x.__class__ is not str:
                return False
            moment = parse_datetime(x)
            return moment is not None and inside(moment)

        return check


@dataclass(frozen=True)
class ValuesCount:
    """Bounds on the number of values of a field (an array counts its elements, null is 0)."""

    lt: int | None = None
    gt: int | None = None
    gte: int | None = None
    lte: int | None = None

    def compile(self) -> Callable[[Sequence[Any]], bool]:
        """Predicate over the unflattened values found at the key."""
        inside = _bounds_check(self.gt, self.gte, self.lt, self.lte)

        def check(values: Sequence[Any]) -> bool:
            if all(v is None for v in values):
                return inside(0)
            return any(
                inside(0 if v is None else len(v) if isinstance(v, list) else 1) for v in values
            )

        return check
