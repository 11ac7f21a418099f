"""The currency of the query engine: a ranked list of points with where they live."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segments.appendable import AppendableSegment
from segments.ids import PointId

Location = tuple[AppendableSegment, int]


@dataclass
class Scored:
    """Points best first: ids, scores, locations and (for order_by) the ordering values."""

    ids: list[PointId] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    locs: list[Location] = field(default_factory=list)
    order_values: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, start: int, stop: int | None = None) -> Scored:
        sl = slice(start, stop)
        return Scored(
            self.ids[sl],
            self.scores[sl],
            self.locs[sl],
            None if self.order_values is None else self.order_values[sl],
        )

    def pick(self, index: np.ndarray) -> Scored:
        idx = index.tolist()
        return Scored(
            [self.ids[i] for i in idx],
            self.scores[index],
            [self.locs[i] for i in idx],
            None if self.order_values is None else [self.order_values[i] for i in idx],
        )


def union(lists: list[Scored]) -> tuple[list[PointId], list[Location]]:
    """Distinct points of several lists in first-seen order, with their locations."""
    seen: dict[PointId, Location] = {}
    for s in lists:
        for pid, loc in zip(s.ids, s.locs, strict=True):
            if pid not in seen:
                seen[pid] = loc
    return list(seen), list(seen.values())
