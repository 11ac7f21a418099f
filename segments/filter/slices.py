"""Deterministic slices of the id space for the ``slice`` condition: SipHash-2-4 of the id's
bytes modulo the slice count, vectorised over many ids."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from segments.filter.model import PointId

_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def _rotl(x: np.ndarray, bits: int) -> np.ndarray:
    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


def siphash24_words(words: Sequence[np.ndarray]) -> np.ndarray:
    """SipHash-2-4 with a zero key of messages made of 8-byte little-endian words, vectorised:
    ``words[k][i]`` is word ``k`` of message ``i``; all messages are ``8 * len(words)`` long."""
    n = len(words[0]) if words else 0
    v0, v1, v2, v3 = (np.full(n, c, dtype=np.uint64) for c in _SIP_INIT)

    def sip_round() -> None:
        nonlocal v0, v1, v2, v3
        v0 = v0 + v1
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = v2 + v3
        v3 = _rotl(v3, 16) ^ v2
        v0 = v0 + v3
        v3 = _rotl(v3, 21) ^ v0
        v2 = v2 + v1
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)

    last = np.full(n, (8 * len(words) & 0xFF) << 56, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for block in [*words, last]:
            v3 = v3 ^ block
            sip_round()
            sip_round()
            v0 = v0 ^ block
        v2 = v2 ^ np.uint64(0xFF)
        for _ in range(4):
            sip_round()
    return v0 ^ v1 ^ v2 ^ v3


def id_slices(ids: Sequence[PointId], total: int) -> np.ndarray:
    """Slice index (``siphash(id bytes) % total``) of each id: 8 LE bytes for ints, the 16
    RFC 4122 bytes for UUIDs."""
    out = np.zeros(len(ids), dtype=np.int64)
    num_pos = [i for i, pid in enumerate(ids) if isinstance(pid, int)]
    uuid_pos = [i for i, pid in enumerate(ids) if not isinstance(pid, int)]
    if num_pos:
        nums = np.array([ids[i] for i in num_pos], dtype=np.uint64)
        out[num_pos] = (siphash24_words([nums]) % np.uint64(total)).astype(np.int64)
    if uuid_pos:
        raw = b"".join(uuid.UUID(str(ids[i])).bytes for i in uuid_pos)
        halves = np.frombuffer(raw, dtype="<u8").reshape(-1, 2).astype(np.uint64)
        hashed = siphash24_words([halves[:, 0].copy(), halves[:, 1].copy()])
        out[uuid_pos] = (hashed % np.uint64(total)).astype(np.int64)
    return out
