"""The C allocator's side of memory use: keep freed numpy buffers from pinning RSS.

glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MiB), so
after a few segment builds every numpy array below 32 MiB lives in the heap arenas, and freeing
one (a grown array's old copy, a flush snapshot, a build's temporaries) leaves a hole malloc
keeps: mem_probe.py measured 260 MiB of such free-but-held heap at 100k points. A fixed
threshold sends big buffers to their own mappings, which go back to the OS when freed; a trim
after a build or a flush hands back the free pages left in the arenas. Between those, a few
MB of free heap top are kept for the next query's temporaries (``TRIM_THRESHOLD``). Elsewhere than glibc
both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("heron.heap")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 1 << 20
"""Blocks of at least 1 MiB get their own mapping: segment arrays, snapshots and build
temporaries do; a query's small temporaries stay in the arenas, where reuse is cheap."""

TRIM_THRESHOLD = 4 << 20
"""Free memory at the top of an arena kept for reuse rather than handed back at each free.
Fixing the mmap threshold also fixes this one, at glibc's default of 128 KiB: a query's
temporaries (a few hundred KB each: a sparse search's full-width score arrays) were then
returned to the OS on every free and faulted back in by the next query, which py-spy and
/proc's system time showed costing more than the search itself (1.7 ms against 0.5 ms per
sparse search of a 60k-point segment). Builds and flushes still trim everything."""

ARENA_MAX = 2
"""Threads share this many malloc arenas (glibc allows 8 per core): fewer arenas, fewer
half-empty heaps (each worker thread would otherwise get one of its own)."""


def _libc() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(lib, "mallopt") or not hasattr(lib, "malloc_trim"):
        return None  # not glibc
    return lib


_LIBC = _libc()


def tune_allocator() -> None:
    """Fix the mmap threshold and cap the arenas (once, at server start, before big
    allocations). Settings given through glibc's own ``MALLOC_*_`` variables win."""
    if _LIBC is None:
        return
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        _LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        _LIBC.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    if "MALLOC_ARENA_MAX" not in os.environ:
        _LIBC.mallopt(M_ARENA_MAX, ARENA_MAX)


def release_free_memory() -> None:
    """Blocking (a few ms): return the free pages of every malloc arena to the OS; call it
    after work that freed a lot (a segment build swapped in, a flush written)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
