"""HNSW graphs of indexed segments: concurrent searches each keep their own ef (and get the
answer a lone search gets), extended graphs, cached masks and the default ef (ef_construct, as Qdrant)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from segments.appendable import AppendableSegment
from segments.graph import GraphSearcher, build_index, covers, extend_index
from segments.immutable import GraphBase, ImmutableSegment, SearchParams, graph_base
from segments.types import Distance, HnswConfig, SegmentConfig, VectorParams
from segments.vectors.dense import DenseVectors

DIM = 16
CONFIG = SegmentConfig(
    vectors={"v": VectorParams(size=DIM, distance=Distance.COSINE)},
    hnsw_config=HnswConfig(m=4, ef_construct=8, full_scan_threshold=1),
)
"""A coarse graph (m=4, ef_construct=8): low and high ef give different answers."""
FINE = SegmentConfig(vectors=CONFIG.vectors, hnsw_config=HnswConfig(full_scan_threshold=1))
"""Qdrant's default graph settings (m=16, ef_construct=100)."""


def _data(n: int, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def _segment(data: np.ndarray, deleted: np.ndarray | None = None,
             base: GraphBase | None = None, config: SegmentConfig = CONFIG) -> ImmutableSegment:
    n = len(data)
    seg = AppendableSegment(0, config)
    seg.upsert(1, list(range(n)), {"v": (list(data), np.ones(n, dtype=bool))},
               [{"i": i} for i in range(n)])
    if deleted is not None and len(deleted):
        seg.delete(2, deleted)
    return ImmutableSegment.build(seg.snapshot(), config, threads=2, base=base)


def _ask(seg: ImmutableSegment, q: np.ndarray, ef: int | None,
         candidates: np.ndarray | None = None) -> list[int]:
    hits = seg.search("v", q, candidates, 10, SearchParams(hnsw_ef=ef))
    return hits.offsets.tolist()


def test_concurrent_searches_with_different_ef_get_their_own_answers() -> None:
    seg = _segment(_data(4000))
    queries = _data(40, seed=9)
    efs = (10, 400)
    alone = {(i, ef): _ask(seg, queries[i], ef) for i in range(len(queries)) for ef in efs}
    differ = sum(alone[(i, efs[0])] != alone[(i, efs[1])] for i in range(len(queries)))
    assert differ >= len(queries) // 4, "ef does not change this graph's answers"
    jobs = [(i, ef) for _ in range(5) for i in range(len(queries)) for ef in efs]
    start = threading.Barrier(16)

    def run(job: tuple[int, int]) -> tuple[tuple[int, int], list[int]]:
        if job[0] < 16 and job[1] == efs[0]:
            start.wait()  # the first 16 start together, so the queue is never empty
        return job, _ask(seg, queries[job[0]], job[1])

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(run, jobs))
    wrong = [(job, answer) for job, answer in got if answer != alone[job]]
    assert not wrong, f"{len(wrong)} of {len(got)} concurrent answers differ: {wrong[:3]}"
    searcher = seg.searchers["v"]
    assert searcher.rows == len(alone) + len(jobs)
    assert searcher.calls < searcher.rows, "no concurrent searches were combined"


def test_a_thread_function_is_asked_before_each_batch_of_inserts() -> None:
    """An optimizer's build may change its thread count between batches (it lends a core to
    the writer while updates stream in); the graph still holds every row."""
    data = _data(3000)
    store = DenseVectors(DIM, Distance.COSINE, None, len(data))
    store.put(np.arange(len(data)), data)
    asked: list[int] = []

    def threads() -> int:
        asked.append(2 - len(asked) % 2)
        return asked[-1]

    index = build_index(store, 2000, CONFIG.hnsw_config, threads=threads)
    assert asked == [2, 1] and covers(index, store, 2000)  # 2000 rows, 1000 per batch
    grown = extend_index(index, store, len(data), 2000, CONFIG.hnsw_config, threads)
    assert len(asked) == 4 and covers(grown, store, len(data))  # set_num_threads + 1 batch
    assert covers(index, store, 2000)  # the base graph is untouched


