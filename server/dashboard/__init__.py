"""The web dashboard at ``/dashboard``: static HTML, CSS and JS shipped in the package.

No build step and no external network: the page talks to heron's own REST API from the
browser (asking for an API key when heron answers 401). The files are served without a key.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, redirect, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
async def dashboard_root() -> Response:
    return redirect("/dashboard/")


@bp.get("/dashboard/")
async def dashboard_index() -> Response:
    return await send_from_directory(STATIC, "index.html")


@bp.get("/dashboard/<path:name>")
async def dashboard_file(name: str) -> Response:
    """A static file; unknown names (client-side routes) get the page itself."""
    if (STATIC / name).is_file() and STATIC in (STATIC / name).resolve().parents:
        return await send_from_directory(STATIC, name)
    return await send_from_directory(STATIC, "index.html")
