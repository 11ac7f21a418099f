"""Dense vectors of one name in one segment: a growable numpy matrix plus a presence mask.

Cosine vectors are stored normalised (as Qdrant does on write), so Cosine scores as a dot
product. Scoring works on all candidate rows at once.
"""

from __future__ import annotations

import numpy as np

from collection.config import Distance


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def prepare(matrix: np.ndarray, distance: Distance) -> np.ndarray:
    """Turn raw float rows into their stored form for this distance."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if distance is Distance.COSINE:
        matrix = normalize_rows(matrix).astype(np.float32, copy=False)
    return matrix


def score(stored: np.ndarray, query: np.ndarray, distance: Distance) -> np.ndarray:
    """Score stored rows against one prepared query vector (float32 in, float32 out)."""
    if distance in (Distance.COSINE, Distance.DOT):
        return stored @ query
    diff = stored - query
    if distance is Distance.EUCLID:
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return np.abs(diff).sum(axis=1)


class DenseVectors:
    """Rows indexed by segment offset; ``present[i]`` says whether offset i has this vector."""

    def __init__(self, dim: int, distance: Distance, capacity: int = 0) -> None:
        self.dim = dim
        self.distance = distance
        self.data = np.zeros((capacity, dim), dtype=np.float32)
        self.present = np.zeros(capacity, dtype=bool)

    def ensure_capacity(self, capacity: int) -> None:
        """Grow to hold ``capacity`` offsets; readers keep their old arrays (never mutated)."""
        if capacity <= len(self.present):
            return
        new_cap = max(capacity, 2 * len(self.present), 64)
        data = np.zeros((new_cap, self.dim), dtype=np.float32)
        data[: len(self.data)] = self.data
        present = np.zeros(new_cap, dtype=bool)
        present[: len(self.present)] = self.present
        self.data, self.present = data, present

    def put(self, offsets: np.ndarray, rows: np.ndarray) -> None:
        """Store prepared rows at offsets."""
        self.data[offsets] = rows
        self.present[offsets] = True

    def remove(self, offsets: np.ndarray) -> None:
        self.present[offsets] = False
        self.data[offsets] = 0.0

    def get(self, offset: int) -> list[float] | None:
        if offset >= len(self.present) or not self.present[offset]:
            return None
        return self.data[offset].tolist()
