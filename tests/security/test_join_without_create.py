"""The `create: false` join (issue 14): it finds rooms, never makes one, and opens no other way in.

For each kind of outsider: a non-member and a former member of a room, a third party trying a
DM's key as a room name, a logged-out socket and a deactivated account.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chatserver.asgi import application
from chatserver.chat.models import Membership, Room, dm_key
from tests.support.ws import ORIGIN, ChatClient, make_user, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SECRET = "only-for-the-pair"


@database_sync_to_async
def room_names() -> list[str]:
    return sorted(Room.objects.values_list("name", flat=True))


@database_sync_to_async
def is_member(user, name: str) -> bool:
    return Membership.objects.filter(user=user, room__name=name).exists()


async def test_a_missing_room_is_refused_and_not_created():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.send({"type": "join", "room": "  typo ", "create": False})
    error = await a.expect("error")
    assert error["code"] == "unknown_room"
    assert error["room"] == "typo"
    assert error["ref"] == "join"
    assert await room_names() == []
    # Confirmed: now it is made, under the same cleaned name.
    await a.send({"type": "join", "room": "typo", "create": True})
    assert (await a.expect("joined"))["room"] == "typo"
    await a.close()


async def test_a_non_member_and_a_former_member_join_an_existing_room_as_before():
    alice, bob = await make_user("alice"), await make_user("bob")
    a = await ChatClient.connect(alice)
    await a.join("Sales")
    await a.say("numbers", client_id="n1", room="Sales")
    b = await ChatClient.connect(bob)
    await b.send({"type": "join", "room": "sales", "create": False})
    joined = await b.expect("joined")
    assert joined["room"] == "Sales"  # rooms are public: the stored spelling, its history
    assert [m["body"] for m in joined["messages"]] == ["numbers"]
    await b.send({"type": "leave", "room": "Sales"})
    await b.expect("membership", action="leave")
    assert not await is_member(bob, "Sales")
    await b.send({"type": "join", "room": "Sales", "create": False})
    assert (await b.expect("joined"))["room"] == "Sales"
    assert await is_member(bob, "Sales")
    assert await room_names() == ["Sales"]
    await a.close()
    await b.close()


async def test_a_third_party_cannot_reach_a_dm_by_joining_its_key():
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a = await ChatClient.connect(alice)
    await a.say(SECRET, client_id="s1", to="bob")
    c = await ChatClient.connect(carol)
    seen = []
    for name in (dm_key(alice.pk, bob.pk), "alice:bob", "bob"):
        await c.send({"type": "join", "room": name, "create": False})
        error = await c.expect("error")
        assert error["code"] == "unknown_room", error
        seen.append(error)
    seen += await c.drain(0.3)
    assert SECRET not in json.dumps(seen)
    assert await room_names() == []
    await a.close()
    await c.close()


async def _closed_before_any_frame(cookie: str | None) -> None:
    headers = [(b"origin", ORIGIN), (b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    if connected:
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4401,
        }
        # Nothing is read from such a socket: a join sent now creates nothing.
        await communicator.send_to(text_data=json.dumps({"type": "join", "room": "x"}))
        assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_logged_out_and_deactivated_sockets_cannot_join_at_all():
    await _closed_before_any_frame(None)
    dora = await make_user("dora")
    cookie = await session_cookie_for(dora)
    dora.is_active = False
    await database_sync_to_async(dora.save)()
    await _closed_before_any_frame(cookie)
    assert await room_names() == []
