"""Measure the turbo4 storage against float32 and float16 in the same run (the machine is
shared and noisy: compare ratios, not absolute times): bytes per vector, exact-search latency
over one segment's rows, encode (upsert) cost, and recall@10 against float32 ground truth.

Usage: python scripts/bench_turbo4.py [--rows 100000] [--dim 128] [--queries 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segments.types import Datatype, Distance  # noqa: E402
from segments.vectors.dense import DenseVectors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((args.rows, args.dim)).astype(np.float32)
    queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    everything = np.ones(args.rows, dtype=bool)
    for distance in (Distance.DOT, Distance.EUCLID):
        truth = None
        print(f"-- {distance.value}, {args.rows} x {args.dim}")
        for datatype in (Datatype.FLOAT32, Datatype.FLOAT16, Datatype.TURBO4):
            store = DenseVectors(args.dim, distance, datatype)
            start = time.perf_counter()
            store.put(np.arange(args.rows), rows)
            encode = time.perf_counter() - start
            times, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, offs = store.search(q, everything, 10)
                times.append(time.perf_counter() - t)
                found.append(offs)
            if truth is None:
                truth = found
            recall = np.mean([len(set(a.tolist()) & set(b.tolist())) / 10
                              for a, b in zip(found, truth, strict=True)])
            print(f"{datatype.value:8s} bytes/vector {store.data.nbytes / args.rows:7.1f}  "
                  f"put {encode * 1e6 / args.rows:6.2f} us/vector  "
                  f"search median {statistics.median(times) * 1e3:7.2f} ms  "
                  f"recall@10 vs float32 {recall:.3f}")


if __name__ == "__main__":
    main()
