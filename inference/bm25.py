"""Qdrant's local BM25 model (``qdrant/bm25``): text to a sparse vector, computed by heron.

A document's tokens (see ``inference.text``) lose their stop words, are stemmed (Snowball) and
kept if their length (in characters, after stemming) is within ``min_token_len`` ..
``max_token_len``; with the ``prefix`` tokenizer each stemmed token stands for all its prefixes
of an allowed length instead. Each distinct token becomes index ``|murmur3_32(token)|`` (seed 0,
as Qdrant and fastembed hash it) with weight ``tf * (k + 1) / (tf + k * (1 - b + b * len /
avg_len))``, ``len`` being the document's token count. A query's distinct tokens weigh 1 each
(a prefix query keeps stop words and cuts tokens to ``max_token_len``), so pairing the vector with ``modifier: idf``
gives BM25 scores. Behaviour was matched against qdrant-edge-py's ``Bm25``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import mmh3
import numpy as np
import py_rust_stemmers

from inference.text import TOKENIZERS, tokenize

MODEL = "qdrant/bm25"
STEMMER_LANGUAGES = (
    "arabic", "armenian", "danish", "dutch", "english", "finnish", "french", "german", "greek",
    "hungarian", "italian", "norwegian", "portuguese", "romanian", "russian", "spanish",
    "swedish", "tamil", "turkish",
)


@cache
def stopword_lists() -> dict[str, frozenset[str]]:
    """Each stop word language's words (``inference/stopwords.json``)."""
    raw = json.loads((Path(__file__).parent / "stopwords.json").read_text("utf-8"))
    return {lang: frozenset(words) for lang, words in raw.items()}


@dataclass(frozen=True)
class Bm25Options:
    """A parsed ``Bm25Config``."""

    k: float = 1.2
    b: float = 0.75
    avg_len: float = 256.0
    tokenizer: str = "word"
    lowercase: bool = True
    ascii_folding: bool = False
    stopwords: frozenset[str] = frozenset()
    stemmer: str | None = "english"
    min_len: int | None = None
    max_len: int | None = None


def _number(raw: dict[str, Any], key: str, default: float) -> float:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"BM25 option `{key}` must be a finite number")
    return float(value)


def _flag(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"BM25 option `{key}` must be a boolean")
    return value


def _length(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"BM25 option `{key}` must be a non-negative integer")
    return value


def _language(value: Any, what: str) -> str:
    if not isinstance(value, str) or value not in stopword_lists():
        raise ValueError(f"unsupported language: {json.dumps(value)} in `{what}`")
    return value


def _stopwords(value: Any, language: str | None, lowercase: bool) -> frozenset[str]:
    lists = stopword_lists()
    if value is None:
        return lists[language or "english"] if language != "none" else frozenset()
    if isinstance(value, str):
        return lists[_language(value, "stopwords")]
    if not isinstance(value, dict) or set(value) - {"languages", "custom"}:
        raise ValueError("BM25 option `stopwords` must be a language or {languages, custom}")
    words: set[str] = set()
    languages = value.get("languages")
    if languages is None:
        languages = []
    if not isinstance(languages, list):
        raise ValueError("BM25 option `stopwords.languages` must be a list of languages")
    for lang in languages:
        words |= lists[_language(lang, "stopwords.languages")]
    custom = value.get("custom")
    if custom is None:
        custom = []
    if not isinstance(custom, list) or not all(isinstance(w, str) for w in custom):
        raise ValueError("BM25 option `stopwords.custom` must be a list of strings")
    words.update(w.lower() if lowercase else w for w in custom)
    return frozenset(words)


def _stemmer(value: Any, language: str | None) -> str | None:
    if value is None:
        if language == "none":
            return None
        lang = language or "english"
        return lang if lang in STEMMER_LANGUAGES else None
    if not isinstance(value, dict) or value.get("type") not in ("snowball", "none"):
        raise ValueError('BM25 option `stemmer` must be {"type": "snowball", "language": ...} '
                         'or {"type": "none"}')
    if value["type"] == "none":
        return None
    lang = value.get("language")
    if lang not in STEMMER_LANGUAGES:
        raise ValueError(f"unsupported stemmer language: {json.dumps(lang)}")
    return lang


