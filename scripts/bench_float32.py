"""Cost of writing float32 vectors and scores shortest (issue 12, item 2): a 100-point response
with 128-d vectors, serialised three ways (median of repeated runs, in ms)."""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable

import numpy as np
import orjson

OPT = orjson.OPT_SERIALIZE_NUMPY
DATA = np.random.default_rng(42).random((100, 128), dtype=np.float32)


def as_doubles() -> bytes:
    """Before: float32 widened to Python floats (``0.15000000596046448``)."""
    pts = [{"id": i, "score": float(DATA[i, 0]), "vector": DATA[i].tolist()} for i in range(100)]
    return orjson.dumps({"result": {"points": pts}}, option=OPT)


def as_float32() -> bytes:
    """Now: numpy float32 handed to orjson, which writes the shortest float32 form."""
    pts = [{"id": i, "score": DATA[i, 0], "vector": DATA[i]} for i in range(100)]
    return orjson.dumps({"result": {"points": pts}}, option=OPT)


def per_element() -> bytes:
    """The per-element alternative: ``np.format_float_positional(x, unique=True)``."""
    def short(x: np.float32) -> float:
        return float(np.format_float_positional(x, unique=True))

    pts = [{"id": i, "score": short(DATA[i, 0]), "vector": [short(x) for x in DATA[i]]}
           for i in range(100)]
    return orjson.dumps({"result": {"points": pts}}, option=OPT)


def median_ms(fn: Callable[[], bytes], number: int) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=7)) / number * 1e3


if __name__ == "__main__":
    assert orjson.loads(as_float32()) == orjson.loads(per_element())
    for fn, number in ((as_doubles, 200), (as_float32, 200), (per_element, 5)):
        print(f"{fn.__name__}: {median_ms(fn, number):.2f} ms, {len(fn()):,} bytes")
