#!/usr/bin/env python3
"""Crash drill: concurrent writers, SIGKILL at awkward moments, restart, check every ack.

Each cycle runs writer threads against a real ``heron serve`` on one persistent storage
directory, kills the server with SIGKILL, starts it again on the same storage and checks the
data against a model of what was acknowledged:

- Writers own disjoint id ranges (``--grpc-writers`` of them send over gRPC with
  qdrant-client, the others over REST), so each one's expected state follows from its own
  operations alone: upserts, deletes by id and by filter, set/overwrite payload, vector
  updates and ``/points/batch`` mixes, each with a random ``wait=true``/``wait=false``.
- A writer sends one request at a time and stops at its first failure, so it has at most one
  unacknowledged operation when the server dies. Every point must then hold the state after
  the writer's last acknowledged operation, or after that in-flight operation applied whole.
- Every operation that writes payload stamps a tag unique to it into the ``batch`` key of each
  point it touches; after the restart, counting the in-flight tag must find none or all of
  the points that operation would have tagged.
- ``/points/count`` (exact) must equal the number of points the model holds.

Kills are timed at random, right when a segment is being flushed (a ``*.tmp`` directory
appears under the storage), or when the optimizer logs that it started or finished rebuilding
a segment, or while a snapshot is being written (a ``.*.tmp`` under ``storage/snapshots``);
flushes run every 0.1 s and segments rotate at 300 points so both happen often.

Writers write through an alias that an operator thread re-points (with a second alias flipped
between two collections) in all-or-nothing requests, and the operator takes and deletes
snapshots as the writers go; after each restart aliases and snapshots are checked too (see
``scripts/drill_ops.py``).

    .venv/bin/python scripts/crash_drill.py --cycles 50 --seconds-per-cycle 2

It prints ``cycles=N acknowledged_ops=X lost=0 torn=0 restarts_ok=N snapshots=S
alias_switches=A operator_bad=0`` and exits non-zero on
any violation.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.drill_ops import WRITE_ALIAS, Operator  # noqa: E402
from tests.grpc_ops import grpc_client, send_write  # noqa: E402
from tests.server import HeronProcess  # noqa: E402

COLLECTION = "drill"
DIM = 8
ID_SPAN = 1_000_000
"""Writer ``w`` owns ids ``[(w + 1) * ID_SPAN, (w + 1) * ID_SPAN + ids_per_writer)``."""
KILL_MODES = ("random", "flush", "optimizer-start", "optimizer-done", "snapshot")
TOLERANCE = 1e-4


# --------------------------------------------------------------------------- data


def dense(pid: int, key: int) -> list[float]:
    """The dense vector ``a`` that operation ``key`` writes to point ``pid``."""
    rng = random.Random(f"a/{pid}/{key}")
    return [round(rng.uniform(-1, 1), 4) for _ in range(DIM)]


def sparse(pid: int, key: int) -> dict[str, list[Any]]:
    """The sparse vector ``s`` that operation ``key`` writes to point ``pid``."""
    rng = random.Random(f"s/{pid}/{key}")
    indices = sorted(rng.sample(range(1000), rng.randint(1, 6)))
    return {"indices": indices, "values": [round(rng.uniform(0.01, 1), 4) for _ in indices]}


@dataclass(frozen=True)
class Point:
    """What the model expects of one point: its payload and which operation wrote each
    vector (``None``: the point has no such vector)."""

    payload: dict[str, Any]
    a: int | None
    s: int | None


Model = dict[int, Point]
Changes = dict[int, Point | None]


def matches(actual: dict[str, Any] | None, pid: int, expected: Point | None) -> bool:
    """Whether a retrieved record (``None``: absent) is the expected point."""
    if actual is None or expected is None:
        return actual is None and expected is None
    if (actual.get("payload") or {}) != expected.payload:
        return False
    vectors = actual.get("vector") or {}
    if not isinstance(vectors, dict):
        return False
    got_a = vectors.get("a")
    if (got_a is None) != (expected.a is None):
        return False
    if expected.a is not None:
        want = dense(pid, expected.a)
        if len(got_a) != len(want) or any(
            not math.isclose(x, y, abs_tol=TOLERANCE) for x, y in zip(got_a, want, strict=True)
        ):
            return False
    got_s = vectors.get("s")
    if (got_s is None) != (expected.s is None):
        return False
    if expected.s is not None:
        want_s = sparse(pid, expected.s)
        got_map = dict(zip(got_s.get("indices", []), got_s.get("values", []), strict=False))
        want_map = dict(zip(want_s["indices"], want_s["values"], strict=True))
        if got_map.keys() != want_map.keys() or any(
            not math.isclose(got_map[i], want_map[i], abs_tol=TOLERANCE) for i in want_map
        ):
            return False
    return True


# --------------------------------------------------------------------------- operations


@dataclass
class Op:
    """One request a writer sends, and what it does to the writer's points if applied."""

    kind: str
    method: str
    path: str
    body: dict[str, Any]
    changes: Changes
    tag: str | None = None
    """The payload tag it stamps, if it writes payload."""
    tagged: int = 0
    """How many points carry ``tag`` once it is applied (in the writer's range)."""


