"""How filters read payload values: datetimes, words, geo points and distances.

Shared by the filter checks and the payload indexes, so both read a value the same way.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

_DATETIME = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{1,2})"  # a time needs hours and minutes ...
    r"(?::(\d{1,2})(?:\.(\d+))?"  # ... and seconds before it may carry a fraction or a zone
    r"(?: ?(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)| UTC)?"
    r")?)?",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> int | None:
    """Microseconds since the epoch of a Qdrant datetime string, or ``None`` if not one.

    Accepts RFC 3339 and the relaxed forms Qdrant takes: space instead of ``T``, no seconds,
    date only, ``Z``/``+HH``/``+HHMM``/``+HH:MM``/`` UTC`` zones; no zone means UTC.
    """
    m = _DATETIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac = m.groups()[:7]
    zone = m.group("zone")
    offset = 0
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(timedelta(minutes=offset)),
        )
    except ValueError:
        return None
    return (moment - _EPOCH) // _MICROSECOND


_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=16384)
def tokens(text: str) -> tuple[str, ...]:
    """Qdrant's default word tokenizer used on fields without a text index (cached)."""
    return tuple(word.lower() for word in _WORD.findall(text))


def geo_coords(x: Any) -> tuple[float, float] | None:
    """(lon, lat) of a payload geo point ``{"lon": .., "lat": ..}``, else ``None``."""
    if not isinstance(x, dict):
        return None
    lon, lat = x.get("lon"), x.get("lat")
    if lon.__class__ not in (int, float) or lat.__class__ not in (int, float):
        return None
    try:
        if not (math.isfinite(lon) and math.isfinite(lat)):  # type: ignore[arg-type]
            return None
    except OverflowError:  # an int too large for a float
        return None
    return float(lon), float(lat)  # type: ignore[arg-type]


EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius (IUGG) Qdrant uses for haversine distances, in meters."""


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in meters between two (lon, lat) points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2) - math.radians(lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))
