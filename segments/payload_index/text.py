"""The full-text index: token -> the string values holding it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from segments.filter.checks import MatchPhrase, MatchText, MatchTextAny
from segments.filter.context import IndexAnswer
from segments.filter.model import FieldCondition
from segments.filter.values import tokens
from segments.payload_index.base import FieldIndex, Row, answer_of, offsets_array


class TextIndex(FieldIndex):
    """Full text: token -> ids of the string values holding it (a match needs every query word
    in one value, as without an index). Tokens are the unindexed matcher's own."""

    kind = "text"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self._tokens: dict[str, set[int]] = {}
        self._value_offset: list[int] = []
        self._value_array: np.ndarray | None = None
        self._value_ids: dict[int, list[int]] = {}
        self._live_values = 0

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured = {v: None for v in values if v.__class__ is str}
        return tuple(captured), False, False, False

    def _index(self, offset: int, captured: Row) -> None:
        ids = []
        for text in captured:
            vid = len(self._value_offset)
            self._value_offset.append(offset)
            ids.append(vid)
            for token in set(tokens(text)):
                self._tokens.setdefault(token, set()).add(vid)
        self._value_ids[offset] = ids
        self._value_array = None
        self._live_values += len(ids)

    def _unindex(self, offset: int, captured: Row) -> None:
        ids = self._value_ids.pop(offset)
        for vid, text in zip(ids, captured, strict=True):
            for token in set(tokens(text)):
                holders = self._tokens[token]
                holders.discard(vid)
                if not holders:
                    del self._tokens[token]
        self._live_values -= len(ids)
        if len(self._value_offset) > 2 * self._live_values + 1024:
            self._renumber()

    def _renumber(self) -> None:
        """Drop the ids of values rewritten since (they are never reused otherwise)."""
        self._tokens, self._value_offset, self._value_ids = {}, [], {}
        self._live_values = 0
        for offset, captured in self._vals.items():
            self._index(offset, captured)

    def _values(self, ids: set[int]) -> np.ndarray:
        """The offsets holding the values with these ids."""
        if self._value_array is None:
            self._value_array = np.asarray(self._value_offset, dtype=np.int64)
        return self._value_array[offsets_array(ids, len(ids))]

    def _holding_all(self, words: Iterable[str]) -> set[int]:
        """Ids of the values holding every word (no words: none)."""
        sets = sorted((self._tokens.get(w, set()) for w in set(words)), key=len)
        return set.intersection(*sets) if sets else set()

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        match = cond.match
        if isinstance(match, MatchText):
            return answer_of(size, self._values(self._holding_all(tokens(match.text))))
        if isinstance(match, MatchTextAny):
            ids: set[int] = set()
            for word in set(tokens(match.text_any)):
                ids |= self._tokens.get(word, set())
            return answer_of(size, self._values(ids))
        if isinstance(match, MatchPhrase):
            candidates = self._values(self._holding_all(tokens(match.phrase)))
            return answer_of(size, rescan=candidates)
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        match = cond.match
        if isinstance(match, MatchText | MatchPhrase):
            words = set(tokens(match.text if isinstance(match, MatchText) else match.phrase))
            return min((len(self._tokens.get(w, ())) for w in words), default=0)
        if isinstance(match, MatchTextAny):
            return sum(len(self._tokens.get(w, ())) for w in set(tokens(match.text_any)))
        return None
