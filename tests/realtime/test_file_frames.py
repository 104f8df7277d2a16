"""``send`` with ``files`` and the ``files`` of every message object (docs/protocol.md,
"Files"): live, in ``joined``, ``history`` and ``resume``; and who may attach what."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chatserver.chat.models import Attachment, Room, dm_key
from tests.support.ws import ChatClient, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def uploaded(uploader, *, room: str | None = None, to=None, image: bool = False) -> int:
    """An upload as ``POST /files/`` leaves it (tests/chat/test_files.py covers that path)."""
    target = (
        {"room": Room.objects.get(name=room)} if room else {"dm_key": dm_key(uploader.pk, to.pk)}
    )
    extra = {"width": 64, "height": 48} if image else {}
    return Attachment.objects.create(
        uploader=uploader,
        name="shot.png" if image else "plan.pdf",
        size=1234,
        content_type="image/png" if image else "application/pdf",
        sha256="0" * 64,
        **target,
        **extra,
    ).pk


def file_object(file_id: int, *, image: bool = False) -> dict:
    found = {
        "id": file_id,
        "name": "shot.png" if image else "plan.pdf",
        "size": 1234,
        "type": "image/png" if image else "application/pdf",
        "url": f"/files/{file_id}/{'shot.png' if image else 'plan.pdf'}",
    }
    if image:
        found.update(thumb=f"/files/{file_id}/thumb/", width=64, height=48)
    return found


async def test_files_travel_live_and_in_joined_history_and_resume():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    shot, plan = (
        await uploaded(alice, room="general", image=True),
        await uploaded(alice, room="general"),
    )
    await a.send(
        {"type": "send", "room": "general", "body": "", "client_id": "f1", "files": [shot, plan]}
    )
    ack = await a.expect("ack", client_id="f1")
    expected = [file_object(shot, image=True), file_object(plan)]
    for client in (a, b):
        live = await client.expect("message", id=ack["id"])
        assert live["body"] == "" and live["files"] == expected
    plain = await a.say("no files here", client_id="p1", room="general")
    assert (await b.expect("message", id=plain["id"]))["files"] == []

    c = await ChatClient.connect(bob)
    joined = await c.join("general")
    assert [m["files"] for m in joined["messages"]] == [expected, []]
    await c.send({"type": "history", "room": "general", "before": plain["id"]})
    page = await c.expect("history")
    assert [m["files"] for m in page["messages"]] == [expected]
    await c.send({"type": "resume", "since": 0})
    resumed = await c.expect("resumed")
    assert [m["files"] for m in resumed["messages"]] == [expected, []]
    # A retry of the same client_id answers the original, files included, and stores nothing.
    await a.send(
        {"type": "send", "room": "general", "body": "", "client_id": "f1", "files": [shot, plan]}
    )
    assert (await a.expect("ack", client_id="f1"))["id"] == ack["id"]
    for client in (a, b, c):
        await client.close()


async def test_dm_files_reach_both_people():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    doc = await uploaded(alice, to=bob)
    await a.send(
        {"type": "send", "to": "bob", "body": "see this", "client_id": "d1", "files": [doc]}
    )
    await a.expect("ack", client_id="d1")
    message = await b.expect("message")
    assert message["files"] == [file_object(doc)] and message["body"] == "see this"
    await b.send({"type": "history", "with": "alice"})
    assert (await b.expect("history"))["messages"][0]["files"] == [file_object(doc)]
    await a.close()
    await b.close()


async def test_only_ones_own_unsent_upload_to_that_conversation_can_be_attached():
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a = await ChatClient.connect(alice)
    b = await ChatClient.connect(bob)
    c = await ChatClient.connect(carol)
    for client in (a, b, c):
        await client.join("general")
    await a.join("other")
    bobs = await uploaded(bob, room="general")
    other_room = await uploaded(alice, room="other")
    dm_alice_bob = await uploaded(alice, to=bob)
    bob_to_alice = await uploaded(bob, to=alice)
    sent = await uploaded(alice, room="general")
    await a.send(
        {"type": "send", "room": "general", "body": "", "client_id": "ok", "files": [sent]}
    )
    await a.expect("ack", client_id="ok")
    cases = {
        "someone else's upload": (a, {"room": "general"}, [bobs]),
        "another room's upload": (a, {"room": "general"}, [other_room]),
        "a DM upload in a room": (a, {"room": "general"}, [dm_alice_bob]),
        "already sent": (a, {"room": "general"}, [sent]),
        "no such file": (a, {"room": "general"}, [sent + 1000]),
        "third party into the DM's file": (c, {"to": "alice"}, [dm_alice_bob]),
        "the peer's upload to the same DM": (a, {"to": "bob"}, [bob_to_alice]),
        "one good, one not": (b, {"room": "general"}, [bobs, other_room]),
    }
    for index, (why, (client, target, files)) in enumerate(cases.items()):
        client_id = f"bad{index}"
        await client.send(
            {"type": "send", "body": "x", "client_id": client_id, "files": files, **target}
        )
        error = await client.expect("error", ref=client_id)
        assert error["code"] == "unknown_file", why
    # Nothing was stored or attached, and bob's file is still his to send.
    await b.send(
        {"type": "send", "room": "general", "body": "", "client_id": "b1", "files": [bobs]}
    )
    await b.expect("ack", client_id="b1")
    for client in (a, b, c):
        await client.close()
