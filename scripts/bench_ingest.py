"""Ingest and restart benchmark (issue 13's write-path targets), one server, one client.

Loads the same data as ``scripts/bench.py``'s index section (128-d clustered dense "d", a
~100-nnz sparse "s", payload ``{"cat": i % 10}``) and a dense-only collection, in batches of
256 with ``wait=true`` over REST, then times restarts: a graceful one (SIGTERM: flushed) and a
kill -9 with every operation still pending in the WAL (flusher held off), which measures WAL
replay. ``GET /`` p50 is the anchor of the same run. ``--profile DIR`` records py-spy collapsed
stacks of the server during each load (``DIR/dense.txt``, ``DIR/index.txt``). Beside
points/s (noisy on a shared machine) it prints the server's CPU seconds per 10k points.

    .venv/bin/python scripts/bench_ingest.py --points 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import clustered, encode_batches, sparse_rows, upsert_bodies  # noqa: E402

from tests.server import HeronProcess  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"
PY_SPY_IDLE: list[str] = []
"""``["--idle"]`` with ``--profile-idle``: waiting threads are sampled too."""


def ingest(http: httpx.Client, server: HeronProcess, label: str, name: str,
           config: dict[str, Any], points: list[dict[str, Any]], batch: int,
           profile: Path | None) -> str:
    """Create ``name``, encode the bodies (before timing), upsert them with wait=true one after
    the other; the report line: points/s, then per batch the wall time, the server's CPU, the
    client's CPU in the loop and its encoding time (outside the loop), and the load average."""
    http.put(f"/collections/{name}", json=config).raise_for_status()
    bodies, encode_ms = encode_batches(points, batch)
    spy = profiled(server, profile)
    cpu, client = cpu_seconds(server), time.process_time()
    rate = upsert_bodies(http, name, bodies, len(points))
    cpu, client = cpu_seconds(server) - cpu, time.process_time() - client
    stop_profile(spy)
    wal_ms = wal_commit_ms(http, name)
    n, per = len(points), 1000 / len(bodies)
    return (f"{label} ingest {rate:,.0f} points/s; per batch of {batch}: "
            f"{len(points) / rate * per:.2f} ms wall, server CPU {cpu * per:.2f} ms, client CPU "
            f"{client * per:.2f} ms (+{encode_ms:.2f} ms encoding, before timing), WAL commit "
            f"{wal_ms:.2f} ms; server CPU "
            f"{cpu * 1e4 / n:.2f} s per 10k points; load average {os.getloadavg()[0]:.2f}")


def wal_commit_ms(http: httpx.Client, name: str) -> float:
    """Mean wall ms of the collection's WAL commits so far (fsync included), from /metrics."""
    got: dict[str, float] = {}
    for line in http.get("/metrics").text.splitlines():
        for metric in ("heron_wal_commits_total", "heron_wal_commit_seconds_total"):
            if line.startswith(f'{metric}{{collection="{name}"}}'):
                got[metric] = float(line.rsplit(" ", 1)[1])
    commits = got.get("heron_wal_commits_total", 0.0)
    return got.get("heron_wal_commit_seconds_total", 0.0) * 1000 / commits if commits else 0.0


def profiled(server: HeronProcess, out: Path | None) -> subprocess.Popen[bytes] | None:
    """Start py-spy on the server (None without ``--profile``)."""
    if out is None or server.proc is None:
        return None
    return subprocess.Popen(
        [str(PY_SPY), "record", "-o", str(out), "--pid", str(server.proc.pid), "--rate", "100",
         "--nonblocking", "--format", "raw", "--threads", *PY_SPY_IDLE],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(2)
        spy.wait(60)


def cpu_seconds(server: HeronProcess) -> float:
    """The server process's user + system CPU seconds so far (all its threads)."""
    assert server.proc is not None
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def root_p50(http: httpx.Client, n: int = 200) -> float:
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        http.get("/").raise_for_status()
        lat.append((time.perf_counter() - t) * 1000)
    return statistics.median(lat)


def timed_start(server: HeronProcess) -> float:
    t0 = time.perf_counter()
    server.start(timeout=300)
    return time.perf_counter() - t0


def count(http: httpx.Client, name: str) -> int:
    r = http.post(f"/collections/{name}/points/count", json={"exact": True})
    return int(r.json()["result"]["count"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sections", default="dense,index,restart")
    ap.add_argument("--profile", type=Path, default=None, help="directory for py-spy stacks")
    ap.add_argument("--profile-idle", action="store_true",
                    help="with --profile: sample waiting threads too (where the wall time goes)")
    ap.add_argument("--no-index", action="store_true",
                    help="indexing_threshold 0: no HNSW builds competing with the load")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    n, dim = args.points, args.dim
    dense = clustered(n, dim, args.seed)
    lines = [f"points={n} dim={dim} batch={args.batch} no_index={args.no_index}"]
    extra = {"optimizers_config": {"indexing_threshold": 0}} if args.no_index else {}
    if args.profile_idle:
        PY_SPY_IDLE.append("--idle")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="heron-ingest-") as tmp:
        # flusher held off: every operation stays in the WAL until a graceful stop
        env = {"HERON__STORAGE__FLUSH_INTERVAL_SEC": "3600"}
        server = HeronProcess(Path(tmp) / "storage", env=env).start()
        try:
            with httpx.Client(base_url=server.url, timeout=300) as http:
                lines.append(f"GET / p50 {root_p50(http):.2f} ms")
                if "dense" in sections:
                    pts = [{"id": i, "vector": dense[i]} for i in range(n)]
                    lines.append(ingest(http, server, "dense-only", "dense",
                                        {"vectors": {"size": dim, "distance": "Cosine"}, **extra},
                                        pts, args.batch, args.profile and args.profile / "dense.txt"))
                if "index" in sections or "restart" in sections:
                    sparse = sparse_rows(n, 100, 30_000, args.seed)
                    pts = [{"id": i, "vector": {"d": dense[i], "s": sparse[i]},
                            "payload": {"cat": i % 10}} for i in range(n)]
                    cfg = {"vectors": {"d": {"size": dim, "distance": "Cosine"}},
                           "sparse_vectors": {"s": {}}, **extra}
                    lines.append(ingest(http, server, "dense+sparse+payload", "idx", cfg, pts,
                                        args.batch, args.profile and args.profile / "index.txt"))
                if "restart" in sections:
                    server.kill()  # nothing flushed: the restart replays the whole WAL
                    took = timed_start(server)
                    lines.append(f"restart after kill -9, {n} points pending in the WAL: "
                                 f"{took:.2f} s (count {count(http, 'idx')})")
                    t0 = time.perf_counter()
                    while http.get("/collections/idx").json()["result"]["status"] != "green":
                        time.sleep(0.2)
                    lines.append(f"green {time.perf_counter() - t0:.1f} s after that restart")
                    server.stop()  # graceful: flushed, indexed segments saved
                    took = timed_start(server)
                    lines.append(f"restart after a graceful stop (flushed, green): {took:.2f} s "
                                 f"(count {count(http, 'idx')})")
                    empty = HeronProcess(Path(tmp) / "empty")
                    lines.append(f"anchor: start on an empty storage {timed_start(empty):.2f} s")
                    empty.stop()
                    lines.append(f"GET / p50 after {root_p50(http):.2f} ms")
        finally:
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
