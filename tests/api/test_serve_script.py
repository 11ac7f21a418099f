"""``scripts/serve`` lets the environment and a config file choose host, port and storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server import ROOT, free_port

SERVE = ROOT / "scripts" / "serve"


def _run(cwd: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start scripts/serve from ``cwd``; wait until the port in ``env``/args answers."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HERON__")}
    full_env.update(env, HERON_PYTHON=sys.executable)
    proc = subprocess.Popen([str(SERVE), *args], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc


def _wait_ready(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("scripts/serve did not come up")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_environment_sets_port_and_relative_storage(tmp_path: Path) -> None:
    port = free_port()
    proc = _run(tmp_path, [], {"HERON__SERVICE__PORT": str(port),
                                  "HERON__STORAGE__PATH": "data/here"})
    try:
        _wait_ready(proc, port)
        r = httpx.put(f"http://127.0.0.1:{port}/collections/c",
                      json={"vectors": {"size": 2, "distance": "Dot"}})
        assert r.status_code == 200
    finally:
        _stop(proc)
    # the relative path is taken from the caller's directory, not the checkout's
    assert (tmp_path / "data" / "here" / "collections" / "c" / "config.json").exists()
    assert not (ROOT / "data" / "here").exists()


def test_config_file_sets_port_and_storage(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "heron.yaml").write_text(
        f"service:\n  port: {port}\nstorage:\n  path: from-yaml\n", encoding="utf-8"
    )
    proc = _run(tmp_path, ["--config", "heron.yaml"], {})
    try:
        _wait_ready(proc, port)
    finally:
        _stop(proc)
    assert (tmp_path / "from-yaml" / "collections").is_dir()


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    """With nothing set, storage defaults to ./storage in the caller's directory (port flag given
    only so the test does not need 6333 free)."""
    port = free_port()
    proc = _run(tmp_path, ["--port", str(port)], {})
    try:
        _wait_ready(proc, port)
    finally:
        _stop(proc)
    assert (tmp_path / "storage" / "collections").is_dir()
