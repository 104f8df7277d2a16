"""The WebSocket protocol, frame by frame, through the real ASGI stack (docs/protocol.md)."""

from __future__ import annotations

import pytest

from tests.support.ws import ChatClient, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


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
