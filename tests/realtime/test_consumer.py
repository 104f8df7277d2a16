"""The WebSocket protocol, frame by frame, through the real ASGI stack (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from chatserver.chat.models import Message
from tests.support.ws import ChatClient, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def message_count() -> int:
    return Message.objects.count()


async def test_room_message_reaches_every_member_and_is_acked():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    ack = await a.say("hello bob", client_id="c1", room="general")
    assert isinstance(ack["id"], int)
    for client in (a, b):
        message = await client.expect("message")
        assert message["id"] == ack["id"]
        assert message["room"] == "general"
        assert message["user"] == "alice"
        assert message["body"] == "hello bob"
        assert message["client_id"] == "c1"
        assert message["ts"].endswith("Z")
    await a.close()
    await b.close()


async def test_join_returns_latest_fifty_oldest_first_and_online():
    alice, bob = await make_user("alice"), await make_user("bob")
    a = await ChatClient.connect(alice)
    await a.join("Отдел продаж")
    for i in range(55):
        await a.say(f"m{i}", client_id=f"c{i}", room="Отдел продаж")
    b = await ChatClient.connect(bob)
    joined = await b.join("отдел ПРОДАЖ")  # names are case-insensitive
    assert joined["room"] == "Отдел продаж"
    assert [m["body"] for m in joined["messages"]] == [f"m{i}" for i in range(5, 55)]
    assert joined["has_more"] is True
    assert joined["online"] == ["alice", "bob"]
    assert joined["unread"] == 55
    await a.close()
    await b.close()


async def test_history_pages_backwards_with_keyset():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.join("q3-plans")
    ids = [(await a.say(f"m{i}", client_id=f"c{i}", room="q3-plans"))["id"] for i in range(12)]
    await a.drain()
    await a.send({"type": "history", "room": "q3-plans", "before": ids[7], "limit": 5})
    page = await a.expect("history")
    assert [m["id"] for m in page["messages"]] == ids[2:7]
    assert page["has_more"] is True
    await a.send({"type": "history", "room": "q3-plans", "before": ids[2], "limit": 5})
    page = await a.expect("history")
    assert [m["id"] for m in page["messages"]] == ids[:2]
    assert page["has_more"] is False
    await a.close()


async def test_direct_message_reaches_both_users_all_tabs_and_nobody_else():
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a = await ChatClient.connect(alice)
    b1, b2 = await ChatClient.connect(bob), await ChatClient.connect(bob)
    c = await ChatClient.connect(carol)
    for client in (a, b1, b2, c):
        await client.join("R&D")
    for client in (a, b1, b2, c):
        await client.drain()
    ack = await a.say("secret", client_id="dm1", to="bob")
    for client in (a, b1, b2):
        message = await client.expect("message")
        assert message["id"] == ack["id"]
        assert message["from"] == "alice" and message["to"] == "bob"
        assert "room" not in message
    # Anything alice's DM sent carol would come before alice's next room message.
    await a.say("marker", client_id="after-dm", room="R&D")
    seen = await c.frames_until("message", body="marker")
    assert all(f.get("body") != "secret" for f in seen)
    # Carol cannot page, resume or read her way into it either.
    await c.send({"type": "history", "with": "bob", "before": None, "limit": 50})
    page = await c.expect("history")
    assert page["messages"] == []
    await c.send({"type": "resume", "since": 0})
    resumed = await c.expect("resumed")
    assert all(m.get("body") != "secret" for m in resumed["messages"])
    for client in (a, b1, b2, c):
        await client.close()


async def test_pm_command_in_a_room_is_a_stored_direct_message():
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a, b, c = [await ChatClient.connect(u) for u in (alice, bob, carol)]
    for client in (a, b, c):
        await client.join("general")
    for client in (a, b, c):
        await client.drain()
    ack = await a.say("/pm bob lunch?", client_id="p1", room="general")
    message = await b.expect("message")
    assert message == {**message, "id": ack["id"], "from": "alice", "to": "bob", "body": "lunch?"}
    await a.say("marker", client_id="after-pm", room="general")
    seen = await c.frames_until("message", body="marker")
    assert [f["body"] for f in seen if f["type"] == "message"] == ["marker"]
    await b.send({"type": "history", "with": "alice", "before": None, "limit": 10})
    assert [m["body"] for m in (await b.expect("history"))["messages"]] == ["lunch?"]
    for client in (a, b, c):
        await client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('"text"', "bad_frame"),
        ("NaN", "bad_json"),
        (json.dumps({"no": "type"}), "missing_field"),
        (json.dumps({"type": "fly"}), "unknown_type"),
        (json.dumps({"type": 5}), "missing_field"),
        (json.dumps({"type": "join"}), "missing_field"),
        (json.dumps({"type": "join", "room": 7}), "bad_field"),
        (json.dumps({"type": "join", "room": ""}), "bad_room_name"),
        (json.dumps({"type": "join", "room": "x" * 65}), "bad_room_name"),
        (json.dumps({"type": "join", "room": "evil\u202eroom"}), "bad_room_name"),
        (json.dumps({"type": "send", "room": "general", "body": "hi"}), "missing_field"),
        (
            json.dumps({"type": "send", "room": "general", "body": "   ", "client_id": "e1"}),
            "empty_body",
        ),
        (
            json.dumps({"type": "send", "room": "general", "body": "x" * 4001, "client_id": "e2"}),
            "body_too_long",
        ),
        (json.dumps({"type": "send", "body": "hi", "client_id": "e3"}), "missing_field"),
        (
            json.dumps(
                {"type": "send", "room": "general", "to": "bob", "body": "hi", "client_id": "e4"}
            ),
            "missing_field",
        ),
        (
            json.dumps({"type": "send", "room": "nowhere", "body": "hi", "client_id": "e5"}),
            "unknown_room",
        ),
        (
            json.dumps({"type": "send", "room": "elsewhere", "body": "hi", "client_id": "e6"}),
            "not_joined",
        ),
        (
            json.dumps({"type": "send", "to": "nobody", "body": "hi", "client_id": "e7"}),
            "unknown_user",
        ),
        (
            json.dumps({"type": "send", "to": "alice", "body": "hi", "client_id": "e8"}),
            "dm_to_self",
        ),
        (
            json.dumps({"type": "send", "room": "general", "body": "/pm bob", "client_id": "e9"}),
            "empty_body",
        ),
        (
            json.dumps({"type": "send", "room": "general", "body": "/pm", "client_id": "e10"}),
            "missing_field",
        ),
        (
            json.dumps({"type": "send", "room": "general", "body": 5, "client_id": "e11"}),
            "bad_field",
        ),
        (json.dumps({"type": "history", "room": "general", "limit": 101}), "bad_field"),
        (json.dumps({"type": "history", "room": "general", "limit": True}), "bad_field"),
        (json.dumps({"type": "history", "room": "general", "before": -1}), "bad_field"),
        (json.dumps({"type": "history", "with": "alice"}), "dm_to_self"),
        (json.dumps({"type": "resume"}), "missing_field"),
        (json.dumps({"type": "resume", "since": "5"}), "bad_field"),
        (json.dumps({"type": "resume", "since": 10**30}), "bad_field"),
        (json.dumps({"type": "read", "room": "general"}), "missing_field"),
        (json.dumps({"type": "typing", "room": "elsewhere"}), "not_joined"),
        (json.dumps({"type": "leave", "room": "nowhere"}), "unknown_room"),
        (
            json.dumps({"type": "send", "room": "general", "body": "a\x00b", "client_id": "e12"}),
            "bad_field",
        ),
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_stays_open(frame, code):
    alice = await make_user("alice")
    await make_user("bob")
    other = await make_user("other")
    o = await ChatClient.connect(other)
    await o.join("elsewhere")
    a = await ChatClient.connect(alice)
    await a.join("general")
    await a.drain()
    await a.send(frame)
    error = await a.expect("error")
    assert error["code"] == code, error
    assert isinstance(error["detail"], str) and error["detail"]
    assert "ref" in error
    # Still connected and served.
    await a.send({"type": "ping"})
    await a.expect("pong")
    assert await message_count() == 0
    await a.close()
    await o.close()


async def test_error_ref_names_the_client_id_or_type():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.send({"type": "send", "room": "nowhere", "body": "x", "client_id": "abc"})
    assert (await a.expect("error"))["ref"] == "abc"
    await a.send({"type": "history", "room": "nowhere"})
    assert (await a.expect("error"))["ref"] == "history"
    await a.close()


async def test_a_server_bug_costs_one_error_with_the_frames_ref_and_the_socket_lives(monkeypatch):
    from chatserver.realtime import consumer

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(consumer, "history", broken)
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.join("general")
    await a.send({"type": "history", "room": "general"})
    error = await a.expect("error")
    assert error["code"] == "server_error" and error["ref"] == "history"
    await a.send({"type": "ping"})
    await a.expect("pong")
    await a.close()


async def test_binary_frames_are_refused_politely():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await a.expect("error"))["code"] == "bad_frame"
    await a.close()


async def test_resend_with_same_client_id_is_acked_once_and_stored_once():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.join("general")
    first = await a.say("once", client_id="same", room="general")
    second = await a.say("once", client_id="same", room="general")
    assert first["id"] == second["id"]
    assert await message_count() == 1
    await a.close()


async def test_resume_delivers_everything_missed_in_order(settings):
    # Exactly what was missed: one process needs no overlap (test_resume_overlap.py has it).
    settings.DESKCHAT = {**settings.DESKCHAT, "RESUME_OVERLAP_SECONDS": 0}
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    first = await a.say("before drop", client_id="r0", room="general")
    await b.close()  # bob's socket drops
    sent = [
        (await a.say(f"missed {i}", client_id=f"r{i + 1}", room="general"))["id"] for i in range(3)
    ]
    dm = await a.say("dm while away", client_id="rdm", to="bob")
    b = await ChatClient.connect(bob)
    await b.send({"type": "resume", "since": first["id"]})
    resumed = await b.expect("resumed")
    assert [m["id"] for m in resumed["messages"]] == [*sent, dm["id"]]
    assert resumed["has_more"] is False
    await a.close()
    await b.close()


async def test_presence_counts_connections_not_users():
    alice, bob = await make_user("alice"), await make_user("bob")
    b = await ChatClient.connect(bob)
    await b.join("general")
    a1 = await ChatClient.connect(alice)
    await a1.join("general")
    await b.expect("presence", room="general", online=["alice", "bob"])
    a2 = await ChatClient.connect(alice)  # second tab: already a member, already online
    await a1.close()  # returns once the server has handled the disconnect
    # Closing one of two tabs never shows alice offline (a batch that was already on its way
    # may repeat the same list; presence frames carry full state). carol's arrival is
    # announced after whatever the close caused.
    c = await ChatClient.connect(await make_user("carol"))
    await c.join("general")
    seen = await b.frames_until("presence", room="general", online=["alice", "bob", "carol"])
    assert all(f["online"] == ["alice", "bob"] for f in seen[:-1] if f["type"] == "presence")
    await c.close()
    await a2.close()
    await b.expect("presence", room="general", online=["bob"])
    await b.close()


async def test_typing_is_relayed_to_others_not_self():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    await a.drain()
    await a.send({"type": "typing", "room": "general"})
    typing = await b.expect("typing")
    assert typing == {"type": "typing", "room": "general", "user": "alice"}
    # A typing event for alice herself would be in her channel before her next message.
    # (sent, not said: say() would skip the frames before its ack)
    await a.send({"type": "send", "room": "general", "body": "marker", "client_id": "after-t"})
    assert all(f["type"] != "typing" for f in await a.frames_until("message", body="marker"))
    await a.send({"type": "typing", "to": "bob"})
    assert (await b.expect("typing"))["from"] == "alice"
    await a.close()
    await b.close()


async def test_read_marker_clears_unread_in_conversations():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    last = None
    for i in range(3):
        last = await a.say(f"m{i}", client_id=f"u{i}", room="general")
    dm = await a.say("psst", client_id="udm", to="bob")
    await b.drain()
    await b.send({"type": "conversations"})
    conv = await b.expect("conversations")
    assert conv["rooms"] == [
        {
            "room": "general",
            "unread": 3,
            "last_id": last["id"],
            "last_read_id": 0,
            "mentions": 0,
            "notify": "mentions",
        }
    ]
    assert conv["dms"][0]["with"] == "alice" and conv["dms"][0]["unread"] == 1
    assert conv["dms"][0]["online"] is True
    await b.send({"type": "read", "room": "general", "id": last["id"]})
    assert (await b.expect("read")) == {"type": "read", "room": "general", "id": last["id"]}
    await b.send({"type": "read", "with": "alice", "id": dm["id"]})
    await b.expect("read", id=dm["id"])
    await b.send({"type": "conversations"})
    conv = await b.expect("conversations")
    assert conv["rooms"][0]["unread"] == 0 and conv["dms"][0]["unread"] == 0
    await a.close()
    await b.close()


async def test_leave_stops_delivery_and_membership():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    await b.send({"type": "leave", "room": "general"})
    await b.expect("membership", action="leave")
    await a.say("anyone?", client_id="l1", room="general")
    # alice's DM to bob goes out after her room message: bob sees it, and only it.
    await a.say("marker", client_id="l-dm", to="bob")
    seen = await b.frames_until("message", body="marker")
    assert [f["body"] for f in seen if f["type"] == "message"] == ["marker"]
    await b.send({"type": "send", "room": "general", "body": "x", "client_id": "l2"})
    assert (await b.expect("error"))["code"] == "not_joined"
    await a.close()
    await b.close()


async def test_join_in_one_tab_is_followed_by_the_others():
    alice, bob = await make_user("alice"), await make_user("bob")
    a1, a2 = await ChatClient.connect(alice), await ChatClient.connect(alice)
    b = await ChatClient.connect(bob)
    await b.join("general")
    await a1.join("general")
    await a2.expect("membership", action="join", room="general")
    await b.say("hi", client_id="t1", room="general")
    assert (await a2.expect("message"))["body"] == "hi"
    for client in (a1, a2, b):
        await client.close()


async def test_foreign_origin_is_refused():
    alice = await make_user("alice")
    with pytest.raises(AssertionError, match="refused"):
        await ChatClient.connect(alice, origin=b"http://evil.example")


async def test_messages_with_markup_are_stored_and_sent_as_plain_text():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.join("general")
    body = "<img src=x onerror=alert(1)> & <b>bold</b>"
    await a.say(body, client_id="x1", room="general")
    assert (await a.expect("message"))["body"] == body
    await a.close()


async def test_presence_changes_in_a_burst_are_announced_together():
    names = [f"user{i}" for i in range(6)]
    people = [await make_user(name) for name in names]
    bob = await make_user("bob")
    for user in people:  # members of the room, then offline
        client = await ChatClient.connect(user)
        await client.join("general")
        await client.close()
    b = await ChatClient.connect(bob)
    await b.join("general")
    await b.drain(0.5)
    everyone = sorted([*names, "bob"])
    clients = await asyncio.gather(*(ChatClient.connect(user) for user in people))
    frames = []
    while not (frames and frames[-1].get("online") == everyone):
        frames.append(await b.recv(timeout=10))
    frames += await b.drain(0.5)
    users: dict[str, bool] = {}
    for frame in frames:
        if frame["type"] == "user_presence":
            users.update(frame["users"])
    assert users == dict.fromkeys(names, True)
    # Six people arriving together cost fewer than six frames of each kind.
    assert len([f for f in frames if f["type"] == "presence"]) < len(names)
    assert len([f for f in frames if f["type"] == "user_presence"]) < len(names)
    for client in clients:
        await client.close()
    await b.expect("presence", room="general", online=["bob"], timeout=10)
    await b.close()


@pytest.mark.memory_layer
async def test_a_socket_open_for_days_still_gets_room_messages():
    """Channels forgets group members after 24 h by default; a desktop window stays open."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    await b.drain()
    # Age every group membership by three days.
    for members in layer.groups.values():
        for channel in members:
            members[channel] -= 3 * 24 * 3600
    layer._cleaned_at = 0.0  # let the next send run its expiry sweep
    await a.say("still there?", client_id="days", room="general")
    assert (await b.expect("message"))["body"] == "still there?"
    await a.close()
    await b.close()


@pytest.mark.memory_layer
async def test_a_socket_that_speaks_renews_its_group_memberships(monkeypatch):
    """channels_redis forgets members after 24 h; any frame renews them once an hour."""
    from channels.layers import get_channel_layer

    from chatserver.realtime import subscriptions

    layer = get_channel_layer()
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.join("general")
    group = next(name for name in layer.groups if name.startswith("room-"))
    (channel,) = layer.groups[group]
    layer.groups[group][channel] -= 5000  # joined long ago
    aged = layer.groups[group][channel]
    monkeypatch.setattr(subscriptions, "GROUP_REFRESH_SECONDS", 0.0)
    await a.send({"type": "ping"})
    await a.expect("pong")
    assert layer.groups[group][channel] > aged + 4000
    await a.close()
