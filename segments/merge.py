"""Merge the snapshots of several segments into the snapshot of one, in bulk.

Only live points are kept, each with its payload, vectors and version, in the order of the
sources (so the first source's points keep their offsets when it has no deleted ones, which
lets a build extend its graph); ``origin`` says where each merged point came from, so a swap
can carry over what changed in the sources while the merged segment was being built. Vector
arrays are gathered with numpy per source, never point by point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segments.types import SegmentConfig
from segments.vectors.sparse import gather_positions

FLAT = {"sparse": ("lengths", ("indices", "values")), "multi": ("counts", ("rows",))}
"""Per ragged vector kind: the per-point length array and the flat arrays it slices."""


def _dense(parts: list[dict[str, np.ndarray] | None], keeps: list[np.ndarray],
           dim: int) -> dict[str, np.ndarray]:
    dtype = next((p["data"].dtype for p in parts if p is not None), np.dtype(np.float32))
    data, present = [], []
    for arrays, keep in zip(parts, keeps, strict=True):
        if arrays is None:  # the vector was created after this segment was written
            data.append(np.zeros((len(keep), dim), dtype=dtype))
            present.append(np.zeros(len(keep), dtype=bool))
        else:
            data.append(np.asarray(arrays["data"])[keep])
            present.append(np.asarray(arrays["present"], dtype=bool)[keep])
    return {"data": np.concatenate(data).reshape(-1, dim), "present": np.concatenate(present)}


def _ragged(kind: str, parts: list[dict[str, np.ndarray] | None], keeps: list[np.ndarray],
            dim: int) -> dict[str, np.ndarray]:
    length_key, flat_keys = FLAT[kind]
    present, lengths = [], []
    flats: dict[str, list[np.ndarray]] = {key: [] for key in flat_keys}
    for arrays, keep in zip(parts, keeps, strict=True):
        if arrays is None:
            present.append(np.zeros(len(keep), dtype=bool))
            lengths.append(np.zeros(len(keep), dtype=np.int64))
            continue
        has = np.asarray(arrays["present"], dtype=bool)[keep]
        size = np.where(has, np.asarray(arrays[length_key], dtype=np.int64)[keep], 0)
        pos = gather_positions(np.asarray(arrays["starts"], dtype=np.int64)[keep], size)
        present.append(has)
        lengths.append(size)
        for key in flat_keys:
            flats[key].append(np.asarray(arrays[key])[pos])
    sizes = np.concatenate(lengths)
    out = {"present": np.concatenate(present), length_key: sizes,
           "starts": (np.cumsum(sizes) - sizes).astype(np.int64)}
    for key in flat_keys:
        if flats[key]:
            out[key] = np.concatenate(flats[key])
        elif key == "rows":
            out[key] = np.zeros((0, dim), dtype=np.float32)
        else:
            out[key] = np.zeros(0, dtype=np.uint32 if key == "indices" else np.float32)
    if kind == "multi":
        out["rows"] = out["rows"].reshape(-1, dim)
    return out


def merge_snapshots(
    snapshots: list[dict[str, Any]], config: SegmentConfig
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Blocking: (merged snapshot, origin) where origin[i] = (source segment id, offset)."""
    keeps = [np.flatnonzero(~np.asarray(s["deleted"], dtype=bool)) for s in snapshots]
    ids: list[Any] = []
    payloads: list[Any] = []
    origin: list[tuple[int, int]] = []
    for snap, keep in zip(snapshots, keeps, strict=True):
        rows = keep.tolist()
        ids.extend(snap["ids"][i] for i in rows)
        payloads.extend(snap["payloads"][i] for i in rows)
        sid = int(snap["seg_id"])
        origin.extend((sid, i) for i in rows)
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for name in config.names():
        kind = config.kind(name)
        parts = [s["vectors"].get(name) for s in snapshots]
        dim = 0 if kind == "sparse" else config.vectors[name].size
        if kind in FLAT:
            vectors[name] = _ragged(kind, parts, keeps, dim)
        else:
            vectors[name] = _dense(parts, keeps, dim)
    state = {
        "seg_id": int(snapshots[0]["seg_id"]),
        "version": max(int(s["version"]) for s in snapshots),
        "ids": ids,
        "versions": np.concatenate(
            [np.asarray(s["versions"], dtype=np.int64)[k] for s, k in zip(snapshots, keeps,
                                                                           strict=True)]
        ),
        "deleted": np.zeros(len(ids), dtype=bool),
        "payloads": payloads,
        "vectors": vectors,
        "index_schema": snapshots[0].get("index_schema"),
    }
    return state, origin
