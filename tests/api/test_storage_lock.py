"""One server per storage directory: a second server exits at once; a crash frees the lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server import ROOT, HeronProcess, free_port


def _second_server(storage: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(free_port()),
         "--storage", str(storage)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )


def test_second_server_on_same_storage_exits(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    first = HeronProcess(storage).start()
    try:
        httpx.put(first.url + "/collections/c", json={"vectors": {"size": 2, "distance": "Dot"}})
        started = time.monotonic()
        second = _second_server(storage)
        assert time.monotonic() - started < 20
        assert second.returncode != 0
        assert str(storage.resolve()) in second.stderr
        assert f"pid {first.proc.pid}" in second.stderr
        # the first server is untouched and still serving its collection
        assert httpx.get(first.url + "/collections/c").status_code == 200
    finally:
        first.kill()
    # a crash (SIGKILL) releases the lock: a new server starts on the same storage
    again = HeronProcess(storage).start()
    try:
        assert httpx.get(again.url + "/collections/c").status_code == 200
        assert (storage / ".lock").read_text().strip() == str(again.proc.pid)
    finally:
        assert again.stop() == 0
