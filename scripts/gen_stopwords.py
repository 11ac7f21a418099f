"""Regenerate ``inference/stopwords.json``: the stop words Qdrant's BM25 drops, per language.

Qdrant's lists are learned by probing its embedded engine (qdrant-edge-py): every candidate word
from two public stop word collections (PyPI ``stopwordsiso`` and ``stop-words``, installed only for
this script, e.g. ``pip install --target /tmp/swpkgs stopwordsiso stop-words``), plus English
contractions and a few common Hinglish and Chinese words (``EXTRA``), is embedded with stemming off; the words the engine drops are that language's stop
words. Words in neither collection can't be found this way (a known gap, mostly Kazakh and Tajik).

Usage: python scripts/gen_stopwords.py /tmp/swpkgs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mmh3
import qdrant_edge as edge

OUT = Path(__file__).resolve().parent.parent / "inference" / "stopwords.json"
CONTRACTED = ["ain", "aren", "couldn", "didn", "doesn", "don", "hadn", "hasn", "haven", "isn",
              "mightn", "mustn", "needn", "shan", "shouldn", "wasn", "weren", "won", "wouldn",
              "i", "you", "he", "she", "it", "we", "they", "that", "there", "what", "who", "let"]
SUFFIXES = ["t", "n't", "ll", "re", "ve", "d", "m", "s"]
EXTRA = (  # common words missing from both collections (Hinglish, Chinese)
    "main mein kal gaya gayi gaye tha thi the aur wahan yahan bahut log hai hain ka ki ke ko se "
    "par bhi nahi nahin kya kyun kaise kab kahan yeh ye woh wo hum tum aap unka uska mera tera "
    "hamara tumhara apna raha rahi rahe kar karna kiya kiye ho hota hoti hote jab tab ab sab kuch "
    "koi ek do teen agar lekin magar phir fir toh to bas sirf abhi pehle baad saath liye wala "
    "wali wale diya liya hua hui hue jo jaisa waisa itna utna kitna kaun kis kisi kuchh "
    "我们 你们 他们 在 公园 里 散步 的 时候 看到 了 很多 花 是 有 和 就 不 人 都 一 一个 上 也 很 到 "
    "说 要 去 你 会 着 没有 看 好 自己 这 那 她 他 它 我 吗 呢 吧 啊"
).split()


def candidates(pkgs: Path) -> set[str]:
    words: set[str] = set()
    iso = json.loads((pkgs / "stopwordsiso" / "stopwords-iso.json").read_text("utf-8"))
    for lst in iso.values():
        words.update(w.lower() for w in lst)
    for path in (pkgs / "stop_words" / "stop-words").glob("*.txt"):
        words.update(line.strip().lower() for line in path.read_text("utf-8").splitlines())
    words.update(CONTRACTED)
    words.update(EXTRA)
    words.update(f"{w}'{s}" for w in CONTRACTED for s in SUFFIXES)
    words.update(f"{w}’{s}" for w in CONTRACTED for s in SUFFIXES)
    words.update(f"{w}{s}" for w in CONTRACTED for s in ("n", "nt"))
    return {w for w in words if w and not any(ch.isspace() for ch in w)}


def main() -> None:
    words = sorted(candidates(Path(sys.argv[1])))
    text = " ".join(words)
    out: dict[str, list[str]] = {}
    for name in sorted(n for n in dir(edge.Language) if not n.startswith("_")):
        config = edge.Bm25Config(
            tokenizer=edge.TokenizerType.Whitespace,
            stemmer=edge.DisabledStemmer(),
            stopwords=getattr(edge.Language, name),
        )
        kept = set(edge.Bm25(config).embed_query(text).indices)
        out[name.lower()] = [w for w in words if abs(mmh3.hash(w)) not in kept]
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=0, sort_keys=True) + "\n", "utf-8")
    print({k: len(v) for k, v in out.items()})


if __name__ == "__main__":
    main()
