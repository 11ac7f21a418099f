"""The full-text index: token -> the points holding it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from segments.filter.checks import MatchPhrase, MatchText, MatchTextAny
from segments.filter.context import IndexAnswer
from segments.filter.model import FieldCondition
from segments.payload_index.base import NO_OFFSETS, FieldIndex, Postings, Row, answer_of
from segments.payload_index.tokenizer import TextTokenizer


class TextIndex(FieldIndex):
    """Full text: token -> offsets of the points holding it. As in Qdrant, a point's tokens are
    those of all its string values together (an array of strings reads as one text); strings
    are read as the schema says (``TextTokenizer``); a phrase matches consecutive words of one
    value, and only when the schema enables ``phrase_matching``."""

    kind = "text"

    def __init__(self, field: str, schema: dict[str, Any]) -> None:
        super().__init__(field, schema)
        self.tokenizer = TextTokenizer.of_schema(schema)
        self._postings = Postings()
        self._phrases: dict[int, list[tuple[str, ...]]] = {}

    def _capture(self, values: Sequence[Any]) -> tuple[Row, bool, bool, bool]:
        captured = {v: None for v in values if v.__class__ is str}
        return tuple(captured), False, False, False

    def _point_tokens(self, captured: Row) -> set[str]:
        tokens: set[str] = set()
        for text in captured:
            tokens |= self.tokenizer.document_tokens(text)
        return tokens

    def _index(self, offset: int, captured: Row) -> None:
        for token in self._point_tokens(captured):
            self._postings.add(token, offset)
        if self.tokenizer.phrase_matching:
            self._phrases[offset] = [self.tokenizer.phrase_tokens(t) for t in captured]

    def _built(self) -> None:
        self._postings.freeze()

    def _unindex(self, offset: int, captured: Row) -> None:
        for token in self._point_tokens(captured):
            self._postings.discard(token, offset)
        self._phrases.pop(offset, None)

    def _holding_all(self, words: Iterable[str]) -> set[int]:
        """Offsets holding every word (no words: none)."""
        sets = sorted((self._postings.members(w) for w in set(words)), key=len)
        return set.intersection(*sets) if sets else set()

    def _phrase_offsets(self, phrase: str) -> set[int]:
        """Offsets with a value holding ``phrase``'s words consecutively."""
        query = self.tokenizer.phrase_tokens(phrase)
        n = len(query)
        if not self.tokenizer.phrase_matching or not n:
            return set()
        return {
            off
            for off in self._holding_all(self.tokenizer.query_tokens(phrase))
            if any(
                words[i : i + n] == query
                for words in self._phrases.get(off, ())
                for i in range(len(words) - n + 1)
            )
        }

    def _query(self, text: str) -> list[str]:
        return self.tokenizer.query_tokens(text)

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        match = cond.match
        if isinstance(match, MatchText):
            return answer_of(size, self._set_array(self._holding_all(self._query(match.text))))
        if isinstance(match, MatchTextAny):
            words = set(self._query(match.text_any))
            return answer_of(size, NO_OFFSETS, *(self._postings.array(w) for w in words))
        if isinstance(match, MatchPhrase):
            return answer_of(size, self._set_array(self._phrase_offsets(match.phrase)))
        return None

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        match = cond.match
        if isinstance(match, MatchText | MatchPhrase):
            if isinstance(match, MatchPhrase) and not self.tokenizer.phrase_matching:
                return 0
            words = set(self._query(match.text if isinstance(match, MatchText) else match.phrase))
            return min((self._postings.count(w) for w in words), default=0)
        if isinstance(match, MatchTextAny):
            return sum(self._postings.count(w) for w in set(self._query(match.text_any)))
        return None