def overlay(model: Model, changes: Changes) -> Model:
    """The model after ``changes`` (``None`` deletes a point)."""
    out = dict(model)
    for pid, point in changes.items():
        if point is None:
            out.pop(pid, None)
        else:
            out[pid] = point
    return out


class OpMaker:
    """Random operations for one writer, built against its current model."""

    def __init__(self, writer: int, ids_per_writer: int, rng: random.Random) -> None:
        self.writer = writer
        self.base = (writer + 1) * ID_SPAN
        self.ids = range(self.base, self.base + ids_per_writer)
        self.rng = rng
        self.seq = 0

    def make(self, model: Model, cycle: int) -> Op:
        self.seq += 1
        tag = f"w{self.writer}-c{cycle}-{self.seq}"
        choices: list[tuple[str, int]] = [("upsert", 35), ("delete", 8), ("delete_filter", 4),
                                          ("set_payload", 15), ("overwrite_payload", 6),
                                          ("update_vectors", 15), ("batch", 12)]
        if len(model) < 10:
            choices = [("upsert", 1)]
        kind = self.rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
        op = getattr(self, "_" + kind)(model, tag)
        op.path += "?wait=" + ("true" if self.rng.random() < 0.5 else "false")
        if op.tag is not None:
            after = overlay(model, op.changes)
            op.tagged = sum(1 for p in after.values() if p.payload.get("batch") == op.tag)
        return op

    def _some(self, pool: list[int] | range, most: int = 30) -> list[int]:
        return self.rng.sample(list(pool), min(len(pool), self.rng.randint(1, most)))

    def _existing(self, model: Model, most: int = 30) -> list[int]:
        return self._some(sorted(model), most)

    def _upsert_points(self, pids: list[int], tag: str) -> tuple[list[dict[str, Any]], Changes]:
        points, changes = [], {}
        with_sparse = self.rng.random() < 0.8
        for pid in pids:
            payload = {"w": self.writer, "batch": tag, "k": self.seq}
            vector: dict[str, Any] = {"a": dense(pid, self.seq)}
            if with_sparse:
                vector["s"] = sparse(pid, self.seq)
            points.append({"id": pid, "vector": vector, "payload": payload})
            changes[pid] = Point(payload, self.seq, self.seq if with_sparse else None)
        return points, changes

    def _upsert(self, model: Model, tag: str) -> Op:
        points, changes = self._upsert_points(self._some(self.ids), tag)
        return Op("upsert", "PUT", "points", {"points": points}, changes, tag)

    def _delete(self, model: Model, tag: str) -> Op:
        pids = self._existing(model, 15) + self._some(self.ids, 3)
        pids = list(dict.fromkeys(pids))
        return Op("delete", "POST", "points/delete", {"points": pids},
                  {pid: None for pid in pids})

    def _delete_filter(self, model: Model, tag: str) -> Op:
        victim = model[self.rng.choice(sorted(model))].payload["batch"]
        pids = [pid for pid, p in model.items() if p.payload.get("batch") == victim]
        body = {"filter": {"must": [{"key": "batch", "match": {"value": victim}}]}}
        return Op("delete_filter", "POST", "points/delete", body, {pid: None for pid in pids})

    def _set_payload(self, model: Model, tag: str) -> Op:
        pids = self._existing(model)
        extra = {"batch": tag, "sp": self.seq}
        changes: Changes = {
            pid: Point({**model[pid].payload, **extra}, model[pid].a, model[pid].s)
            for pid in pids
        }
        return Op("set_payload", "POST", "points/payload", {"payload": extra, "points": pids},
                  changes, tag)

    def _overwrite_payload(self, model: Model, tag: str) -> Op:
        pids = self._existing(model)
        payload = {"w": self.writer, "batch": tag, "ow": self.seq}
        changes: Changes = {pid: Point(payload, model[pid].a, model[pid].s) for pid in pids}
        return Op("overwrite_payload", "PUT", "points/payload",
                  {"payload": payload, "points": pids}, changes, tag)

    def _update_vectors(self, model: Model, tag: str) -> Op:
        pids = self._existing(model)
        also_sparse = self.rng.random() < 0.3
        points, changes = [], {}
        for pid in pids:
            vector: dict[str, Any] = {"a": dense(pid, self.seq)}
            if also_sparse:
                vector["s"] = sparse(pid, self.seq)
            points.append({"id": pid, "vector": vector})
            old = model[pid]
            changes[pid] = Point(old.payload, self.seq, self.seq if also_sparse else old.s)
        return Op("update_vectors", "PUT", "points/vectors", {"points": points}, changes)

    def _batch(self, model: Model, tag: str) -> Op:
        """Upsert some points, set a payload on others, delete a few: one atomic request."""
        up_points, changes = self._upsert_points(self._some(self.ids, 15), tag)
        state = overlay(model, changes)
        targets = self._some(sorted(state), 15)
        extra = {"batch": tag, "bp": self.seq}
        for pid in targets:
            old = state[pid]
            changes[pid] = Point({**old.payload, **extra}, old.a, old.s)
        state = overlay(model, changes)
        doomed = [pid for pid in self._some(sorted(state), 5) if pid not in targets]
        operations: list[dict[str, Any]] = [
            {"upsert": {"points": up_points}},
            {"set_payload": {"payload": extra, "points": targets}},
        ]
        if doomed:
            operations.append({"delete": {"points": doomed}})
            changes.update({pid: None for pid in doomed})
        return Op("batch", "POST", "points/batch", {"operations": operations}, changes, tag)


