"""Who is on the other end of a WebSocket: the Django session in its cookie, read once.

Channels' ``AuthMiddlewareStack`` does the same but also wraps every ``send`` of the socket's
life to save the session on HTTP responses, which a WebSocket never sends: each frame still
paid for opening the lazy session object, about 15 % of the per-delivery path in the S2
profile (docs/benchmarks.md). Here the middleware only finds the session key; the consumer
verifies it with :func:`user_for_session` (Django's own ``auth.get_user``: backend, session
hash, so a password change still signs other sessions out) in the same database trip that
registers the socket, and ``send`` goes to Daphne untouched.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http.cookie import parse_cookie


def session_key_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session cookie's value (a browser may split cookies over several headers)."""
    values = [value.decode("latin-1") for name, value in headers if name.lower() == b"cookie"]
    if not values:
        return None
    return parse_cookie("; ".join(values)).get(settings.SESSION_COOKIE_NAME)


def user_for_session(session_key: str | None) -> Any:
    """The signed-in user of this session, or ``AnonymousUser``."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    request = SimpleNamespace(session=store(session_key))
    return auth.get_user(request)  # type: ignore[arg-type]


class SessionKeyMiddleware:
    """Put ``scope["session_key"]`` in place from the cookie (no database: see the module)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = session_key_from_headers(scope.get("headers", []))
        return await self.inner(dict(scope, session_key=key), receive, send)
