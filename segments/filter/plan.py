"""The filter planner: which conditions run first, and where a payload index replaces a scan.

Conditions are ordered cheapest first (id and vector checks narrow the offsets the payload
scans must visit); a field condition is answered by the segment's payload index on its key
when there is one that can tell, else by scanning payloads. ``estimate`` bounds how many
points a filter can match from the indexes alone, without evaluating it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from segments.filter.context import ConditionIndex, FilterContext, IndexAnswer
from segments.filter.model import (
    Condition,
    FieldCondition,
    Filter,
    HasIdCondition,
    HasVectorCondition,
    NestedCondition,
    SliceCondition,
)

COSTS: dict[type, int] = {
    HasIdCondition: 0,
    HasVectorCondition: 0,
    SliceCondition: 1,
    FieldCondition: 2,
    NestedCondition: 3,
}
"""Rough evaluation cost per condition kind; a filter costs as much as its dearest child."""


def cost(cond: Condition) -> int:
    """Rough evaluation cost, used to run cheap conditions (ids, vectors) first."""
    if isinstance(cond, Filter):
        children = [*cond.must, *cond.should, *cond.must_not]
        if cond.min_should is not None:
            children.extend(cond.min_should.conditions)
        return max((cost(c) for c in children), default=0)
    return COSTS[type(cond)]


def by_cost(conditions: tuple[Condition, ...]) -> list[Condition]:
    """Cheapest conditions first (stable), so id/vector checks narrow the payload scans."""
    return sorted(conditions, key=cost)


class SegmentView:
    """One evaluation's view of a segment: payloads fetched once, indexes looked up once."""

    def __init__(self, ctx: FilterContext) -> None:
        self.ctx = ctx
        self.size = int(ctx.size)
        self._payloads: Sequence[Any] | None = None
        self._indexes: dict[str, ConditionIndex | None] = {}

    @property
    def payloads(self) -> Sequence[Any]:
        if self._payloads is None:
            self._payloads = self.ctx.payloads()
        return self._payloads

    def index(self, key: str) -> ConditionIndex | None:
        """The payload index the context offers for ``key`` (see ``IndexedContext``)."""
        if key not in self._indexes:
            lookup = getattr(self.ctx, "payload_index", None)
            self._indexes[key] = None if lookup is None else lookup(key)
        return self._indexes[key]


def index_answer(cond: FieldCondition, view: SegmentView) -> IndexAnswer | None:
    """The payload index's answer to ``cond``; ``None``: no index can tell, scan instead."""
    index = view.index(cond.key)
    return None if index is None else index.answer(cond, view.size)


def estimate(flt: Filter, ctx: FilterContext) -> int:
    """An upper estimate of the offsets that match, from the context's payload indexes
    (``ctx.size`` where nothing is known); deleted points are the caller's business."""
    return _estimate(flt, SegmentView(ctx))


def _estimate(cond: Condition, view: SegmentView) -> int:
    size = view.size
    if isinstance(cond, FieldCondition):
        index = view.index(cond.key)
        found = None if index is None else index.estimate(cond, size)
        return size if found is None else min(size, found)
    if isinstance(cond, HasIdCondition):
        return min(size, len(view.ctx.offsets_of(cond.ids)))
    if isinstance(cond, HasVectorCondition):
        present = view.ctx.vector_mask(cond.has_vector)
        return 0 if present is None else int(np.count_nonzero(np.asarray(present)[:size]))
    if not isinstance(cond, Filter):
        return size  # slice and nested conditions: unknown
    bound = size
    for sub in cond.must:
        bound = min(bound, _estimate(sub, view))
    if cond.should:
        bound = min(bound, sum(_estimate(sub, view) for sub in cond.should))
    if cond.min_should is not None:
        # every match is counted by at least min_count of the conditions' own estimates
        total = sum(_estimate(sub, view) for sub in cond.min_should.conditions)
        bound = min(bound, total // cond.min_should.min_count)
    return bound
