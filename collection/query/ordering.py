"""Order points without a vector: by a payload field (``order_by``) or by point id.

``order_by`` lists a point once per distinct value it holds at the key (arrays included), sorted
by value ascending or descending from ``start_from``; datetimes order as microseconds since the
epoch. Equal values keep the order the candidates came in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.query.planner import OrderBy
from collection.query.results import Location, Scored
from segments.filters import parse_datetime
from segments.ids import PointId, id_sort_key
from segments.payload_path import parse_path, values_at

ORDER_SCORE = 1.0
"""The score a point ordered without a vector carries (as qdrant-client's local mode gives)."""


def order_value(value: Any) -> int | float | None:
    """A payload value as an ordering value: numbers as they are, datetime strings as
    microseconds since the epoch; anything else does not order."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_datetime(value)
    return None


def order_by(spec: OrderBy, ids: list[PointId], locs: list[Location], top: int) -> Scored:
    """The first ``top`` (point, value) entries of the candidates ordered by ``spec``."""
    path = parse_path(spec.key)
    start = None if spec.start_from is None else order_value(spec.start_from)
    entries: list[tuple[Any, int]] = []
    for i, (seg, off) in enumerate(locs):
        seen: set[Any] = set()
        for raw in values_at(seg.payload_of(off), path):
            value = order_value(raw)
            if value is None or value in seen:
                continue
            if start is not None and (value > start if spec.descending else value < start):
                continue
            seen.add(value)
            entries.append((value, i))
    entries.sort(key=lambda e: e[0], reverse=spec.descending)
    entries = entries[:top]
    return Scored(
        [ids[i] for _, i in entries],
        np.full(len(entries), ORDER_SCORE),
        [locs[i] for _, i in entries],
        [v for v, _ in entries],
    )


def by_id(ids: list[PointId], locs: list[Location], top: int) -> Scored:
    """The ``top`` first candidates in id order (integers first, then UUIDs)."""
    order = sorted(range(len(ids)), key=lambda i: id_sort_key(ids[i]))[:top]
    return Scored(
        [ids[i] for i in order],
        np.full(len(order), ORDER_SCORE),
        [locs[i] for i in order],
    )
