"""Mentions: who a message names (``@username``, or ``@room`` for every member), stored once.

Resolved at send time, for a whole batch of sends in at most three queries (and none for a
batch without an ``@``: the send path's common case, docs/benchmarks.md S1). A mention is kept
only for someone who can read the conversation: a member of the room, the other person of a
DM. The sender never mentions themselves (``@room`` expands to the other members).
"""

from __future__ import annotations

import re

from django.db import connection

from chatserver.chat import sql
from chatserver.chat.models import Message

ROOM_WORD = "room"

# ``@`` not glued to a word (so ``ann@example.org`` is an address, not a mention) followed by
# the characters Django allows in a username.
_MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


def mention_candidates(body: str) -> set[str]:
    """The names a body may mention: each ``@token`` as written, and without trailing
    punctuation (``@bob.`` at the end of a sentence means bob)."""
    if "@" not in body:
        return set()
    found: set[str] = set()
    for token in _MENTION.findall(body):
        found.add(token)
        trimmed = token.rstrip(".@+-")
        if trimmed:
            found.add(trimmed)
    return found


def mentions_store(*, messages: list[Message]) -> dict[int, list[str]]:
    """Store the mentions of these just-inserted messages; their usernames by message id.

    Names are sorted as people read them (case-insensitively). Messages that mention nobody
    are absent from the answer.
    """
    wanted = {m.pk: mention_candidates(m.body) for m in messages if "@" in m.body}
    wanted = {pk: names for pk, names in wanted.items() if names}
    if not wanted:
        return {}
    chosen = [m for m in messages if m.pk in wanted]
    named = sorted(set().union(*wanted.values()))
    users = {
        username: pk
        for pk, username in sql.rows(
            f"SELECT id, username FROM {sql.USER}"
            f" WHERE is_active = %s AND username IN ({sql.placeholders(named)})",
            [True, *named],
        )
    }
    names = {pk: username for username, pk in users.items()}
    everyone_rooms = sorted(
        {m.room_id for m in chosen if m.room_id is not None and ROOM_WORD in wanted[m.pk]}
    )
    named_rooms = sorted({m.room_id for m in chosen if m.room_id is not None} - set(everyone_rooms))
    members: dict[int, set[int]] = {}
    if everyone_rooms:
        for room_id, user_id, username in sql.rows(
            f"SELECT ms.room_id, u.id, u.username FROM {sql.MEMBERSHIP} ms"
            f" JOIN {sql.USER} u ON u.id = ms.user_id"
            f" WHERE u.is_active = %s AND ms.room_id IN ({sql.placeholders(everyone_rooms)})",
            [True, *everyone_rooms],
        ):
            members.setdefault(room_id, set()).add(user_id)
            names[user_id] = username
    if named_rooms and users:
        ids = sorted(users.values())
        for room_id, user_id in sql.rows(
            f"SELECT room_id, user_id FROM {sql.MEMBERSHIP}"
            f" WHERE room_id IN ({sql.placeholders(named_rooms)})"
            f" AND user_id IN ({sql.placeholders(ids)})",
            [*named_rooms, *ids],
        ):
            members.setdefault(room_id, set()).add(user_id)
    rows: list[tuple[int, int, int | None, int]] = []
    found: dict[int, list[str]] = {}
    for message in chosen:
        tokens = wanted[message.pk]
        if message.room_id is None:
            readers = {message.recipient_id}
            mentioned = {users[t] for t in tokens if t in users} & readers
        elif ROOM_WORD in tokens:
            mentioned = set(members.get(message.room_id, ()))
        else:
            readers = members.get(message.room_id, set())
            mentioned = {users[t] for t in tokens if t in users} & readers
        mentioned.discard(message.sender_id)
        if not mentioned:
            continue
        rows.extend((message.pk, user, message.room_id, message.sender_id) for user in mentioned)
        found[message.pk] = sorted((names[u] for u in mentioned), key=str.casefold)
    # Plain executemany: an ``@room`` in a busy room is a row per member, and model objects
    # cost ~29 µs each where the INSERT itself costs a few (measured, docs/benchmarks.md).
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {sql.MENTION} (message_id, user_id, room_id, sender_id)"
            " VALUES (%s, %s, %s, %s)",
            rows,
        )
    return found
