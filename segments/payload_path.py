"""JSON paths into payloads: parsing Qdrant's key syntax, reading, setting, deleting and selecting.

Payloads are treated as immutable values: every write returns a new dict that copies only the
containers along the changed path and shares everything else with its input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

Segment = str | int | None
"""One step of a path: ``str`` is an object key, ``int`` an array index, ``None`` is ``[]``."""

Path = tuple[Segment, ...]
Getter = Callable[[Any], Sequence[Any]]

_MAX_INDEX = (1 << 64) - 1
_MISSING: Any = object()


# --- parsing -----------------------------------------------------------------------------------


def _is_key_char(char: str) -> bool:
    """Characters allowed in an unquoted key: unicode letters and digits, ``_`` and ``-``."""
    return char.isalnum() or char == "_" or char == "-"


@lru_cache(maxsize=4096)
def parse_path(key: str) -> Path:
    """Parse a payload key such as ``a.b[].c``, ``a[0]`` or ``"a.b".c`` into segments.

    Raises ``ValueError`` naming the problem when the key is not valid Qdrant path syntax.
    """
    if not isinstance(key, str):
        raise ValueError(f"payload key must be a string, got {type(key).__name__}")
    if not key:
        raise ValueError("invalid payload key '': key is empty")
    out: list[Segment] = []
    pos, end = 0, len(key)

    def fail(reason: str) -> ValueError:
        return ValueError(f"invalid payload key {key!r}: {reason} at position {pos}")

    while True:
        # a key: quoted (anything but a quote inside) or a run of key characters
        if key[pos] == '"':
            close = key.find('"', pos + 1)
            if close == -1:
                raise fail("unterminated quoted key")
            out.append(key[pos + 1 : close])
            pos = close + 1
        else:
            start = pos
            while pos < end and _is_key_char(key[pos]):
                pos += 1
            if pos == start:
                raise fail(f"expected a key, found {key[pos]!r}")
            out.append(key[start:pos])
        # any number of [] / [N]
        while pos < end and key[pos] == "[":
            close = key.find("]", pos + 1)
            if close == -1:
                raise fail("unbalanced '['")
            inner = key[pos + 1 : close]
            if inner == "":
                out.append(None)
            elif inner.isascii() and inner.isdigit() and int(inner) <= _MAX_INDEX:
                out.append(int(inner))
            else:
                raise fail(f"array index must be empty or an unsigned integer, got {inner!r}")
            pos = close + 1
        if pos == end:
            return tuple(out)
        if key[pos] != ".":
            raise fail(f"unexpected {key[pos]!r}")
        pos += 1
        if pos == end:
            raise fail("key ends with '.'")


def _as_path(path: str | Path) -> Path:
    """Accept either a key string or already-parsed segments."""
    return parse_path(path) if isinstance(path, str) else path


# --- reading -----------------------------------------------------------------------------------


def _collect(data: Any, path: Path, i: int, flat: bool, out: list[Any]) -> None:
    """Append to ``out`` every value reached from ``data`` by ``path[i:]``."""
    n = len(path)
    while i < n:
        seg = path[i]
        if seg.__class__ is str:
            if not isinstance(data, dict):
                return
            data = data.get(seg, _MISSING)
            if data is _MISSING:
                return
        elif seg is None:
            if isinstance(data, list):
                for item in data:
                    _collect(item, path, i + 1, flat, out)
            return
        else:
            if not isinstance(data, list) or seg >= len(data):  # type: ignore[operator]
                return
            data = data[seg]  # type: ignore[index]
        i += 1
    if flat and isinstance(data, list):
        out.extend(data)
    else:
        out.append(data)


def values_at(payload: Any, path: str | Path, *, flat: bool = True) -> list[Any]:
    """All values the path selects in ``payload`` (missing steps select nothing).

    Keys only descend into objects and indexes/``[]`` only into arrays; with ``flat`` (the
    default, what match/range/geo conditions see) an array found at the end of the path is
    unwrapped one level, so ``tags`` on ``{"tags": ["a", "b"]}`` gives ``["a", "b"]``.
    """
    out: list[Any] = []
    _collect(payload, _as_path(path), 0, flat, out)
    return out


@lru_cache(maxsize=4096)
def getter(path: str | Path, *, flat: bool = True) -> Getter:
    """A compiled ``values_at`` for one path, with a fast case for plain single keys."""
    segs = _as_path(path)
    if len(segs) == 1 and segs[0].__class__ is str:
        name = segs[0]

        def get_key(payload: Any) -> Sequence[Any]:
            if not isinstance(payload, dict):
                return ()
            value = payload.get(name, _MISSING)
            if value is _MISSING:
                return ()
            if flat and value.__class__ is list:
                return value  # type: ignore[no-any-return]
            return (value,)

        return get_key

    def get_path(payload: Any) -> Sequence[Any]:
        out: list[Any] = []
        _collect(payload, segs, 0, flat, out)
        return out

    return get_path


# --- writing -----------------------------------------------------------------------------------


def _merged(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``values`` merged in; a ``null`` value removes that key."""
    out = dict(base)
    for name, value in values.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _merged_into(node: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Merge into ``node`` if it is an object, otherwise replace it by a fresh object."""
    return _merged(node if isinstance(node, dict) else {}, values)


def _set(node: Any, path: Path, i: int, values: Mapping[str, Any]) -> Any:
    """Return the replacement for ``node`` after setting ``values`` at ``path[i:]`` under it."""
    seg = path[i]
    last = i == len(path) - 1
    if seg.__class__ is str:
        # a key step turns anything that is not an object into one
        base = node if isinstance(node, dict) else {}
        child = base.get(seg, _MISSING)
        if child is _MISSING:
            child = {}
        out = dict(base)
        out[seg] = _merged_into(child, values) if last else _set(child, path, i + 1, values)
        return out
    if not isinstance(node, list):
        # an index step on a non-array replaces it by an empty array and stops there
        return []
    if seg is None:
        if last:
            return [_merged_into(item, values) for item in node]
        return [_set(item, path, i + 1, values) for item in node]
    index: int = seg  # type: ignore[assignment]
    if index >= len(node):
        return node
    out_list = list(node)
    item = node[index]
    out_list[index] = _merged_into(item, values) if last else _set(item, path, i + 1, values)
    return out_list


def set_at(payload: Mapping[str, Any] | None, key: str | None, values: Mapping[str, Any]) -> dict:
    """Qdrant ``set_payload``: merge ``values`` into the payload, or into the object at ``key``.

    A ``null`` in ``values`` removes that key. Missing objects on the path are created,
    non-objects under a key step are replaced by objects, an index or ``[]`` step over a
    non-array replaces it by ``[]``, and an index past the end changes nothing.
    Returns a new dict; the input is never modified.
    """
    base: Mapping[str, Any] = payload if payload is not None else {}
    if key is None:
        return _merged(base, values)
    result = _set(base, parse_path(key), 0, values)
    return result  # type: ignore[no-any-return]


def _delete(node: Any, path: Path, i: int) -> Any:
    """Return ``node`` with ``path[i:]`` removed; the same object if nothing changed."""
    seg = path[i]
    last = i == len(path) - 1
    if seg.__class__ is str:
        if not isinstance(node, dict) or seg not in node:
            return node
        if last:
            out = dict(node)
            del out[seg]
            return out
        child = node[seg]
        new_child = _delete(child, path, i + 1)
        if new_child is child:
            return node
        out = dict(node)
        out[seg] = new_child
        return out
    if not isinstance(node, list):
        return node
    if seg is None:
        if last:
            return [] if node else node
        items = [_delete(item, path, i + 1) for item in node]
        if all(new is old for new, old in zip(items, node, strict=True)):
            return node
        return items
    # a path ending in an index deletes nothing, as in Qdrant (it would not be idempotent)
    index: int = seg  # type: ignore[assignment]
    if last or index >= len(node):
        return node
    item = node[index]
    new_item = _delete(item, path, i + 1)
    if new_item is item:
        return node
    out_list = list(node)
    out_list[index] = new_item
    return out_list


def delete_at(payload: Mapping[str, Any] | None, keys: Iterable[str]) -> dict:
    """Qdrant ``delete_payload``: remove each (possibly nested) key; missing ones are ignored.

    ``a.b`` removes ``b`` from the object ``a``, ``a[].b`` from every object in array ``a``,
    ``a[]`` empties the array and a path ending in ``[N]`` removes nothing. Returns a new dict.
    """
    paths = [parse_path(key) for key in keys]
    result: Any = dict(payload) if payload is not None else {}
    for path in paths:
        result = _delete(result, path, 0)
    return result  # type: ignore[no-any-return]


# --- selecting ---------------------------------------------------------------------------------

SelectorTree = dict[Segment, Any]


@lru_cache(maxsize=256)
def _selector_tree(keys: tuple[str, ...]) -> SelectorTree:
    """Merge selector keys into a prefix tree whose leaves are ``True`` ("all of it").

    Cached and shared between calls: never modify the result.
    """
    tree: SelectorTree = {}
    for key in keys:
        path = parse_path(key)
        node = tree
        for seg in path[:-1]:
            child = node.get(seg)
            if child is True:  # an ancestor is already selected whole
                break
            if child is None:
                child = node[seg] = {}
            node = child
        else:
            node[path[-1]] = True
    return tree


def _include(value: Any, tree: SelectorTree) -> Any:
    """Keep only the parts of ``value`` named by ``tree``; arrays are entered by ``[]`` only."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            sub = tree.get(name)
            if sub is not None:
                out[name] = item if sub is True else _include(item, sub)
        return out
    if isinstance(value, list):
        sub = tree.get(None)
        if sub is None:
            return []
        return value if sub is True else [_include(item, sub) for item in value]
    return value


def _exclude(value: Any, tree: SelectorTree) -> Any:
    """Drop the parts of ``value`` named by ``tree``; arrays are entered by ``[]`` only."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            sub = tree.get(name)
            if sub is None:
                out[name] = item
            elif sub is not True:
                out[name] = _exclude(item, sub)
        return out
    if isinstance(value, list):
        sub = tree.get(None)
        if sub is None:
            return value
        return [] if sub is True else [_exclude(item, sub) for item in value]
    return value


def _key_list(keys: Any, what: str) -> tuple[str, ...]:
    """Validate a list of selector keys (parsing each so bad syntax is reported)."""
    if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"with_payload {what} must be a list of payload keys")
    for key in keys:
        parse_path(key)
    return tuple(keys)


def validate_selector(with_payload: Any) -> None:
    """Raise ``ValueError`` if ``with_payload`` is not a valid selector (even with no points)."""
    select({}, with_payload)


def select(payload: Mapping[str, Any] | None, with_payload: Any) -> dict | None:
    """Apply a ``with_payload`` selector: ``True``/``False``/``None``, a key list (include),
    ``{"include": [...]}`` or ``{"exclude": [...]}``. ``False``/``None`` give ``None``.
    """
    if with_payload is None or with_payload is False:
        return None
    base: dict = dict(payload) if payload is not None else {}
    if with_payload is True:
        return base
    if isinstance(with_payload, list | tuple):
        return _include(base, _selector_tree(_key_list(with_payload, "keys")))  # type: ignore[no-any-return]
    if isinstance(with_payload, dict) and len(with_payload) == 1:
        if "include" in with_payload:
            tree = _selector_tree(_key_list(with_payload["include"], "include"))
            return _include(base, tree)  # type: ignore[no-any-return]
        if "exclude" in with_payload:
            tree = _selector_tree(_key_list(with_payload["exclude"], "exclude"))
            return _exclude(base, tree)  # type: ignore[no-any-return]
    raise ValueError(
        "with_payload must be a bool, a list of payload keys, {'include': [...]} "
        f"or {{'exclude': [...]}}, got {with_payload!r}"
    )
