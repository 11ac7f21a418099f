"""JSON values (point ids, payloads) of an indexed segment laid out for memory: fresh copies
allocated together, and equal payloads shared as one object."""

from __future__ import annotations

from itertools import chain, count, repeat
from typing import Any

import orjson


def fresh_copies(values: list[Any]) -> list[Any]:
    """New copies of JSON values (ids, payloads), allocated together in the build's thread.

    The originals were parsed one request at a time among each request's short-lived
    objects, so they pin half-empty pymalloc arenas; once the swap frees them with the old
    segment, those arenas can go back to the OS (mem_probe.py: ~60 MiB at 100k points)."""
    try:
        return list(orjson.loads(orjson.dumps(values)))
    except (TypeError, orjson.JSONEncodeError):  # not plain JSON: keep the objects
        return values


SHARE_AT_MOST = 0.5
"""Payloads are shared when at most this share of them is distinct (else kept apart)..."""
SHARE_SAMPLE = 2048
"""...among the first this many, and among all."""

_FLAT = frozenset({str, int, bool, type(None)})
"""Value types of a flat payload whose ``items()`` tell equal payloads apart exactly (with
their types: ``True == 1``); floats are not (``0.0 == -0.0``)."""


def _share_key(payload: Any) -> Any:
    """A hashable key equal for payloads that are the same JSON, key order included."""
    if payload.__class__ is dict:
        kinds = tuple(map(type, payload.values()))
        if _FLAT.issuperset(kinds):
            return tuple(payload.items()), kinds
    return orjson.dumps(payload)  # bytes: never equal to a tuple key


def _flat_keys(values: list[Any]) -> list[Any] | None:
    """``_share_key`` of every payload (in C loops) when all are dicts of flat values."""
    try:
        items = list(map(tuple, map(dict.items, values)))
    except TypeError:  # a None payload, or not a dict
        return None
    kinds = list(map(tuple, map(map, repeat(type), map(dict.values, values))))
    if not _FLAT.issuperset(chain.from_iterable(kinds)):
        return None
    return list(zip(items, kinds, strict=True))


def shared_payloads(values: list[Any], copy: bool = True) -> list[Any]:
    """The payloads with equal ones as one object (fresh copies as ``fresh_copies`` if ``copy``).

    Payloads are never modified in place (``set_payload`` and the like build new dicts), so
    points whose payloads are the same JSON, key order included, can share one: a categorical
    payload such as ``{"cat": 3}`` costs ~200 bytes of dict per point otherwise (mem_probe.py:
    ~17 MiB at 100k points). Mostly distinct payloads are kept apart, as before."""
    try:
        sample = set(map(_share_key, values[:SHARE_SAMPLE]))
        if len(sample) > SHARE_AT_MOST * min(len(values), SHARE_SAMPLE):
            return fresh_copies(values) if copy else values  # the first ones are mostly distinct
        keys = _flat_keys(values) or list(map(_share_key, values))
    except (TypeError, orjson.JSONEncodeError):  # not plain JSON: keep the objects
        return values
    last = dict(zip(keys, count()))  # per distinct key, its last position: the one kept
    if len(last) > SHARE_AT_MOST * len(values):
        return fresh_copies(values) if copy else values
    kept = list(map(last.__getitem__, keys))
    if not copy:
        return list(map(values.__getitem__, kept))
    fresh = dict(zip(last.values(), fresh_copies([values[i] for i in last.values()]), strict=True))
    return list(map(fresh.__getitem__, kept))


__all__ = ["fresh_copies", "shared_payloads"]
