"""Snapshots of collections and of the whole storage, kept under ``<storage>/snapshots``.

Collection snapshots live in ``snapshots/collections/<name>/``, named
``<name>-<operation number>-<UTC time>.snapshot`` with a ``.checksum`` beside each; storage-wide
ones in ``snapshots/full/`` (a tar of one snapshot per collection plus the alias map).
Recovery unpacks a snapshot into a scratch directory, loads it, and only then replaces the
collection (see ``Registry.install``).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import orjson
import trio

from collection import snapshot
from collection.errors import BadRequest, CollectionClosed, NotFound, format_error
from server.aliases import AliasMap
from server.registry import Registry, check_name

PRIORITIES = ("no_sync", "snapshot", "replica")


def _stamp() -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())


def _free_name(folder: Path, stem: str) -> Path:
    """``folder/stem.snapshot``, or ``stem-2.snapshot`` ... if that is taken."""
    path, n = folder / f"{stem}{snapshot.SUFFIX}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{snapshot.SUFFIX}"
    return path


def check_priority(value: Any) -> None:
    if value is not None and value not in PRIORITIES:
        listed = ", ".join(f"`{p}`" for p in PRIORITIES)
        raise format_error(f"priority: unknown variant `{value}`, expected one of {listed}")


def local_path(location: Any) -> Path:
    """The file a recovery ``location`` names: a ``file://`` URL or a plain path."""
    if not isinstance(location, str) or not location:
        raise format_error("location: expected a non-empty string (a URL or a path)")
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(location)
    raise BadRequest(
        f"Bad request: cannot recover from {location!r}: heron recovers from local files "
        "only (a file:// URL or a path)"
    )


