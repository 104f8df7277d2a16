"""Messages a user may read: history pages, what they missed, and stored retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q

from chatserver.chat import frames, sql
from chatserver.chat.models import Membership, Message, dm_key
from chatserver.chat.selectors.files import message_files
from chatserver.chat.selectors.rooms import require_member, room_names
from chatserver.chat.selectors.users import require_peer, usernames

Page = tuple[list[frames.Frame], bool]  # message objects oldest first, and whether more exist


def message_objects(messages: list[Message]) -> list[frames.Frame]:
    """Message objects for stored rows, with the names fetched in three queries, not per row."""
    names = usernames(
        list({m.sender_id for m in messages} | {m.recipient_id for m in messages if m.recipient_id})
    )
    rooms = room_names(list({m.room_id for m in messages if m.room_id}))
    files = message_files(m.pk for m in messages if m.has_files)
    mentions = mentions_of([m.pk for m in messages])
    return [
        message_object(
            m,
            usernames=names,
            room_name=rooms.get(m.room_id),
            mentions=mentions.get(m.pk, []),
            files=files.get(m.pk),
        )
        for m in messages
    ]


def message_object(
    message: Message,
    *,
    usernames: dict[int, str],
    room_name: str | None,
    mentions: list[str],
    files: list[frames.Frame] | None = None,
) -> dict:
    """One stored row as a message object, its names, mentions (and file objects) already
    known."""
    return frames.message(
        id=message.pk,
        user=usernames[message.sender_id],
        body=message.body,
        created=message.created_at,
        client_id=message.client_id,
        room=room_name,
        to=usernames[message.recipient_id] if message.recipient_id is not None else None,
        mentions=mentions,
        files=files,
    )


def mentions_of(message_ids: list[int]) -> dict[int, list[str]]:
    """The usernames each of these messages mentions (absent: none), sorted as people read.

    One query through the ``mention_message`` index for a whole page.
    """
    if not message_ids:
        return {}
    found: dict[int, list[str]] = {}
    for message_id, username in sql.rows(
        f"SELECT mn.message_id, u.username FROM {sql.MENTION} mn"
        f" JOIN {sql.USER} u ON u.id = mn.user_id"
        f" WHERE mn.message_id IN ({sql.placeholders(message_ids)})",
        list(message_ids),
    ):
        found.setdefault(message_id, []).append(username)
    for names in found.values():
        names.sort(key=str.casefold)
    return found


def _page(
    where: str, param: Any, *, before: int | None, limit: int, after: int | None = None
) -> Page:
    """Keyset paging: the ``limit`` newest rows below ``before``, returned oldest first; with
    ``after``, the ``limit`` oldest rows above it (and the flag says newer ones remain).

    In SQL with the names joined in: every ``join`` and history page runs this, and the ORM
    spent more time building 51 model objects and two name queries than the index walk took
    (S5, docs/benchmarks.md). ``where`` is one of this module's fixed conditions.
    """
    query = (
        f"SELECT m.id, sender.username, m.body, m.created_at, m.client_id, room.name,"
        f" recipient.username, m.has_files FROM {sql.MESSAGE} m"
        f" JOIN {sql.USER} sender ON sender.id = m.sender_id"
        f" LEFT JOIN {sql.ROOM} room ON room.id = m.room_id"
        f" LEFT JOIN {sql.USER} recipient ON recipient.id = m.recipient_id"
        f" WHERE {where}{' AND m.id < %s' if before is not None else ''}"
        f"{' AND m.id > %s' if after is not None else ''}"
        f" ORDER BY m.id {'ASC' if after is not None else 'DESC'} LIMIT %s"
    )
    bounds = [bound for bound in (before, after) if bound is not None]
    found = sql.rows(query, [param, *bounds, limit + 1])
    if after is not None:  # read upwards: put them newest first, as below
        found = [*reversed(found[:limit]), *found[limit:]]
    files = message_files(row[0] for row in found[:limit] if row[7])
    mentions = mentions_of([row[0] for row in found[:limit]])
    page = [
        frames.message(
            id=pk,
            user=user,
            body=body,
            created=created,
            client_id=client_id,
            room=room,
            to=to,
            mentions=mentions.get(pk, []),
            files=files.get(pk),
        )
        for pk, user, body, created, client_id, room, to, _ in reversed(found[:limit])
    ]
    return page, len(found) > limit


def room_messages(
    *, room_id: int, before: int | None, limit: int, after: int | None = None
) -> Page:
    return _page("m.room_id = %s", room_id, before=before, limit=limit, after=after)


def dm_messages(*, key: str, before: int | None, limit: int, after: int | None = None) -> Page:
    return _page("m.dm_key = %s", key, before=before, limit=limit, after=after)


def history(
    *,
    user_id: int,
    room: str | None,
    with_user: str | None,
    before: int | None,
    limit: int,
    ref: str | None,
    around: int | None = None,
    after: int | None = None,
) -> frames.Frame:
    """The ``history`` frame: a page of a room the user has joined, or of their own DM;
    with ``around``, the messages on both sides of that id (a search result opened); with
    ``after``, the next newer page from there (towards the latest)."""
    if room is not None:
        found = require_member(user_id=user_id, name=room, ref=ref)
        if around is not None:
            return _around(Q(room_id=found.pk), around, limit, room=found.name, with_user=None)
        if after is not None:
            messages, has_more = room_messages(
                room_id=found.pk, before=None, limit=limit, after=after
            )
            return frames.history(
                room=found.name, with_user=None, after=after, messages=messages, has_more=has_more
            )
        messages, has_more = room_messages(room_id=found.pk, before=before, limit=limit)
        return frames.history(
            room=found.name, with_user=None, before=before, messages=messages, has_more=has_more
        )
    assert with_user is not None
    peer = require_peer(user_id=user_id, username=with_user, ref=ref)
    key = dm_key(user_id, peer.pk)
    if around is not None:
        return _around(Q(dm_key=key), around, limit, room=None, with_user=peer.username)
    if after is not None:
        messages, has_more = dm_messages(key=key, before=None, limit=limit, after=after)
        return frames.history(
            room=None, with_user=peer.username, after=after, messages=messages, has_more=has_more
        )
    messages, has_more = dm_messages(key=key, before=before, limit=limit)
    return frames.history(
        room=None, with_user=peer.username, before=before, messages=messages, has_more=has_more
    )


def _around(
    conversation: Q, around: int, limit: int, *, room: str | None, with_user: str | None
) -> frames.Frame:
    """``limit`` messages of ``conversation`` centred on the id ``around``, oldest first:
    the message itself (when it is in this conversation) and the older half before it.

    Only ids of this conversation are read, so an id from elsewhere shows nothing of it.
    """
    newer_count = limit // 2
    older_count = limit - newer_count  # the message itself is the newest of these
    messages = Message.objects.filter(conversation)
    older = list(messages.filter(id__lte=around).order_by("-id")[: older_count + 1])
    newer = list(messages.filter(id__gt=around).order_by("id")[: newer_count + 1])
    page = [*reversed(older[:older_count]), *newer[:newer_count]]
    return frames.history(
        room=room,
        with_user=with_user,
        around=around,
        messages=message_objects(page),
        has_more=len(older) > older_count,
        has_newer=len(newer) > newer_count,
    )


def resume_start(*, since: int, overlap_seconds: int) -> int:
    """The id a ``resume`` from ``since`` pages after.

    One server process stores and fans out every message in id order, so a client that saw
    ``since`` saw everything before it: the answer is ``since``. With several processes, one
    may store id 100 a moment before another stores id 101, and 101 can reach a socket first;
    a client that dropped in between resumes from 101 and would never get 100. So the resume
    starts after the newest message stored more than ``overlap_seconds`` before ``since``;
    what the client already has comes again and is kept once (clients key messages by id).
    Walks back by id through the window only (no index on the time is needed).
    """
    if since <= 0 or overlap_seconds <= 0:
        return max(since, 0)
    by_id = Message.objects.filter(id__lte=since).order_by("-id")
    anchor = by_id.values_list("created_at", flat=True).first()
    if anchor is None:
        return since
    cutoff = anchor - timedelta(seconds=overlap_seconds)
    older = by_id.filter(created_at__lt=cutoff).values_list("id", flat=True).first()
    return older or 0


def visible_messages_since(*, user_id: int, since: int, limit: int) -> Page:
    """Messages after ``since`` in the user's rooms and their own DMs, oldest first."""
    room_ids = Membership.objects.filter(user_id=user_id).values("room_id")
    visible = (
        Q(room_id__in=room_ids)
        | Q(recipient_id=user_id)
        | Q(sender_id=user_id, recipient__isnull=False)
    )
    found = list(Message.objects.filter(visible, id__gt=since).order_by("id")[: limit + 1])
    return message_objects(found[:limit]), len(found) > limit


