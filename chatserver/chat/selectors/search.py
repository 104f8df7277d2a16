"""Search: the messages a user may read now that match what they typed, newest first.

SQLite answers from the FTS5 table ``chat_message_fts`` and PostgreSQL from the GIN index on
``to_tsvector('simple', body)`` (both made by migration 0007_search); the words typed only
ever travel as query parameters, quoted by ``search_query``. Which messages a user
may read is the same rule as ``resume``'s: rooms they are a member of now, and their own
DMs. Matching ids come from one SQL query; the message objects are built by the same code as
every other read (``message_objects``), so search results carry whatever fields messages do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from chatserver.chat import frames, sql
from chatserver.chat.models import Message, dm_key
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.search_query import SearchQuery, fts5_match, parse_query, tsquery
from chatserver.chat.selectors.messages import message_objects
from chatserver.chat.selectors.rooms import require_member
from chatserver.chat.selectors.users import User, require_peer

FTS = "chat_message_fts"


def search(
    *,
    user_id: int,
    q: str,
    room: str | None,
    with_user: str | None,
    before: int | None,
    limit: int,
    ref: str | None,
) -> frames.Frame:
    """The ``search_results`` frame for one ``search`` request."""
    query = parse_query(q, ref)
    room = room if room is not None else query.room
    if room is not None and with_user is not None:
        raise ProtocolError("bad_query", "Search one room or one person's messages, not both.", ref)
    scope = _scope(user_id=user_id, room=room, with_user=with_user, ref=ref)
    sender = None
    if query.sender is not None:
        sender = User.objects.filter(username=query.sender).values_list("pk", flat=True).first()
        if sender is None:
            name = query.sender[:150]
            raise ProtocolError("unknown_user", f"There is no user called '{name}'.", ref)
    if connection.vendor == "sqlite" and query.terms:
        ids = _fts5_ids(query, scope, sender, before=before, limit=limit + 1)
    else:
        ids = _sql_ids(query, scope, sender, before=before, limit=limit + 1)
    found = message_objects(list(Message.objects.filter(pk__in=ids[:limit])))
    found.sort(key=lambda message: -message["id"])
    return frames.search_results(q=q, before=before, results=found, has_more=len(ids) > limit)


@dataclass(frozen=True)
class Scope:
    """The conversations searched: one room, the DM with one person, or everything the user
    may read now (their rooms and their DMs)."""

    user_id: int
    room_ids: tuple[int, ...] = ()
    peer_id: int | None = None
    everything: bool = False


def _scope(*, user_id: int, room: str | None, with_user: str | None, ref: str | None) -> Scope:
    if room is not None:
        found = require_member(user_id=user_id, name=room, ref=ref)
        return Scope(user_id, room_ids=(found.pk,))
    if with_user is not None:
        peer = require_peer(user_id=user_id, username=with_user, ref=ref)
        return Scope(user_id, peer_id=peer.pk)
    rooms = sql.rows(f"SELECT room_id FROM {sql.MEMBERSHIP} WHERE user_id = %s", [user_id])
    return Scope(user_id, room_ids=tuple(room_id for (room_id,) in rooms), everything=True)


def _fts5_ids(
    query: SearchQuery, scope: Scope, sender: int | None, *, before: int | None, limit: int
) -> list[int]:
    """SQLite: everything in the FTS5 index, ``conv`` tokens included (migration
    0007_search), so messages outside the scope are never read. FTS5 walks matches in
    rowid order, so ``ORDER BY rowid DESC`` with a ``LIMIT`` stops at the newest ones."""
    if scope.peer_id is not None:
        where = f'conv : "u{scope.user_id}" AND conv : "u{scope.peer_id}"'
    else:
        tokens = [f'"r{room_id}"' for room_id in scope.room_ids]
        if scope.everything:
            tokens.append(f'"u{scope.user_id}"')
        where = f"conv : ({' OR '.join(tokens)})"
    match = f"body : ({fts5_match(query.terms)}) AND {where}"
    if sender is not None:
        match += f' AND conv : "s{sender}"'
    statement = f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s"
    params: list[Any] = [match]
    if before is not None:
        statement, params = f"{statement} AND rowid < %s", [*params, before]
    return [pk for (pk,) in sql.rows(f"{statement} ORDER BY rowid DESC LIMIT %s", [*params, limit])]


def _sql_ids(
    query: SearchQuery, scope: Scope, sender: int | None, *, before: int | None, limit: int
) -> list[int]:
    """PostgreSQL (the GIN index on ``to_tsvector('simple', body)``), and searches with
    only filters (``from:alice``) on either engine: the newest matching ids."""
    if scope.peer_id is not None:
        where, params = "m.dm_key = %s", [dm_key(scope.user_id, scope.peer_id)]
    elif not scope.everything:
        where, params = "m.room_id = %s", [scope.room_ids[0]]
    else:
        where = (
            f"(m.room_id IN (SELECT room_id FROM {sql.MEMBERSHIP} WHERE user_id = %s)"
            " OR m.recipient_id = %s OR (m.sender_id = %s AND m.recipient_id IS NOT NULL))"
        )
        params = [scope.user_id] * 3
    if sender is not None:
        where, params = f"{where} AND m.sender_id = %s", [*params, sender]
    if before is not None:
        where, params = f"{where} AND m.id < %s", [*params, before]
    if query.terms:
        match = tsquery(query.terms)
        if not match:
            return []
        where = (
            "to_tsvector('simple'::regconfig, m.body) @@ to_tsquery('simple'::regconfig, %s)"
            f" AND {where}"
        )
        params = [match, *params]
    statement = f"SELECT m.id FROM {sql.MESSAGE} m WHERE {where} ORDER BY m.id DESC LIMIT %s"
    return [pk for (pk,) in sql.rows(statement, [*params, limit])]
