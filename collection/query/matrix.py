"""``/points/search/matrix/pairs`` and ``/offsets``: distances among a random sample of points.

As Qdrant does: up to ``sample`` points (default 10) are drawn at random among the live points
that match ``filter`` and hold vector ``using``; each sampled point is then scored against the
other sampled points (its own vector as the query, the same scoring as a query on ``using``,
IDF included) and keeps its ``limit`` best (default 3). Pairs come sampled point by sampled
point, best first; the offsets form gives the same pairs as indexes into ``ids``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection import operations
from collection.errors import BadRequest, format_error
from collection.handle import Collection
from collection.query.executor import higher_is_better, idf_weighted
from collection.query.rescoring import rescore
from collection.query.results import Location
from segments.filter import Filter
from segments.ids import PointId

DEFAULT_SAMPLE = 10
DEFAULT_LIMIT = 3


def _sample(coll: Collection, using: str, flt: Filter | None, size: int
            ) -> tuple[list[PointId], list[Location]]:
    """Up to ``size`` random live points matching the filter that hold vector ``using``
    (drawn over all segments at once, without listing every candidate)."""
    parts: list[tuple[Any, np.ndarray]] = []
    for seg, mask in coll.matching(flt):
        held = seg.vector_mask(using)
        if held is not None:
            parts.append((seg, np.flatnonzero(mask & held)))
    total = sum(len(offs) for _, offs in parts)
    picked = np.arange(total)
    if total > size:
        picked = np.random.default_rng().choice(total, size=size, replace=False)
    bounds = np.cumsum([0, *(len(offs) for _, offs in parts)])
    which = np.searchsorted(bounds, picked, side="right") - 1
    locs: list[Location] = []
    for k, pos in zip(which.tolist(), picked.tolist(), strict=True):
        seg, offs = parts[k]
        locs.append((seg, int(offs[pos - bounds[k]])))
    return [seg.ids.ids[off] for seg, off in locs], locs


def _query_vector(coll: Collection, using: str, loc: Location) -> Any:
    """A sampled point's own vector as a query on ``using`` (sparse: IDF-weighted)."""
    seg, off = loc
    checked = operations.one_vector(coll.config, using, seg.vector_of(off, using))
    if isinstance(checked, dict):
        indices = np.asarray(checked["indices"], dtype=np.int64)
        values = np.asarray(checked["values"], dtype=np.float32)
        return indices, idf_weighted(coll, using, indices, values)
    return checked


def search_matrix(
    coll: Collection, body: dict[str, Any], max_sample: int
) -> tuple[list[PointId], list[tuple[int, int, float]]]:
    """The sampled ids and the (row, column, score) entries of their neighbour matrix."""
    sample = operations.optional_int(body, "sample", DEFAULT_SAMPLE, 2)
    limit = operations.optional_int(body, "limit", DEFAULT_LIMIT, 1)
    if sample > max_sample:
        raise BadRequest(f"Wrong input: sample must be at most {max_sample}")
    using_raw = body.get("using")
    if using_raw is not None and not isinstance(using_raw, str):
        raise format_error("using: invalid type: expected a string")
    using = operations.vector_name(coll.config, using_raw)
    flt = operations.compile_filter(body.get("filter"))
    ids, locs = _sample(coll, using, flt, sample)
    better = higher_is_better(coll.config, using)
    where = {pid: i for i, pid in enumerate(ids)}
    entries: list[tuple[int, int, float]] = []
    for row, loc in enumerate(locs):
        others = [i for i in range(len(ids)) if i != row]
        found = rescore(
            using,
            _query_vector(coll, using, loc),
            [ids[i] for i in others],
            [locs[i] for i in others],
            better,
            None,
            limit,
        )
        entries.extend(
            (row, where[pid], float(score))
            for pid, score in zip(found.ids, found.scores.tolist(), strict=True)
        )
    return ids, entries


def pairs(coll: Collection, body: dict[str, Any], max_sample: int) -> dict[str, Any]:
    """SearchMatrixPairsResponse."""
    ids, entries = search_matrix(coll, body, max_sample)
    return {"pairs": [{"a": ids[r], "b": ids[c], "score": s} for r, c, s in entries]}


def offsets(coll: Collection, body: dict[str, Any], max_sample: int) -> dict[str, Any]:
    """SearchMatrixOffsetsResponse."""
    ids, entries = search_matrix(coll, body, max_sample)
    return {
        "offsets_row": [r for r, _, _ in entries],
        "offsets_col": [c for _, c, _ in entries],
        "scores": [s for _, _, s in entries],
        "ids": ids,
    }
