"""Maximal Marginal Relevance: re-rank a nearest query's candidates for diversity.

The best candidate comes first; each next pick maximises
``(1 - diversity) * relevance - diversity * (highest similarity to a point already picked)``,
relevance being the candidate's similarity to the query. Points keep their nearest scores.
"""

from __future__ import annotations

import numpy as np

from collection.query.results import Scored


def mmr_order(relevance: np.ndarray, pairwise: np.ndarray, diversity: float, top: int) -> list[int]:
    """Positions of the picked candidates in pick order (``pairwise``: similarity matrix)."""
    n = len(relevance)
    if n == 0 or top <= 0:
        return []
    lam = 1.0 - diversity
    picked = [int(np.argmax(relevance))]
    closest = pairwise[picked[0]].copy()
    free = np.ones(n, dtype=bool)
    free[picked[0]] = False
    while len(picked) < min(top, n):
        gain = np.where(free, lam * relevance - (1.0 - lam) * closest, -np.inf)
        nxt = int(np.argmax(gain))
        picked.append(nxt)
        free[nxt] = False
        closest = np.maximum(closest, pairwise[nxt])
    return picked


def apply_mmr(
    candidates: Scored, relevance: np.ndarray, pairwise: np.ndarray, diversity: float, top: int
) -> Scored:
    return candidates.pick(np.asarray(mmr_order(relevance, pairwise, diversity, top),
                                      dtype=np.int64))
