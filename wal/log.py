"""An LMDB-backed write-ahead log keyed by operation number.

Each call below is blocking and opens and commits its own LMDB transaction, so callers run it
in one ``trio.to_thread.run_sync`` call. ``append`` takes a whole group of records: concurrent
updates share one durable commit (group commit).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import lmdb

_KEY = struct.Struct(">Q")
_INITIAL_MAP_SIZE = 1 << 30
_MADV_DONTNEED = 4
ROOM_STEP = 4 << 20
"""Bytes of zeros one ``make_room`` call writes past the end of the log's data file."""
_ROOM_LOW = 8 << 20
"""Less zeroed room than this ahead of LMDB's last page: the log wants more."""
_ROOM_MIN_FREE = 1 << 30
"""Room is made only while the filesystem has this much free (never on a small disk)."""
_ROOM_FROM = 16 << 20
"""Room is made only for a log that has grown this large (it takes a stream of writes); a
small one never gets zeros it would not use."""
_ZEROS = bytes(1 << 20)


@cache
def _libc() -> ctypes.CDLL | None:
    """The C library (loaded once), or None where it can't be."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _release_mapped(file: Path) -> None:
    """Drop this process's resident pages of its mappings of ``file``.

    LMDB maps its data file read-only and shared and writes through the file, so the pages a
    log touched while records streamed in (tens of MB after a large ingest) stay counted in the
    server's RSS after the records are truncated away. Dropping them loses nothing: they stay
    in the page cache and fault back in when LMDB reads them again."""
    libc = _libc()
    if libc is None:
        return  # no libc to ask: the pages simply stay
    try:
        target = str(file.resolve())
        with open("/proc/self/maps") as maps:
            ranges = [line.split()[0] for line in maps if line.rstrip().endswith(" " + target)]
    except OSError:
        return  # no /proc: the pages simply stay
    for span in ranges:
        lo, hi = (int(x, 16) for x in span.split("-"))
        libc.madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), _MADV_DONTNEED)


class NotDurable(Exception):
    """The disk refused a commit (full, I/O error): none of its records is in the log.

    ``free_bytes`` is what the filesystem had left (LMDB reports a full disk as EIO when its
    own file cannot grow, so callers look at both)."""

    def __init__(self, cause: BaseException, free_bytes: int | None) -> None:
        super().__init__(str(cause))
        self.free_bytes = free_bytes


def _key(op_num: int) -> bytes:
    return _KEY.pack(op_num)


class WriteAheadLog:
    """Durable, ordered log of encoded operation records."""

    def __init__(self, path: Path, map_size: int = _INITIAL_MAP_SIZE) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._env = lmdb.open(
            str(path),
            map_size=map_size,
            subdir=True,
            sync=True,
            metasync=True,
            max_dbs=0,
            readahead=False,
        )
        self.commits = 0
        """Durable commits made (one per group of records), for the metrics."""
        self.records = 0
        self.commit_seconds = 0.0
        """Time spent in those commits, fsync included."""
        self._data = path / "data.mdb"
        self._page = int(self._env.stat()["psize"])
        self._room_ok = True
        self._writing = threading.Lock()
        """Held by every write to the data file (a commit, a truncation, zeros past its end):
        zeros must never land where a commit beside them grows the file."""
        self.wants_room = False
        """Set by ``append``: the data file has little zeroed room left past LMDB's last page
        (see ``make_room``)."""

    def close(self) -> None:
        self._env.close()

    def append(self, records: Sequence[tuple[int, bytes]]) -> None:
        """Write ``(op_num, data)`` pairs in one transaction and fsync before returning.

        A commit the disk refuses (full, I/O error) raises ``NotDurable``; the transaction is
        aborted, so none of the records is in the log."""
        started = time.perf_counter()
        while True:
            try:
                with self._writing, self._env.begin(write=True) as txn:
                    for op_num, data in records:
                        txn.put(_key(op_num), data, overwrite=True)
                self.commit_seconds += time.perf_counter() - started
                self.commits += 1
                self.records += len(records)
                self.wants_room = self._low_on_room()
                return
            except lmdb.MapFullError:
                with self._writing:
                    self._env.set_mapsize(self._env.info()["map_size"] * 2)
            except lmdb.Error as exc:
                raise NotDurable(exc, self.free_bytes()) from exc

    def _map_size(self) -> int:
        return int(self._env.info()["map_size"])

    def _low_on_room(self) -> bool:
        """Whether the data file has less than ``_ROOM_LOW`` bytes past LMDB's last used page
        and room may be made (the log is large, the file smaller than the map, the disk has
        space)."""
        try:
            size = self._data.stat().st_size
        except OSError:
            return False
        info = self._env.info()
        used = (int(info["last_pgno"]) + 1) * self._page
        if used < _ROOM_FROM or size - used >= _ROOM_LOW or size >= int(info["map_size"]) or (
                not self._room_ok):
            return False
        free = self.free_bytes()
        return free is not None and free >= _ROOM_MIN_FREE

    def make_room(self) -> int:
        """Blocking: write ``ROOM_STEP`` bytes of zeros past the end of the data file and sync
        them; return how many were written. Run between commits (never beside ``append``).

        LMDB writes a page past the file's end by growing the file, so that commit's fsync also
        commits the filesystem's metadata (size, new blocks): 1-3 ms more than a page over
        blocks already written. Zeros written ahead, in the gaps between writes, keep the
        commits off that path while a log grows; LMDB ignores what lies past its last page.
        Not done on a filesystem with little space left (the room would be taken from it)."""
        written = 0
        try:
            with self._writing, open(self._data, "r+b") as f:
                fd = f.fileno()
                pos = os.fstat(fd).st_size
                stop = min(pos + ROOM_STEP, self._map_size())
                while pos < stop:
                    n = os.pwrite(fd, memoryview(_ZEROS)[: min(len(_ZEROS), stop - pos)], pos)
                    pos, written = pos + n, written + n
                os.fdatasync(fd)
        except OSError:  # no room to make: commits grow the file as before
            self._room_ok = self.wants_room = False
            return written
        self.wants_room = self._low_on_room()
        return written

    def free_bytes(self) -> int | None:
        """Bytes free for us on the log's filesystem (None if that cannot be told)."""
        try:
            st = os.statvfs(self.path)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def last_op(self) -> int:
        """The highest operation number stored, or 0 for an empty log."""
        with self._env.begin() as txn:
            cursor = txn.cursor()
            if cursor.last():
                return int(_KEY.unpack(cursor.key())[0])
        return 0

    def first_op(self) -> int:
        """The lowest operation number stored, or 0 for an empty log."""
        with self._env.begin() as txn:
            cursor = txn.cursor()
            if cursor.first():
                return int(_KEY.unpack(cursor.key())[0])
        return 0

    def read_from(self, op_num: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(op_num, data)`` for every record with a number >= ``op_num``, in order."""
        with self._env.begin() as txn:
            cursor = txn.cursor()
            if not cursor.set_range(_key(op_num)):
                return
            for key, value in cursor:
                yield int(_KEY.unpack(key)[0]), bytes(value)

    def truncate_until(self, op_num: int) -> int:
        """Drop every record with a number <= ``op_num``; return how many were dropped."""
        dropped = 0
        with self._writing, self._env.begin(write=True) as txn:
            cursor = txn.cursor()
            if not cursor.first():
                return 0
            while cursor.key() and _KEY.unpack(cursor.key())[0] <= op_num:
                if not cursor.delete():
                    break
                dropped += 1
        if dropped:
            _release_mapped(self.path / "data.mdb")
        return dropped

    def __len__(self) -> int:
        return int(self._env.stat()["entries"])
