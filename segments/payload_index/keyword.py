"""Exact-value indexes: keyword and uuid strings, booleans (postings from value to offsets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from segments.filter.checks import MatchAny, MatchExcept, MatchValue
from segments.filter.context import IndexAnswer
from segments.filter.model import FieldCondition
from segments.payload_index.base import FieldIndex, Postings, Row, answer_of


class KeywordIndex(FieldIndex):
    """Strings -> offsets: ``match`` value/any/except on strings."""

    kind = "keyword"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._postings = Postings()

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[Any, None] = {}
        other = False
        for value in values:
            if value.__class__ is str:
                captured[value] = None
            elif value is not None:
                other = True
        return tuple(captured), other, False, False

    def _index(self, offset: int, captured: Row) -> None:
        for key in captured:
            self._postings.add(key, offset)

    def _built(self) -> None:
        self._postings.freeze()

    def _unindex(self, offset: int, captured: Row) -> None:
        for key in captured:
            self._postings.discard(key, offset)

    _key_type: type = str

    def value_counts(self, mask: np.ndarray) -> dict[Any, int]:
        """Per indexed value, how many offsets set in ``mask`` hold it (what a facet counts);
        the number of distinct values is ``len(self._postings)``."""
        out: dict[Any, int] = {}
        size = len(mask)
        for key in self._postings.keys():
            offs = self._postings.array(key)
            n = int(np.count_nonzero(mask[offs[offs < size]]))
            if n:
                out[key] = n
        return out

    @property
    def distinct_values(self) -> int:
        return len(self._postings)

    def _lookup(self, cond: FieldCondition) -> tuple[Any, ...] | None:
        """The keys a value/any match looks up (``None`` if not a match of this type)."""
        match = cond.match
        if isinstance(match, MatchValue) and match.value.__class__ is self._key_type:
            return (match.value,)
        if isinstance(match, MatchAny) and all(v.__class__ is self._key_type for v in match.any):
            return match.any
        return None

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        keys = self._lookup(cond)
        if keys is not None:
            return answer_of(size, *(self._postings.array(k) for k in keys))
        match = cond.match
        if isinstance(match, MatchExcept) and all(
            v.__class__ is self._key_type for v in match.except_
        ):
            return self._except(match.except_, self._postings, size)
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        keys = self._lookup(cond)
        if keys is not None:
            return sum(self._postings.count(k) for k in set(keys))
        match = cond.match
        if isinstance(match, MatchExcept) and all(
            v.__class__ is self._key_type for v in match.except_
        ):
            return len(self._vals) + len(self._other)
        return None


class UuidIndex(KeywordIndex):
    """Like a keyword index: ``match`` compares the strings exactly, as without an index."""

    kind = "uuid"


class BoolIndex(KeywordIndex):
    """``true``/``false`` -> offsets: ``match: value`` on booleans."""

    kind = "bool"
    _key_type = bool

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured: dict[Any, None] = {}
        for value in values:
            if value.__class__ is bool:
                captured[value] = None
        return tuple(captured), False, False, False

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        match = cond.match
        if isinstance(match, MatchValue) and match.value.__class__ is bool:
            return answer_of(size, self._postings.array(match.value))
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        match = cond.match
        if isinstance(match, MatchValue) and match.value.__class__ is bool:
            return self._postings.count(match.value)
        return None
