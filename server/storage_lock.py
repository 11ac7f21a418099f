"""One server per storage directory: an exclusive ``flock`` on ``<storage>/.lock``.

The lock lives as long as the open file descriptor, so it dies with the process: a crash or a
SIGKILL releases it and the next server starts normally. The holder's pid is written into the
file so a refused second server can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"


class StorageLocked(RuntimeError):
    """Another live process holds the storage directory."""


class StorageLock:
    """An acquired lock on a storage directory; ``release`` (or process exit) frees it."""

    def __init__(self, storage: Path) -> None:
        self.path = storage / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> StorageLock:
        """Take the lock without waiting; raise ``StorageLocked`` naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StorageLocked(
                f"storage directory {str(self.path.parent.resolve())!r} is in use by another "
                f"heron server (pid {holder}); one server per storage directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Unlock and close; the file stays (removing it would race with a starting server)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
