"""Text to tokens the way Qdrant's BM25 splits them: tokenizers, lowercasing, ASCII folding.

``word`` splits on every character that is neither a letter, a digit nor a vowel sign (so
``foo_bar`` and ``3.5`` are two tokens each, a virama ends a token as in Qdrant); ``whitespace``
splits on white space only; ``prefix`` splits as ``word`` (the prefixes are made later, after
stemming); ``multilingual`` is ``word`` with diacritics removed from every letter. Qdrant's
multilingual tokenizer also segments CJK text with dictionaries: heron keeps a CJK run whole.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache, lru_cache

TOKENIZERS = ("word", "whitespace", "prefix", "multilingual")
_SPECIAL_FOLDS = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
    "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i",
}


@cache
def _word_pattern() -> re.Pattern[str]:
    """Runs of letters, digits and spacing/vowel marks (combining class 0): the characters
    Rust's ``char::is_alphanumeric`` accepts, near enough, without ``_``."""
    marks = [
        chr(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)).startswith("M") and unicodedata.combining(chr(cp)) == 0
    ]
    ranges = _ranges(marks)
    return re.compile(r"(?:[^\W_]|[" + ranges + r"])+")


def _ranges(chars: list[str]) -> str:
    """A regex character-class body covering ``chars`` (sorted code points) as ranges."""
    out: list[str] = []
    start = prev = None
    for ch in chars:
        cp = ord(ch)
        if prev is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None:
            out.append(_span(start, prev))
        start = prev = cp
    if start is not None:
        out.append(_span(start, prev))
    return "".join(out)


def _span(a: int, b: int | None) -> str:
    b = a if b is None else b
    return re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"


@lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """One letter folded to ASCII (``é`` -> ``e``, ``ß`` -> ``ss``, ``ﬁ`` -> ``fi``); other
    characters, and letters with no ASCII form, stay as they are."""
    if ch.isascii() or not unicodedata.category(ch).startswith("L"):
        return ch
    special = _SPECIAL_FOLDS.get(ch)
    if special is not None:
        return special
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base.isascii() and base.isalnum() else ch


def fold(token: str) -> str:
    """A token with its letters folded to ASCII."""
    return token if token.isascii() else "".join(fold_char(c) for c in token)


def strip_marks(token: str) -> str:
    """A token with combining diacritics removed (``über`` -> ``uber``)."""
    if token.isascii():
        return token
    decomposed = unicodedata.normalize("NFD", token)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def tokenize(text: str, tokenizer: str, lowercase: bool, ascii_folding: bool) -> list[str]:
    """The tokens of ``text`` (before stop words, stemming and length limits)."""
    if lowercase:
        text = text.lower()
    if tokenizer == "whitespace":
        tokens = text.split()
    else:
        tokens = _word_pattern().findall(text)
        if tokenizer == "multilingual":
            tokens = [strip_marks(t) for t in tokens]
    if ascii_folding:
        tokens = [fold(t) for t in tokens]
    return tokens
