"""Point ids: unsigned integers or UUIDs, normalised to ``int`` or the canonical UUID string."""

from __future__ import annotations

import uuid
from typing import Any

PointId = int | str
MAX_ID = (1 << 64) - 1


def normalize_id(value: Any) -> PointId:
    """Return the canonical form of a point id, or raise ``ValueError`` saying why it is bad."""
    if isinstance(value, bool):
        raise ValueError(f"point id must be an unsigned integer or a UUID, got {value!r}")
    if isinstance(value, int):
        if value < 0 or value > MAX_ID:
            raise ValueError(f"point id {value} is out of range for an unsigned 64-bit integer")
        return value
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(
                f"Unable to parse UUID: {value}: point id must be an unsigned integer or a UUID"
            ) from None
    raise ValueError(f"point id must be an unsigned integer or a UUID, got {value!r}")


def id_sort_key(pid: PointId) -> tuple[int, int]:
    """Order of ids in scroll: integers first, then UUIDs by their 128-bit value."""
    if isinstance(pid, int):
        return (0, pid)
    return (1, uuid.UUID(pid).int)
