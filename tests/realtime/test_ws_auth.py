"""The WebSocket's user comes from the session cookie, verified like Django verifies it."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chatserver.asgi import application
from chatserver.realtime.socket_auth import session_key_from_headers
from tests.support.ws import ORIGIN, ChatClient, make_user, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

COOKIE = settings.SESSION_COOKIE_NAME


async def refused_code(*cookie_headers: bytes) -> int:
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[(b"origin", ORIGIN), (b"host", b"127.0.0.1")]
        + [(b"cookie", value) for value in cookie_headers],
    )
    connected, code = await communicator.connect(timeout=5)
    if connected:  # accepted to deliver the close code, then closed
        output = await communicator.receive_output(timeout=5)
        code = output.get("code")
    await communicator.disconnect()
    return code


async def test_no_cookie_and_unknown_sessions_are_refused_with_4401():
    assert await refused_code() == 4401
    assert await refused_code(f"{COOKIE}=no-such-session".encode()) == 4401
    assert await refused_code(b"garbage; ;=;") == 4401


async def test_a_password_change_signs_the_old_session_out():
    alice = await make_user("alice")
    cookie = await session_cookie_for(alice)
    first = await ChatClient.connect(alice, cookie=cookie)
    await first.close()

    @database_sync_to_async
    def change_password() -> None:
        alice.set_password("a-new-password-2")
        alice.save()

    await change_password()
    assert await refused_code(f"{COOKIE}={cookie}".encode()) == 4401


async def test_cookie_split_over_headers_is_found():
    alice = await make_user("alice")
    cookie = await session_cookie_for(alice)
    headers = [(b"cookie", b"theme=dark"), (b"Cookie", f"{COOKIE}={cookie}".encode())]
    assert session_key_from_headers(headers) == cookie
    assert session_key_from_headers([(b"accept", b"*/*")]) is None


async def test_an_expired_session_is_refused():
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    alice = await make_user("alice")
    cookie = await session_cookie_for(alice)

    @database_sync_to_async
    def expire() -> None:
        Session.objects.filter(session_key=cookie).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )

    await expire()
    assert await refused_code(f"{COOKIE}={cookie}".encode()) == 4401
