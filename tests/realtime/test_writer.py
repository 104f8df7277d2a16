"""Grouped message writes (realtime/writer.py): same answers, same order, fewer commits."""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth import get_user_model

from chatserver.chat.models import Message
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.services import messages as message_services
from chatserver.chat.services.messages import SendRequest, message_create_many
from chatserver.chat.services.rooms import membership_join
from tests.support.ws import ChatClient, make_user


def request(
    user, body: str, client_id: str, room: str | None = "general", to: str | None = None
) -> SendRequest:
    return SendRequest(
        sender_id=user.pk,
        sender_username=user.username,
        body=body,
        client_id=client_id,
        room_name=room,
        to_username=to,
    )


@pytest.mark.django_db
def test_a_batch_stores_each_send_and_refuses_only_the_bad_ones():
    alice = get_user_model().objects.create_user("alice")
    membership_join(user_id=alice.pk, name="general", max_rooms=10, ref=None)
    outcomes = message_create_many(
        requests=[
            request(alice, "one", "c1"),
            request(alice, "elsewhere", "c2", room="nowhere"),
            request(alice, "two", "c3"),
            request(alice, "one again", "c1"),  # a retry inside the same batch
        ]
    )
    assert [type(o).__name__ for o in outcomes] == [
        "StoredMessage",
        "ProtocolError",
        "StoredMessage",
        "StoredMessage",
    ]
    assert isinstance(outcomes[1], ProtocolError) and outcomes[1].code == "unknown_room"
    assert outcomes[0].created and outcomes[2].created and not outcomes[3].created
    assert outcomes[3].frame["id"] == outcomes[0].frame["id"]
    assert list(Message.objects.order_by("id").values_list("body", flat=True)) == ["one", "two"]


@pytest.mark.django_db
def test_a_batch_mixes_retries_of_stored_sends_dms_and_refusals():
    make = get_user_model().objects.create_user
    alice, bob = make("alice"), make("bob")
    membership_join(user_id=alice.pk, name="general", max_rooms=10, ref=None)
    first = message_create_many(requests=[request(alice, "before", "c0")])[0]
    dm = request(alice, "psst", "d1", room=None, to="bob")
    nobody = request(alice, "hello?", "d2", room=None, to="nobody")
    outcomes = message_create_many(
        requests=[
            request(alice, "before, retried", "c0"),
            dm,
            nobody,
            request(alice, "after", "c1"),
        ]
    )
    assert not outcomes[0].created and outcomes[0].frame["id"] == first.frame["id"]
    assert outcomes[0].frame["body"] == "before"  # the stored original, not the retry
    assert outcomes[1].created and outcomes[1].recipient_id == bob.pk
    assert outcomes[1].frame["from"] == "alice" and outcomes[1].frame["to"] == "bob"
    assert isinstance(outcomes[2], ProtocolError) and outcomes[2].code == "unknown_user"
    assert outcomes[3].created and outcomes[3].frame["id"] > outcomes[1].frame["id"]
    assert outcomes[3].frame["ts"].endswith("Z") and outcomes[3].frame["room"] == "general"
    stored = list(Message.objects.order_by("id").values_list("body", flat=True))
    assert stored == ["before", "psst", "after"]


