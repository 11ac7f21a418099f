"""What filter evaluation needs from a segment, and what it may ask of a payload index.

Segments (and test doubles) implement ``FilterContext``; payload indexes implement
``ConditionIndex`` and answer with an ``IndexAnswer``. Defined here, on the filter side, so
neither the segments nor the indexes are imported by the filter language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from segments.filter.model import FieldCondition, PointId


class FilterContext(Protocol):
    """What a segment exposes so a filter can be evaluated over all of its offsets."""

    size: int

    def payloads(self) -> Sequence[dict[str, Any] | None]:
        """Payload per offset (``None`` = no payload)."""
        ...

    def offsets_of(self, ids: Iterable[PointId]) -> np.ndarray:
        """int64 offsets of those (normalised) external ids present in this segment."""
        ...

    def vector_mask(self, name: str) -> np.ndarray | None:
        """bool[size]: offsets holding vector ``name``; ``None`` if the name is unknown."""
        ...


@dataclass
class IndexAnswer:
    """An index's answer to a condition: ``mask`` (bool[size]) is exact except at the offsets in
    ``rescan``, which the caller re-checks with the condition's predicate."""

    mask: np.ndarray
    rescan: np.ndarray


class ConditionIndex(Protocol):
    """A payload index as the planner uses it: it may answer (or bound) a field condition."""

    def answer(self, cond: FieldCondition, size: int) -> IndexAnswer | None:
        """The offsets (< ``size``) matching ``cond``, or ``None`` if this index can't tell."""
        ...

    def estimate(self, cond: FieldCondition, size: int) -> int | None:
        """An upper bound on the points matching ``cond`` (``None``: unknown)."""
        ...


class IndexedContext(FilterContext, Protocol):
    """Optional extension: payload indexes that field conditions may use instead of a scan."""

    def payload_index(self, key: str) -> ConditionIndex | None:
        """The index of payload field ``key``, if the context has one."""
        ...


class PointIdContext(FilterContext, Protocol):
    """Optional extension needed only by the ``slice`` condition: the id at each offset."""

    def point_ids(self, offsets: np.ndarray) -> Sequence[PointId]:
        """External ids (int or canonical UUID str) of the given offsets."""
        ...
