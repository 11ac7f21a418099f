#!/usr/bin/env python3
"""Where a heron server's memory goes: RSS at each stage of the ``index`` bench's workload.

Starts ``heron serve`` over a temporary storage, then loads the bench's ``index`` data (N x
128-d clustered Cosine vectors ``d`` + ~100-nnz sparse ``s`` + payload ``{"cat": i % 10}``,
batches of 256 with ``wait=true``), indexes ``cat``, waits for green and for a flush, runs
queries (single client, then 16 clients like the bench), restarts and queries again. After each
stage it prints RSS and /proc/PID/smaps_rollup's anonymous vs file-backed split, next to the
raw vector bytes (dense float32 rows, and the sparse (u32 index + f32 value) entries).

``--trace`` runs the server under tracemalloc (``--frames``, default 1) and, at each stage, has it write
the top allocations grouped by file and by line, plus live Python objects by type, into
``--out`` (the server gets a SIGUSR1 handler through a ``sitecustomize`` on PYTHONPATH; nothing
of heron changes). tracemalloc slows everything down and sees numpy's buffers but not
hnswlib's (C++ ``malloc``), so use plain runs for the RSS figures.

    .venv/bin/python scripts/mem_probe.py --points 100000
    .venv/bin/python scripts/mem_probe.py --points 100000 --trace --out /tmp/heron-mem
    MALLOC_ARENA_MAX=2 .venv/bin/python scripts/mem_probe.py --points 100000
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    clustered,
    concurrent_rps,
    index_cat_and_wait_green,
    sparse_rows,
)

from tests.server import HeronProcess  # noqa: E402

SITECUSTOMIZE = textwrap.dedent(r"""
    # mem_probe: a SIGUSR1 handler writing glibc's mallinfo2, pymalloc's arena statistics and,
    # under tracemalloc, the top allocations into HERON_MEMDUMP_DIR.
    import os, signal
    _dir = os.environ.get("HERON_MEMDUMP_DIR")
    if _dir:
        import collections, ctypes, gc, sys, tempfile, tracemalloc

        class _MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]

        _libc = ctypes.CDLL("libc.so.6")
        _libc.mallinfo2.restype = _MallInfo2
        _count = [0]

        def _pymalloc() -> list:
            with tempfile.TemporaryFile() as tmp:
                saved = os.dup(2)
                os.dup2(tmp.fileno(), 2)
                try:
                    sys._debugmallocstats()
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)
                tmp.seek(0)
                text = tmp.read().decode(errors="replace").splitlines()
            keep = ("# arenas allocated current", "# arenas reclaimed", "# bytes in allocated blocks",
                    "# bytes in available blocks", "Total ")
            return [ln for ln in text if ln.startswith(keep)]

        def _dump(signum, frame):
            gc.collect()
            _count[0] += 1
            m = _libc.mallinfo2()
            mib = lambda v: f"{v / 2**20:.1f} MiB"
            lines = [f"== mallinfo2: heap (sbrk+arenas) {mib(m.arena)}, mmapped {mib(m.hblkhd)} "
                     f"in {m.hblks} blocks, in use (heap) {mib(m.uordblks)}, free (heap) "
                     f"{mib(m.fordblks)}, top releasable {mib(m.keepcost)}"]
            if os.environ.get("HERON_MEMDUMP_TRIM"):
                def rss():
                    with open("/proc/self/status") as f:
                        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
                before = rss()
                _libc.malloc_trim(0)
                lines.append(f"== malloc_trim(0) now: RSS {before / 1024:.1f} -> {rss() / 1024:.1f} MiB")
            lines.append("== pymalloc")
            lines.extend(_pymalloc())
            if tracemalloc.is_tracing():
                snap = tracemalloc.take_snapshot()
                for key in ("filename", "lineno"):
                    stats = snap.statistics(key)
                    total = sum(s.size for s in stats)
                    lines.append(f"== by {key}: traced total {total / 2**20:.1f} MiB")
                    for s in stats[:40]:
                        lines.append(f"{s.size / 2**20:9.2f} MiB {s.count:9d} blocks  {s.traceback[0]}")
            types = collections.Counter(type(o).__name__ for o in gc.get_objects())
            lines.append("== live gc-tracked objects by type")
            lines.extend(f"{n:10d} {t}" for t, n in types.most_common(15))
            path = os.path.join(_dir, f"dump-{_count[0]:02d}.txt")
            with open(path + ".tmp", "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(path + ".tmp", path)

        signal.signal(signal.SIGUSR1, _dump)
""")


def smaps(pid: int) -> dict[str, float]:
    """MiB figures from /proc/PID/smaps_rollup (Rss, Anonymous, file-backed) and the thread count."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            out[key] = int(rest.split()[0]) / 1024
    out["File"] = out.get("Rss", 0) - out.get("Anonymous", 0)
    status = Path(f"/proc/{pid}/status").read_text()
    out["Threads"] = float(next(ln.split()[1] for ln in status.splitlines()
                                if ln.startswith("Threads:")))
    return out


def mappings(pid: int, top: int = 4) -> str:
    """The biggest resident mappings by path ("[anon]" for anonymous ones), from /proc/PID/smaps."""
    rss: dict[str, int] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and not head[0].endswith(":"):
            name = head[5] if len(head) > 5 else "[anon]"
            name = name if name.startswith("[") else Path(name).name
        elif line.startswith("Rss:"):
            rss[name] = rss.get(name, 0) + int(head[1])
    best = sorted(rss.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{k} {v / 1024:.0f}" for k, v in best)


class Probe:
    """Prints one line per stage; in trace mode, also asks the server for a heap dump."""

    def __init__(self, server: HeronProcess, trace_dir: Path | None) -> None:
        self.server = server
        self.trace_dir = trace_dir
        self.rows: list[tuple[str, dict[str, float]]] = []

    def stage(self, label: str) -> None:
        assert self.server.proc is not None
        pid = self.server.proc.pid
        if self.trace_dir is not None:
            before = set(self.trace_dir.glob("dump-*.txt"))
            os.kill(pid, signal.SIGUSR1)
            deadline = time.monotonic() + 300
            while set(self.trace_dir.glob("dump-*.txt")) == before and time.monotonic() < deadline:
                time.sleep(0.2)
            new = sorted(set(self.trace_dir.glob("dump-*.txt")) - before)
            if new:
                new[0].rename(self.trace_dir / f"{len(self.rows):02d}-{label.replace(' ', '_')}.txt")
        m = smaps(pid)
        self.rows.append((label, m))
        print(f"{label:<34} RSS {m['Rss']:7.1f} MiB  anon {m['Anonymous']:7.1f}  "
              f"file {m['File']:6.1f}  threads {m['Threads']:.0f} | {mappings(pid)}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--clients-seconds", type=float, default=10.0)
    ap.add_argument("--trace", action="store_true", help="tracemalloc dumps (slow)")
    ap.add_argument("--out", type=Path, default=None,
                    help="write a dump per stage here (mallinfo2, pymalloc; with --trace, top allocations)")
    ap.add_argument("--trim-probe", action="store_true",
                    help="each dump also calls malloc_trim(0) and reports RSS before/after")
    ap.add_argument("--frames", type=int, default=1, help="tracemalloc frames per trace")
    args = ap.parse_args()

    n, dim = args.points, args.dim
    dense = clustered(n, dim, args.seed)
    dq = clustered(args.queries, dim, args.seed + 1)
    sparse = sparse_rows(n, 100, 30_000, args.seed)
    sq = sparse_rows(args.queries, 20, 30_000, args.seed + 1)
    nnz = sum(len(s["indices"]) for s in sparse)
    raw_dense, raw_sparse = dense.nbytes / 2**20, nnz * 8 / 2**20
    print(f"points={n} dim={dim}: raw dense {raw_dense:.1f} MiB, raw sparse {raw_sparse:.1f} MiB "
          f"({nnz / n:.0f} nnz/pt x (4 B u32 index + 4 B f32 value)), all {raw_dense + raw_sparse:.1f} MiB; "
          f"target 2x + 150 = {2 * raw_dense + 150:.0f} MiB (dense only) / "
          f"{2 * (raw_dense + raw_sparse) + 150:.0f} MiB (all vector bytes)", flush=True)

    with tempfile.TemporaryDirectory(prefix="heron-mem-") as tmp:
        env: dict[str, str] = {}
        trace_dir = None
        if args.trace or args.out:
            trace_dir = args.out or Path(tmp) / "dumps"
            trace_dir.mkdir(parents=True, exist_ok=True)
            site = Path(tmp) / "site"
            site.mkdir()
            (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
            env = {"PYTHONPATH": str(site), "HERON_MEMDUMP_DIR": str(trace_dir)}
            if args.trace:
                env["PYTHONTRACEMALLOC"] = str(args.frames)
            if args.trim_probe:
                env["HERON_MEMDUMP_TRIM"] = "1"
        server = HeronProcess(Path(tmp) / "storage", env=env).start(timeout=120)
        probe = Probe(server, trace_dir)
        try:
            with httpx.Client(base_url=server.url, timeout=600) as http:
                probe.stage("started")
                pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]},
                        "payload": {"cat": i % 10}} for i in range(n)]
                cfg = {"vectors": {"d": {"size": dim, "distance": "Cosine"}},
                       "sparse_vectors": {"s": {}}}
                http.put("/collections/idx", json=cfg).raise_for_status()
                t0 = time.perf_counter()
                for s in range(0, n, args.batch):
                    http.put("/collections/idx/points?wait=true", content=orjson.dumps(
                        {"points": pts[s : s + args.batch]}, option=orjson.OPT_SERIALIZE_NUMPY),
                        headers={"content-type": "application/json"}).raise_for_status()
                print(f"  ingest {n / (time.perf_counter() - t0):,.0f} points/s", flush=True)
                probe.stage("after ingest")
                t0 = time.perf_counter()
                info = index_cat_and_wait_green(http)
                print(f"  green after {time.perf_counter() - t0:.1f} s "
                      f"({info['segments_count']} segments)", flush=True)
                probe.stage("green")
                time.sleep(7)  # past one flush interval (5 s)
                probe.stage("green + flushed")

                def query(i: int) -> Any:
                    return {"query": dq[i % len(dq)], "using": "d", "limit": 10}

                def run_queries() -> None:
                    for i in range(len(dq)):
                        for body in (query(i), {"query": sq[i], "using": "s", "limit": 20},
                                     {"prefetch": [query(i), {"query": sq[i], "using": "s",
                                                              "limit": 20}],
                                      "query": {"fusion": "rrf"}, "limit": 10},
                                     query(i) | {"filter": {"must": [
                                         {"key": "cat", "match": {"value": i % 10}}]}}):
                            http.post("/collections/idx/points/query", content=orjson.dumps(
                                body, option=orjson.OPT_SERIALIZE_NUMPY),
                                headers={"content-type": "application/json"}).raise_for_status()

                run_queries()
                probe.stage("single-client queries")
                rps = concurrent_rps(server.url, query, args.clients_seconds)
                print(f"  16 clients {rps:,.0f} req/s", flush=True)
                probe.stage("16 clients (bench's RSS point)")
                server.stop()
                t0 = time.perf_counter()
                server.start(timeout=300)
                print(f"  restart {time.perf_counter() - t0:.2f} s", flush=True)
                probe.stage("restarted")
                run_queries()
                probe.stage("restarted + queries")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