def stored_client_ids(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Which ``(sender_id, client_id)`` pairs are already stored, and as which message ids.

    The retry check of every batch; almost always empty, so it is one plain query through
    the ``(sender, client_id)`` unique index rather than model objects nobody reads.
    """
    if not keys:
        return {}
    senders = sorted({sender for sender, _ in keys})
    client_ids = sorted({client_id for _, client_id in keys})
    found = sql.rows(
        f"SELECT sender_id, client_id, id FROM {sql.MESSAGE}"
        f" WHERE sender_id IN ({sql.placeholders(senders)})"
        f" AND client_id IN ({sql.placeholders(client_ids)})",
        [*senders, *client_ids],
    )
    return {(sender, cid): id_ for sender, cid, id_ in found if (sender, cid) in keys}


# Unread counts stop here. Counting is linear in the unread rows (about 90 ms per million even
# from a covering index, 600 ms through the table), and a badge shows "999+" beyond this:
# capped, a join stays O(limit) however far behind the reader is (docs/benchmarks.md, S5).
UNREAD_COUNT_LIMIT = 1000


def room_unread(*, room_id: int, user_id: int, last_read_id: int) -> int:
    """Others' messages in the room after the user's marker, capped."""
    return _count_capped(
        "room_id = %s AND id > %s AND sender_id <> %s", [room_id, last_read_id, user_id]
    )


def dm_unread(*, peer_id: int, user_id: int, last_read_id: int) -> int:
    """The peer's messages to the user after the user's marker, capped."""
    return _count_capped(
        "sender_id = %s AND recipient_id = %s AND id > %s", [peer_id, user_id, last_read_id]
    )


def _count_capped(where: str, params: list[Any]) -> int:
    """``min(count, UNREAD_COUNT_LIMIT)`` of the messages matching ``where`` (one of this
    module's fixed conditions), without walking more than that many rows."""
    query = f"SELECT COUNT(*) FROM (SELECT 1 FROM {sql.MESSAGE} WHERE {where} LIMIT %s) capped"
    return sql.rows(query, [*params, UNREAD_COUNT_LIMIT])[0][0]
