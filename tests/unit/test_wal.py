"""The WAL: record encoding, append / read / truncate over a real LMDB environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wal import records
from wal.log import ROOM_STEP, WriteAheadLog


def test_record_round_trip_with_numpy_vectors() -> None:
    rec = {
        "op": "upsert",
        "points": [{"id": 7, "vector": {"": np.arange(3, dtype=np.float32)}, "payload": {"a": [1]}}],
    }
    back = records.decode(records.encode(rec))
    assert back == {"op": "upsert", "points": [{"id": 7, "vector": {"": [0.0, 1.0, 2.0]},
                                                "payload": {"a": [1]}}]}


def test_unknown_kind_and_corrupt_bytes_are_refused() -> None:
    with pytest.raises(ValueError):
        records.encode({"op": "drop_everything"})
    with pytest.raises(records.CorruptRecord):
        records.decode(b"\x01{not json")
    with pytest.raises(records.CorruptRecord):
        records.decode(b"\x09{}")


def test_append_read_truncate(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    assert wal.last_op() == 0
    wal.append([(1, b"a"), (2, b"b")])
    wal.append([(3, b"c")])
    assert wal.last_op() == 3
    assert list(wal.read_from(2)) == [(2, b"b"), (3, b"c")]
    assert wal.truncate_until(2) == 2
    assert list(wal.read_from(0)) == [(3, b"c")]
    assert len(wal) == 1
    wal.close()
    reopened = WriteAheadLog(tmp_path / "wal")
    assert list(reopened.read_from(0)) == [(3, b"c")]
    assert reopened.last_op() == 3
    reopened.close()


def test_append_grows_the_map(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal", map_size=1 << 20)
    big = b"x" * (1 << 16)
    wal.append([(i, big) for i in range(1, 100)])
    assert wal.last_op() == 99
    wal.close()


def _resident_kb(file: Path) -> int:
    """This process's resident KB of its mappings of ``file`` (from /proc/self/smaps)."""
    target, total, inside = str(file.resolve()), 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            inside = line.rstrip().endswith(" " + target)
        elif inside and line.startswith("Rss:"):
            total += int(head[1])
    return total


def test_truncation_drops_the_logs_resident_pages(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    wal.append([(i, bytes([i % 251]) * 100_000) for i in range(1, 201)])
    assert sum(len(data) for _, data in wal.read_from(1)) == 200 * 100_000  # read via the map
    before = _resident_kb(tmp_path / "wal" / "data.mdb")
    assert before > 10_000
    assert wal.truncate_until(200) == 200
    assert _resident_kb(tmp_path / "wal" / "data.mdb") < before // 10
    wal.append([(201, b"after")])  # the log goes on as before
    assert list(wal.read_from(0)) == [(201, b"after")]
    wal.close()


def test_room_made_ahead_keeps_the_log_whole(tmp_path: Path) -> None:
    """Zeros written past the data file's end are taken by later commits as LMDB grows into
    them; records read back alike before and after a reopen, across truncations."""
    wal = WriteAheadLog(tmp_path / "wal")
    data = tmp_path / "wal" / "data.mdb"
    blob = [bytes([i % 251]) * 300_000 for i in range(90)]
    made = 0
    for i, b in enumerate(blob, start=1):
        wal.append([(i, b)])
        if wal.wants_room:
            size = data.stat().st_size
            made += wal.make_room()
            assert data.stat().st_size == size + ROOM_STEP
        if i == 3:
            assert not wal.wants_room  # a small log gets no zeros
        if i == 30:
            assert wal.truncate_until(20) == 20
    assert made >= ROOM_STEP  # the log grew past its room at least once
    assert not wal.wants_room
    assert [d for _, d in wal.read_from(0)] == blob[20:]
    wal.close()
    reopened = WriteAheadLog(tmp_path / "wal")
    assert [d for _, d in reopened.read_from(0)] == blob[20:]
    assert reopened.last_op() == 90
    reopened.append([(91, b"after")])
    assert list(reopened.read_from(91)) == [(91, b"after")]
    reopened.close()