def test_combined_call_answers_like_single_calls() -> None:
    data = _data(3000)
    store = DenseVectors(DIM, Distance.COSINE, None, len(data))
    store.put(np.arange(len(data)), data)
    index = build_index(store, len(data), CONFIG.hnsw_config, threads=1)
    searcher = GraphSearcher(index)
    queries = [store.prepare_query(q) for q in _data(30, seed=2)]
    single = [searcher.query(q, 10, 50).tolist() for q in queries]
    # several k, one ef: the combined call asks for the largest k and cuts each row
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: searcher.query(queries[i], 5 + i % 6, 50).tolist(),
                            range(len(queries))))
    assert got == [s[: 5 + i % 6] for i, s in enumerate(single)]


def test_extended_graph_finds_what_a_rebuilt_one_finds() -> None:
    data = _data(3000, seed=11)
    first = _segment(data[:2000], config=FINE)
    base = graph_base(first.snapshot())
    assert base is not None and base.size == 2000
    extended = _segment(data, base=base, config=FINE)
    rebuilt = _segment(data, config=FINE)
    assert extended.indexes["v"] is not first.indexes["v"]
    assert int(extended.indexes["v"].get_current_count()) == 3000
    assert int(first.indexes["v"].get_current_count()) == 2000  # the base is untouched
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    found = {"extended": 0, "rebuilt": 0}
    for seed in range(20):
        q = _data(1, seed=100 + seed)[0]
        truth = set(np.argsort(-(unit @ (q / np.linalg.norm(q))))[:10].tolist())
        found["extended"] += len(set(_ask(extended, q, 200)) & truth)
        found["rebuilt"] += len(set(_ask(rebuilt, q, 200)) & truth)
    assert found["extended"] >= 0.97 * 200 and found["rebuilt"] >= 0.97 * 200, found
    # a segment with deletions offers no base: its offsets would not stay the merge's first
    first.delete(3, np.array([5]))
    assert graph_base(first.snapshot()) is None
    assert graph_base(_segment(data[:100]).snapshot()) is not None
    assert graph_base(AppendableSegment(0, FINE).snapshot()) is None


def test_masks_are_cached_and_follow_deletes() -> None:
    data = _data(2000, seed=3)
    seg = _segment(data)
    q = data[17]
    # a wide ef: the coarse graph (m=4, built by 2 threads) missed the point itself at its
    # default ef about once in 60 builds; masks, not recall, are what this test is about
    assert _ask(seg, q, 400)[0] == 17
    mask, count = seg.searchable("v")
    assert count == 2000
    assert seg.searchable("v")[0] is mask  # no new mask per search
    seg.delete(5, np.array([17]))
    mask2, count2 = seg.searchable("v")
    assert count2 == 1999 and not mask2[17]
    assert 17 not in _ask(seg, q, 400)
    everything = np.ones(seg.size, dtype=bool)
    assert 17 not in _ask(seg, q, 400, candidates=everything)
    assert seg.indexed_vectors == 1999


def test_a_search_naming_no_ef_walks_with_ef_construct() -> None:
    seg = _segment(_data(4000))
    queries = _data(40, seed=9)
    ef_construct = CONFIG.hnsw_config.ef_construct
    same = [_ask(seg, q, None) == _ask(seg, q, ef_construct) for q in queries]
    assert all(same)
    wider = sum(_ask(seg, q, None) != _ask(seg, q, 400) for q in queries)
    assert wider > 0, "ef does not change this graph's answers"


def test_walks_graph_says_which_searches_are_bounded_by_ef() -> None:
    seg = _segment(_data(2000))
    q = _data(1, seed=3)[0]
    every = np.ones(seg.size, dtype=bool)
    assert seg.walks_graph("v", q, None)
    assert not seg.walks_graph("v", q, every)  # a filtered search may scan exactly
    assert not seg.walks_graph("v", q, None, SearchParams(exact=True))
    assert not seg.walks_graph("w", q, None)  # no graph for that name
    plain = AppendableSegment(1, CONFIG)
    assert not plain.walks_graph("v", q, None)  # an appendable segment scans
