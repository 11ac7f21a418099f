"""Fusion of ranked candidate lists: Reciprocal Rank Fusion and Distribution-Based Score Fusion.

Each input is a ranked list (best first) of hashable point keys with their scores. Fusion works
on the collection's merged lists, never per segment, so the result does not depend on how points
are spread over segments. Equal fused scores keep the order in which points were first seen.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RRF_K = 2


@dataclass
class Ranked:
    """A ranked list: keys best first, with their scores."""

    keys: list[Hashable]
    scores: np.ndarray


def _accumulate(lists: Sequence[tuple[list[Hashable], np.ndarray]]) -> Ranked:
    """Sum contributions per key; order by fused score, first-seen order breaking ties."""
    index: dict[Hashable, int] = {}
    total: list[float] = []
    for keys, contrib in lists:
        for key, value in zip(keys, contrib.tolist(), strict=True):
            pos = index.get(key)
            if pos is None:
                index[key] = len(total)
                total.append(value)
            else:
                total[pos] += value
    scores = np.asarray(total, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    keys_all = list(index)
    return Ranked([keys_all[i] for i in order.tolist()], scores[order])


def rrf(
    lists: Sequence[Ranked], k: float = DEFAULT_RRF_K, weights: Sequence[float] | None = None
) -> Ranked:
    """Reciprocal Rank Fusion: a point at 0-based rank r of a list with weight w earns
    ``1 / ((r + 1) / w + k - 1)`` (nothing for w <= 0); contributions add up."""
    if weights is not None and len(weights) != len(lists):
        raise ValueError("the number of weights must equal the number of prefetches")
    parts = []
    for i, ranked in enumerate(lists):
        w = 1.0 if weights is None else float(weights[i])
        ranks = np.arange(len(ranked.keys), dtype=np.float64)
        contrib = np.zeros(len(ranks)) if w <= 0 else 1.0 / ((ranks + 1.0) / w + k - 1.0)
        parts.append((ranked.keys, contrib))
    return _accumulate(parts)


def dbsf_normalize(scores: np.ndarray) -> np.ndarray:
    """Map scores into [0, 1] using mean ± 3 sample standard deviations as the limits;
    a single score, or scores with no spread, become 0.5."""
    n = len(scores)
    if n == 0:
        return np.zeros(0)
    scores = scores.astype(np.float64)
    if n == 1:
        return np.full(1, 0.5)
    mean = scores.mean()
    var = ((scores - mean) ** 2).sum() / (n - 1)
    if var == 0:
        return np.full(n, 0.5)
    std = var**0.5
    low, high = mean - 3 * std, mean + 3 * std
    return (scores - low) / (high - low)


def dbsf(lists: Sequence[Ranked]) -> Ranked:
    """Distribution-Based Score Fusion: normalise each list, then sum per point."""
    return _accumulate([(r.keys, dbsf_normalize(np.asarray(r.scores))) for r in lists if r.keys])
