"""``history`` with ``after``: paging towards the latest from an old message (docs/protocol.md,
"history after a message"), through the real ASGI stack; who may ask, and bad values.
Rerun on PostgreSQL by tests/scale/test_protocol_on_engines.py."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chatserver.asgi import application
from tests.support.ws import ORIGIN, ChatClient, make_user, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def page(client: ChatClient, **fields) -> dict:
    await client.send({"type": "history", **fields})
    return await client.expect("history")


async def refusal(client: ChatClient, **fields) -> dict:
    await client.send({"type": "history", **fields})
    return await client.expect("error")


def ids(frame: dict) -> list[int]:
    return [m["id"] for m in frame["messages"]]


async def room_with(client: ChatClient, room: str, count: int) -> list[int]:
    await client.join(room)
    return [
        (await client.say(f"{room} {n}", client_id=f"{room}-{n}", room=room))["id"]
        for n in range(count)
    ]


async def test_pages_from_an_old_message_to_the_latest_in_order_without_gaps():
    alice, bob = await make_user("alice"), await make_user("bob")
    a = await ChatClient.connect(alice)
    sent = await room_with(a, "r", 25)
    await room_with(a, "elsewhere", 3)  # interleaved ids of another room never show
    sent += [(await a.say(f"r {n}", client_id=f"late-{n}", room="r"))["id"] for n in (25, 26)]

    first = await page(a, room="r", after=sent[4], limit=10)
    assert first == {
        "type": "history",
        "room": "r",
        "before": None,
        "after": sent[4],
        "messages": first["messages"],
        "has_more": True,
    }
    assert ids(first) == sent[5:15]
    assert [m["body"] for m in first["messages"]] == [f"r {n}" for n in range(5, 15)]
    # Paged on from the last id, to the end: every message once, in order.
    seen, after = ids(first), sent[14]
    while True:
        next_page = await page(a, room="r", after=after, limit=10)
        seen += ids(next_page)
        if not next_page["has_more"]:
            break
        after = next_page["messages"][-1]["id"]
    assert seen == sent[5:]
    # After the newest: nothing, and nothing more. From 0: the very first ones.
    newest = await page(a, room="r", after=sent[-1])
    assert (newest["messages"], newest["has_more"]) == ([], False)
    assert ids(await page(a, room="r", after=0, limit=3)) == sent[:3]
    # A DM, by the peer's name; the same shape.
    dm = [(await a.say(f"dm {n}", client_id=f"dm-{n}", to="bob"))["id"] for n in range(3)]
    b = await ChatClient.connect(bob)
    from_bob = await page(b, **{"with": "alice", "after": dm[0]})
    assert from_bob["with"] == "alice" and ids(from_bob) == dm[1:]
    assert from_bob["has_more"] is False
    await a.close()
    await b.close()


@database_sync_to_async
def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


async def test_only_those_who_may_read_the_conversation_get_a_page():
    """Non-member, former member, third party in a DM, deactivated, logged out: nothing of
    the conversation, and no more said than any history page says."""
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    dave = await make_user("dave")
    a, b, c = [await ChatClient.connect(u) for u in (alice, bob, carol)]
    secret = await room_with(a, "secret plans", 3)
    dm = [(await a.say(f"between us {n}", client_id=f"dm-{n}", to="bob"))["id"] for n in (0, 1)]
    await c.join("secret plans")
    await c.send({"type": "leave", "room": "secret plans"})

    # Bob never joined; Carol left: the room's refusal, as for any history page.
    for outsider in (b, c):
        error = await refusal(outsider, room="secret plans", after=0)
        assert error["code"] == "not_joined"
        assert "secret plans 0" not in json.dumps(error)
    # Carol, third in Alice and Bob's DM: asking "with" either of them is her own DM.
    for peer in ("alice", "bob"):
        own = await page(c, **{"with": peer, "after": 0})
        assert own["messages"] == [] and own["has_more"] is False
    # Ids of other conversations say nothing either: only this one's messages, if any.
    mine = await page(c, **{"with": "alice", "after": dm[0] - 1})
    assert mine["messages"] == []
    assert ids(await page(a, room="secret plans", after=secret[0])) == secret[1:]

    # A deactivated peer's DM is closed to history, like before/around.
    await deactivate(bob)
    gone = await refusal(a, **{"with": "bob", "after": 0})
    assert gone["code"] == "unknown_user"
    # A deactivated account's socket is closed, and it cannot connect again.
    closed = await b.communicator.receive_output(timeout=5)
    while closed["type"] != "websocket.close":
        closed = await b.communicator.receive_output(timeout=5)
    assert closed["code"] == 4401
    cookie = await session_cookie_for(bob)
    for who, cookie_value in (("deactivated", cookie), ("logged out", "")):
        communicator = WebsocketCommunicator(
            application,
            "/ws/",
            headers=[
                (b"origin", ORIGIN),
                (b"host", b"127.0.0.1"),
                (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie_value}".encode()),
            ],
        )
        connected, _ = await communicator.connect(timeout=5)
        if connected:
            await communicator.send_to(
                text_data=json.dumps({"type": "history", "with": "alice", "after": 0})
            )
            output = await communicator.receive_output(timeout=5)
            assert output == {"type": "websocket.close", "code": 4401}, who
        await communicator.disconnect()
    await ChatClient.connect(dave)  # the server still serves others
    await a.close()
    await c.close()


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"after": -1}, "out of range"),
        ({"after": "12"}, "must be an integer"),
        ({"after": 1.5}, "must be an integer"),
        ({"after": True}, "must be an integer"),
        ({"after": 2**63}, "out of range"),
        ({"after": 10**40}, "out of range"),
        ({"after": 3, "before": 9}, "only one of"),
        ({"after": 3, "around": 9}, "only one of"),
    ],
)
async def test_bad_values_are_refused_in_words_and_the_socket_stays(fields, says):
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.join("r")
    error = await refusal(a, room="r", **fields)
    assert error["code"] == "bad_field" and says in error["detail"], error
    assert "'after'" in error["detail"] or "only one of" in error["detail"]
    assert ids(await page(a, room="r", after=0)) == []  # still connected and answering
    await a.close()