# --------------------------------------------------------------------------- writers


@dataclass
class Writer:
    """A writer's model of its id range, kept across cycles."""

    index: int
    maker: OpMaker
    model: Model = field(default_factory=dict)
    acked: int = 0
    in_flight: Op | None = None
    errors: list[str] = field(default_factory=list)
    grpc_port: int | None = None
    """Send over gRPC to this port (qdrant-client ``prefer_grpc``) instead of REST."""

    def run(self, url: str, cycle: int, stop: threading.Event) -> None:
        """Send operations one at a time until ``stop`` or the first failure."""
        if self.grpc_port is not None:
            self.run_grpc(url, self.grpc_port, cycle, stop)
            return
        with httpx.Client(base_url=url, timeout=20) as http:
            while not stop.is_set():
                op = self.maker.make(self.model, cycle)
                self.in_flight = op
                try:
                    r = http.request(op.method, f"/collections/{WRITE_ALIAS}/{op.path}",
                                     json=op.body)
                except httpx.HTTPError:
                    return  # the server died: the op may or may not have been logged
                if r.status_code != 200:
                    if not stop.is_set():
                        self.errors.append(
                            f"{op.method} {op.path} ({op.kind}) -> {r.status_code}: {r.text[:300]}"
                        )
                    return
                self.acknowledge(op)

    def acknowledge(self, op: Op) -> None:
        self.model = overlay(self.model, op.changes)
        self.acked += 1
        self.in_flight = None

    def run_grpc(self, url: str, port: int, cycle: int, stop: threading.Event) -> None:
        """The same operations through the gRPC front end; UNAVAILABLE is the server dying."""
        import grpc

        client = grpc_client(url, port)
        try:
            while not stop.is_set():
                op = self.maker.make(self.model, cycle)
                self.in_flight = op
                path, _, query = op.path.partition("?")
                if op.method == "PUT" and path == "points/payload":
                    path = "points/payload/overwrite"
                elif path == "points/payload":
                    path = "points/payload/set"
                try:
                    send_write(client, WRITE_ALIAS, path, op.body, wait=query == "wait=true")
                except grpc.RpcError as exc:
                    if exc.code() not in (grpc.StatusCode.UNAVAILABLE,
                                          grpc.StatusCode.CANCELLED) and not stop.is_set():
                        self.errors.append(f"gRPC {path} ({op.kind}) -> {exc.code()}: "
                                           f"{exc.details()}")
                    return
                self.acknowledge(op)
        finally:
            client.close()


