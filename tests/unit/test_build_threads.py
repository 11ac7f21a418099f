"""The optimizer's build threads: a configured count is kept; the automatic one waits (a
bounded time) for a stream of updates to pause, then lends a core back to the writer while
updates keep streaming in."""

from __future__ import annotations

import time

from optimizer.worker import STREAM_GAP_SECONDS, WRITING_SECONDS, build_threads


def test_a_configured_count_is_kept() -> None:
    assert build_threads(3, True, time.monotonic) == 3


def test_one_thread_is_all_there_is() -> None:
    threads = build_threads(1, False, time.monotonic, pause=0.0)
    assert callable(threads) and threads() == 1


def test_one_core_is_lent_back_while_updates_stream_in() -> None:
    last = [time.monotonic()]
    threads = build_threads(4, False, lambda: last[0], pause=0.0)
    assert callable(threads) and threads() == 3
    last[0] = time.monotonic() - 2 * WRITING_SECONDS  # the stream stopped
    assert threads() == 4
    last[0] = float("-inf")  # never written to
    assert threads() == 4


def test_a_build_waits_for_a_stream_to_pause_within_its_budget() -> None:
    threads = build_threads(2, False, time.monotonic, pause=0.2)  # writes that never stop
    assert callable(threads)
    started = time.monotonic()
    assert threads() == 1
    waited = time.monotonic() - started
    assert 0.2 <= waited < 0.2 + 10 * STREAM_GAP_SECONDS
    started = time.monotonic()
    assert threads() == 1  # the budget is spent: no second wait
    assert time.monotonic() - started < 1.0


def test_a_paused_stream_or_a_cancel_ends_the_wait() -> None:
    last = [time.monotonic()]
    threads = build_threads(2, False, lambda: last[0], pause=30.0)
    assert callable(threads)
    last[0] = time.monotonic() - STREAM_GAP_SECONDS  # the last write was a gap ago
    started = time.monotonic()
    assert threads() == 1  # within WRITING_SECONDS still, so one core stays lent
    assert time.monotonic() - started < 1.0
    stop = build_threads(2, False, time.monotonic, cancelled=lambda: True, pause=30.0)
    assert callable(stop)
    started = time.monotonic()
    stop()
    assert time.monotonic() - started < 1.0
