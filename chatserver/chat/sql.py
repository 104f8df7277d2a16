"""Plain SQL for the hot paths: table names and one way to run a query.

Every connect, join and send reads a few rows. The ORM spent more Python building each query
than SQLite takes to answer it (docs/benchmarks.md has the figures), so those reads are
written in SQL once, each the only implementation of its rule; tests/chat/test_sql_agrees.py
checks them against the ORM on SQLite and, in CI, PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from chatserver.chat.models import (
    Attachment,
    Connection,
    ConnectionRoom,
    DirectRead,
    Membership,
    Mention,
    Message,
    Room,
    UserStatus,
)

MESSAGE = Message._meta.db_table
ATTACHMENT = Attachment._meta.db_table
MEMBERSHIP = Membership._meta.db_table
ROOM = Room._meta.db_table
DIRECT_READ = DirectRead._meta.db_table
MENTION = Mention._meta.db_table
USER_STATUS = UserStatus._meta.db_table
CONNECTION = Connection._meta.db_table
CONNECTION_ROOM = ConnectionRoom._meta.db_table
USER = get_user_model()._meta.db_table


def rows(sql: str, params: list[Any]) -> list[tuple]:
    """All rows of one query; ``sql`` is one of the project's fixed statements."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def placeholders(values: list[Any]) -> str:
    """``%s, %s, ...`` for an ``IN (...)`` of these values."""
    return ", ".join(["%s"] * len(values))
