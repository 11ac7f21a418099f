"""Group ranked points by the values of a payload key (``/points/query/groups``).

A point joins one group per distinct value at the key (arrays included); only strings and
integers make group ids, and a point holding any other kind of value there joins no group.
Groups appear in the order their best point ranks; each keeps its first ``group_size`` hits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collection.query.results import Scored
from segments.payload_path import parse_path, values_at


def group_ids(payload: dict[str, Any], key_path: Any) -> list[Any] | None:
    """Distinct group ids of a point in payload order, or None if it can't be grouped."""
    values = values_at(payload, key_path)
    if not values:
        return None
    if any(type(v) not in (str, int) for v in values):
        return None
    return list(dict.fromkeys(values))


def group_points(
    ranked: Scored, key: str, group_size: int, limit: int
) -> list[tuple[Any, Scored]]:
    """The first ``limit`` groups of ``ranked`` with up to ``group_size`` hits each."""
    path = parse_path(key)
    members: dict[Any, list[int]] = {}
    for i, (seg, off) in enumerate(ranked.locs):
        gids = group_ids(seg.payload_of(off), path)
        if gids is None:
            continue
        for gid in gids:
            hits = members.setdefault(gid, [])
            if len(hits) < group_size:
                hits.append(i)
    chosen = list(members.items())[:limit]
    return [(gid, ranked.pick(np.asarray(idx, dtype=np.int64))) for gid, idx in chosen]
