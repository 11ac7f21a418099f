#!/usr/bin/env python3
"""In-process dense search over the optimizer's own segment layout, timed in CPU seconds.

The machine the benches run on is shared, so wall-clock latencies swing with other load; CPU
time per query does not. This script ingests ``scripts/bench.py``'s clustered 128-d data into a
``SegmentHolder`` in batches, runs the real planner and builds (``optimizer.worker.build``)
until nothing is planned, then reports the layout, build CPU/wall time, and per query: CPU ms
on one thread (every segment searched in turn, per-segment hits merged, as a leaf search does)
and recall@10; then 16 threads searching at once: CPU ms per query over the whole process and
queries/s. Run it from another checkout to compare (it uses the old signature there).

    .venv/bin/python scripts/bench_segment_search.py --points 100000
"""

from __future__ import annotations

import argparse
import inspect
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import dense_truth  # noqa: E402

from collection.config import CreateCollection  # noqa: E402
from optimizer.planner import plan  # noqa: E402
from optimizer.worker import build  # noqa: E402
from segments.holder import SegmentHolder  # noqa: E402
from segments.vectors.sparse import best_first  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the variants (new code)")
    args = ap.parse_args()
    n, dim = args.points, 128
    dense, dq, unit, qn, truth = dense_truth(n, args.queries, dim)
    config = CreateCollection.model_validate(
        {"vectors": {"d": {"size": dim, "distance": "Cosine"}}}).to_config()
    new_api = "rotate_at" in inspect.signature(plan).parameters
    holder = SegmentHolder(config.segment, None if new_api else 20000)
    cpu0, wall0 = time.process_time(), time.perf_counter()

    def optimize() -> None:
        while True:
            if new_api:
                from optimizer.planner import segment_points

                holder.rotate_at = segment_points(config, holder.max_points)
                tasks = plan(list(holder), config, holder.write_segment, holder.max_points,
                             holder.rotate_at)
            else:
                tasks = plan(list(holder), config, holder.write_segment, holder.max_points)
            if not tasks:
                return
            ids = list(tasks[0].seg_ids)
            prepared = holder.prepare_rebuild(ids)
            assert prepared is not None
            built, origin = build(prepared[0], config, 2)
            holder.swap(ids, built, prepared[1], origin)

    for op, start in enumerate(range(0, n, 256), start=1):
        rows = dense[start : start + 256]
        holder.apply(op, {"op": "upsert", "points": [
            {"id": start + i, "vector": {"d": rows[i]}, "payload": None}
            for i in range(len(rows))]})
        if op % 8 == 0:
            optimize()
    optimize()
    segs = list(holder)
    print(f"{'new' if new_api else 'old'} code: {len(segs)} segments "
          f"{sorted(s.live_count for s in segs)}; ingest + builds {time.process_time() - cpu0:.1f}"
          f" CPU s, {time.perf_counter() - wall0:.1f} s wall")

    def measure(label: str, masks: bool) -> None:
        def one(i: int) -> list[int]:
            scores, owners = [], []
            for seg in segs:
                cand = seg.live_mask() if masks or not new_api else None
                hits = seg.search("d", dq[i], cand, 10)
                scores.append(hits.scores)
                owners += [seg.ids.ids[o] for o in hits.offsets.tolist()]
            flat = np.concatenate(scores)
            return [owners[j] for j in best_first(flat, 10, True).tolist()]

        found, cpu = [], []
        for i in range(len(dq)):
            t = time.thread_time()
            found.append(one(i))
            cpu.append((time.thread_time() - t) * 1000)
        rec = np.mean([len(set(f) & set(t.tolist())) / 10
                       for f, t in zip(found, truth, strict=True)])
        per = max(1, 3 * len(dq) // args.clients)

        def worker(w: int) -> None:
            for j in range(per):
                one((w * per + j) % len(dq))

        searchers = [s for seg in segs for s in getattr(seg, "searchers", {}).values()]
        calls0 = sum(s.calls for s in searchers)
        rows0 = sum(s.rows for s in searchers)
        threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.clients)]
        c0, t0 = time.process_time(), time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = per * args.clients
        line = (f"{label}: one thread CPU p50 {np.median(cpu):.3f} ms/query, recall@10 {rec:.3f}"
                f" | {args.clients} threads {(time.process_time() - c0) * 1000 / total:.3f} CPU "
                f"ms/query, {total / (time.perf_counter() - t0):,.0f} queries/s")
        if searchers:
            calls = sum(s.calls for s in searchers) - calls0
            rows = sum(s.rows for s in searchers) - rows0
            line += f", {rows / max(1, calls):.2f} query rows per graph call"
        print(line, flush=True)

    if not new_api:
        measure("old code", True)
        return 0
    from segments.graph import GraphSearcher

    combined = GraphSearcher.query

    def plain(self: GraphSearcher, q: np.ndarray, k: int, ef: int) -> np.ndarray:
        with self._lock:
            self.index.set_ef(max(ef, k))
            labels, _ = self.index.knn_query(q[None, :], k=k, num_threads=1)
            self.calls += 1
            self.rows += 1
        return labels[0].astype(np.int64)

    for _ in range(args.rounds):
        measure("new code", False)
        measure("new code, a live mask per segment search", True)
        GraphSearcher.query = plain  # type: ignore[method-assign]
        measure("new code, one knn_query per search (no combining)", False)
        GraphSearcher.query = combined  # type: ignore[method-assign]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
