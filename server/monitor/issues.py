"""``GET /issues`` and ``DELETE /issues``: problems heron notices while serving.

Today one kind, as Qdrant reports it: a payload key that reads filter on often (at least
``UNINDEXED_MIN_READS`` times) without a payload index, with the ``PUT /collections/{c}/index``
call that fixes it. The collection counts such reads when it compiles a read's filter; clearing
the issues resets those counts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from segments.payload_path import values_at

UNINDEXED_MIN_READS = 10
SAMPLE_POINTS = 256


def guess_schema(coll: Any, key: str) -> str:
    """The index type to suggest for ``key``, from the values a sample of points hold there."""
    seen: set[str] = set()
    for seg in coll.holder:
        for payload in islice((p for p in seg.payloads() if p), SAMPLE_POINTS):
            try:
                values = values_at(payload, key)
            except ValueError:
                return "keyword"
            for value in values:
                if isinstance(value, bool):
                    seen.add("bool")
                elif isinstance(value, int):
                    seen.add("integer")
                elif isinstance(value, float):
                    seen.add("float")
                elif isinstance(value, dict) and {"lat", "lon"} <= value.keys():
                    seen.add("geo")
                elif isinstance(value, str):
                    seen.add("keyword")
    if seen == {"integer", "float"}:
        return "float"
    return seen.pop() if len(seen) == 1 else "keyword"


class Issues:
    """When each (collection, key) issue was first seen, so its timestamp stays put."""

    def __init__(self) -> None:
        self.first_seen: dict[tuple[str, str], float] = {}

    def current(self, collections: list[Any]) -> list[dict[str, Any]]:
        """Every issue that holds now."""
        out = []
        for coll in collections:
            schema = coll.holder.payload_schema
            for key, reads in sorted(coll.unindexed_filters.items()):
                if reads < UNINDEXED_MIN_READS or key in schema:
                    continue
                seen = self.first_seen.setdefault((coll.name, key), time.time())
                out.append(self._unindexed(coll, key, reads, seen))
        return out

    def clear(self, collections: list[Any]) -> None:
        """Forget every issue and the counts behind them."""
        self.first_seen.clear()
        for coll in collections:
            coll.unindexed_filters.clear()

    @staticmethod
    def _unindexed(coll: Any, key: str, reads: int, seen: float) -> dict[str, Any]:
        schema = guess_schema(coll, key)
        return {
            "id": f"UNINDEXED_FIELD/{coll.name}/{key}",
            "description": (
                f"Unindexed field '{key}' in collection '{coll.name}' was used in {reads} "
                "filtered reads; each of them had to scan payloads"
            ),
            "solution": {
                "immediate": {
                    "message": f"Create an index on field '{key}' of schema {schema} in "
                               f"collection '{coll.name}'",
                    "action": {
                        "method": "PUT",
                        "uri": f"/collections/{coll.name}/index",
                        "headers": {"content-type": "application/json"},
                        "body": {"field_name": key, "field_schema": schema},
                    },
                }
            },
            "timestamp": datetime.fromtimestamp(seen, UTC).isoformat(),
            "related_collection": coll.name,
        }
