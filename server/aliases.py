"""Collection aliases: alternative names resolved at every collection lookup.

The map lives in ``<storage>/aliases.json``, replaced atomically (temp file, fsync, rename) with
a sha256 of its content, so a crash leaves the old map or the new one and a damaged file is
noticed. A change request is a list of actions applied all-or-nothing: they are tried on a copy
and the copy is persisted and swapped in only if every action is valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from collection.errors import Conflict, NotFound, format_error
from segments.storage import write_json_atomic

ALIASES_FILE = "aliases.json"


class DamagedAliases(RuntimeError):
    """``aliases.json`` does not match its checksum or cannot be parsed."""


def _digest(mapping: dict[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(mapping, option=orjson.OPT_SORT_KEYS)).hexdigest()


ACTIONS = "`create_alias`, `delete_alias`, `rename_alias`"
"""The alias actions, as a format error lists them."""


def _field(action: dict[str, Any], key: str) -> str:
    if key not in action:
        raise format_error(f"missing field `{key}`")
    value = action[key]
    if not isinstance(value, str):
        raise format_error(f"{key}: invalid type: expected a string")
    return value


class AliasMap:
    """alias name → collection name, persisted beside the collections."""

    def __init__(self, root: Path) -> None:
        self.path = root / ALIASES_FILE
        self.map: dict[str, str] = {}

    def load(self) -> None:
        """Blocking: read the file if there is one; refuse a damaged one."""
        if not self.path.exists():
            return
        try:
            data = orjson.loads(self.path.read_bytes())
            mapping = data["aliases"]
            ok = isinstance(mapping, dict) and data.get("sha256") == _digest(mapping)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise DamagedAliases(f"damaged file {self.path}: {exc}") from None
        if not ok:
            raise DamagedAliases(f"damaged file {self.path}: checksum mismatch")
        self.map = {str(k): str(v) for k, v in mapping.items()}

    def save(self, mapping: dict[str, str]) -> None:
        """Blocking: persist ``mapping`` atomically, then make it the live map."""
        write_json_atomic(self.path, {"aliases": mapping, "sha256": _digest(mapping)})
        self.map = mapping

    def resolve(self, name: str) -> str | None:
        return self.map.get(name)

    def of(self, collection: str) -> list[dict[str, str]]:
        """AliasDescriptions of one collection's aliases."""
        return [
            {"alias_name": a, "collection_name": c}
            for a, c in sorted(self.map.items())
            if c == collection
        ]

    def all(self) -> list[dict[str, str]]:
        return [{"alias_name": a, "collection_name": c} for a, c in sorted(self.map.items())]

    def without(self, collection: str) -> dict[str, str]:
        """The map minus the aliases of ``collection`` (for dropping it)."""
        return {a: c for a, c in self.map.items() if c != collection}

    def plan(
        self,
        actions: Any,
        is_collection: Callable[[str], bool],
        check_name: Callable[[str], str],
    ) -> dict[str, str]:
        """Apply ``actions`` to a copy of the map and return it; raise on the first bad action."""
        if not isinstance(actions, list):
            raise format_error("actions: invalid type: expected a list")
        new = dict(self.map)
        for action in actions:
            if not isinstance(action, dict) or len(action) != 1:
                raise format_error(f"actions: expected one of {ACTIONS}")
            kind, args = next(iter(action.items()))
            if not isinstance(args, dict):
                raise format_error(f"{kind}: invalid type: expected an object")
            if kind == "create_alias":
                coll, alias = _field(args, "collection_name"), check_name(
                    _field(args, "alias_name")
                )
                if not is_collection(coll):
                    raise NotFound(f"Not found: Collection `{coll}` doesn't exist!")
                if is_collection(alias):
                    raise Conflict(f"Wrong input: Collection `{alias}` already exists!")
                new[alias] = coll
            elif kind == "delete_alias":
                alias = _field(args, "alias_name")
                if new.pop(alias, None) is None:
                    raise NotFound(f"Not found: Alias {alias} does not exists!")
            elif kind == "rename_alias":
                old = _field(args, "old_alias_name")
                fresh = check_name(_field(args, "new_alias_name"))
                if old not in new:
                    raise NotFound(f"Not found: Alias {old} does not exists!")
                if is_collection(fresh):
                    raise Conflict(f"Wrong input: Collection `{fresh}` already exists!")
                new[fresh] = new.pop(old)
            else:
                raise format_error(f"unknown variant `{kind}`, expected one of {ACTIONS}")
        return new
