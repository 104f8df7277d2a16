"""Mentions, notification levels and status over the socket (docs/protocol.md, issue 17)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from chatserver.realtime import consumer
from tests.support.ws import ChatClient, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def deactivate(username: str) -> None:
    get_user_model().objects.filter(username=username).update(is_active=False)


async def clients(*names: str) -> list[ChatClient]:
    return [await ChatClient.connect(await make_user(name)) for name in names]


async def status_of(client: ChatClient, kind: str, user: str, status: str) -> dict:
    """The next ``kind`` frame (``user_presence`` or ``presence``) saying ``user`` has
    ``status``; a batch may name others too."""
    while True:
        frame = await client.expect(kind)
        if frame["status"].get(user) == status:
            return frame


async def close(*found: ChatClient) -> None:
    for client in found:
        await client.close()


async def test_the_server_computes_mentions_of_people_who_can_read_the_room():
    a, b, c = await clients("alice", "bob", "carol")
    await a.join("general")
    await b.join("general")
    body = "hi @bob, and @carol (not here), mail ann@bob.org, @alice, @nobody."
    ack = await a.say(body, client_id="m1", room="general")
    live = await b.expect("message", id=ack["id"])
    assert live["mentions"] == ["bob"]  # carol is no member, alice is the sender
    plain = await a.say("no mention here", client_id="m2", room="general")
    assert (await b.expect("message", id=plain["id"]))["mentions"] == []
    await b.send({"type": "history", "room": "general", "before": None, "limit": 10})
    page = await b.expect("history")
    assert [m["mentions"] for m in page["messages"]] == [["bob"], []]
    await b.send({"type": "resume", "since": 0})
    resumed = await b.expect("resumed")
    assert [m["mentions"] for m in resumed["messages"]] == [["bob"], []]
    joined = await c.join("general")
    assert [m["mentions"] for m in joined["messages"]] == [["bob"], []]
    await close(a, b, c)


async def test_at_room_expands_to_the_members_at_send_time():
    a, b, d, e = await clients("alice", "bob", "dave", "eve")
    for client in (a, b, d, e):
        await client.join("ops")
    await deactivate("eve")
    ack = await a.say("@room standup in 5", client_id="r1", room="ops")
    assert (await b.expect("message", id=ack["id"]))["mentions"] == ["bob", "dave"]
    # Someone who joins later is not mentioned by the old message.
    frank = await make_user("frank")
    f = await ChatClient.connect(frank)
    joined = await f.join("ops")
    assert joined["messages"][-1]["mentions"] == ["bob", "dave"]
    assert joined["mentions"] == 0
    await close(a, b, d, e, f)


async def test_a_dm_mentions_only_its_other_person():
    a, b, _c = await clients("alice", "bob", "carol")
    ack = await a.say("@bob @carol see this", client_id="d1", to="bob")
    assert (await b.expect("message", id=ack["id"]))["mentions"] == ["bob"]
    await close(a, b, _c)


async def test_conversations_count_unread_mentions_until_read():
    a, b = await clients("alice", "bob")
    await a.join("general")
    await b.join("general")
    await a.say("@bob one", client_id="c1", room="general")
    await a.say("not you", client_id="c2", room="general")
    last = await a.say("@room two", client_id="c3", room="general")
    dm = await a.say("@bob psst", client_id="c4", to="bob")
    await b.expect("message", id=dm["id"])
    await b.send({"type": "conversations"})
    sidebar = await b.expect("conversations")
    assert sidebar["rooms"][0]["mentions"] == 2 and sidebar["rooms"][0]["unread"] == 3
    assert sidebar["dms"][0]["mentions"] == 1
    await b.send({"type": "read", "room": "general", "id": last["id"]})
    await b.expect("read", room="general")
    await b.send({"type": "read", "with": "alice", "id": dm["id"]})
    await b.expect("read", id=dm["id"])
    await b.send({"type": "conversations"})
    sidebar = await b.expect("conversations")
    assert sidebar["rooms"][0]["mentions"] == 0 and sidebar["dms"][0]["mentions"] == 0
    # alice's own sidebar never counts her own messages.
    await a.send({"type": "conversations"})
    assert (await a.expect("conversations"))["rooms"][0]["mentions"] == 0
    await close(a, b)


async def test_notify_levels_default_and_reach_every_tab_of_their_user_only():
    alice, bob = await make_user("alice"), await make_user("bob")
    a = await ChatClient.connect(alice)
    b1, b2 = await ChatClient.connect(bob), await ChatClient.connect(bob)
    for client in (a, b1):
        await client.join("general")
    await a.say("hello", client_id="h1", to="bob")
    await b1.send({"type": "conversations"})
    sidebar = await b1.expect("conversations")
    assert sidebar["rooms"][0]["notify"] == "mentions" and sidebar["dms"][0]["notify"] == "all"
    await b1.send({"type": "notify", "room": "GENERAL", "level": "none"})
    wanted = {"type": "notify", "room": "general", "level": "none"}
    assert await b1.expect("notify") == wanted
    assert await b2.expect("notify") == wanted
    await b2.send({"type": "notify", "with": "alice", "level": "mentions"})
    for client in (b1, b2):
        assert await client.expect("notify", level="mentions") == {
            "type": "notify",
            "with": "alice",
            "level": "mentions",
        }
    # alice (the room's other member, the DM's other person) hears nothing of it.
    await b1.say("marker", client_id="mk", room="general")
    seen = await a.frames_until("message", body="marker")
    assert all(frame["type"] != "notify" for frame in seen)
    b3 = await ChatClient.connect(bob)
    await b3.send({"type": "conversations"})
    sidebar = await b3.expect("conversations")
    assert sidebar["rooms"][0]["notify"] == "none" and sidebar["dms"][0]["notify"] == "mentions"
    assert (await b3.join("general"))["notify"] == "none"
    await close(a, b1, b2, b3)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"room": "secret", "level": "all"}, "not_joined"),  # a room bob is not in
        ({"room": "left-it", "level": "all"}, "not_joined"),  # a former member
        ({"room": "nowhere", "level": "all"}, "unknown_room"),
        ({"with": "ghost", "level": "all"}, "unknown_user"),
        ({"with": "dora", "level": "all"}, "unknown_user"),  # deactivated
        ({"with": "bob", "level": "all"}, "dm_to_self"),
        ({"room": "general", "level": "loud"}, "bad_field"),
        ({"room": "general", "level": 3}, "bad_field"),
        ({"room": "general"}, "missing_field"),
        ({"room": "general", "with": "alice", "level": "all"}, "missing_field"),
    ],
)
async def test_notify_refusals(frame, code):
    a, b, _d = await clients("alice", "bob", "dora")
    await a.join("secret")
    await b.join("general")
    await b.join("left-it")
    await b.send({"type": "leave", "room": "left-it"})
    await b.expect("membership", action="leave")
    await deactivate("dora")
    await b.send({"type": "notify", **frame})
    error = await b.expect("error")
    assert error["code"] == code and error["ref"] == "notify"
    await b.send({"type": "ping"})
    await b.expect("pong")  # the connection lives on
    await close(a, b, _d)


async def test_members_lists_a_room_to_its_members_only():
    a, b, c, d = await clients("alice", "Bob", "carol", "dora")
    for client in (a, b, d):
        await client.join("team")
    await c.join("elsewhere")
    await deactivate("dora")
    await a.send({"type": "members", "room": "TEAM"})
    assert await a.expect("members") == {
        "type": "members",
        "room": "team",
        "members": ["alice", "Bob"],
    }
    await c.send({"type": "members", "room": "team"})
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.send({"type": "members", "room": "nowhere"})
    assert (await c.expect("error"))["code"] == "unknown_room"
    await b.send({"type": "leave", "room": "team"})
    await b.expect("membership", action="leave")
    await b.send({"type": "members", "room": "team"})
    assert (await b.expect("error"))["code"] == "not_joined"
    await close(a, b, c, d)


async def test_status_reaches_everyone_and_every_tab_and_comes_back_in_hello():
    alice, bob = await make_user("alice"), await make_user("bob")
    a1, a2 = await ChatClient.connect(alice), await ChatClient.connect(alice)
    b = await ChatClient.connect(bob)
    for client in (a1, b):
        await client.join("general")
    await a1.say("hi", client_id="s0", to="bob")
    await a1.send({"type": "status", "status": "dnd"})
    # The room's presence goes out first in the batch, then user_presence.
    presence = await status_of(b, "presence", "alice", "dnd")
    assert presence["room"] == "general" and presence["online"] == ["alice", "bob"]
    assert presence["status"] == {"alice": "dnd", "bob": "available"}
    for client in (a1, a2, b):
        frame = await status_of(client, "user_presence", "alice", "dnd")
        assert frame["users"]["alice"] is True
    await b.send({"type": "conversations"})
    assert (await b.expect("conversations"))["dms"][0]["status"] == "dnd"
    assert (await b.join("general"))["status"] == {"alice": "dnd", "bob": "available"}
    a3 = await ChatClient.connect(alice)  # a new tab learns the status set elsewhere
    assert a3.hello["status"] == "dnd"
    await close(a1, a2, a3, b)


async def test_hello_carries_the_status_and_the_idle_time(monkeypatch):
    monkeypatch.setitem(consumer.LIMITS, "AWAY_AFTER_SECONDS", 42)
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    assert a.hello["status"] == "available"
    assert a.hello["limits"]["away_after_seconds"] == 42
    await a.send({"type": "status", "status": "away"})
    await status_of(a, "user_presence", "alice", "away")
    for bad in ("sleeping", None, 1):
        await a.send({"type": "status", "status": bad})
        error = await a.expect("error")
        assert error["code"] in {"bad_field", "missing_field"} and error["ref"] == "status"
    again = await ChatClient.connect(alice)
    assert again.hello["status"] == "away"
    await close(a, again)


async def test_a_third_party_sets_only_their_own_level_and_learns_nothing():
    """carol naming bob in ``notify`` sets carol's own level for a DM with bob: alice and bob's
    DM keeps its levels, and neither of them hears of it."""
    a, b, c = await clients("alice", "bob", "carol")
    await a.say("just us", client_id="p1", to="bob")
    await c.send({"type": "notify", "with": "bob", "level": "none"})
    assert await c.expect("notify") == {"type": "notify", "with": "bob", "level": "none"}
    await c.say("marker", client_id="p2", to="bob")
    seen = await b.frames_until("message", body="marker")
    assert all(frame["type"] != "notify" for frame in seen)
    for client in (a, b):
        await client.send({"type": "conversations"})
        sidebar = await client.expect("conversations")
        assert all(entry["notify"] == "all" for entry in sidebar["dms"])
    await close(a, b, c)
