"""Access ends at once (issue 16): an open WebSocket does not outlive the access it was opened
with. Real server process, real sockets, real HTTP: an administrator deactivates an account,
a session logs out, a password is changed in one of two sessions.

The Redis variant, with the sockets spread over two workers, is
tests/scale/test_access_ends_redis.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.scale.support import Socket
from tests.support.access import change_password, deactivate, log_out
from tests.support.server import Browserless, start_live_server

pytestmark = pytest.mark.process

PASSWORD = "correct-horse-battery"


@pytest.fixture
def server(tmp_path):
    live = start_live_server(tmp_path / "data")
    yield live
    assert live.stop() == 0


async def still_open(sock: Socket) -> None:
    """A positive marker: the socket answers a ping after the others were closed."""
    before = len(sock.seen("pong"))
    await sock.send({"type": "ping"})
    deadline = asyncio.get_running_loop().time() + 15
    while len(sock.seen("pong")) <= before:
        assert sock.closed_code is None, f"{sock.name} was closed with {sock.closed_code}"
        assert asyncio.get_running_loop().time() < deadline, f"{sock.name}: no pong"
        await asyncio.sleep(0.01)


async def closed_with(sock: Socket, timeout: float = 15) -> tuple[int | None, float]:
    """The close code the server sent, and how long it took to arrive."""
    started = time.monotonic()
    assert sock._reader is not None
    await asyncio.wait_for(asyncio.shield(sock._reader), timeout)
    return sock.closed_code, time.monotonic() - started


async def refused(base_url: str, client: Browserless) -> int | None:
    """What a new socket with this client's cookie gets: 4401 once access has ended."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(
        base_url.replace("http", "ws", 1) + "ws/", additional_headers=client.ws_headers()
    ) as ws:
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        return ws.close_code


async def test_deactivating_an_account_closes_all_its_sockets_with_4401(server):
    admin, bob_a, bob_b = (Browserless(server.url) for _ in range(3))
    admin.signup("admin")  # the first account is the administrator
    bob_a.signup("bob")
    assert bob_b.login("bob") == 200
    admin_sock = await Socket.open(server.url, admin, "admin")
    tabs = [await Socket.open(server.url, c, f"bob-{i}") for i, c in enumerate((bob_a, bob_b))]

    started = time.monotonic()
    await asyncio.to_thread(deactivate, admin, "bob")
    results = [await closed_with(tab) for tab in tabs]
    latency = time.monotonic() - started
    print(f"deactivation (admin pages included) to both closes: {latency:.3f} s")

    assert [code for code, _ in results] == [4401, 4401]
    assert not any(tab.seen("message") for tab in tabs)
    await still_open(admin_sock)  # only bob lost access
    assert await refused(server.url, bob_a) == 4401  # and cannot come back
    await admin_sock.close()


async def test_logging_out_closes_only_that_sessions_sockets(server):
    laptop, phone = Browserless(server.url), Browserless(server.url)
    laptop.signup("alice")
    assert phone.login("alice") == 200
    laptop_tabs = [await Socket.open(server.url, laptop, f"laptop-{i}") for i in range(2)]
    phone_sock = await Socket.open(server.url, phone, "phone")

    await asyncio.to_thread(log_out, laptop)
    codes = [(await closed_with(tab))[0] for tab in laptop_tabs]

    assert codes == [4401, 4401]
    await still_open(phone_sock)
    await phone_sock.join("general")
    ack = await phone_sock.say("still here", room="general")
    await phone_sock.expect("message", id=ack["id"])
    await phone_sock.close()


async def test_changing_the_password_closes_every_other_session_but_not_this_one(server):
    here, elsewhere, bob = Browserless(server.url), Browserless(server.url), Browserless(server.url)
    here.signup("alice")
    bob.signup("bob")
    assert elsewhere.login("alice") == 200
    here_sock = await Socket.open(server.url, here, "here")
    other_sock = await Socket.open(server.url, elsewhere, "elsewhere")
    bob_sock = await Socket.open(server.url, bob, "bob")

    await asyncio.to_thread(change_password, here, PASSWORD, "a-new-horse-staple")

    code, _ = await closed_with(other_sock)
    assert code == 4401
    await still_open(here_sock)  # the socket opened before the change, in this session
    await still_open(bob_sock)
    assert await refused(server.url, elsewhere) == 4401
    # This session stays signed in: a new socket opens (Django cycled its key, kept it valid).
    again = await Socket.open(server.url, here, "here-again")
    for sock in (here_sock, again, bob_sock):
        await sock.close()
