"""How a full-text index reads strings: its tokenizer and token filters, from the index schema.

Qdrant's order (checked against its engine, qdrant-edge): split (word / whitespace / prefix /
multilingual), lowercase, ASCII folding, stop words, stemming, then the token length bounds.
The multilingual tokenizer here approximates Qdrant's (charabia): accents folded, CJK
split by character, numbers dropped. A prefix index stores every prefix of each word from ``min_token_len`` to ``max_token_len``
characters and truncates query words to ``max_token_len``; the others drop tokens outside the
bounds on both sides. Without a schema this is the default word tokenizer the unindexed match
uses (``segments.filter.values.tokens``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from segments.filter.values import WORD_PATTERN

TOKENIZERS = ("word", "whitespace", "prefix", "multilingual")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SPECIAL_FOLDS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l",
                                "Ł": "L", "đ": "d", "Đ": "D", "œ": "oe", "Œ": "OE", "þ": "th"})


def fold_ascii(word: str) -> str:
    """Accents and ligatures folded to their ASCII letters (``Ärger`` -> ``Arger``)."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_SPECIAL_FOLDS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _stemmer(spec: Any) -> Callable[[str], str] | None:
    """The Snowball stemmer of ``{"type": "snowball", "language": ...}``, else ``None``."""
    if not isinstance(spec, dict) or spec.get("type") != "snowball":
        return None
    from py_rust_stemmers import SnowballStemmer  # the Snowball stemmers Qdrant uses

    stem: Callable[[str], str] = SnowballStemmer(str(spec.get("language", "english"))).stem_word
    return stem


def _custom_stopwords(spec: Any) -> list[str]:
    """The custom words of a stopwords setting (a language name alone carries none)."""
    if isinstance(spec, dict):
        return [w for w in spec.get("custom") or () if isinstance(w, str)]
    return []


@dataclass(frozen=True)
class TextTokenizer:
    """A full-text index's reading of strings (see the module docstring)."""

    kind: str = "word"
    lowercase: bool = True
    ascii_folding: bool = False
    min_len: int = 0
    max_len: int | None = None
    phrase_matching: bool = False
    stopwords: frozenset[str] = frozenset()
    stem: Callable[[str], str] | None = field(default=None, compare=False)

    @classmethod
    def of_schema(cls, schema: dict[str, Any]) -> TextTokenizer:
        """The tokenizer of a text index schema (``{"type": "text", ...}``)."""
        lowercase = schema.get("lowercase") is not False
        stop = _custom_stopwords(schema.get("stopwords"))
        return cls(
            kind=schema.get("tokenizer") or "word",
            lowercase=lowercase,
            ascii_folding=schema.get("ascii_folding") is True,
            min_len=int(schema.get("min_token_len") or 0),
            max_len=None if schema.get("max_token_len") is None else int(schema["max_token_len"]),
            phrase_matching=schema.get("phrase_matching") is True,
            stopwords=frozenset(w.lower() if lowercase else w for w in stop),
            stem=_stemmer(schema.get("stemmer")),
        )

    def _split(self, text: str) -> list[str]:
        if self.kind == "whitespace":
            return text.split()
        if self.kind == "multilingual":  # accents folded, CJK by character, numbers dropped
            text = _CJK.sub(lambda m: f" {m.group()} ", fold_ascii(text))
            return [w for w in WORD_PATTERN.findall(text) if not w.isdigit()]
        return WORD_PATTERN.findall(text)

    def words(self, text: str) -> list[str]:
        """The words of ``text`` in order, filtered and stemmed (length bounds not applied)."""
        out = []
        for word in self._split(text):
            if self.lowercase:
                word = word.lower()
            if self.ascii_folding:
                word = fold_ascii(word)
            if word in self.stopwords:
                continue
            out.append(self.stem(word) if self.stem is not None else word)
        return out

    def _fits(self, word: str) -> bool:
        return len(word) >= self.min_len and (self.max_len is None or len(word) <= self.max_len)

    def document_tokens(self, text: str) -> set[str]:
        """What the index stores for one string value."""
        words = self.words(text)
        if self.kind != "prefix":
            return {w for w in words if self._fits(w)}
        low = max(self.min_len, 1)
        out = set()
        for w in words:
            high = len(w) if self.max_len is None else min(len(w), self.max_len)
            out.update(w[:n] for n in range(low, high + 1))
        return out

    def query_tokens(self, text: str) -> list[str]:
        """What a text / text_any query looks up (no tokens: the query matches nothing)."""
        words = self.words(text)
        if self.kind != "prefix":
            return [w for w in words if self._fits(w)]
        return [w[: self.max_len] if self.max_len is not None else w
                for w in words if len(w) >= self.min_len]

    def phrase_tokens(self, text: str) -> tuple[str, ...]:
        """The word sequence a phrase match compares (the prefix tokenizer keeps whole words)."""
        words = self.words(text)
        if self.kind == "prefix":
            return tuple(words)
        return tuple(w for w in words if self._fits(w))
