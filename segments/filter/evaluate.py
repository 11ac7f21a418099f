"""Evaluating a filter over every offset of a segment, with numpy masks.

``mask`` walks the tree once, narrowing the offsets still undecided as it goes: each clause
only evaluates its conditions at the offsets the earlier ones left open, cheapest conditions
first. Payload conditions use the segment's indexes where the planner finds one, and scan
the payloads (with the condition's compiled predicate) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

import numpy as np

from segments.filter.checks import Predicate
from segments.filter.context import FilterContext
from segments.filter.model import (
    Condition,
    FieldCondition,
    Filter,
    FilterError,
    HasIdCondition,
    HasVectorCondition,
    NestedCondition,
    SliceCondition,
)
from segments.filter.plan import SegmentView, by_cost, index_answer
from segments.filter.slices import id_slices


def mask(flt: Filter, ctx: FilterContext) -> np.ndarray:
    """bool[ctx.size]: which offsets match (deleted points are the caller's business)."""
    view = SegmentView(ctx)
    if flt.is_empty:
        return np.ones(view.size, dtype=bool)
    return _filter(flt, view, None)


def mask_at(flt: Filter, ctx: FilterContext, offsets: np.ndarray) -> np.ndarray:
    """bool[len(offsets)]: which of the given offsets match (cheaper than ``mask`` when they
    are few: payloads of other offsets are never read)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if flt.is_empty or len(offsets) == 0:
        return np.ones(len(offsets), dtype=bool)
    return _filter(flt, SegmentView(ctx), offsets)


def _select(full: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """Entries of a bool[size] mask at ``idx`` (``None`` = all)."""
    return full if idx is None else full[idx]


def _narrow(idx: np.ndarray | None, pos: np.ndarray) -> np.ndarray:
    """Offsets at positions ``pos`` of the offset list ``idx`` (``None`` = all offsets)."""
    return pos if idx is None else idx[pos]


def _payload_mask(pred: Predicate, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    """Evaluate a payload predicate over the offsets ``idx`` (``None`` = all) in one pass."""
    payloads = view.payloads
    if idx is None:
        return np.fromiter(map(pred, islice(payloads, view.size)), dtype=bool, count=view.size)
    return np.fromiter((pred(payloads[i]) for i in idx.tolist()), dtype=bool, count=len(idx))


def _field(cond: FieldCondition, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    found = index_answer(cond, view)
    if found is None:
        return _payload_mask(cond.predicate, view, idx)
    full = found.mask
    if len(found.rescan):
        rescan = np.unique(found.rescan)
        full[rescan] = _payload_mask(cond.predicate, view, rescan)
    return _select(full, idx)


def _has_id(cond: HasIdCondition, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    full = np.zeros(view.size, dtype=bool)
    offsets = np.asarray(view.ctx.offsets_of(cond.ids), dtype=np.int64)
    full[offsets[offsets < view.size]] = True
    return _select(full, idx)


def _has_vector(
    cond: HasVectorCondition, view: SegmentView, idx: np.ndarray | None
) -> np.ndarray:
    full = np.zeros(view.size, dtype=bool)
    present = view.ctx.vector_mask(cond.has_vector)
    if present is not None:
        present = np.asarray(present, dtype=bool)[: view.size]
        full[: len(present)] = present
    return _select(full, idx)


def _slice(cond: SliceCondition, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    point_ids = getattr(view.ctx, "point_ids", None)
    if point_ids is None:
        raise FilterError("the slice condition is not supported here: ids are unavailable")
    offsets = np.arange(view.size, dtype=np.int64) if idx is None else idx
    if len(offsets) == 0:
        return np.zeros(0, dtype=bool)
    return id_slices(list(point_ids(offsets)), cond.total) == cond.index  # type: ignore[no-any-return]


def _nested(cond: NestedCondition, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    return _payload_mask(cond.predicate, view, idx)


def _filter(flt: Filter, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    n = view.size if idx is None else len(idx)
    result = np.ones(n, dtype=bool)

    def alive() -> np.ndarray | None:
        pos = np.flatnonzero(result)
        return pos if len(pos) else None

    for cond in by_cost(flt.must):
        pos = alive()
        if pos is None:
            return result
        if len(pos) == n:
            result &= _eval(cond, view, idx)
        else:
            result[pos] = _eval(cond, view, _narrow(idx, pos))
    for cond in by_cost(flt.must_not):
        pos = alive()
        if pos is None:
            return result
        result[pos] = ~_eval(cond, view, _narrow(idx, pos))
    if flt.should:
        pos = alive()
        if pos is None:
            return result
        found = np.zeros(len(pos), dtype=bool)
        for cond in by_cost(flt.should):
            rest = np.flatnonzero(~found)
            if not len(rest):
                break
            found[rest] = _eval(cond, view, _narrow(idx, pos[rest]))
        result[pos] = found
    if flt.min_should is not None:
        pos = alive()
        if pos is None:
            return result
        need = flt.min_should.min_count
        conds = by_cost(flt.min_should.conditions)
        counts = np.zeros(len(pos), dtype=np.int64)
        for left, cond in zip(range(len(conds), 0, -1), conds, strict=True):
            undecided = np.flatnonzero((counts < need) & (counts + left >= need))
            if not len(undecided):
                break
            counts[undecided] += _eval(cond, view, _narrow(idx, pos[undecided]))
        result[pos] = counts >= need
    return result


_EVALUATORS: dict[type, Callable[[Any, SegmentView, np.ndarray | None], np.ndarray]] = {
    FieldCondition: _field,
    HasIdCondition: _has_id,
    HasVectorCondition: _has_vector,
    SliceCondition: _slice,
    NestedCondition: _nested,
    Filter: _filter,
}


def _eval(cond: Condition, view: SegmentView, idx: np.ndarray | None) -> np.ndarray:
    """bool[len(idx)] (or bool[size] for ``None``): where ``cond`` holds among ``idx``."""
    return _EVALUATORS[type(cond)](cond, view, idx)