class Snapshots:
    """Snapshot operations over a registry's collections."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.root = registry.root / "snapshots"
        self.full_dir = self.root / "full"

    def folder(self, collection: str) -> Path:
        return self.root / "collections" / collection

    def clean(self) -> None:
        """Blocking: remove what interrupted snapshots left behind (called at start)."""
        for folder in [self.full_dir, self.root, *(self.root / "collections").glob("*")]:
            snapshot.remove_partial(folder)
        if self.full_dir.is_dir():
            for p in self.full_dir.glob(".work-*"):
                shutil.rmtree(p, ignore_errors=True)

    # --- one collection ---------------------------------------------------------------------
    async def create(self, name: str) -> dict[str, Any]:
        coll = self.registry.get(name)
        folder = self.folder(coll.name)
        await trio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        path, _, _ = await coll.snapshot(lambda op: _free_name(folder, f"{coll.name}-{op}-{_stamp()}"))
        return await trio.to_thread.run_sync(snapshot.describe, path)

    async def list(self, name: str) -> list[dict[str, Any]]:
        coll = self.registry.get(name)
        return await trio.to_thread.run_sync(snapshot.list_snapshots, self.folder(coll.name))

    def file(self, name: str, snap: str) -> Path:
        """The snapshot file ``snap`` of collection ``name``; 404 if there is none."""
        return self._existing(self.folder(self.registry.get(name).name), snap)

    def _existing(self, folder: Path, snap: str) -> Path:
        if "/" in snap or snap.startswith(".") or not snap.endswith(snapshot.SUFFIX):
            raise NotFound(f"Not found: Snapshot {snap} not found")
        path = folder / snap
        if not path.is_file():
            raise NotFound(f"Not found: Snapshot {snap} not found")
        return path

    async def delete(self, name: str, snap: str) -> bool:
        await trio.to_thread.run_sync(snapshot.remove, self.file(name, snap))
        return True

    async def recover(self, name: str, source: Path, checksum: str | None) -> bool:
        """Replace (or create) collection ``name`` with the snapshot file ``source``."""
        check_name(name)
        if not await trio.to_thread.run_sync(source.is_file):
            raise NotFound(f"Not found: snapshot file {source} does not exist")
        if checksum is not None:
            actual = await trio.to_thread.run_sync(snapshot.sha256_file, source)
            if actual != checksum.strip().lower():
                raise BadRequest(
                    f"Bad request: snapshot checksum mismatch: expected {checksum}, got {actual}"
                )
        scratch = self.registry.scratch_dir(name)
        try:
            await trio.to_thread.run_sync(snapshot.extract, source, scratch)
        except snapshot.BadSnapshot as exc:
            raise BadRequest(f"Bad request: {exc}") from None
        await self.registry.install(name, scratch)
        return True

    def _uploaded(self, upload: str) -> Path:
        path = Path(upload)
        if path.parent != self.root or not path.name.startswith(".upload-"):
            raise BadRequest("Bad request: not an uploaded snapshot")
        return path

    async def recover_upload(self, name: str, upload: str, checksum: str | None) -> bool:
        """Recover from a file saved by ``upload_path`` (only such files), then remove it."""
        path = self._uploaded(upload)
        try:
            return await self.recover(name, path, checksum)
        finally:
            await trio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))

    def discard_upload(self, upload: str) -> None:
        """Blocking: remove an uploaded file that will not be recovered."""
        self._uploaded(upload).unlink(missing_ok=True)

    def upload_path(self) -> Path:
        """A temp name for an uploaded snapshot (removed after its recovery)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f".upload-{uuid.uuid4().hex}.tmp"

    # --- the whole storage --------------------------------------------------------------------
    async def create_full(self) -> dict[str, Any]:
        """One snapshot per collection (each at its own operation number) plus the aliases."""
        work = self.full_dir / f".work-{uuid.uuid4().hex}"
        await trio.to_thread.run_sync(lambda: work.mkdir(parents=True))
        try:
            files: dict[str, str] = {}
            for name in self.registry.names():
                coll = self.registry.collections.get(name)
                if coll is None:
                    continue
                try:
                    path, _, _ = await coll.snapshot(
                        lambda op, n=name: work / f"{n}-{op}.snapshot"
                    )
                except CollectionClosed:  # dropped meanwhile
                    continue
                files[name] = path.name
            meta = {"collections": files, "aliases": dict(self.registry.aliases.map),
                    "format": 1}
            final = _free_name(self.full_dir, f"full-snapshot-{_stamp()}")

            def write() -> None:
                listed = sorted(os.listdir(work))
                snapshot.write_snapshot(work, listed, meta, final)

            await trio.to_thread.run_sync(write)
        finally:
            await trio.to_thread.run_sync(shutil.rmtree, work, True)
        return await trio.to_thread.run_sync(snapshot.describe, final)

    async def list_full(self) -> list[dict[str, Any]]:
        return await trio.to_thread.run_sync(snapshot.list_snapshots, self.full_dir)

    def full_file(self, snap: str) -> Path:
        return self._existing(self.full_dir, snap)

    async def delete_full(self, snap: str) -> bool:
        await trio.to_thread.run_sync(snapshot.remove, self.full_file(snap))
        return True


def restore_full(storage: Path, source: Path) -> list[str]:
    """Blocking, before the server loads anything: put every collection of a storage-wide
    snapshot into ``storage`` (replacing same-named ones) and add its aliases. Returns the
    collection names restored."""
    collections = storage / "collections"
    collections.mkdir(parents=True, exist_ok=True)
    scratch = storage / "snapshots"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(source, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        raise snapshot.BadSnapshot(f"cannot read storage snapshot {source}: {exc}") from None
    with tar:
        try:
            meta = orjson.loads(tar.extractfile(snapshot.META).read())  # type: ignore[union-attr]
            names: dict[str, str] = meta["collections"]
            aliases: dict[str, str] = meta["aliases"]
        except (KeyError, AttributeError, orjson.JSONDecodeError) as exc:
            raise snapshot.BadSnapshot(f"{source} is not a heron storage snapshot: {exc}") from None
        for name, member in names.items():
            check_name(name)
            part = scratch / f".restore-{uuid.uuid4().hex}.tmp"
            prepared = collections / f".new-restore-{uuid.uuid4().hex}"
            try:
                with open(part, "wb") as out:
                    shutil.copyfileobj(tar.extractfile(member), out)  # type: ignore[misc]
                snapshot.extract(part, prepared)
                snapshot.swap_in(prepared, collections / name)
            finally:
                part.unlink(missing_ok=True)
                shutil.rmtree(prepared, ignore_errors=True)
    alias_map = AliasMap(storage)
    alias_map.load()
    alias_map.save({**alias_map.map, **aliases})
    return list(names)
