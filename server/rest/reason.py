"""HTTP/1.1 status lines with their reason phrase (``HTTP/1.1 400 Bad Request``).

hypercorn builds its h11 responses without a reason, so the status line ends after the code;
clients that show ``statusText`` (the JS client's ``error.message``) then show nothing. Qdrant
sends the standard phrase. ``install`` gives hypercorn's h11 protocol a view of the ``h11``
module whose ``Response`` fills the standard phrase in when none is given.
"""

from __future__ import annotations

import http
import types
from typing import Any

import h11


def phrase(status: int) -> bytes:
    """The standard reason phrase of an HTTP status (empty for an unknown one)."""
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _response(**fields: Any) -> h11.Response:
    if not fields.get("reason"):
        fields["reason"] = phrase(int(fields["status_code"]))
    return h11.Response(**fields)


def install() -> None:
    """Point hypercorn's h11 protocol at an ``h11`` whose ``Response`` carries the phrase."""
    from hypercorn.protocol import h11 as protocol

    if isinstance(protocol.h11, types.SimpleNamespace):
        return
    shim = types.SimpleNamespace(**{k: getattr(h11, k) for k in dir(h11) if not k.startswith("__")})
    shim.Response = _response
    protocol.h11 = shim
