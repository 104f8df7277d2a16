"""Who is on the other end of a WebSocket: the Django session in its cookie, read once.

Channels' ``AuthMiddlewareStack`` does the same but also wraps every ``send`` of the socket's
life to save the session on HTTP responses, which a WebSocket never sends: each frame still
paid for opening the lazy session object, about 15 % of the per-delivery path in the S2
profile (docs/benchmarks.md). Here the session is read at connect, the user is verified by
Django's own ``auth.get_user`` (backend, session hash: a password change still signs other
sessions out), and ``send`` goes to Daphne untouched.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
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


class SessionAuthMiddleware:
    """Put ``scope["user"]`` in place, from the session cookie, before the consumer starts."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = session_key_from_headers(scope.get("headers", []))
        user = await database_sync_to_async(user_for_session)(key)
        return await self.inner(dict(scope, user=user), receive, send)
