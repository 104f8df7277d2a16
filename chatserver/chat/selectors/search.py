"""Search: the messages a user may read now that match what they typed, newest first.

SQLite answers from the FTS5 table ``chat_message_fts`` and PostgreSQL from the GIN index on
``to_tsvector('simple', body)`` (both made by migration 0007_search); the words typed only
ever travel as query parameters, quoted by ``search_query``. Which messages a user
may read is the same rule as ``resume``'s: rooms they are a member of now, and their own
DMs. Matching ids come from one SQL query; the message objects are built by the same code as
every other read (``message_objects``), so search results carry whatever fields messages do.
"""

from __future__ import annotations

from typing import Any

from django.db import OperationalError, connection, transaction

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
    where, params = _scope(user_id=user_id, room=room, with_user=with_user, ref=ref)
    if query.sender is not None:
        sender = User.objects.filter(username=query.sender).values_list("pk", flat=True).first()
        if sender is None:
            raise ProtocolError(
                "unknown_user", f"There is no user called '{query.sender[:150]}'.", ref
            )
        where, params = f"{where} AND m.sender_id = %s", [*params, sender]
    ids = _matching_ids(query, where, params, before=before, limit=limit + 1)
    found = message_objects(list(Message.objects.filter(pk__in=ids[:limit])))
    found.sort(key=lambda message: -message["id"])
    return frames.search_results(q=q, before=before, results=found, has_more=len(ids) > limit)


def _scope(
    *, user_id: int, room: str | None, with_user: str | None, ref: str | None
) -> tuple[str, list[Any]]:
    """The condition on ``m`` for the conversations searched: one room the user is a member
    of, their DM with one person, or everything they may read now."""
    if room is not None:
        return "m.room_id = %s", [require_member(user_id=user_id, name=room, ref=ref).pk]
    if with_user is not None:
        peer = require_peer(user_id=user_id, username=with_user, ref=ref)
        return "m.dm_key = %s", [dm_key(user_id, peer.pk)]
    return (
        f"(m.room_id IN (SELECT room_id FROM {sql.MEMBERSHIP} WHERE user_id = %s)"
        " OR m.recipient_id = %s OR (m.sender_id = %s AND m.recipient_id IS NOT NULL))",
        [user_id, user_id, user_id],
    )


def _matching_ids(
    query: SearchQuery, where: str, params: list[Any], *, before: int | None, limit: int
) -> list[int]:
    """Up to ``limit`` ids of messages matching ``query`` and ``where``, newest first, below
    ``before`` when given.

    ``where`` is built by this module from fixed conditions; the user's words only ever
    travel as parameters.
    """
    sqlite = connection.vendor == "sqlite"
    # On SQLite the id bound goes on the FTS table's rowid, where FTS5 can seek to it.
    newest = f"{FTS}.rowid" if sqlite and query.terms else "m.id"
    if before is not None:
        where, params = f"{where} AND {newest} < %s", [*params, before]
    if not query.terms:  # only filters (``from:alice``): the newest of what they allow
        statement = f"SELECT m.id FROM {sql.MESSAGE} m WHERE {where} ORDER BY m.id DESC LIMIT %s"
        return [pk for (pk,) in sql.rows(statement, [*params, limit])]
    if sqlite:
        # FTS5 walks a term's matches in rowid order, so ORDER BY rowid DESC with a LIMIT
        # stops after the newest matches instead of collecting them all. Which rows the
        # user may read is checked on each match: it costs a word frequent only in others'
        # rooms a look at each of its rows (33 ms of CPU for 23,500 of them), where putting
        # the conversations in the index as tokens cost every rare word 50 times more
        # (docs/benchmarks.md, "Search and export").
        statement = (
            f"SELECT {FTS}.rowid FROM {FTS} JOIN {sql.MESSAGE} m ON m.id = {FTS}.rowid"
            f" WHERE {FTS} MATCH %s AND {where} ORDER BY {FTS}.rowid DESC LIMIT %s"
        )
        match = fts5_match(query.terms)
    else:
        match = tsquery(query.terms)
        if not match:
            return []
        return _postgresql_ids(where, [match, *params, limit])
    return [pk for (pk,) in sql.rows(statement, [match, *params, limit])]


# How long PostgreSQL may walk the newest messages before the search switches plans.
NEWEST_FIRST_MS = 150


def _postgresql_ids(where: str, params: list[Any]) -> list[int]:
    """PostgreSQL's two ways to the newest matches, the second taken when the first is slow.

    The planner walks the primary key backwards, testing each row's words, when it expects
    matches to be frequent: a few ms for common words, but seconds when every match is in
    rooms the user cannot read (2.8 s over a million messages). Sorting all the matches of
    the GIN index instead (``m.id + 0`` keeps the planner off the primary key) takes time
    in proportion to their number: 285 ms for a word in half the messages, 94 ms for that
    worst case (docs/benchmarks.md, "Search and export"). So the first gets
    ``NEWEST_FIRST_MS`` and the second answers when it runs out.
    """
    words = (
        f"SELECT m.id FROM {sql.MESSAGE} m WHERE to_tsvector('simple'::regconfig, m.body)"
        f" @@ to_tsquery('simple'::regconfig, %s) AND {where}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {NEWEST_FIRST_MS}")
        try:
            with transaction.atomic():  # a savepoint: the cancelled query is rolled back alone
                cursor.execute(_newest_first(words), params)
                return [pk for (pk,) in cursor.fetchall()]
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != QUERY_CANCELED:
                raise
        cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
        cursor.execute(f"{words} ORDER BY m.id + 0 DESC LIMIT %s", params)
        return [pk for (pk,) in cursor.fetchall()]


def _newest_first(words: str) -> str:
    return f"{words} ORDER BY m.id DESC LIMIT %s"


QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement_timeout
