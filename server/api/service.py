"""Service operations: version info and the health probes (telemetry is in ``observe``)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

from server.api.context import Context, Op, ops
from server.api.params import Query

QDRANT_API_VERSION = "1.19.0"
ROOT = Path(__file__).resolve().parents[2]
BUILD_COMMIT = ROOT / "server" / "COMMIT"
"""A build-time commit id, written by packaging when the tree has no ``.git``."""
TITLE = "heron - vector search engine (Qdrant API)"
HEALTHY = "healthz check passed"


@functools.cache
def commit() -> str | None:
    """heron's git commit: ``git rev-parse HEAD`` in a checkout, else the build-time value,
    else None. Read once (``create_app`` calls it at startup, before serving)."""
    if (ROOT / ".git").exists():
        try:
            done = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                timeout=5, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    if BUILD_COMMIT.is_file():
        return BUILD_COMMIT.read_text().strip() or None
    return None


async def root(ctx: Context, path: dict[str, str], query: Query, body: Any) -> dict[str, Any]:
    return {"title": TITLE, "version": QDRANT_API_VERSION, "commit": commit()}


async def health(ctx: Context, path: dict[str, str], query: Query, body: Any) -> str:
    return HEALTHY


OPS = ops(
    Op("root", "read", root),
    Op("healthz", "open", health),
    Op("livez", "open", health),
    Op("readyz", "open", health),
)