# --------------------------------------------------------------------------- kill timing


def wait_for_tmp(storage: Path, deadline: float, under: str = "collections") -> bool:
    """Poll until a ``*.tmp`` file or directory (a flush or snapshot in progress) appears
    under ``storage/under``, or deadline."""
    root = storage / under
    while time.monotonic() < deadline:
        for _dirpath, dirnames, filenames in os.walk(root):
            if any(n.endswith(".tmp") for n in (*dirnames, *filenames)):
                return True
        time.sleep(0.0005)
    return False


def wait_for_log(log_path: Path, offset: int, needle: str, deadline: float) -> bool:
    """Poll the server log past ``offset`` until a line holding ``needle`` shows up."""
    while time.monotonic() < deadline:
        try:
            with open(log_path, "rb") as f:
                f.seek(offset)
                if needle.encode() in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.002)
    return False


# --------------------------------------------------------------------------- checking


@dataclass
class Summary:
    """The drill's tally; ``ok`` is false on any violation."""

    cycles: int = 0
    acknowledged_ops: int = 0
    lost: int = 0
    torn: int = 0
    restarts_ok: int = 0
    count_mismatch: int = 0
    errors: list[str] = field(default_factory=list)
    kills: dict[str, int] = field(default_factory=dict)
    in_flight_applied: int = 0
    in_flight_dropped: int = 0
    grpc_acknowledged_ops: int = 0
    snapshots: int = 0
    alias_switches: int = 0
    operator_bad: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.torn or self.count_mismatch or self.errors
                    or self.operator_bad)

    def line(self) -> str:
        return (f"cycles={self.cycles} acknowledged_ops={self.acknowledged_ops} "
                f"(grpc={self.grpc_acknowledged_ops}) "
                f"lost={self.lost} torn={self.torn} restarts_ok={self.restarts_ok} "
                f"snapshots={self.snapshots} alias_switches={self.alias_switches} "
                f"operator_bad={self.operator_bad}")


