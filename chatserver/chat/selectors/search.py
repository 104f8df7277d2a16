"""Search: the messages a user may read now that match what they typed, newest first.

SQLite answers from the FTS5 table ``chat_message_fts`` and PostgreSQL from the GIN index
of ``chat_message_search_keys`` (migrations 0007_search and 0009_search_conversations); the
words typed only ever travel as query parameters, quoted by ``search_query``. Which
messages a user may read is the same rule as ``resume``'s: rooms they are a member of now,
and their own DMs; it is checked on every row found, whatever the index narrowed. Both
engines walk the newest matches first and ask the index for the user's conversations only
below them (docs/benchmarks.md, "Search and export"). The message objects are built by the
same code as every other read (``message_objects``), so search results carry whatever
fields messages do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from chatserver.chat import frames, sql
from chatserver.chat.models import Message, dm_key
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.search_query import (
    WORD,
    SearchQuery,
    Term,
    fts5_match,
    parse_query,
    plain_prefix,
    prefixed_terms,
    tsquery,
)
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
    scope = _scope(user_id=user_id, room=room, with_user=with_user, before=before, ref=ref)
    where, params = scope.where, scope.params
    sender = None
    if query.sender is not None:
        sender = User.objects.filter(username=query.sender).values_list("pk", flat=True).first()
        if sender is None:
            raise ProtocolError(
                "unknown_user", f"There is no user called '{query.sender[:150]}'.", ref
            )
        where, params = f"{where} AND m.sender_id = %s", [*params, sender]
    ids = _matching_ids(query, scope, sender, where, params, before=before, limit=limit + 1)
    found = message_objects(list(Message.objects.filter(pk__in=ids[:limit])))
    found.sort(key=lambda message: -message["id"])
    return frames.search_results(q=q, before=before, results=found, has_more=len(ids) > limit)


@dataclass(frozen=True)
class Scope:
    """The conversations searched, said three ways."""

    where: str  # the rule, a condition on ``m``, checked on every row found
    params: list[Any]
    walk: str  # the same messages through their own index (all, one room, one DM), newest
    walk_params: list[Any]  # first, below ``before``: what PostgreSQL's first step reads
    readers: tuple[str, ...]  # the index's reader lexemes (0009_search_conversations)
    readers_op: str  # "|": any of them (rooms and own DMs); "&": all (one DM)


def _scope(
    *, user_id: int, room: str | None, with_user: str | None, before: int | None, ref: str | None
) -> Scope:
    """One room the user is a member of, their DM with one person, or everything they may
    read now."""
    below, below_params = (" AND m.id < %s", [before]) if before is not None else ("", [])
    if room is not None:
        room_id = require_member(user_id=user_id, name=room, ref=ref).pk
        return Scope(
            "m.room_id = %s",
            [room_id],
            f"m.room_id = %s{below}",
            [room_id, *below_params],
            (f"r{room_id}",),
            "|",
        )
    if with_user is not None:
        peer = require_peer(user_id=user_id, username=with_user, ref=ref)
        key = dm_key(user_id, peer.pk)
        return Scope(
            "m.dm_key = %s",
            [key],
            f"m.dm_key = %s{below}",
            [key, *below_params],
            (f"u{user_id}", f"u{peer.pk}"),
            "&",
        )
    rooms = tuple(
        f"r{pk}"
        for (pk,) in sql.rows(f"SELECT room_id FROM {sql.MEMBERSHIP} WHERE user_id = %s", [user_id])
    )
    return Scope(
        f"(m.room_id IN (SELECT room_id FROM {sql.MEMBERSHIP} WHERE user_id = %s)"
        " OR m.recipient_id = %s OR (m.sender_id = %s AND m.recipient_id IS NOT NULL))",
        [user_id, user_id, user_id],
        f"TRUE{below}",
        below_params,
        (*rooms, f"u{user_id}"),
        "|",
    )


def _matching_ids(
    query: SearchQuery,
    scope: Scope,
    sender: int | None,
    where: str,
    params: list[Any],
    *,
    before: int | None,
    limit: int,
) -> list[int]:
    """Up to ``limit`` ids of messages matching ``query`` and ``where``, newest first, below
    ``before`` when given.

    ``where`` is built by this module from fixed conditions; the user's words only ever
    travel as parameters.
    """
    sqlite = connection.vendor == "sqlite"
    if sqlite and query.terms:
        return _sqlite_ids(query, scope, sender, where, params, before=before, limit=limit)
    if before is not None:
        where, params = f"{where} AND m.id < %s", [*params, before]
    if not query.terms:  # only filters (``from:alice``): the newest of what they allow
        statement = f"SELECT m.id FROM {sql.MESSAGE} m WHERE {where} ORDER BY m.id DESC LIMIT %s"
        return [pk for (pk,) in sql.rows(statement, [*params, limit])]
    match = tsquery(query.terms)
    if not match:
        return []
    return _postgresql_ids(query, match, scope, sender, where, params, limit=limit)


# How many of the newest messages in scope (PostgreSQL) or of the newest matches of the words
# (SQLite) are read before the index is asked for the user's conversations only.
WALK_ROWS = 1000

# PostgreSQL's further walks, when the first found some matches but too few: at most this
# many rows in all; beyond it the word is rare enough for the index.
WALK_MORE_ROWS = 16000
_NO_ID = 2**63 - 1  # above every id: the first walk's bound

# The most words a typed prefix may stand for before FTS5 is asked ``"w"*`` instead.
PREFIX_WORDS = 32


def _sqlite_ids(
    query: SearchQuery,
    scope: Scope,
    sender: int | None,
    where: str,
    params: list[Any],
    *,
    before: int | None,
    limit: int,
) -> list[int]:
    """FTS5's newest matches, in two steps like PostgreSQL's.

    FTS5 walks a word's matches in rowid order, so ``ORDER BY rowid DESC`` stops after
    the newest. The first step reads up to ``WALK_ROWS`` matches and checks on each that
    the user may read it; a word frequent only in others' rooms would cost a look at every
    one of its rows (45 ms for 23,500). So below them the query also asks FTS5 for the
    user's conversations in the ``readers`` column (``readers : ("r1" OR "u7")``), which
    skips the others' rows inside the index. Asked always, that cost every rare word a
    merge of the conversations' lists (3.3 ms instead of 0.04).
    """
    words_of_prefix = _words_of_prefix(query.terms)
    if words_of_prefix == []:  # the prefix starts no indexed word
        return []
    match = fts5_match(query.terms, words_of_prefix)
    # CROSS JOIN keeps SQLite's join order: the matches first, each message by its key
    # (with ``from:`` it preferred the sender's index: all their messages, 47 ms).
    below, below_params = (" AND rowid < %s", [before]) if before is not None else ("", [])
    walk = (
        f"WITH walked AS MATERIALIZED (SELECT rowid AS id FROM {FTS} WHERE {FTS} MATCH %s"
        f"{below} ORDER BY rowid DESC LIMIT %s)"
        " SELECT (SELECT count(*) FROM walked), (SELECT min(id) FROM walked),"
        f" (SELECT group_concat(id) FROM (SELECT m.id FROM walked CROSS JOIN {sql.MESSAGE} m"
        f" ON m.id = walked.id WHERE {where} ORDER BY m.id DESC LIMIT %s))"
    )
    ((walked, lowest, found),) = sql.rows(walk, [match, *below_params, WALK_ROWS, *params, limit])
    ids = sorted((int(pk) for pk in found.split(",")), reverse=True) if found else []
    if len(ids) >= limit or walked < WALK_ROWS:
        return ids
    readers = f" {'AND' if scope.readers_op == '&' else 'OR'} ".join(
        f'"{reader}"' for reader in scope.readers
    )
    indexed = (
        f"SELECT {FTS}.rowid FROM {FTS} CROSS JOIN {sql.MESSAGE} m ON m.id = {FTS}.rowid"
        f" WHERE {FTS} MATCH %s AND {FTS}.rowid < %s AND {where}"
        f" ORDER BY {FTS}.rowid DESC LIMIT %s"
    )
    sent_by = f' AND readers : "s{sender}"' if sender is not None else ""
    rest = sql.rows(
        indexed, [f"{match} AND readers : ({readers}){sent_by}", lowest, *params, limit - len(ids)]
    )
    return [*ids, *(pk for (pk,) in rest)]


def _words_of_prefix(terms: tuple[Term, ...]) -> list[str] | None:
    """The indexed words the prefixed term starts, from FTS5's own term list
    (``chat_message_fts_terms``), when they are at most ``PREFIX_WORDS``; else None."""
    prefix = plain_prefix(terms)
    if prefix is None:
        return None
    words: list[str] = []
    after = prefix
    while len(words) <= PREFIX_WORDS:
        # The smallest term from ``after`` on: FTS5 seeks to it (the next term after a word
        # is looked up from the word followed by the smallest character, not with ``>``,
        # which steps through every instance of the word first).
        row = sql.rows(f"SELECT term FROM {FTS}_terms WHERE term >= %s LIMIT 1", [after])
        if not row or not row[0][0].startswith(prefix):
            return words
        words.append(row[0][0])
        after = row[0][0] + "\x01"
    return None


def _postgresql_ids(
    query: SearchQuery,
    match: str,
    scope: Scope,
    sender: int | None,
    where: str,
    params: list[Any],
    *,
    limit: int,
) -> list[int]:
    """The newest matches in two steps, each cheap where the other is not.

    First the newest ``WALK_ROWS`` messages of the scope are read and their words tested:
    a word in a few per cent of what the user reads is found there in a few ms. Below them
    the index answers, asked for the words under the user's own conversations only
    (migration 0009_search_conversations), so a word frequent in others' rooms costs
    nothing, and the matches it returns are ones the user may read: few, when ``WALK_ROWS``
    rows held fewer than ``limit`` of them. The planner alone walked the whole table
    (2.8 s) when a common word's matches were all in others' rooms (docs/benchmarks.md,
    "Search and export").
    """
    words = "to_tsvector('simple'::regconfig, m.body) @@ to_tsquery('simple'::regconfig, %s)"
    # Each word lower-cased is in a body that has it, so ``strpos`` spares nearly every
    # walked row its ``to_tsvector`` (the planner runs the cheap test first): a walk of
    # 1,000 rows took 1.4 ms instead of 3.1.
    texts = [word for term in query.terms for word in WORD.findall(term.text)]
    seen = "".join(" AND strpos(lower(m.body), lower(%s)) > 0" for _ in texts)
    walk = (
        f"WITH walked AS MATERIALIZED (SELECT m.* FROM {sql.MESSAGE} m WHERE {scope.walk}"
        " AND m.id < %s ORDER BY m.id DESC LIMIT %s)"
        " SELECT (SELECT count(*) FROM walked), (SELECT min(id) FROM walked),"
        f" ARRAY(SELECT m.id FROM walked m WHERE {where}{seen} AND {words}"
        " ORDER BY m.id DESC LIMIT %s)"
    )
    found: list[int] = []
    lowest, rows, read = _NO_ID, WALK_ROWS, 0
    while True:
        ((walked, lowest, more),) = sql.rows(
            walk,
            [*scope.walk_params, lowest, rows, *params, *texts, match, limit - len(found)],
        )
        found += more
        read += walked
        if len(found) >= limit or walked < rows:
            return found
        if not found:
            break
        # Matches were found, too few: at the rate seen so far, twice the rows they would
        # need, unless that passes what the walks may read (the index then has few to sort).
        rows = max(WALK_ROWS, -(-2 * (limit - len(found)) * read // len(found)))
        if read + rows > WALK_MORE_ROWS:
            break
    keys = _keys_tsquery(query, scope, sender)
    if keys is None:
        return found
    # ``m.id + 0``: a range on the primary key would tempt the planner into computing the
    # keys of every row below ``lowest``.
    # The keys prove every word (or prefix) is there; only a phrase's word order needs the
    # words themselves (parsing each body found: 2-3 times the cost of fetching it).
    phrases = any(term.phrase or len(WORD.findall(term.text)) > 1 for term in query.terms)
    order = f" AND {words}" if phrases else ""
    indexed = (
        f"SELECT m.id FROM {sql.MESSAGE} m"
        " WHERE chat_message_search_keys(m.body, m.room_id, m.sender_id, m.recipient_id)"
        f" @@ %s::tsquery AND {where}{order} AND m.id + 0 < %s"
        " ORDER BY m.id + 0 DESC LIMIT %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The estimate of a sort over the index's matches (thousands of rows, where there
        # are usually a few) passes jit_above_cost and the parallel thresholds: compiling
        # the plan (13.6 ms) or starting two workers (15-49 ms) took longer than running
        # it (0.3 ms for the hidden word).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        phrase = [match] if order else []
        cursor.execute(indexed, [keys, *params, *phrase, lowest, limit - len(found)])
        return [*found, *(pk for (pk,) in cursor.fetchall())]


def _keys_tsquery(query: SearchQuery, scope: Scope, sender: int | None) -> str | None:
    """The index's question: every word, as the database folds it, under one of the
    scope's readers (all of them for a DM), and under the sender for ``from:``; the
    prefixed word with ``:*``. None when no word is left (the walk found all there is)."""
    texts = [word for term in query.terms for word in WORD.findall(term.text)]
    if not texts:
        return None
    # One lexeme per word: WORD keeps letters and digits, which the parser does not split.
    folded = sql.rows(
        "SELECT w.n, lexeme FROM unnest(%s::text[]) WITH ORDINALITY AS w(word, n),"
        " unnest(tsvector_to_array(to_tsvector('simple'::regconfig, w.word))) AS lexeme",
        [texts],
    )
    prefixed_words, position = set(), 0
    for term, prefixed in zip(query.terms, prefixed_terms(query.terms), strict=True):
        position += len(WORD.findall(term.text))
        if prefixed:
            prefixed_words.add(position)  # ``n`` counts from 1
    parts = []
    for n, lexeme in folded:
        quoted = lexeme.replace("\\", "\\\\").replace("'", "''")
        star = ":*" if n in prefixed_words else ""
        under = [f"'{reader}~{quoted}'{star}" for reader in scope.readers]
        parts.append("(" + f" {scope.readers_op} ".join(under) + ")")
        if sender is not None:
            parts.append(f"'s{sender}~{quoted}'{star}")
    return " & ".join(parts)
