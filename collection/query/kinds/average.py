"""recommend's ``average_vector``: one query vector from the examples, ``2 avg(pos) - avg(neg)``.

Dense vectors average element by element; sparse vectors by index (an index missing from a
vector counts as 0); a multivector's "average" of positives is all their sub-vectors together
(MaxSim over the union), and negatives can't be subtracted from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.errors import BadRequest


def _sparse_avg(items: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    indices = np.concatenate([np.asarray(v["indices"], dtype=np.int64) for v in items])
    values = np.concatenate([np.asarray(v["values"], dtype=np.float64) for v in items])
    uniq, inverse = np.unique(indices, return_inverse=True)
    return uniq, np.bincount(inverse, weights=values, minlength=len(uniq)) / len(items)


def average_query(kind: str, positives: list[Any], negatives: list[Any]) -> Any:
    """The averaged vector in checked form (dict for sparse, array otherwise)."""
    if kind == "sparse":
        pi, pv = _sparse_avg(positives)
        if not negatives:
            return {"indices": pi, "values": pv.astype(np.float32)}
        ni, nv = _sparse_avg(negatives)
        indices = np.union1d(pi, ni)
        pos = np.zeros(len(indices))
        neg = np.zeros(len(indices))
        pos[np.searchsorted(indices, pi)] = pv
        neg[np.searchsorted(indices, ni)] = nv
        return {"indices": indices, "values": (pos + pos - neg).astype(np.float32)}
    if kind == "multi":
        if negatives:
            raise BadRequest(
                "Wrong input: average_vector can't subtract negative examples from a "
                "multivector: use best_score or sum_scores"
            )
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in positives])
    avg_pos = np.mean(np.asarray(positives, dtype=np.float64), axis=0)
    if not negatives:
        return avg_pos.astype(np.float32)
    avg_neg = np.mean(np.asarray(negatives, dtype=np.float64), axis=0)
    return (avg_pos + avg_pos - avg_neg).astype(np.float32)
