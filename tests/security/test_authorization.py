"""Who may do what, over HTTP and over the WebSocket: anonymous, ordinary user, staff.

The rule that matters most: a direct message is readable by its two people only. Neither a
colleague nor an administrator can read, join, page or resume into another pair's DM.
"""

from __future__ import annotations

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from chatserver.asgi import application
from chatserver.chat.models import dm_key
from tests.support.ws import ORIGIN, ChatClient, make_user

SECRET = "the-secret-between-alice-and-bob"


# --- HTTP -------------------------------------------------------------------------------------


def http_client(role: str) -> Client:
    client = Client()
    if role != "anonymous":
        user = get_user_model().objects.create_user(
            role,
            password="pw-for-tests-1",
            is_staff=role == "staff",
            is_superuser=role == "staff",
        )
        client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "anonymous", "ordinary", "staff"),
    [
        ("/", 302, 200, 200),
        ("/chat/", 302, 200, 200),
        ("/chat/general/", 302, 200, 200),
        ("/accounts/password/", 302, 200, 200),
        ("/admin/", 302, 302, 200),
        ("/admin/auth/user/", 302, 302, 200),
        ("/healthz", 200, 200, 200),
        ("/accounts/login/", 200, 302, 302),
    ],
)
def test_http_matrix(path, anonymous, ordinary, staff):
    # Someone has an account (a fresh install sends everyone to create the first one).
    get_user_model().objects.create_user("someone")
    for role, expected in (("anonymous", anonymous), ("ordinary", ordinary), ("staff", staff)):
        reply = http_client(role).get(path)
        assert reply.status_code == expected, f"{role} GET {path}"
        if expected == 302 and role != "staff" and path != "/accounts/login/":
            assert reply["Location"].startswith(("/admin/login/", "/accounts/login/"))


@pytest.mark.django_db
def test_staff_without_superuser_rights_cannot_manage_accounts():
    user = get_user_model().objects.create_user("helper", password="pw-for-tests-1", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 403


@pytest.mark.django_db
def test_messages_are_not_browsable_in_the_admin():
    """Administrators manage accounts; the admin offers no view of anyone's messages."""
    client = http_client("staff")
    assert client.get("/admin/chat/message/").status_code == 404


# --- WebSocket --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_anonymous_websocket_gets_nothing_but_a_4401_close():
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", ORIGIN), (b"host", b"127.0.0.1")]
    )
    # Accepted only so that the close code reaches a browser (docs/protocol.md), and closed
    # before a single frame: no hello, no conversations, nothing of anyone's.
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def frames_until_pong(client: ChatClient) -> list[dict]:
    await client.send({"type": "ping"})
    frames = []
    while True:
        frame = await client.recv(timeout=5)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_nobody_else_can_read_join_page_or_resume_into_a_dm():
    alice, bob = await make_user("alice"), await make_user("bob")
    carol = await make_user("carol")
    root = await make_user("root", is_staff=True, is_superuser=True)
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    first = await a.say(SECRET, client_id="s1", to="bob")
    assert (await b.expect("message"))["body"] == SECRET

    for outsider in (carol, root):
        o = await ChatClient.connect(outsider)
        seen: list[dict] = []
        for frame in (
            {"type": "history", "with": "alice"},
            {"type": "history", "with": "bob"},
            {"type": "history", "with": "alice", "before": first["id"] + 1},
            {"type": "history", "with": "bob", "before": 2**62, "limit": 100},
            {"type": "resume", "since": 0},
            {"type": "join", "room": dm_key(alice.pk, bob.pk)},
            {"type": "join", "room": "alice:bob"},
            {"type": "read", "with": "alice", "id": first["id"]},
            {"type": "typing", "to": "alice"},
            {"type": "conversations"},
            {"type": "history", "room": dm_key(alice.pk, bob.pk)},
        ):
            await o.send(frame)
            seen += await frames_until_pong(o)
        # A DM sent while the outsider is connected does not reach them either.
        await a.say(SECRET + "-live", client_id=f"live-{outsider.username}", to="bob")
        seen += await o.drain(timeout=0.3)
        seen += await frames_until_pong(o)
        text = json.dumps(seen)
        assert SECRET not in text, f"{outsider.username} saw the DM"
        conversations = [f for f in seen if f["type"] == "conversations"][-1]
        assert conversations["dms"] == []
        # Their own DM with alice works and stays theirs.
        await o.say("hello alice", client_id="own", to="alice")
        await o.send({"type": "history", "with": "alice"})
        history = await o.expect("history")
        assert [m["body"] for m in history["messages"]] == ["hello alice"]
        await o.close()

    # bob, one of the pair, does see it: the check above is not vacuous.
    await b.send({"type": "history", "with": "alice"})
    history = await b.expect("history")
    assert SECRET in [m["body"] for m in history["messages"]]
    await a.close()
    await b.close()
