"""Log-in throttling: failures per username and per address slow, then stop, further tries.

State lives in Django's cache. After ``SOFT`` failures each further try must wait a growing
delay (2, 4, 8... seconds); after ``LOGIN_FAILURE_LIMIT`` failures the key is locked for
``LOGIN_LOCKOUT_SECONDS``. A success clears the username's count.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

SOFT = 3


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def _keys(username: str, address: str) -> list[str]:
    digest = hashlib.sha256(username.casefold().encode()).hexdigest()[:32]
    return [f"login-fail:user:{digest}", f"login-fail:addr:{address}"]


def check(username: str, address: str, now: float | None = None) -> Verdict:
    """May this attempt go ahead? If not, how many seconds until it may."""
    now = time.time() if now is None else now
    wait = 0.0
    for key in _keys(username, address):
        state = cache.get(key)
        if state:
            wait = max(wait, state["until"] - now)
    return Verdict(True) if wait <= 0 else Verdict(False, int(wait) + 1)


def record_failure(username: str, address: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    limit = settings.DESKCHAT["LOGIN_FAILURE_LIMIT"]
    lockout = settings.DESKCHAT["LOGIN_LOCKOUT_SECONDS"]
    for key in _keys(username, address):
        state = cache.get(key) or {"count": 0, "until": 0.0}
        state["count"] += 1
        # The per-address counter allows more failures: several people share one NAT address.
        count = state["count"] if key.startswith("login-fail:user") else state["count"] // 3
        if count >= limit:
            state["until"] = now + lockout
        elif count >= SOFT:
            state["until"] = now + 2 ** (count - SOFT + 1)
        cache.set(key, state, timeout=lockout * 2)


def record_success(username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])
