"""Signing the desktop window in without a password: one-time tokens held in memory.

The launcher and the server share one process. At each launch the launcher asks for a token
for its owner's account and opens the window at ``/accounts/desktop-login/?token=...``. The
token is random, kept only as a hash in this process's memory, valid for one use and a short
time, and gone when the process exits: another program can neither guess it nor replay it.
A headless server never issues one, so the URL does nothing there.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

TOKEN_LIFETIME = 120.0  # seconds; the window uses it within a second of asking


@dataclass(frozen=True)
class _Grant:
    user_id: int
    expires: float


_lock = threading.Lock()
_grants: dict[str, _Grant] = {}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue(user_id: int, *, lifetime: float = TOKEN_LIFETIME) -> str:
    """A fresh token that signs ``user_id`` in once."""
    token = secrets.token_urlsafe(32)
    with _lock:
        now = time.monotonic()
        for key in [k for k, g in _grants.items() if g.expires < now]:
            del _grants[key]
        _grants[_digest(token)] = _Grant(user_id=user_id, expires=now + lifetime)
    return token


def consume(token: str) -> int | None:
    """The user the token was issued for, once; ``None`` if unknown, used or expired."""
    if not token:
        return None
    with _lock:
        grant = _grants.pop(_digest(token), None)
    if grant is None or grant.expires < time.monotonic():
        return None
    return grant.user_id
