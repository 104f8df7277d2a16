"""Renaming a room (issue 14: the install's ``general`` is renameable), over the real ASGI
stack: who may, what every member sees at once, what the old name leads to, and that the
room's history stays. docs/protocol.md, "Renaming a room"."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from chatserver.asgi import application
from chatserver.chat.models import Room, RoomFormerName
from chatserver.chat.services.rooms import memberships_at_signup
from tests.support.ws import ORIGIN, ChatClient, make_user, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def signed_up(username: str, *, first: bool = False, **extra):
    """An account as sign-up makes it: the first is the administrator and brings ``general``."""
    fields = {"is_staff": first, "is_superuser": first, **extra}
    user = get_user_model().objects.create_user(username, password="pw-for-tests-1", **fields)
    memberships_at_signup(user_id=user.pk, first=first)
    return user


@database_sync_to_async
def room_names() -> list[str]:
    return list(Room.objects.order_by("name").values_list("name", flat=True))


@database_sync_to_async
def set_user(user, **fields) -> None:
    get_user_model().objects.filter(pk=user.pk).update(**fields)


async def rename(client: ChatClient, room: str, name: str) -> None:
    await client.send({"type": "rename", "room": room, "name": name})


async def nothing_renamed_before(client: ChatClient, marker: str) -> None:
    """The marker message (sent to the room after the refused rename) arrives with no
    ``renamed`` before it: the refusal reached nobody."""
    seen = await client.frames_until("message", body=marker)
    assert [f for f in seen if f["type"] == "renamed"] == [], seen


async def test_every_member_sees_the_new_name_at_once_and_keeps_the_history():
    admin = await signed_up("admin", first=True)
    bob = await signed_up("bob")
    outsider = await make_user("outsider")
    a = await ChatClient.connect(admin)
    b1, b2 = await ChatClient.connect(bob), await ChatClient.connect(bob)  # two tabs
    o = await ChatClient.connect(outsider)
    before = await a.say("said in general", client_id="g1", room="general")

    await rename(a, "general", "Lobby")

    for client in (a, b1, b2):
        assert await client.expect("renamed") == {
            "type": "renamed",
            "room": "general",
            "name": "Lobby",
        }
    assert await room_names() == ["Lobby"]
    # Under the new name (compared without case): same room, same messages, same members.
    await b1.say("said in Lobby", client_id="l1", room="lobby")
    for client in (a, b1, b2):
        message = await client.expect("message", client_id="l1")
        assert message["room"] == "Lobby"
    await b2.send({"type": "history", "room": "Lobby"})
    history = await b2.expect("history")
    assert [m["id"] for m in history["messages"]][:1] == [before["id"]]
    await b2.send({"type": "conversations"})
    assert [r["room"] for r in (await b2.expect("conversations"))["rooms"]] == ["Lobby"]
    # Typing follows the new name on every connection too.
    await a.send({"type": "typing", "room": "Lobby"})
    assert (await b1.expect("typing"))["room"] == "Lobby"
    # The old name says where the room went, and creates nothing unasked.
    await o.send({"type": "join", "room": "General", "create": False})
    error = await o.expect("error")
    assert error["code"] == "unknown_room" and error["renamed_to"] == "Lobby", error
    assert error["room"] == "General"
    # A page that has not heard of the rename yet sends under the old name: stored in the
    # room for a member (refused, it would be lost), and everyone gets it under the new name.
    await b1.say("old name", client_id="x", room="general")
    for client in (a, b1, b2):
        message = await client.expect("message", client_id="x")
        assert message["room"] == "Lobby" and message["body"] == "old name"
    # Its read marker too: stored, and every tab of that person is told under the new name.
    await b1.send({"type": "read", "room": "general", "id": message["id"]})
    for client in (b1, b2):
        assert await client.expect("read") == {"type": "read", "room": "Lobby", "id": message["id"]}
    # Not for someone who is not a member: the old name tells them nothing, stores nothing.
    await o.send({"type": "send", "room": "general", "body": "outsider", "client_id": "y"})
    error = await o.expect("error")
    assert error["code"] == "unknown_room" and error["ref"] == "y", error
    assert "renamed_to" not in error and "Lobby" not in error["detail"], error
    await o.send({"type": "read", "room": "general", "id": message["id"]})
    error = await o.expect("error")
    assert error["code"] == "unknown_room" and "renamed_to" not in error, error
    # The outsider, not a member, was told nothing of the rename.
    await o.send({"type": "ping"})
    seen = await o.frames_until("pong")
    assert [f for f in seen if f["type"] == "renamed"] == []
    assert await room_names() == ["Lobby"]
    for client in (a, b1, b2, o):
        await client.close()


async def test_a_new_member_of_the_renamed_room_joins_it_under_its_new_name():
    admin = await signed_up("admin", first=True)
    a = await ChatClient.connect(admin)
    await rename(a, "general", "Lobby")
    await a.expect("renamed")
    # The mark is a flag, not a name: a later sign-up joins the renamed room.
    carol = await signed_up("carol")
    c = await ChatClient.connect(carol)
    await c.send({"type": "conversations"})
    assert [r["room"] for r in (await c.expect("conversations"))["rooms"]] == ["Lobby"]
    await a.close()
    await c.close()


@pytest.mark.parametrize("who", ["ordinary member", "former member", "staff non-member"])
async def test_only_an_administrator_who_is_a_member_may_rename(who):
    admin = await signed_up("admin", first=True)
    bob = await signed_up("bob")
    a, b = await ChatClient.connect(admin), await ChatClient.connect(bob)
    if who == "ordinary member":
        actor, expected = b, "not_allowed"
    elif who == "former member":
        actor, expected = (
            await ChatClient.connect(await signed_up("other", is_staff=True)),
            "not_joined",
        )
        await actor.send({"type": "leave", "room": "general"})
        await actor.expect("membership", action="leave")
    else:  # an administrator who never joined it
        actor, expected = (
            await ChatClient.connect(await make_user("other", is_staff=True)),
            "not_joined",
        )

    await rename(actor, "general", "mine now")
    error = await actor.expect("error")
    assert error["code"] == expected and error["ref"] == "rename", error
    assert await room_names() == ["general"]
    await a.say("marker", client_id="m", room="general")
    for client in (a, b):
        await nothing_renamed_before(client, "marker")
    for client in {a, b, actor}:
        await client.close()


async def test_a_deactivated_administrator_cannot_rename_nor_connect():
    admin = await signed_up("admin", first=True)
    bob = await signed_up("bob")
    a, b = await ChatClient.connect(admin), await ChatClient.connect(bob)
    await set_user(admin, is_active=False)  # deactivated while a socket was open
    await rename(a, "general", "gone")
    assert (await a.expect("error"))["code"] == "not_allowed"
    await b.say("marker", client_id="m", room="general")
    await nothing_renamed_before(b, "marker")
    assert await room_names() == ["general"]
    await a.close()
    # A new socket of theirs is closed at once, before any frame (so no rename either).
    cookie = await session_cookie_for(admin)
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[
            (b"origin", ORIGIN),
            (b"host", b"127.0.0.1"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()
    await b.close()


async def test_names_that_cannot_be_taken_are_refused_in_words():
    admin = await signed_up("admin", first=True)
    a = await ChatClient.connect(admin)
    await a.join("sales")
    for name, code in [
        ("Sales", "room_exists"),
        ("x" * 65, "bad_room_name"),
        ("   ", "bad_room_name"),
    ]:
        await rename(a, "general", name)
        error = await a.expect("error")
        assert error["code"] == code, (name, error)
    await a.send({"type": "rename", "room": "general"})
    assert (await a.expect("error"))["code"] == "missing_field"
    await a.send({"type": "rename", "room": "1:2", "name": "dm"})  # a DM is not a room
    assert (await a.expect("error"))["code"] == "unknown_room"
    assert await room_names() == ["general", "sales"]
    await a.close()


async def test_renaming_back_and_changing_only_the_case_keep_one_name_per_room():
    admin = await signed_up("admin", first=True)
    a = await ChatClient.connect(admin)
    await rename(a, "general", "lobby")
    await a.expect("renamed", name="lobby")
    await rename(a, "lobby", "general")
    await a.expect("renamed", name="general")
    # Back under its first name: no link points elsewhere any more.
    await rename(a, "general", "General")
    await a.expect("renamed", room="general", name="General")
    assert await room_names() == ["General"]
    former = await database_sync_to_async(
        lambda: sorted(RoomFormerName.objects.values_list("name", flat=True))
    )()
    assert former == ["lobby"]
    await a.close()


async def test_the_tutorial_link_to_the_old_name_leads_to_the_room():
    admin = await signed_up("admin", first=True)
    a = await ChatClient.connect(admin)
    await rename(a, "general", "Lobby")
    await a.expect("renamed")
    await a.close()

    @database_sync_to_async
    def get(path: str, user=None):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client.get(path)

    reply = await get("/chat/general/", admin)
    assert reply.status_code == 302 and reply["Location"] == "/chat/Lobby/"
    assert (await get("/chat/Lobby/", admin)).status_code == 200
    # Logged out: the log-in page, and not a word about the room.
    reply = await get("/chat/general/")
    assert reply.status_code == 302 and reply["Location"].startswith("/accounts/login/")
    assert await room_names() == ["Lobby"]
