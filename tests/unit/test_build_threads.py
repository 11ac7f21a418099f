"""The optimizer's build threads: a configured count is kept; the automatic one lends a core
back to the writer while updates stream in."""

from __future__ import annotations

import time

from optimizer.worker import WRITING_SECONDS, build_threads


def test_a_configured_count_is_kept() -> None:
    assert build_threads(3, True, time.monotonic) == 3


def test_one_thread_is_all_there_is() -> None:
    assert build_threads(1, False, time.monotonic) == 1


def test_one_core_is_lent_back_while_updates_stream_in() -> None:
    last = [time.monotonic()]
    threads = build_threads(4, False, lambda: last[0])
    assert callable(threads) and threads() == 3
    last[0] = time.monotonic() - 2 * WRITING_SECONDS  # the stream stopped
    assert threads() == 4
    last[0] = float("-inf")  # never written to
    assert threads() == 4
