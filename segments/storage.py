"""On-disk form of segments and of the holder's manifest.

A flush writes each changed segment into a new directory named after the operation number it
reflects, fsyncs it, then atomically replaces ``manifest.json`` to point at the new set. A crash
at any moment leaves the previous manifest and its directories intact; stray directories are
removed at the next load.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import orjson

MANIFEST = "manifest.json"
CHECKSUMS = "checksums.json"
"""In each segment directory: the crc32 of every other file there."""
_CHUNK = 1 << 20


class DamagedFile(ValueError):
    """A stored file fails its checksum (or is missing): its data must not be served."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"damaged file {path}: {why}")
        self.path = path


def crc32_file(path: Path) -> str:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def crc32_bytes(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically, sealed with a sha256 of its content."""
    write_json_atomic(root / MANIFEST, {**manifest, "sha256": _manifest_digest(manifest)})


def read_manifest(root: Path) -> dict[str, Any]:
    """Read the manifest; ``DamagedFile`` if it does not parse or match its sha256."""
    path = root / MANIFEST
    try:
        manifest = read_json(path)
    except orjson.JSONDecodeError as exc:
        raise DamagedFile(path, f"not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise DamagedFile(path, "not a JSON object")
    if ("sha256" in manifest) != ("checksums" in manifest):  # both, or neither (older files)
        raise DamagedFile(path, "checksum fields damaged")
    if "sha256" in manifest and manifest["sha256"] != _manifest_digest(manifest):
        raise DamagedFile(path, "sha256 mismatch")
    return manifest


def segment_digest(seg_dir: Path) -> str | None:
    """The crc32 of a segment directory's checksum list (what the manifest records)."""
    path = seg_dir / CHECKSUMS
    return crc32_file(path) if path.exists() else None


def verify_segment(seg_dir: Path, expected: str | None) -> None:
    """Check a segment directory against the digest the manifest holds for it, then every
    file against its crc32; raise ``DamagedFile`` naming the first that fails."""
    if expected is None:
        return  # written before checksums existed
    listing = seg_dir / CHECKSUMS
    if not listing.exists():
        raise DamagedFile(listing, "missing")
    data = listing.read_bytes()
    if crc32_bytes(data) != expected:
        raise DamagedFile(listing, "crc32 mismatch")
    for name, crc in orjson.loads(data).items():
        path = seg_dir / name
        if not path.exists():
            raise DamagedFile(path, "missing")
        if crc32_file(path) != crc:
            raise DamagedFile(path, "crc32 mismatch")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def write_json_atomic(path: Path, value: Any) -> None:
    """Replace ``path`` with ``value`` as JSON so that readers see the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        _write_file(tmp, orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk gets its space back
        raise
    fsync_dir(path.parent)


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def save_segment(root: Path, state: dict[str, Any], previous: Path | None = None) -> str:
    """Write a segment snapshot into a fresh directory under ``root``; return its name.

    HNSW graphs never change after a build: when ``previous`` (the segment's last directory)
    holds them already, they are hard-linked instead of written again."""
    name = f"seg-{state['seg_id']}-v{state['version']}"
    final = root / name
    tmp = root / (name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        _fill_segment_dir(tmp, state, previous)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a full disk gets its space back
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_dir(root)
    return name


def _fill_segment_dir(tmp: Path, state: dict[str, Any], previous: Path | None) -> None:
    """Write every file of a segment snapshot into ``tmp`` and fsync the directory."""
    names = list(state["vectors"])
    meta = {
        "seg_id": state["seg_id"],
        "version": state["version"],
        "vector_names": names,
        "vector_arrays": [sorted(state["vectors"][n]) for n in names],
        "kind": state.get("kind", "appendable"),
    }
    _write_file(tmp / "meta.json", orjson.dumps(meta))
    _write_file(tmp / "ids.json", orjson.dumps(state["ids"]))
    _write_file(tmp / "payloads.json", orjson.dumps(state["payloads"]))
    _write_npy(tmp / "versions.npy", state["versions"])
    _write_npy(tmp / "deleted.npy", state["deleted"])
    for i, vec_name in enumerate(names):
        for key, array in state["vectors"][vec_name].items():
            _write_npy(tmp / f"vec-{i}-{key}.npy", array)
    index_files = {}
    for vec_name, index in (state.get("indexes") or {}).items():
        i = names.index(vec_name)
        file = f"hnsw-{i}.bin"
        index_files[vec_name] = i
        old = None if previous is None else previous / file
        if old is not None and old.exists():
            os.link(old, tmp / file)
        else:
            index.save_index(str(tmp / file))
            with open(tmp / file, "rb") as f:
                os.fsync(f.fileno())
            if os.statvfs(tmp).f_bavail == 0:  # hnswlib does not report a short write
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / file))
    if index_files:
        meta["index_files"] = index_files
        _write_file(tmp / "meta.json", orjson.dumps(meta))
    sums = {p.name: crc32_file(p) for p in sorted(tmp.iterdir())}
    _write_file(tmp / CHECKSUMS, orjson.dumps(sums))
    fsync_dir(tmp)


SPARSE_ROWS = ("indices", "values")
"""A sparse storage's flat row arrays (its other arrays are per offset)."""


def is_sparse(keys: Any) -> bool:
    """Whether a storage's array names are a sparse storage's."""
    return "lengths" in keys and all(k in keys for k in SPARSE_ROWS)


def is_dense(keys: Any) -> bool:
    """Whether a storage's array names are a dense storage's."""
    return sorted(keys) == ["data", "present"]


def map_dense_rows(seg_dir: Path, position: int) -> np.memmap:
    """The saved rows of the dense vector at ``position`` in ``seg_dir``, memory-mapped
    read-only (an indexed segment's graph answers its searches; see ``map_sparse_rows``)."""
    return np.load(seg_dir / f"vec-{position}-data.npy", mmap_mode="r", allow_pickle=False)


def map_sparse_rows(seg_dir: Path, position: int) -> tuple[np.memmap, np.memmap]:
    """The saved flat rows of the sparse vector at ``position`` in ``seg_dir``, memory-mapped
    read-only: an indexed segment searches its inverted index, so the rows are read only to
    return or re-score a few points, and need not take memory. Files are never rewritten in
    place (a flush writes a new directory), so a mapping stays valid, even once unlinked."""
    indices, values = (
        np.load(seg_dir / f"vec-{position}-{key}.npy", mmap_mode="r", allow_pickle=False)
        for key in SPARSE_ROWS
    )
    return indices, values


def load_segment(path: Path) -> dict[str, Any]:
    """Read back what ``save_segment`` wrote; an indexed segment's sparse and dense rows are
    mapped."""
    meta = read_json(path / "meta.json")
    kind = meta.get("kind", "appendable")
    vectors = {}
    for i, (vec_name, keys) in enumerate(
        zip(meta["vector_names"], meta["vector_arrays"], strict=True)
    ):
        arrays: dict[str, Any] = {}
        if kind == "immutable" and is_sparse(keys):
            arrays = dict(zip(SPARSE_ROWS, map_sparse_rows(path, i), strict=True))
        elif kind == "immutable" and is_dense(keys):
            arrays = {"data": map_dense_rows(path, i)}
        vectors[vec_name] = arrays | {
            key: np.load(path / f"vec-{i}-{key}.npy", allow_pickle=False)
            for key in keys if key not in arrays
        }
    return {
        "seg_id": meta["seg_id"],
        "version": meta["version"],
        "kind": kind,
        "index_files": meta.get("index_files", {}),
        "ids": read_json(path / "ids.json"),
        "payloads": read_json(path / "payloads.json"),
        "versions": np.load(path / "versions.npy", allow_pickle=False),
        "deleted": np.load(path / "deleted.npy", allow_pickle=False),
        "vectors": vectors,
    }


def remove_unlisted(root: Path, keep: set[str]) -> None:
    """Delete segment directories the manifest does not name (left by an interrupted flush)."""
    if not root.exists():
        return
    for child in root.iterdir():
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
