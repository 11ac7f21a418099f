"""Text to tokens the way Qdrant's BM25 splits them: tokenizers, lowercasing, ASCII folding.

``word`` splits on every character that is neither alphabetic nor numeric in Unicode's sense
(so ``foo_bar`` and ``3.5`` are two tokens each); ``whitespace`` splits on white space only;
``prefix`` splits as ``word`` (the prefixes are made later, after stemming); ``multilingual`` is
``word`` with compatibility forms decomposed, diacritics removed from Latin and Greek letters
and numbers dropped. Qdrant's multilingual tokenizer (charabia) also segments CJK and Thai text
with dictionaries and normalises other scripts its own way: heron keeps a CJK run whole and
Cyrillic marks (``й``) as they are, so only Latin and Greek text is embedded as Qdrant does
with ``multilingual``.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

TOKENIZERS = ("word", "whitespace", "prefix", "multilingual")
_LATIN_SPECIAL = {"œ": "oe", "æ": "ae", "ς": "σ"}
_SPECIAL_FOLDS = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
    "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i",
}


_WORD = regex.compile(r"[\p{Alphabetic}\p{N}]+")
"""Runs of the characters Rust's ``char::is_alphanumeric`` accepts (Alphabetic or Numeric)."""


@lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """One letter or digit-like sign folded to ASCII (``é`` -> ``e``, ``ß`` -> ``ss``, ``ﬁ`` ->
    ``fi``, ``²`` -> ``2``); other characters, and those with no ASCII form (``½``, ``Ⅻ``),
    stay as they are."""
    if ch.isascii() or unicodedata.category(ch)[0] not in "LN" or unicodedata.category(ch) == "Nl":
        return ch
    special = _SPECIAL_FOLDS.get(ch)
    if special is not None:
        return special
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base.isascii() and base.isalnum() else ch


def fold(token: str) -> str:
    """A token with its letters folded to ASCII."""
    return token if token.isascii() else "".join(fold_char(c) for c in token)


def latin_normal(token: str) -> str:
    """Multilingual normalisation of a token: compatibility forms decomposed (``ﬁ`` -> ``fi``,
    ``x²`` -> ``x2``) and diacritics removed from Latin and Greek letters (``über`` -> ``uber``,
    ``λέξη`` -> ``λεξη``, ``œ`` -> ``oe``, final ``ς`` -> ``σ``); other scripts keep their marks."""
    if token.isascii():
        return token
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", token):
        if unicodedata.combining(ch):
            if out and (out[-1].isascii() or "\u0370" <= out[-1] <= "\u03ff"):
                continue
            out.append(ch)
        else:
            out.append(_LATIN_SPECIAL.get(ch, ch))
    return unicodedata.normalize("NFC", "".join(out))


def tokenize(text: str, tokenizer: str, lowercase: bool, ascii_folding: bool) -> list[str]:
    """The tokens of ``text`` (before stop words, stemming and length limits)."""
    if tokenizer == "whitespace":
        tokens = (text.lower() if lowercase else text).split()
    else:
        tokens = _WORD.findall(text)
        if lowercase:  # after splitting, as Qdrant: ``İstanbul`` stays one token
            tokens = [t.lower() for t in tokens]
        if tokenizer == "multilingual":  # which also drops numbers
            tokens = [latin_normal(t) for t in tokens if not t.isdecimal()]
    if ascii_folding:
        tokens = [fold(t) for t in tokens]
    return tokens
