"""Start and stop real ``heron serve`` processes for the API tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HeronProcess:
    """A heron server subprocess on a free port over a given storage directory."""

    def __init__(
        self, storage: Path, env: dict[str, str] | None = None, args: list[str] | None = None
    ) -> None:
        self.storage = storage
        self.args = list(args or [])
        self.port = free_port()
        self.grpc_port = free_port()
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = storage.parent / f"{storage.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> HeronProcess:
        self.storage.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--grpc-port", str(self.grpc_port),
             "--storage", str(self.storage), *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"heron exited early:\n{self.log()}")
                try:
                    if probe.get(self.url + "/readyz").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"heron did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        """The end of the server's log (for failure messages)."""
        return self.text()[-5000:]

    def text(self) -> str:
        """The server's whole log (every start of it), access-log lines included."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: what a crash looks like."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: a graceful shutdown; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)

    def restart(self) -> HeronProcess:
        """Kill with SIGKILL, then start again on the same storage and port."""
        self.kill()
        return self.start()
