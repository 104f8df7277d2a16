"""SQLite is configured for durability, and an ack means the row is committed."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from chatserver.chat.services.messages import SendRequest, message_create_many
from chatserver.chat.services.rooms import membership_join
from tests.support.ws import ChatClient, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def pragma(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_every_connection_uses_wal_full_sync_and_a_busy_timeout():
    connection.ensure_connection()
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL: docs/security.md says why
    assert pragma("busy_timeout") >= 5_000
    assert pragma("foreign_keys") == 1
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_a_writer_waits_for_a_held_lock_instead_of_failing():
    """Another process writing (a backup, a second tool) delays a send; it does not fail it."""
    user = get_user_model().objects.create_user("locky", password="pw-for-tests-1")
    membership_join(user_id=user.pk, name="locked", max_rooms=10, ref="j")
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=5, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    release = threading.Timer(0.5, other.commit)
    release.start()
    try:
        (stored,) = message_create_many(
            requests=[
                SendRequest(
                    sender_id=user.pk,
                    sender_username="locky",
                    body="waited",
                    client_id="w1",
                    room_name="locked",
                )
            ]
        )
    finally:
        release.join()
        other.close()
    assert stored.created


@pytest.mark.asyncio
async def test_ack_arrives_only_after_the_row_is_committed():
    alice = await make_user("alice")
    client = await ChatClient.connect(alice)
    await client.join("durable")
    path = connection.settings_dict["NAME"]
    for i in range(5):
        ack = await client.say(f"m{i}", client_id=f"d{i}", room="durable")
        # A separate connection sees only committed data: the row must already be there.
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as other:
            row = other.execute("SELECT body FROM chat_message WHERE id = ?", (ack["id"],))
            assert row.fetchone() == (f"m{i}",)
    await client.close()
