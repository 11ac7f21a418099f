"""heron's BM25 model against Qdrant's own (qdrant-edge-py ``Bm25``): the same indices and
weights for documents and queries, over languages, tokenizers and options."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import qdrant_edge as edge

from inference.bm25 import model, parse_options, stopword_lists, token_index
from inference.documents import InferenceError, embed, is_inference

SAMPLES = {
    "english": "The runners were running quickly through the old houses and they didn't stop",
    "french": "Les enfants jouaient dans les jardins fleuris pendant que nous mangions",
    "german": "Die Kinder spielten in den Gärten während wir über Straßen gingen",
    "spanish": "Los niños jugaban en los jardines mientras nosotros comíamos naranjas",
    "russian": "Дети играли в садах пока мы ели яблоки и пили чай",
    "greek": "Τα παιδιά έπαιζαν στους κήπους ενώ εμείς τρώγαμε",
    "turkish": "Çocuklar bahçelerde oynarken biz elma yedik ve çay içtik",
    "arabic": "كان الأطفال يلعبون في الحدائق بينما كنا نأكل",
    "hinglish": "main kal market gaya tha aur wahan bahut log the",
    "chinese": "我们 在 公园 里 散步 的 时候 看到 了 很多 花",
}


def texts(language: str, n: int, seed: int, odd: bool = True) -> list[str]:
    """Random texts from a language's sample words, its stop words and (``odd``) some odd
    tokens. The multilingual tokenizer guesses a text's script from the whole text, so mixed
    texts are segmented as heron doesn't: its cases use one script."""
    rnd = random.Random(seed)
    words = SAMPLES[language].split() + sorted(stopword_lists()[language])[:40]
    if odd:
        words += ["Hello,", "3.5", "foo_bar", "e-mail", "ÉCOLE", "naïve", "x²", "ﬁne"]
    return [" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 40))) for _ in range(n)]


def edge_model(options: dict[str, Any]) -> edge.Bm25:
    kw = dict(options)
    if "tokenizer" in kw:
        kw["tokenizer"] = getattr(edge.TokenizerType, kw["tokenizer"].capitalize())
    if kw.get("stemmer") == {"type": "none"}:
        kw["stemmer"] = edge.DisabledStemmer()
    elif isinstance(kw.get("stemmer"), dict):
        lang = getattr(edge.SnowballLanguage, kw["stemmer"]["language"].capitalize())
        kw["stemmer"] = edge.SnowballParams(lang)
    stop = kw.get("stopwords")
    if isinstance(stop, str):
        kw["stopwords"] = getattr(edge.Language, stop.capitalize())
    elif isinstance(stop, dict):
        kw["stopwords"] = edge.StopwordsSet(
            languages={getattr(edge.Language, x.capitalize()) for x in stop.get("languages", [])},
            custom=set(stop.get("custom", [])),
        )
    return edge.Bm25(edge.Bm25Config(**kw))


def assert_same(mine: tuple[np.ndarray, np.ndarray], ref: edge.SparseVector, text: str) -> None:
    assert mine[0].tolist() == list(ref.indices), text
    assert np.allclose(mine[1], np.asarray(ref.values, dtype=np.float32), rtol=1e-6), text


CASES: list[tuple[str, dict[str, Any]]] = [
    *((lang, {"language": lang}) for lang in SAMPLES),
    ("english", {}),
    ("english", {"k": 2.0, "b": 0.2, "avg_len": 9.5}),
    ("english", {"k": 0.0, "b": 1.0}),
    ("english", {"tokenizer": "whitespace"}),
    ("english", {"tokenizer": "prefix"}),
    ("german", {"tokenizer": "prefix", "language": "german", "min_token_len": 3,
                "max_token_len": 6}),
    ("english", {"min_token_len": 4, "max_token_len": 7}),
    ("english", {"lowercase": False}),
    ("german", {"ascii_folding": True, "language": "german"}),
    ("french", {"tokenizer": "multilingual", "language": "french"}),
    ("greek", {"tokenizer": "multilingual", "language": "greek"}),
    ("english", {"stemmer": {"type": "none"}}),
    ("french", {"stemmer": {"type": "snowball", "language": "english"}, "language": "french"}),
    ("english", {"stopwords": "french"}),
    ("english", {"stopwords": {"languages": ["english", "german"], "custom": ["Runners"]}}),
    ("english", {"stopwords": {"custom": []}, "stemmer": {"type": "none"}}),
]


@pytest.mark.parametrize(("language", "options"), CASES)
def test_same_vectors_as_qdrant(language: str, options: dict[str, Any]) -> None:
    mine, ref = model(options), edge_model(options)
    odd = options.get("tokenizer") != "multilingual"
    for text in texts(language, 60, seed=len(str(options)), odd=odd):
        assert_same(mine.document(text), ref.embed_document(text), text)
        assert_same(mine.query(text), ref.embed_query(text), text)


def test_token_index_is_murmur3() -> None:
    # indices Qdrant gives these tokens (checked against qdrant-edge-py)
    assert token_index("hello") == 613153351
    assert token_index("world") == 74040069
    assert token_index("dog") == 1312749093


def test_options_refused_as_qdrant() -> None:
    for bad, words in [
        ({"b": 1.5}, "BM25 b must be finite and in [0.0, 1.0]"),
        ({"k": -1}, "BM25 k1 must be finite and >= 0"),
        ({"avg_len": 0}, "BM25 avg_doc_len must be finite and > 0"),
        ({"language": "FRENCH"}, 'unsupported language: "FRENCH"'),
        ({"stopwords": "klingon"}, "unsupported language"),
        ({"stopwords": {"languages": "english"}}, "stopwords.languages"),
        ({"stopwords": {"custom": "a"}}, "stopwords.custom"),
        ({"stemmer": {"type": "porter"}}, "stemmer"),
        ({"stemmer": {"type": "snowball", "language": "klingon"}}, "stemmer language"),
        ({"tokenizer": "code"}, "tokenizer"),
        ({"min_token_len": -1}, "min_token_len"),
        ({"lowercase": "yes"}, "lowercase"),
        ({"k": "1"}, "`k`"),
    ]:
        with pytest.raises(ValueError, match=None) as caught:
            parse_options(bad)
        assert words in str(caught.value), bad


def test_documents() -> None:
    doc = {"text": "Running dogs", "model": "Qdrant/BM25"}
    assert is_inference(doc) and not is_inference({"indices": [1], "values": [1.0]})
    assert embed(doc, query=True) == {
        "indices": [243905464, 1312749093], "values": [1.0, 1.0]
    }
    with pytest.raises(InferenceError, match="Inference is not configured"):
        embed({"text": "x", "model": "openai/text-embedding-3-small"}, query=False)
    with pytest.raises(InferenceError, match="Inference is not configured"):
        embed({"image": "x.png", "model": "qdrant/bm25"}, query=False)
    with pytest.raises(InferenceError, match="BM25 b"):
        embed({"text": "x", "model": "qdrant/bm25", "options": {"b": 9}}, query=False)
