"""The set of a collection's segments: routes each operation to them and persists them.

The holder applies validated operation records (see ``wal.records``) in operation-number order
and skips any it has already applied, so a WAL replay is idempotent. Each point lives in
exactly one segment; new points go to the current write segment, which is rotated when full.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segments import columns, storage
from segments.appendable import AppendableSegment
from segments.filter import Filter, mask, parse_filter
from segments.ids import PointId
from segments.immutable import ImmutableSegment
from segments.payload_path import delete_at, set_at
from segments.types import SegmentConfig
from segments.vectors import storage_item

Selection = list[tuple[AppendableSegment, np.ndarray]]

DEFAULT_SEGMENT_POINTS = 20_000
"""Where the write segment is cut until the optimizer says otherwise (see ``rotate_at``)."""


@dataclass
class FlushPlan:
    """What one flush persists, captured between two operations."""

    version: int
    snapshots: list[dict[str, Any]]
    live_segments: set[int]
    next_segment_id: int
    write_segment: int | None
    payload_schema: dict[str, Any]


class SegmentHolder:
    """All segments of one collection plus the collection-wide payload index schema."""

    def __init__(self, config: SegmentConfig, max_points_per_segment: int | None) -> None:
        self.config = config
        self.max_points = None if max_points_per_segment is None else max(1, max_points_per_segment)
        """The server's limit of points per segment, written or merged (None: no limit)."""
        self.rotate_at = self.max_points or DEFAULT_SEGMENT_POINTS
        """Points at which the write segment is cut; the optimizer sets it from the
        collection's ``max_segment_size`` (and ``max_points``)."""
        self.segments: dict[int, AppendableSegment] = {}
        self.write_segment: AppendableSegment | None = None
        self.next_segment_id = 0
        self.version = 0
        self.payload_schema: dict[str, Any] = {}
        self.flushed_version = 0
        self._saved_dirs: dict[int, str] = {}

    # --- lookup -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[AppendableSegment]:
        return iter(list(self.segments.values()))

    @property
    def points_count(self) -> int:
        return sum(seg.live_count for seg in self.segments.values())

    def locate(self, pid: PointId) -> tuple[AppendableSegment, int] | None:
        for seg in self.segments.values():
            off = seg.ids.offset_of(pid)
            if off is not None:
                return seg, off
        return None

    def missing_ids(self, pids: list[PointId]) -> list[PointId]:
        return [pid for pid in pids if self.locate(pid) is None]

    def select_ids(self, pids: list[PointId]) -> Selection:
        out: Selection = []
        for seg in self.segments.values():
            offs = seg.offsets_of(pids)
            if len(offs):
                out.append((seg, offs))
        return out

    def select_filter(self, flt: Filter) -> Selection:
        """(segment, live offsets matching the compiled filter) for each segment with some."""
        out: Selection = []
        for seg in self.segments.values():
            offs = np.flatnonzero(seg.live_mask() & mask(flt, seg))
            if len(offs):
                out.append((seg, offs))
        return out

    def select(self, record: dict[str, Any]) -> Selection:
        if record.get("ids") is not None:
            return self.select_ids(record["ids"])
        return self.select_filter(parse_filter(record.get("filter")))  # the record's only parse

    # --- writes -------------------------------------------------------------------------------
    def _new_segment(self) -> AppendableSegment:
        seg = AppendableSegment(self.next_segment_id, self.config)
        seg.attach_index_schema(self.payload_schema)
        self.next_segment_id += 1
        self.segments[seg.seg_id] = seg
        return seg

    def _writable(self) -> AppendableSegment:
        seg = self.write_segment
        if seg is None or seg.size >= self.rotate_at:
            seg = self._new_segment()
            self.write_segment = seg
        return seg

    def apply(self, op_num: int, record: dict[str, Any]) -> None:
        """Apply one validated record; a no-op if ``op_num`` was applied already."""
        if op_num <= self.version:
            return
        getattr(self, "_op_" + record["op"])(op_num, record)
        self.version = op_num

    def _op_upsert(self, op_num: int, record: dict[str, Any]) -> None:
        """Upsert a batch (columnar, or per point as format-1 records and moved points are):
        each point is routed to the segment holding it, or to the write segment if new."""
        ids, payloads, vectors = columns.upsert_parts(record, self.config.names())
        blocked = self._not_matching(record.get("update_filter"), ids)
        mode = record.get("update_mode", "upsert")
        where = self._locate_all(ids)
        groups: dict[int, list[int]] = {}
        fresh: list[int] = []
        for i, pid in enumerate(ids):
            if blocked and pid in blocked:
                continue
            found = where[i]
            if (mode == "insert_only" and found is not None) or (
                mode == "update_only" and found is None
            ):
                continue
            if found is not None and not found[0].appendable:
                found[0].delete(op_num, np.array([found[1]], dtype=np.int64))
                found = None
            if found is None:
                fresh.append(i)
            else:
                groups.setdefault(found[0].seg_id, []).append(i)
        while fresh:
            target = self._writable()
            room = max(1, self.rotate_at - target.size)
            groups.setdefault(target.seg_id, []).extend(fresh[:room])
            fresh = fresh[room:]
            if fresh:
                self.write_segment = self._new_segment()
        for seg_id, idxs in groups.items():
            idx = np.asarray(idxs, dtype=np.int64)
            block = {}
            for name, col in vectors.items():
                sub = columns.take(col, idx)
                block[name] = (sub, np.asarray(sub["has"], dtype=bool))
            self.segments[seg_id].upsert(
                op_num, [ids[i] for i in idxs], block, [payloads[i] for i in idxs]
            )

    def _locate_all(self, pids: list[PointId]) -> list[tuple[AppendableSegment, int] | None]:
        """``locate`` for many ids at once: one C-level lookup pass per segment."""
        out: list[tuple[AppendableSegment, int] | None] = [None] * len(pids)
        todo = list(range(len(pids)))
        for seg in self.segments.values():
            if not todo:
                break
            offs = seg.ids.lookup([pids[i] for i in todo])
            if offs.count(None) == len(offs):
                continue  # none of them here (fresh points: the common case)
            rest = []
            for i, off in zip(todo, offs, strict=True):
                if off is None:
                    rest.append(i)
                else:
                    out[i] = (seg, off)
            todo = rest
        return out

    def _move_to_write_segment(
        self, op_num: int, seg: AppendableSegment, off: int
    ) -> tuple[AppendableSegment, int]:
        """Move a point out of an immutable segment so its vectors can change."""
        point = seg.point_record(off)
        seg.delete(op_num, np.array([off], dtype=np.int64))
        self._op_upsert(op_num, {"points": [point]})
        found = self.locate(point["id"])
        assert found is not None
        return found

    def _op_delete_points(self, op_num: int, record: dict[str, Any]) -> None:
        for seg, offs in self.select(record):
            seg.delete(op_num, offs)

    def _rewrite_payloads(self, op_num: int, record: dict[str, Any], fn: Any) -> None:
        for seg, offs in self.select(record):
            new = [fn(seg.payload_of(off)) for off in offs.tolist()]
            seg.set_payloads(op_num, offs, new)

    def _op_set_payload(self, op_num: int, record: dict[str, Any]) -> None:
        payload, key = record["payload"], record.get("key")
        self._rewrite_payloads(op_num, record, lambda old: set_at(old, key, payload))

    def _op_overwrite_payload(self, op_num: int, record: dict[str, Any]) -> None:
        payload = record["payload"]
        self._rewrite_payloads(op_num, record, lambda _old: dict(payload))

    def _op_delete_payload(self, op_num: int, record: dict[str, Any]) -> None:
        keys = record["keys"]
        self._rewrite_payloads(op_num, record, lambda old: delete_at(old, keys))

    def _op_clear_payload(self, op_num: int, record: dict[str, Any]) -> None:
        self._rewrite_payloads(op_num, record, lambda _old: {})

    def _not_matching(self, filter_json: Any, pids: list[PointId]) -> set[PointId]:
        """Existing points among ``pids`` that an ``update_filter`` keeps from being updated."""
        if not filter_json:
            return set()
        flt = parse_filter(filter_json)  # the record's only parse
        allowed = {pid for seg, offs in self.select_filter(flt) for pid in
                   seg.point_ids(offs)}
        return {pid for pid in pids if pid not in allowed and self.locate(pid) is not None}

    def _op_update_vectors(self, op_num: int, record: dict[str, Any]) -> None:
        blocked = self._not_matching(record.get("update_filter"), [p["id"] for p in record["points"]])
        for point in record["points"]:
            if point["id"] in blocked:
                continue
            found = self.locate(point["id"])
            if found is None:
                continue
            if not found[0].appendable:
                found = self._move_to_write_segment(op_num, *found)
            seg, off = found
            offs = np.array([off], dtype=np.int64)
            for name, vec in point["vector"].items():
                seg.put_vectors(op_num, offs, name, [storage_item(vec)])

    def _op_delete_vectors(self, op_num: int, record: dict[str, Any]) -> None:
        names = record["vectors"]
        for seg, offs in self.select(record):
            seg.delete_vectors(op_num, offs, names)

    def _op_batch(self, op_num: int, record: dict[str, Any]) -> None:
        for sub in record["ops"]:
            getattr(self, "_op_" + sub["op"])(op_num, sub)

    def _op_create_index(self, op_num: int, record: dict[str, Any]) -> None:
        self.payload_schema[record["field_name"]] = record["field_schema"]
        for seg in self.segments.values():
            seg.attach_index_schema(self.payload_schema)

    def _op_delete_index(self, op_num: int, record: dict[str, Any]) -> None:
        self.payload_schema.pop(record["field_name"], None)
        for seg in self.segments.values():
            seg.attach_index_schema(self.payload_schema)

    def set_config(self, config: SegmentConfig) -> None:
        """Take a changed config; every segment follows its set of vector names."""
        self.config = config
        for seg in self.segments.values():
            seg.sync_vectors(config)

    def requantize(self, config: SegmentConfig) -> int:
        """Blocking (any thread): indexed segments rebuild the quantized copies a changed
        quantization config asks for; returns how many segments changed."""
        changed = 0
        for seg in list(self.segments.values()):
            if isinstance(seg, ImmutableSegment) and seg.requantize(config):
                changed += 1
        return changed

    # --- optimization (called on the writer's side) -------------------------------------------
    def prepare_rebuild(self, seg_ids: list[int]) -> tuple[list[dict[str, Any]], int] | None:
        """Start rebuilding (or merging) segments: stop writing new points into them and
        return their snapshots with the holder version they reflect."""
        segs = [self.segments.get(sid) for sid in seg_ids]
        if any(seg is None for seg in segs):
            return None
        if self.write_segment in segs:
            self.write_segment = None
        return [seg.snapshot() for seg in segs if seg is not None], self.version

    def swap(
        self,
        seg_ids: list[int],
        built: AppendableSegment,
        built_at: int,
        origin: list[tuple[int, int]],
    ) -> bool:
        """Replace segments ``seg_ids`` by ``built``, whose offset i holds what was offset
        ``origin[i][1]`` of segment ``origin[i][0]`` at version ``built_at``. Whatever changed
        since is carried over: deletions, and points changed meanwhile (these move to the
        write segment with their current state)."""
        olds = [self.segments.get(sid) for sid in seg_ids]
        if any(old is None for old in olds):
            return False
        new_of = {key: i for i, key in enumerate(origin)}
        moved: list[tuple[dict[str, Any], int]] = []
        for old in olds:
            assert old is not None
            for off in np.flatnonzero(old.ids.versions[: old.size] > built_at).tolist():
                version = int(old.ids.versions[off])
                target = new_of.get((old.seg_id, off))
                if target is not None:
                    built.delete(version, np.array([target], dtype=np.int64))
                if not old.ids.deleted[off]:
                    moved.append((old.point_record(off), version))
        built.sync_vectors(self.config)  # vectors created or deleted while it was built
        built.seg_id = self.next_segment_id
        self.next_segment_id += 1
        built.version = max([built.version, *(old.version for old in olds if old is not None)])
        built.dirty = True
        for sid in seg_ids:
            del self.segments[sid]
        self.segments[built.seg_id] = built
        if self.write_segment in olds:
            self.write_segment = None
        for point, version in moved:
            self._op_upsert(version, {"points": [point]})
        return True

    # --- persistence ----------------------------------------------------------------------
    def flush_plan(self) -> FlushPlan:
        """Capture, on the writer's side, everything a flush writes: cheap copies only."""
        snaps = []
        for seg in self.segments.values():
            if seg.dirty or seg.seg_id not in self._saved_dirs:
                snaps.append(seg.snapshot())
                seg.dirty = False
        return FlushPlan(
            version=self.version,
            snapshots=snaps,
            live_segments=set(self.segments),
            next_segment_id=self.next_segment_id,
            write_segment=None if self.write_segment is None else self.write_segment.seg_id,
            payload_schema=dict(self.payload_schema),
        )

    def adopt_saved(self, root: Path, plan: FlushPlan) -> None:
        """On the writer's thread, after ``write_flush(root, plan)``: indexed segments saved
        by it read their rows from the saved files from now on (see ``adopt_saved`` there)."""
        for snap in plan.snapshots:
            seg = self.segments.get(snap["seg_id"])
            folder = self._saved_dirs.get(snap["seg_id"])
            if isinstance(seg, ImmutableSegment) and folder is not None:
                seg.adopt_saved(root / "segments" / folder, snap)

    def write_flush(self, root: Path, plan: FlushPlan) -> None:
        """Blocking: write the plan's snapshots, then a manifest reflecting ``plan.version``."""
        seg_root = root / "segments"
        seg_root.mkdir(parents=True, exist_ok=True)
        dirs = {sid: d for sid, d in self._saved_dirs.items() if sid in plan.live_segments}
        for snap in plan.snapshots:
            prev = self._saved_dirs.get(snap["seg_id"])
            dirs[snap["seg_id"]] = storage.save_segment(
                seg_root, snap, None if prev is None else seg_root / prev
            )
        manifest = {
            "version": plan.version,
            "segments": {str(sid): d for sid, d in dirs.items()},
            "checksums": {d: storage.segment_digest(seg_root / d) for d in dirs.values()},
            "next_segment_id": plan.next_segment_id,
            "write_segment": plan.write_segment,
            "payload_schema": plan.payload_schema,
        }
        storage.write_manifest(root, manifest)
        self._saved_dirs = dirs
        self.flushed_version = plan.version
        storage.remove_unlisted(seg_root, set(dirs.values()))

    @classmethod
    def load(
        cls, root: Path, config: SegmentConfig, max_points_per_segment: int | None
    ) -> SegmentHolder:
        """Load the segments the manifest names; an absent manifest means an empty holder."""
        holder = cls(config, max_points_per_segment)
        path = root / storage.MANIFEST
        if not path.exists():
            storage.remove_unlisted(root / "segments", set())
            return holder
        manifest = storage.read_manifest(root)
        checksums = manifest.get("checksums") or {}
        for sid, dirname in manifest["segments"].items():
            seg_path = root / "segments" / dirname
            storage.verify_segment(seg_path, checksums.get(dirname))
            state = storage.load_segment(seg_path)
            seg: AppendableSegment
            if state["kind"] == "immutable":
                seg = ImmutableSegment.load(state, config, seg_path)
            else:
                seg = AppendableSegment.restore(state, config)
            holder.segments[int(sid)] = seg
            holder._saved_dirs[int(sid)] = dirname
        holder.version = holder.flushed_version = int(manifest["version"])
        holder.next_segment_id = int(manifest["next_segment_id"])
        ws = manifest.get("write_segment")
        holder.write_segment = holder.segments.get(ws) if ws is not None else None
        holder.payload_schema = dict(manifest.get("payload_schema") or {})
        for seg in holder.segments.values():
            seg.attach_index_schema(holder.payload_schema)  # indexes are rebuilt, not saved
        storage.remove_unlisted(root / "segments", set(holder._saved_dirs.values()))
        return holder