def parse_options(raw: Any) -> Bm25Options:
    """``Document.options`` for ``qdrant/bm25`` checked as Qdrant checks a ``Bm25Config``
    (unknown keys are ignored, as Qdrant passes general options through)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError("Document options must be an object")
    k = _number(raw, "k", 1.2)
    b = _number(raw, "b", 0.75)
    avg_len = _number(raw, "avg_len", 256.0)
    if k < 0:
        raise ValueError(f"BM25 k1 must be finite and >= 0, got {k:g}")
    if not 0.0 <= b <= 1.0:
        raise ValueError(f"BM25 b must be finite and in [0.0, 1.0], got {b:g}")
    if avg_len <= 0:
        raise ValueError(f"BM25 avg_doc_len must be finite and > 0, got {avg_len:g}")
    tokenizer = raw.get("tokenizer") or "word"
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {json.dumps(tokenizer)}: use one of "
                         + ", ".join(TOKENIZERS))
    language = raw.get("language")
    if language is not None and language != "none":
        _language(language, "language")
    lowercase = _flag(raw, "lowercase", True)
    return Bm25Options(
        k=k,
        b=b,
        avg_len=avg_len,
        tokenizer=tokenizer,
        lowercase=lowercase,
        ascii_folding=_flag(raw, "ascii_folding", False),
        stopwords=_stopwords(raw.get("stopwords"), language, lowercase),
        stemmer=_stemmer(raw.get("stemmer"), language),
        min_len=_length(raw, "min_token_len"),
        max_len=_length(raw, "max_token_len"),
    )


@lru_cache(maxsize=1 << 18)
def token_index(token: str) -> int:
    """A token's sparse index: the absolute value of its signed 32-bit murmur3 hash."""
    return abs(mmh3.hash(token))


@cache
def _stem_function(language: str) -> Any:
    stemmer = py_rust_stemmers.SnowballStemmer(language)
    return lru_cache(maxsize=1 << 16)(stemmer.stem_word)


class Bm25:
    """One configuration of the model; ``document`` and ``query`` give (indices, values)."""

    def __init__(self, options: Bm25Options) -> None:
        self.o = options
        self._stem = None if options.stemmer is None else _stem_function(options.stemmer)
        if options.stemmer == "armenian":
            raise ValueError("the armenian Snowball stemmer is not available in heron")

    def _fits(self, token: str) -> bool:
        lo, hi = self.o.min_len, self.o.max_len
        return (lo is None or len(token) >= lo) and (hi is None or len(token) <= hi)

    def _stems(self, text: str, stopwords: bool = True) -> list[str]:
        o = self.o
        tokens = tokenize(text, o.tokenizer, o.lowercase, o.ascii_folding)
        kept = [t for t in tokens if t not in o.stopwords] if stopwords else tokens
        return kept if self._stem is None else [self._stem(t) for t in kept]

    def _prefixes(self, token: str) -> list[str]:
        lo = max(1, self.o.min_len or 1)
        hi = len(token) if self.o.max_len is None else min(len(token), self.o.max_len)
        return [token[:n] for n in range(lo, hi + 1)]

    def document_tokens(self, text: str) -> list[str]:
        stems = self._stems(text)
        if self.o.tokenizer == "prefix":
            return [p for s in stems for p in self._prefixes(s)]
        return [s for s in stems if self._fits(s)]

    def query_tokens(self, text: str) -> list[str]:
        """Query tokens; a ``prefix`` query keeps its stop words, as Qdrant's does."""
        prefix = self.o.tokenizer == "prefix"
        stems = self._stems(text, stopwords=not prefix)
        if prefix and self.o.max_len is not None:
            stems = [s[: self.o.max_len] for s in stems]
        return [s for s in stems if self._fits(s)]

    def document(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 term weights of a document to index."""
        tokens = self.document_tokens(text)
        counts = Counter(token_index(t) for t in tokens)
        indices = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        tf = np.array([counts[i] for i in indices.tolist()], dtype=np.float64)
        o = self.o
        norm = o.k * (1.0 - o.b + o.b * len(tokens) / o.avg_len)
        return indices, (tf * (o.k + 1.0) / (tf + norm)).astype(np.float32)

    def query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Weight 1 for each distinct query token."""
        unique = sorted({token_index(t) for t in self.query_tokens(text)})
        return np.asarray(unique, dtype=np.int64), np.ones(len(unique), dtype=np.float32)


@lru_cache(maxsize=256)
def _model(options_json: str) -> Bm25:
    return Bm25(parse_options(json.loads(options_json)))


def model(options: Any) -> Bm25:
    """The model for a Document's ``options`` (parsed once per distinct options)."""
    try:
        key = json.dumps(options, sort_keys=True)
    except (TypeError, ValueError):
        raise ValueError("Document options must be JSON") from None
    return _model(key)
