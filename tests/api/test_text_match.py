"""Full-text matching (issue 12, item 1) agrees with Qdrant's own engine (qdrant-edge) on random
strings: without a full-text index, and with text indexes of each tokenizer and token filter
(lowercase, ASCII folding, stop words, Snowball stemming, token length bounds, phrases)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import qdrant_edge as qe

VOCAB = ["run", "running", "Runs", "cat", "cats", "The", "the", "are", "hello", "Hello",
         "HELLO", "héllo", "Ärger", "über", "abc", "abcd", "abcdefg", "ab", "x", "a_b", "can't",
         "quickly", "wörld", "world", "2024", "x1y"]
SEPS = [" ", " ", " ", "-", ", ", "  ", "_", "'", ".", "\t"]
P, T = qe.TextIndexParams, qe.TokenizerType
ENGLISH = qe.SnowballParams(qe.SnowballLanguage.English)

# (heron's REST schema, the same for qdrant-edge); None: no index
SCHEMAS: dict[str, tuple[Any, Any]] = {
    "no_index": (None, None),
    "default": ({"type": "text"}, P()),
    "word_phrase_cased": (
        {"type": "text", "tokenizer": "word", "lowercase": False, "phrase_matching": True},
        P(tokenizer=T.Word, lowercase=False, phrase_matching=True),
    ),
    "whitespace": (
        {"type": "text", "tokenizer": "whitespace", "phrase_matching": True},
        P(tokenizer=T.Whitespace, phrase_matching=True),
    ),
    "prefix": (
        {"type": "text", "tokenizer": "prefix", "min_token_len": 2, "max_token_len": 4},
        P(tokenizer=T.Prefix, min_token_len=2, max_token_len=4),
    ),
    "prefix_open": ({"type": "text", "tokenizer": "prefix"}, P(tokenizer=T.Prefix)),
    "filtered": (
        {"type": "text", "tokenizer": "word", "min_token_len": 3, "max_token_len": 6,
         "stemmer": {"type": "snowball", "language": "english"},
         "stopwords": {"custom": ["The", "are"]}, "phrase_matching": True},
        P(tokenizer=T.Word, min_token_len=3, max_token_len=6, stemmer=ENGLISH,
          stopwords=qe.StopwordsSet(custom={"The", "are"}), phrase_matching=True),
    ),
    "multilingual": (
        {"type": "text", "tokenizer": "multilingual", "phrase_matching": True},
        P(tokenizer=T.Multilingual, phrase_matching=True),
    ),
    "folded": (
        {"type": "text", "ascii_folding": True, "phrase_matching": True},
        P(ascii_folding=True, phrase_matching=True),
    ),
}


def _text(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice([7, 1.5, True, None, {"t": "hello"}])
    if roll < 0.12:
        return [_text(rng) for _ in range(rng.randint(0, 3))]
    words = [rng.choice(VOCAB) for _ in range(rng.randint(0, 6))]
    out = ""
    for w in words:
        out += w + rng.choice(SEPS)
    return out.strip() if rng.random() < 0.8 else out


def _query(rng: random.Random, values: list[Any]) -> str:
    strings = [v for v in values if isinstance(v, str) and v]
    if strings and rng.random() < 0.5:
        v = rng.choice(strings)
        i = rng.randrange(len(v))
        return v[i : i + rng.randint(1, 14)]
    return rng.choice([" ", "-"]).join(rng.choice(VOCAB) for _ in range(rng.randint(1, 3)))


def _edge(tmp: Path, values: list[Any], schema: Any) -> qe.EdgeShard:
    shard = qe.EdgeShard.create(
        str(tmp), qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=2, distance=qe.Distance.Dot))
    )
    if schema is not None:
        shard.update(qe.UpdateOperation.create_field_index("t", schema))
    shard.update(qe.UpdateOperation.upsert_points(
        [qe.Point(i, [1.0, 0.0], {"t": v}) for i, v in enumerate(values)]
    ))
    return shard


def _edge_ids(shard: qe.EdgeShard, match: Any) -> list[int]:
    flt = qe.Filter(must=[qe.FieldCondition(key="t", match=match)])
    found = shard.scroll(qe.ScrollRequest(limit=10_000, filter=flt))
    records = found[0] if isinstance(found, tuple) else found
    return sorted(int(r.id) for r in records)


def _heron_ids(http: httpx.Client, name: str, match: dict[str, str]) -> list[int]:
    resp = http.post(f"/collections/{name}/points/scroll", json={
        "limit": 10_000, "with_payload": False,
        "filter": {"must": [{"key": "t", "match": match}]}})
    assert resp.status_code == 200, resp.text
    return sorted(p["id"] for p in resp.json()["result"]["points"])


@pytest.fixture(scope="module")
def edge_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("edge")


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_text_matching_agrees_with_qdrant(
    http: httpx.Client, collection_name: str, edge_dir: Path, kind: str
) -> None:
    rest_schema, edge_schema = SCHEMAS[kind]
    rng = random.Random(f"text-{kind}")
    values = [_text(rng) for _ in range(300)]
    shard = _edge(edge_dir / kind, values, edge_schema)
    resp = http.put(f"/collections/{collection_name}",
                    json={"vectors": {"size": 2, "distance": "Dot"}})
    assert resp.status_code == 200, resp.text
    if rest_schema is not None:
        resp = http.put(f"/collections/{collection_name}/index?wait=true",
                        json={"field_name": "t", "field_schema": rest_schema})
        assert resp.status_code == 200, resp.text
    points = [{"id": i, "vector": [1.0, 0.0], "payload": {"t": v}} for i, v in enumerate(values)]
    resp = http.put(f"/collections/{collection_name}/points?wait=true", json={"points": points})
    assert resp.status_code == 200, resp.text
    matched = 0
    for _ in range(120):
        text = _query(rng, values)
        for field, edge_match in (
            ("text", qe.MatchText(text)),
            ("text_any", qe.MatchTextAny(text)),
            ("phrase", qe.MatchPhrase(text)),
        ):
            want = _edge_ids(shard, edge_match)
            got = _heron_ids(http, collection_name, {field: text})
            assert got == want, (kind, field, text, [values[i] for i in set(got) ^ set(want)])
            matched += bool(want)
    shard.close()
    assert matched > 40  # the queries do match things