@pytest.mark.django_db
def test_a_client_id_stored_meanwhile_by_another_worker_is_answered_as_a_retry(monkeypatch):
    """On PostgreSQL another worker can insert the same (sender, client_id) between the
    batch's retry lookup and its insert; the unique constraint refuses the batch, which is
    then redone and finds the other worker's row. Simulated by hiding the stored row from
    the batch's first lookup (the one query every batch makes for retries)."""
    alice = get_user_model().objects.create_user("alice")
    membership_join(user_id=alice.pk, name="general", max_rooms=10, ref=None)
    raced = message_create_many(requests=[request(alice, "from worker 2", "c1")])[0]
    real_lookup = message_services.stored_client_ids
    calls = []

    def lookup_misses_once(keys):
        calls.append(keys)
        return {} if len(calls) == 1 else real_lookup(keys)

    monkeypatch.setattr(message_services, "stored_client_ids", lookup_misses_once)
    outcomes = message_create_many(
        requests=[request(alice, "new", "c2"), request(alice, "from worker 1", "c1")]
    )
    monkeypatch.undo()
    assert len(calls) == 2  # the first try met the unique index, the second found the row
    assert outcomes[0].created
    assert not outcomes[1].created and outcomes[1].frame["id"] == raced.frame["id"]
    assert outcomes[1].frame["body"] == "from worker 2"
    assert Message.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_pipelined_burst_is_answered_in_arrival_order():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    await a.join("general")
    await b.join("general")
    await a.drain()
    for i in range(30):
        await a.send({"type": "send", "room": "general", "body": f"m{i}", "client_id": f"c{i}"})
    await a.send({"type": "send", "room": "nowhere", "body": "x", "client_id": "bad"})
    await a.send({"type": "ping"})
    replies = []
    while not replies or replies[-1]["type"] != "pong":  # ping is answered after the sends
        frame = await a.recv(timeout=30)
        if frame["type"] in {"ack", "error", "pong"}:
            replies.append(frame)
    assert [f.get("client_id") or f.get("ref") or f["type"] for f in replies] == [
        *(f"c{i}" for i in range(30)),
        "bad",
        "pong",
    ]
    acked = [f["id"] for f in replies[:30]]
    assert acked == sorted(acked)
    seen = []
    while len(seen) < 30:
        frame = await b.recv(timeout=30)
        if frame["type"] == "message":
            seen.append(frame)
    assert [m["body"] for m in seen] == [f"m{i}" for i in range(30)]
    assert [m["id"] for m in seen] == acked
    await a.close()
    await b.close()


@pytest.mark.django_db
def test_without_returning_inserts_a_batch_goes_one_by_one(monkeypatch):
    """SQLite before 3.35 cannot say the ids of a many-row INSERT."""
    from django.db import connection

    monkeypatch.setattr(
        type(connection.features), "can_return_rows_from_bulk_insert", property(lambda _: False)
    )
    monkeypatch.setattr(Message.objects, "bulk_create", None)  # would fail if called
    alice = get_user_model().objects.create_user("alice")
    membership_join(user_id=alice.pk, name="general", max_rooms=10, ref=None)
    outcomes = message_create_many(requests=[request(alice, "a", "c1"), request(alice, "b", "c2")])
    ids = [o.frame["id"] for o in outcomes]
    assert all(isinstance(i, int) for i in ids) and ids[0] < ids[1]


@pytest.mark.asyncio
async def test_sends_arriving_while_a_batch_fans_out_are_stored_together(monkeypatch):
    """Each stored message fans out in its own reply, one waiting for the other (as
    sends.py ``SocketSends._reply`` does); sends arriving meanwhile must wait for the replies
    and go in one batch, not trickle into the database thread one or two at a time."""
    from chatserver.realtime import batches as database_batches
    from chatserver.realtime import writer

    batches: list[list[int]] = []

    def store(requests: list[dict]) -> list[int]:
        batches.append([r["n"] for r in requests])
        return [r["n"] for r in requests]

    def inline(function):  # the database thread, made deterministic: two loop turns long
        async def call(*args):
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return function(*args)

        return call

    monkeypatch.setattr(writer, "message_create_many", store)
    monkeypatch.setattr(database_batches, "database_sync_to_async", inline)
    w = writer.MessageWriter()
    arrived: list[asyncio.Future] = []

    async def fan_out(stored: asyncio.Future, before: asyncio.Task | None) -> None:
        if before is not None:
            await before
        n = await stored
        if n < 100:  # while this message fans out, the next send of the burst comes in
            arrived.append(w.submit({"n": 100 + n}))

    chain = None
    for n in range(8):
        stored = w.submit({"n": n})
        chain = asyncio.ensure_future(fan_out(stored, chain))
        w.reply_with(stored, chain)  # as sends.py ``SocketSends.submit`` does
    await chain
    await asyncio.gather(*arrived)
    assert batches[0] == list(range(8))
    assert sorted(n for batch in batches[1:] for n in batch) == list(range(100, 108))
    assert len(batches) == 2, batches