def fetch(http: httpx.Client, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Retrieve points by id (with payload and vectors), keyed by id; absent ids are missing."""
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        r = http.post(f"/collections/{COLLECTION}/points",
                      json={"ids": ids[start:start + 500], "with_payload": True,
                            "with_vector": True})
        r.raise_for_status()
        for rec in r.json()["result"]:
            out[int(rec["id"])] = rec
    return out


def count(http: httpx.Client, flt: dict[str, Any] | None = None) -> int:
    """Exact point count, optionally under a filter."""
    body: dict[str, Any] = {"exact": True}
    if flt is not None:
        body["filter"] = flt
    r = http.post(f"/collections/{COLLECTION}/points/count", json=body)
    r.raise_for_status()
    return int(r.json()["result"]["count"])


def verify(http: httpx.Client, writers: list[Writer], summary: Summary,
           report: Callable[[str], None]) -> None:
    """Check every writer's range against its model and its in-flight op; adopt the outcome."""
    for w in writers:
        op = w.in_flight
        changes: Changes = op.changes if op is not None else {}
        got = fetch(http, list(w.maker.ids))
        applied, dropped, bad = [], [], []
        for pid in w.maker.ids:
            old = w.model.get(pid)
            new = changes[pid] if pid in changes else old
            actual = got.get(pid)
            m_old, m_new = matches(actual, pid, old), matches(actual, pid, new)
            if m_new and not m_old:
                applied.append(pid)
            elif m_old and not m_new:
                dropped.append(pid)
            elif not (m_old or m_new):
                bad.append(pid)
        if bad:
            summary.lost += len(bad)
            for pid in bad[:5]:
                report(f"writer {w.index}: point {pid} is {got.get(pid)!r}, expected "
                       f"{w.model.get(pid)!r}"
                       + (f" or {changes.get(pid)!r} ({op.kind})" if pid in changes else ""))
        if applied and dropped:
            summary.torn += 1
            assert op is not None
            report(f"writer {w.index}: in-flight {op.kind} half applied: "
                   f"{len(applied)} points applied, {len(dropped)} not (e.g. {dropped[:5]})")
        if op is not None and op.tag is not None:
            tagged = count(http, {"must": [{"key": "batch", "match": {"value": op.tag}}]})
            if tagged not in (0, op.tagged):
                summary.torn += 1
                report(f"writer {w.index}: in-flight {op.kind} tag {op.tag}: {tagged} points "
                       f"carry it, expected 0 or {op.tagged}")
        if op is not None:
            if applied:
                summary.in_flight_applied += 1
                w.model = overlay(w.model, changes)
            else:
                summary.in_flight_dropped += 1
        w.in_flight = None
    expected = sum(len(w.model) for w in writers)
    total = count(http)
    if total != expected:
        summary.count_mismatch += 1
        report(f"count is {total}, the model holds {expected}")


# --------------------------------------------------------------------------- the drill


def create_collection(http: httpx.Client) -> None:
    """A dense and a sparse vector, eager indexing and vacuuming, a keyword index on the tag."""
    r = http.put(f"/collections/{COLLECTION}", json={
        "vectors": {"a": {"size": DIM, "distance": "Dot"}},
        "sparse_vectors": {"s": {}},
        "optimizers_config": {"indexing_threshold": 5, "deleted_threshold": 0.1,
                              "vacuum_min_vector_number": 20},
    })
    r.raise_for_status()
    r = http.put(f"/collections/{COLLECTION}/index?wait=true",
                 json={"field_name": "batch", "field_schema": "keyword"})
    r.raise_for_status()


def kill_after(server: HeronProcess, mode: str, seconds: float, rng: random.Random) -> str:
    """Wait for the chosen moment, SIGKILL the server; returns what was actually hit."""
    start = time.monotonic()
    deadline = start + seconds
    # let the writers get going; event-driven modes then wait for their next event
    warmup = rng.uniform(start + 0.1, deadline) if mode == "random" else rng.uniform(
        start + min(0.3, seconds / 3), start + seconds / 2)
    time.sleep(max(0.0, warmup - time.monotonic()))
    hit = mode
    if mode in ("flush", "snapshot"):
        if not wait_for_tmp(server.storage, deadline,
                            "collections" if mode == "flush" else "snapshots"):
            hit = mode + "-missed"
    elif mode.startswith("optimizer"):
        offset = server.log_path.stat().st_size if server.log_path.exists() else 0
        needle = " started" if mode == "optimizer-start" else " done in "
        if not wait_for_log(server.log_path, offset, needle, deadline):
            hit = mode + "-missed"
        elif mode == "optimizer-start":
            time.sleep(rng.uniform(0, 0.01))  # somewhere inside the rebuild
    server.kill()
    return hit


def run_drill(args: argparse.Namespace, report: Callable[[str], None] = print) -> Summary:
    """Run the drill as configured; returns the tally (``summary.ok`` tells if it passed)."""
    rng = random.Random(args.seed)
    summary = Summary()
    workdir = Path(args.storage) if args.storage else Path(tempfile.mkdtemp(prefix="heron-drill-"))
    env = {
        "HERON__STORAGE__FLUSH_INTERVAL_SEC": str(args.flush_interval),
        "HERON__STORAGE__MAX_POINTS_PER_SEGMENT": str(args.max_points_per_segment),
        "HERON__SERVICE__LOG_LEVEL": "INFO",
    }
    server = HeronProcess(workdir / "storage", env=env)
    writers = [Writer(i, OpMaker(i, args.ids_per_writer, random.Random(rng.random())),
                      grpc_port=server.grpc_port if i < args.grpc_writers else None)
               for i in range(args.writers)]
    operator = Operator(COLLECTION, server.storage, random.Random(rng.random()))
    try:
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            create_collection(http)
            operator.setup(http)
        for cycle in range(1, args.cycles + 1):
            mode = KILL_MODES[(cycle - 1) % len(KILL_MODES)] if args.kill_mode == "mix" else (
                args.kill_mode)
            stop = threading.Event()
            threads = [threading.Thread(target=w.run, args=(server.url, cycle, stop), daemon=True)
                       for w in writers]
            threads.append(threading.Thread(target=operator.run, args=(server.url, stop),
                                            daemon=True))
            acked_before = sum(w.acked for w in writers)
            for t in threads:
                t.start()
            hit = kill_after(server, mode, args.seconds_per_cycle, rng)
            stop.set()
            for t in threads:
                t.join(30)
            summary.kills[hit] = summary.kills.get(hit, 0) + 1
            summary.acknowledged_ops = sum(w.acked for w in writers)
            summary.grpc_acknowledged_ops = sum(w.acked for w in writers if w.grpc_port)
            for w in writers:
                summary.errors.extend(w.errors)
                for e in w.errors:
                    report(f"cycle {cycle}: writer {w.index} got an error: {e}")
                w.errors.clear()
            summary.errors.extend(operator.errors)
            for e in operator.errors:
                report(f"cycle {cycle}: the operator got an error: {e}")
            operator.errors.clear()
            try:
                server.start(timeout=60)
            except RuntimeError as exc:
                summary.errors.append(f"cycle {cycle}: restart failed")
                report(f"cycle {cycle}: the server did not restart: {exc}")
                break
            summary.restarts_ok += 1
            summary.cycles = cycle
            with httpx.Client(base_url=server.url, timeout=30) as http:
                verify(http, writers, summary,
                       lambda msg, c=cycle: report(f"cycle {c}: VIOLATION: {msg}"))
                operator.verify(http, lambda msg, c=cycle: report(f"cycle {c}: VIOLATION: {msg}"))
            summary.snapshots, summary.alias_switches = operator.taken, operator.switches
            summary.operator_bad = operator.bad
            if args.verbose:
                held = sum(len(w.model) for w in writers)
                report(f"cycle {cycle}: kill={hit} acked={summary.acknowledged_ops - acked_before}"
                       f" points={held}")
            if not summary.ok:
                break
        code = server.stop()
        if code != 0 and summary.ok:
            summary.errors.append(f"graceful stop exited {code}")
            report(f"final graceful stop exited with {code}:\n{server.log()}")
    finally:
        server.kill()
        if not args.storage and (summary.ok or not args.keep_on_failure):
            shutil.rmtree(workdir, ignore_errors=True)
        elif not summary.ok:
            report(f"storage and server log kept in {workdir}")
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The drill's options (see ``--help``)."""
    p = argparse.ArgumentParser(description="SIGKILL heron under concurrent writers, restart, "
                                            "and check every acknowledged operation.")
    p.add_argument("--cycles", type=int, default=50)
    p.add_argument("--seconds-per-cycle", type=float, default=2.0,
                   help="longest a cycle runs before its kill (default 2)")
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--grpc-writers", type=int, default=1,
                   help="how many of the writers send over gRPC (default 1)")
    p.add_argument("--ids-per-writer", type=int, default=500)
    p.add_argument("--flush-interval", type=float, default=0.1)
    p.add_argument("--max-points-per-segment", type=int, default=300)
    p.add_argument("--kill-mode", choices=("mix", *KILL_MODES), default="mix",
                   help="when to kill: rotate through all modes (default) or one of them")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--storage", help="work directory to use (kept); default a fresh temp dir")
    p.add_argument("--keep-on-failure", action="store_true",
                   help="keep the temp storage and server log when a check fails")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per cycle")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the drill, print its summary; 0 when every cycle ran and nothing was violated."""
    args = parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    summary = run_drill(args)
    kills = " ".join(f"{k}:{v}" for k, v in sorted(summary.kills.items()))
    print(f"seed={args.seed} kills[{kills}] in_flight_applied={summary.in_flight_applied} "
          f"in_flight_dropped={summary.in_flight_dropped} count_mismatch={summary.count_mismatch}"
          f" errors={len(summary.errors)}")
    print(summary.line())
    return 0 if summary.ok and summary.cycles == args.cycles else 1


if __name__ == "__main__":
    raise SystemExit(main())
