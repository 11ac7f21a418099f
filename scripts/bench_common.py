"""Shared pieces of the benchmark scripts: data generators, a server wrapper, latency helpers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson


def clustered(n: int, dim: int, seed: int, draw: int | None = None) -> np.ndarray:
    """Points around 64 centres in a 32-d subspace, plus a little noise: like embeddings.

    ``seed`` fixes the subspace and the centres; ``draw`` (default: the same seed) the points
    drawn around them. Queries for a data set are drawn with the data's ``seed`` and another
    ``draw``, so they come from the same distribution, as an embedding model's queries do;
    another ``seed`` gives queries off the data's subspace (a hard case for any HNSW graph)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(32, dim))
    centres = rng.normal(size=(64, 32)) * 3
    pick = rng if draw is None or draw == seed else np.random.default_rng(draw)
    labels = pick.integers(0, 64, size=n)
    low = centres[labels] + pick.normal(size=(n, 32))
    return (low @ basis + 0.1 * pick.normal(size=(n, dim))).astype(np.float32)


def dense_truth(n: int, queries: int, dim: int = 128, seed: int = 42
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(points, queries drawn from their distribution, both as unit rows, exact top-10 ids)
    for the in-process segment benches."""
    dense = clustered(n, dim, seed)
    dq = clustered(queries, dim, seed, draw=seed + 1)
    unit = dense / np.linalg.norm(dense, axis=1, keepdims=True)
    qn = dq / np.linalg.norm(dq, axis=1, keepdims=True)
    return dense, dq, unit, qn, np.argsort(-(qn @ unit.T), axis=1)[:, :10]


def index_cat_and_wait_green(http: httpx.Client, collection: str = "idx") -> dict[str, Any]:
    """Index the integer payload ``cat`` and wait until the collection is green; its info."""
    http.put(f"/collections/{collection}/index?wait=true",
             json={"field_name": "cat", "field_schema": "integer"}).raise_for_status()
    while http.get(f"/collections/{collection}").json()["result"]["status"] != "green":
        time.sleep(0.2)
    return http.get(f"/collections/{collection}").json()["result"]


def sparse_rows(n: int, nnz: int, vocab: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Zipf-ish sparse vectors: frequent low indices, like term weights (numpy rows, which
    orjson writes as lists, so a million of them fit in memory)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        idx = np.unique(rng.zipf(1.3, size=nnz * 2) % vocab)[:nnz]
        out.append({"indices": idx.astype(np.uint32),
                    "values": rng.random(len(idx)).round(4).astype(np.float32)})
    return out


def encode_batches(points: list[dict[str, Any]], batch: int) -> tuple[list[bytes], float]:
    """``{"points": [...]}`` bodies of ``batch`` points each, and the ms spent per body."""
    t0 = time.perf_counter()
    bodies = [orjson.dumps({"points": points[s : s + batch]}, option=orjson.OPT_SERIALIZE_NUMPY)
              for s in range(0, len(points), batch)]
    return bodies, (time.perf_counter() - t0) * 1000 / max(len(bodies), 1)


def upsert_bodies(http: httpx.Client, name: str, bodies: list[bytes], points: int) -> float:
    """PUT each encoded body to ``name`` with wait=true, one after the other; points/s."""
    t0 = time.perf_counter()
    for body in bodies:
        r = http.put(f"/collections/{name}/points?wait=true", content=body,
                     headers={"content-type": "application/json"})
        r.raise_for_status()
    return points / (time.perf_counter() - t0)


class Bench:
    """A running server plus helpers to load data and time requests."""

    def __init__(self, http: httpx.Client, queries: int) -> None:
        self.http = http
        self.queries = queries
        self.encode_ms = 0.0

    def post(self, path: str, body: Any) -> httpx.Response:
        r = self.http.post(
            path,
            content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
            headers={"content-type": "application/json"},
        )
        r.raise_for_status()
        return r

    def load(self, name: str, config: dict[str, Any], points: list[dict[str, Any]],
             batch: int) -> float:
        """Create ``name`` and upsert ``points`` in batches with wait=true; points/s.

        The bodies are encoded before the clock starts (``self.encode_ms`` keeps the client's
        encoding time per batch): the figure is the server's ingest rate, not orjson's."""
        self.http.put(f"/collections/{name}", json=config).raise_for_status()
        bodies, self.encode_ms = encode_batches(points, batch)
        return upsert_bodies(self.http, name, bodies, len(points))

    def rounds(self, makes: dict[str, Callable[[int], Callable[[], object]]]
               ) -> dict[str, list[float]]:
        """Milliseconds per call of each ``makes[name](i)()``, the kinds taken in turn for each
        i in range(queries): every kind (the ``GET /`` anchor among them) sees the same moments
        of a machine whose speed drifts, so their ratios hold even when the absolute times
        move within the run."""
        out: dict[str, list[float]] = {name: [] for name in makes}
        for i in range(self.queries):
            for name, make in makes.items():
                call = make(i)
                t = time.perf_counter()
                call()
                out[name].append((time.perf_counter() - t) * 1000)
        return out

    def timed(self, make: Callable[[int], Callable[[], object]]) -> list[float]:
        """Milliseconds per call of ``make(i)()`` for i in range(queries)."""
        return self.rounds({"": make})[""]


def p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def paired_rps(url: str, make_body: Callable[[int], Any], seconds: float,
               rounds: int = 4) -> tuple[float, float]:
    """(query req/s, ``GET /`` req/s) at 16 clients, measured in ``rounds`` alternating
    stretches of ``seconds / rounds`` each, so both see the same drift of the machine."""
    q, g = [], []
    for _ in range(rounds):
        q.append(concurrent_rps(url, make_body, seconds / rounds))
        g.append(concurrent_rps(url, None, seconds / rounds))
    return statistics.mean(q), statistics.mean(g)


def concurrent_rps(url: str, make_body: Callable[[int], Any] | None, seconds: float,
                   clients: int = 16, collection: str = "idx") -> float:
    """Requests/s with ``clients`` threads for ``seconds``: queries, or ``GET /`` if no body."""
    from bench_threads import rate

    done = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(w: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            i = w
            while time.perf_counter() < stop:
                if make_body is None:
                    http.get("/").raise_for_status()
                else:
                    http.post(f"/collections/{collection}/points/query",
                              content=orjson.dumps(make_body(i), option=orjson.OPT_SERIALIZE_NUMPY),
                              headers={"content-type": "application/json"}).raise_for_status()
                done[w] += 1
                i += clients

    return rate(worker, clients, done)
