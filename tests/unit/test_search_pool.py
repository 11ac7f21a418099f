"""The search threads' queue: every job runs once, off the trio thread, with at most ``workers``
threads draining at a time, and each submitter gets its own job's value or exception."""

from __future__ import annotations

import threading
import time

import pytest
import trio

from collection.query.pool import SearchPool


def test_jobs_run_off_the_trio_thread_at_most_workers_at_once() -> None:
    pool = SearchPool(workers=2)
    running = 0
    most = 0
    lock = threading.Lock()
    trio_thread = threading.get_ident()
    seen_threads: set[int] = set()

    def job(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            seen_threads.add(threading.get_ident())
        time.sleep(0.002)
        with lock:
            running -= 1
        return i * i

    async def main() -> list[int]:
        out = [-1] * 40

        async def one(i: int) -> None:
            out[i] = await pool.run(lambda: job(i))

        async with trio.open_nursery() as nursery:
            for i in range(40):
                nursery.start_soon(one, i)
        return out

    assert trio.run(main) == [i * i for i in range(40)]
    assert most <= 2
    assert trio_thread not in seen_threads
    assert pool._draining == 0 and not pool._jobs  # every drainer finished with the queue


def test_a_job_s_exception_reaches_its_own_submitter_only() -> None:
    pool = SearchPool(workers=1)

    def boom() -> int:
        raise ValueError("bad job")

    async def main() -> tuple[str, int]:
        bad = pool.submit(boom)
        good = pool.submit(lambda: 7)
        with pytest.raises(ValueError, match="bad job"):
            await bad.result()
        return "raised", await good.result()

    assert trio.run(main) == ("raised", 7)


def test_a_cancelled_submitter_still_waits_for_its_job() -> None:
    pool = SearchPool(workers=1)
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.05)
        finished.set()

    async def main() -> None:
        with trio.move_on_after(0.001):
            await pool.run(slow)
        # the job was not abandoned: by the time the wait returns it has finished
        assert finished.is_set()

    trio.run(main)
