"""Snapshot files: a tar of one collection's files at one operation number, with its sha256.

A snapshot holds ``config.json``, ``manifest.json`` and the segment directories that manifest
names (HNSW graphs and all), plus ``snapshot.json`` saying which collection and operation
number it reflects. The WAL is not in it: the flush that precedes the snapshot leaves nothing
before that number unflushed, and nothing after it belongs in the snapshot.

Writing goes to a hidden temp name; the ``.checksum`` file (sha256 hex) is renamed into place
first, then the snapshot itself, so a crash at any moment leaves no partial snapshot visible.
The format is heron's own (Qdrant's snapshot layout is not reproduced).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

import orjson

from segments.storage import MANIFEST, fsync_dir, read_json

SUFFIX = ".snapshot"
CHECKSUM_SUFFIX = ".checksum"
META = "snapshot.json"
CONFIG_FILE = "config.json"
_CHUNK = 1 << 20


class BadSnapshot(ValueError):
    """A file offered for recovery is not a usable heron snapshot."""


class _HashingWriter(io.RawIOBase):
    """A write-only file that feeds a sha256 as it writes."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sha.update(data)
        return self.f.write(data)


def sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def collection_files(path: Path) -> list[str]:
    """Blocking: the files (relative to ``path``) that make up the collection's flushed state."""
    files = [CONFIG_FILE]
    if (path / MANIFEST).exists():
        files.append(MANIFEST)
        for dirname in read_json(path / MANIFEST)["segments"].values():
            seg = path / "segments" / dirname
            files += [f"segments/{dirname}/{f.name}" for f in sorted(seg.iterdir())]
    return files


def write_snapshot(src: Path, files: list[str], meta: dict[str, Any], final: Path) -> str:
    """Blocking: tar ``files`` of ``src`` (plus ``meta``) into ``final``; return its sha256."""
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        with open(tmp, "wb") as raw:
            writer = _HashingWriter(raw)
            with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
                data = orjson.dumps(meta)
                info = tarfile.TarInfo(META)
                info.size, info.mtime = len(data), int(time.time())
                tar.addfile(info, io.BytesIO(data))
                for rel in files:
                    tar.add(src / rel, arcname=rel, recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
        digest = writer.sha.hexdigest()
        publish(tmp, final, digest)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def publish(tmp: Path, final: Path, digest: str) -> None:
    """Blocking: write the checksum beside ``final``, then rename ``tmp`` to ``final``."""
    check = final.with_name(final.name + CHECKSUM_SUFFIX)
    check_tmp = check.with_name(f".{check.name}.tmp")
    try:
        with open(check_tmp, "w", encoding="ascii") as f:
            f.write(digest)
            f.flush()
            os.fsync(f.fileno())
        os.replace(check_tmp, check)
    finally:
        check_tmp.unlink(missing_ok=True)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def describe(path: Path) -> dict[str, Any]:
    """Blocking: Qdrant's SnapshotDescription of a snapshot file."""
    st = path.stat()
    check = path.with_name(path.name + CHECKSUM_SUFFIX)
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.st_mtime))
    return {
        "name": path.name,
        "creation_time": created,
        "size": st.st_size,
        "checksum": check.read_text().strip() if check.exists() else None,
    }


def list_snapshots(folder: Path) -> list[dict[str, Any]]:
    """Blocking: descriptions of the complete snapshots in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith(".")]
    return [describe(p) for p in sorted(found, key=lambda p: (p.stat().st_mtime, p.name))]


def remove_partial(folder: Path) -> None:
    """Blocking: delete temp files an interrupted snapshot left, and orphaned checksums."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        orphan = p.name.endswith(CHECKSUM_SUFFIX) and not p.with_name(
            p.name[: -len(CHECKSUM_SUFFIX)]
        ).exists()
        if p.is_file() and (p.name.startswith(".") and p.name.endswith(".tmp") or orphan):
            p.unlink(missing_ok=True)


def remove(path: Path) -> None:
    """Blocking: delete a snapshot and its checksum."""
    path.unlink()
    path.with_name(path.name + CHECKSUM_SUFFIX).unlink(missing_ok=True)


def extract(snapshot: Path, dest: Path) -> dict[str, Any]:
    """Blocking: unpack a collection snapshot into the new directory ``dest``; return its meta.

    Only regular files and directories with relative paths are accepted."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        try:
            with tarfile.open(snapshot, mode="r:*") as tar:
                members = tar.getmembers()
                for m in members:
                    if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in m.name:
                        raise BadSnapshot(f"snapshot member {m.name!r} is not allowed")
                tar.extractall(dest, members=members, filter="data")
        except (tarfile.TarError, EOFError) as exc:
            raise BadSnapshot(f"not a readable snapshot: {exc}") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    meta_path, config = dest / META, dest / CONFIG_FILE
    if not meta_path.exists() or not config.exists():
        shutil.rmtree(dest, ignore_errors=True)
        raise BadSnapshot("not a heron collection snapshot (no snapshot.json or config.json)")
    meta = read_json(meta_path)
    meta_path.unlink()
    (dest / "segments").mkdir(exist_ok=True)
    for p in dest.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(dest)
    return meta


_RENAME_EXCHANGE = 2


def swap_in(new: Path, final: Path) -> None:
    """Blocking: make ``new`` be ``final``; the old ``final`` (if any) is left at ``new``.

    With an existing ``final`` the two directories are exchanged in one ``renameat2`` call, so a
    crash leaves either the old collection or the recovered one, never neither."""
    if not final.exists():
        os.rename(new, final)
    else:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd = -100
        if libc.renameat2(at_fdcwd, bytes(new), at_fdcwd, bytes(final), _RENAME_EXCHANGE) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(final))
    fsync_dir(final.parent)
