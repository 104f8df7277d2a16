"""chatserver/chat/health.py: database faults told apart, said once in a while, damage fenced.

The faults themselves are made for real in test_write_faults.py and test_corruption.py; this
checks the rules those rely on, quickly.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, OperationalError, connection

from chatserver.chat import health


@pytest.fixture(autouse=True)
def _forget():
    health.reset()
    yield
    health.reset()


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (OperationalError("database or disk is full"), health.DISK_FULL),
        (OperationalError("could not extend file: No space left on device"), health.DISK_FULL),
        (OperationalError("database is locked"), health.BUSY),
        (DatabaseError("database disk image is malformed"), health.DAMAGED),
        (DatabaseError("file is not a database"), health.DAMAGED),
        (OperationalError("no such table: chat_nothing"), None),
        (ValueError("database or disk is full"), None),  # not from the database
    ],
)
def test_faults_are_told_apart(error, kind):
    fault = health.classify(error)
    assert (fault.kind if fault else None) == kind


def test_a_fault_is_said_to_listeners_in_words_at_most_once_a_while():
    said = []
    health.listeners.append(lambda fault, sentence: said.append(sentence))
    try:
        for _ in range(3):
            health.report(OperationalError("database or disk is full"))
    finally:
        health.listeners.clear()
    assert len(said) == 1
    assert "is full" in said[0] and "freed" in said[0]


@pytest.mark.django_db
def test_once_damaged_every_statement_is_refused():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the guard is on this connection
    assert health.guard in connection.execute_wrappers
    health.report(DatabaseError("database disk image is malformed"))
    with pytest.raises(health.DatabaseDamaged), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    sentence = health.damaged().sentence("/data/deskchat.sqlite3")
    assert "deskchat restore FILE" in sentence and "deskchat backup FILE" in sentence
