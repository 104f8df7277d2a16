"""Reads: what a user may see, shaped as protocol frames. Every DM read checks membership here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from chatserver.chat.models import (
    Connection,
    ConnectionRoom,
    DirectRead,
    Membership,
    Message,
    Room,
    dm_key,
    room_key,
)
from chatserver.chat.protocol import ProtocolError

User = get_user_model()


def room_by_name(name: str) -> Room | None:
    return Room.objects.filter(key=room_key(name)).first()


def user_by_username(username: str) -> AbstractBaseUser | None:
    return User.objects.filter(username=username, is_active=True).first()


def membership_of(*, user_id: int, room_id: int) -> Membership | None:
    return Membership.objects.filter(user_id=user_id, room_id=room_id).first()


def require_room(name: str, ref: str | None) -> Room:
    room = room_by_name(name)
    if room is None:
        raise ProtocolError("unknown_room", f"There is no room called '{name[:64]}'.", ref)
    return room


def require_member(*, user_id: int, name: str, ref: str | None) -> Room:
    room = require_room(name, ref)
    if membership_of(user_id=user_id, room_id=room.pk) is None:
        raise ProtocolError("not_joined", f"Join '{room.name}' first.", ref)
    return room


def require_peer(*, user_id: int, username: str, ref: str | None):
    peer = user_by_username(username)
    if peer is None:
        raise ProtocolError("unknown_user", f"There is no user called '{username[:150]}'.", ref)
    if peer.pk == user_id:
        raise ProtocolError("dm_to_self", "You cannot send a direct message to yourself.", ref)
    return peer


def history_frame(
    *,
    user_id: int,
    room: str | None,
    with_user: str | None,
    before: int | None,
    limit: int,
    ref: str | None,
) -> dict[str, Any]:
    """A page of a room the user has joined, or of their own DM with ``with_user``."""
    if room is not None:
        found = require_member(user_id=user_id, name=room, ref=ref)
        messages, has_more = room_messages(room_id=found.pk, before=before, limit=limit)
        target = {"room": found.name}
    else:
        assert with_user is not None
        peer = require_peer(user_id=user_id, username=with_user, ref=ref)
        messages, has_more = dm_messages(key=dm_key(user_id, peer.pk), before=before, limit=limit)
        target = {"with": peer.username}
    return {
        "type": "history",
        **target,
        "before": before,
        "messages": messages,
        "has_more": has_more,
    }


def message_frame(message: Message, *, usernames: dict[int, str], room_name: str | None) -> dict:
    """A stored message as the protocol's ``message`` object."""
    return _frame(
        pk=message.pk,
        user=usernames[message.sender_id],
        body=message.body,
        created=message.created_at,
        client_id=message.client_id,
        room=room_name,
        to=usernames[message.recipient_id] if message.recipient_id is not None else None,
    )


def _frame(
    *,
    pk: int,
    user: str,
    body: str,
    created: datetime,
    client_id: str | None,
    room: str | None,
    to: str | None,
) -> dict[str, Any]:
    """The ``message`` object from a row's values: a room message, or a DM when ``to`` is set.
    ``created`` is UTC; SQLite hands raw SQL a naive datetime, everything else an aware one."""
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    frame: dict[str, Any] = {
        "type": "message",
        "id": pk,
        "user": user,
        "body": body,
        "ts": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "client_id": client_id,
    }
    if to is None:
        frame["room"] = room
    else:
        frame["from"], frame["to"] = user, to
    return frame


def _frames(messages: list[Message]) -> list[dict]:
    """Frames for a batch, with the names fetched in two queries rather than one per row."""
    user_ids = {m.sender_id for m in messages} | {
        m.recipient_id for m in messages if m.recipient_id
    }
    room_ids = {m.room_id for m in messages if m.room_id}
    usernames = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
    room_names = dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "name"))
    return [
        message_frame(m, usernames=usernames, room_name=room_names.get(m.room_id)) for m in messages
    ]


def _page(where: str, param: Any, *, before: int | None, limit: int) -> tuple[list[dict], bool]:
    """Keyset paging: the ``limit`` newest rows below ``before``, returned oldest first.

    In SQL with the names joined in: every ``join`` and history page runs this, and the ORM
    spent more time building 51 model objects and two name queries than the index walk took
    (S5, docs/benchmarks.md). ``where`` is one of this module's fixed conditions.
    """
    sql = (
        f"SELECT m.id, sender.username, m.body, m.created_at, m.client_id, room.name,"
        f" recipient.username FROM {_MESSAGE} m"
        f" JOIN {_USER} sender ON sender.id = m.sender_id"
        f" LEFT JOIN {_ROOM} room ON room.id = m.room_id"
        f" LEFT JOIN {_USER} recipient ON recipient.id = m.recipient_id"
        f" WHERE {where}{' AND m.id < %s' if before is not None else ''}"
        " ORDER BY m.id DESC LIMIT %s"
    )
    params = [param, *([before] if before is not None else []), limit + 1]
    rows = _rows(sql, params)
    has_more = len(rows) > limit
    frames = [
        _frame(pk=pk, user=user, body=body, created=created, client_id=client_id, room=room, to=to)
        for pk, user, body, created, client_id, room, to in reversed(rows[:limit])
    ]
    return frames, has_more


def room_messages(*, room_id: int, before: int | None, limit: int) -> tuple[list[dict], bool]:
    return _page("m.room_id = %s", room_id, before=before, limit=limit)


def dm_messages(*, key: str, before: int | None, limit: int) -> tuple[list[dict], bool]:
    return _page("m.dm_key = %s", key, before=before, limit=limit)


def visible_messages_since(*, user_id: int, since: int, limit: int) -> tuple[list[dict], bool]:
    """Messages after ``since`` in the user's rooms and their own DMs, oldest first."""
    room_ids = Membership.objects.filter(user_id=user_id).values("room_id")
    visible = (
        Q(room_id__in=room_ids)
        | Q(recipient_id=user_id)
        | Q(sender_id=user_id, recipient__isnull=False)
    )
    rows = list(Message.objects.filter(visible, id__gt=since).order_by("id")[: limit + 1])
    has_more = len(rows) > limit
    return _frames(rows[:limit]), has_more


def room_online(*, room_id: int) -> list[str]:
    """Usernames with at least one live connection joined to the room, sorted.

    In SQL: every join and every presence batch reads it, and the ORM's join of three
    tables cost more than SQLite takes to answer (docs/benchmarks.md, S5's join).
    """
    rows = _rows(
        f"SELECT DISTINCT u.username FROM {_CONNECTION_ROOM} cr"
        f" JOIN {_CONNECTION} c ON c.id = cr.connection_id JOIN {_USER} u ON u.id = c.user_id"
        " WHERE cr.room_id = %s",
        [room_id],
    )
    return sorted((name for (name,) in rows), key=str.casefold)


@dataclass(frozen=True)
class PresenceSnapshot:
    rooms: dict[int, tuple[str, list[str]]]  # room id -> (name, online usernames)
    users: dict[str, bool]  # username -> online now


def presence_snapshot(*, room_ids: list[int], user_ids: list[int]) -> PresenceSnapshot:
    """Who is online now in these rooms, and whether these users are online at all."""
    names = room_names(room_ids)
    rooms = {room_id: (name, room_online(room_id=room_id)) for room_id, name in names.items()}
    online_ids = set(
        Connection.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )
    users = {name: pk in online_ids for pk, name in usernames(user_ids).items()}
    return PresenceSnapshot(rooms=rooms, users=users)


def room_names(room_ids: list[int]) -> dict[int, str]:
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "name"))


def usernames(user_ids: list[int]) -> dict[int, str]:
    return dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))


# Unread counts stop here. Counting is linear in the unread rows (about 90 ms per million even
# from a covering index, 600 ms through the table), and a badge shows "999+" beyond this:
# capped, a join stays O(limit) however far behind the reader is (docs/benchmarks.md, S5).
UNREAD_COUNT_LIMIT = 1000


def joined_frame(*, user_id: int, username: str, room_id: int, name: str) -> dict[str, Any]:
    """The answer to ``join``: latest 50 messages, who is online, where the user read up to."""
    messages, has_more = room_messages(room_id=room_id, before=None, limit=50)
    marker = _rows(
        f"SELECT last_read_id FROM {_MEMBERSHIP} WHERE user_id = %s AND room_id = %s",
        [user_id, room_id],
    )
    last_read = marker[0][0] if marker else 0
    unread = _count_capped(
        "room_id = %s AND id > %s AND sender_id <> %s", [room_id, last_read, user_id]
    )
    return {
        "type": "joined",
        "room": name,
        "online": room_online(room_id=room_id),
        "messages": messages,
        "has_more": has_more,
        "last_read_id": last_read,
        "unread": unread,
    }


def rooms_with_online_counts() -> list[dict[str, Any]]:
    """Every room with how many distinct users are online in it, for the room browser."""
    rooms = Room.objects.annotate(
        online=Count("live_connections__connection__user", distinct=True)
    ).order_by("name")
    return [{"name": r.name, "online": r.online} for r in rooms]


# The sidebar is read by every connect. In raw SQL: the ORM spent ~0.4 ms of Python building
# each of its eight-plus queries (about 5 ms per connect, on the one database thread every
# connect queues for) where SQLite answers each in microseconds. docs/benchmarks.md has the
# figure; tests/chat covers the answers, on SQLite and (in CI) PostgreSQL.
_MESSAGE = Message._meta.db_table
_MEMBERSHIP = Membership._meta.db_table
_ROOM = Room._meta.db_table
_DIRECT_READ = DirectRead._meta.db_table
_CONNECTION = Connection._meta.db_table
_CONNECTION_ROOM = ConnectionRoom._meta.db_table
_USER = User._meta.db_table
# A room among a user's memberships, by key; parameters: the user id, room_key(name).
_MEMBER_ROOM = (
    f"FROM {_ROOM} r JOIN {_MEMBERSHIP} m ON m.room_id = r.id AND m.user_id = %s WHERE r.key = %s"
)


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass(frozen=True)
class JoinedRoom:
    room_id: int
    name: str
    last_read_id: int
    last_id: int  # the room's newest message, 0 when empty


def joined_rooms(*, user_id: int) -> list[JoinedRoom]:
    """The user's rooms with their read markers and newest message ids, in one query."""
    rows = _rows(
        f"SELECT m.room_id, r.name, m.last_read_id,"
        f" (SELECT MAX(x.id) FROM {_MESSAGE} x WHERE x.room_id = m.room_id)"
        f" FROM {_MEMBERSHIP} m JOIN {_ROOM} r ON r.id = m.room_id WHERE m.user_id = %s",
        [user_id],
    )
    return [JoinedRoom(room_id, name, read, last or 0) for room_id, name, read, last in rows]


def joined_room(*, user_id: int, name: str) -> Room | None:
    """The room called ``name`` if the user has joined it, else None, in one query.

    Through Django's ``Manager.raw``, which builds the same ``Room`` without the ORM's query
    compiler: most joins are by members (every reconnect, every tab), and the ORM's room and
    membership lookups were a third of a join's database time (docs/benchmarks.md, S5).
    """
    found = list(Room.objects.raw(f"SELECT r.* {_MEMBER_ROOM}", [user_id, room_key(name)]))
    return found[0] if found else None


def member_room(*, user_id: int, name: str) -> tuple[int, str] | None:
    """``(id, name)`` of the room called ``name`` if the user has joined it, else None.

    One query where :func:`require_member` makes two through the ORM: the writer checks each
    sender once per batch (services._create_batch), and with small batches those two
    queries cost more than the INSERT (docs/benchmarks.md). None says nothing about why:
    ``require_member`` then finds the error to report.
    """
    rows = _rows(f"SELECT r.id, r.name {_MEMBER_ROOM}", [user_id, room_key(name)])
    return (rows[0][0], rows[0][1]) if rows else None


def stored_client_ids(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Which ``(sender_id, client_id)`` pairs are already stored, and as which message ids.

    The retry check of every batch; almost always empty, so it is one plain query through
    the ``(sender, client_id)`` unique index rather than model objects nobody reads.
    """
    if not keys:
        return {}
    senders = sorted({sender for sender, _ in keys})
    client_ids = sorted({client_id for _, client_id in keys})
    rows = _rows(
        f"SELECT sender_id, client_id, id FROM {_MESSAGE}"
        f" WHERE sender_id IN ({', '.join(['%s'] * len(senders))})"
        f" AND client_id IN ({', '.join(['%s'] * len(client_ids))})",
        [*senders, *client_ids],
    )
    found = {(sender, client_id): id_ for sender, client_id, id_ in rows}
    return {key: id_ for key, id_ in found.items() if key in keys}


def _count_capped(where: str, params: list[Any]) -> int:
    """``min(count, UNREAD_COUNT_LIMIT)`` of the messages matching ``where`` (one of this
    module's fixed conditions), without walking more than that many rows."""
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {_MESSAGE} WHERE {where} LIMIT %s) capped"
    return _rows(sql, [*params, UNREAD_COUNT_LIMIT])[0][0]


def conversations(*, user_id: int, joined: list[JoinedRoom] | None = None) -> dict[str, Any]:
    """The sidebar: joined rooms and DM partners, each with unread count and last message id."""
    if joined is None:
        joined = joined_rooms(user_id=user_id)
    rooms = [
        {
            "room": room.name,
            "unread": _count_capped(
                "room_id = %s AND id > %s AND sender_id <> %s",
                [room.room_id, room.last_read_id, user_id],
            ),
            "last_id": room.last_id,
            "last_read_id": room.last_read_id,
        }
        for room in joined
    ]
    rooms.sort(key=lambda r: r["room"].casefold())

    partners: dict[int, int] = {}
    # Sent and received apart: each reads only DM rows from its partial index (message_dm_*);
    # one OR query walked every message the user ever sent to a room (300 ms at 500,000).
    for sql in (
        f"SELECT recipient_id, MAX(id) FROM {_MESSAGE}"
        " WHERE sender_id = %s AND recipient_id IS NOT NULL GROUP BY recipient_id",
        f"SELECT sender_id, MAX(id) FROM {_MESSAGE} WHERE recipient_id = %s GROUP BY sender_id",
    ):
        for peer, last_id in _rows(sql, [user_id]):
            partners[peer] = max(partners.get(peer, 0), last_id)
    if not partners:
        return {"type": "conversations", "rooms": rooms, "dms": []}
    peers = list(partners)
    among = ", ".join(["%s"] * len(peers))
    reads = dict(
        _rows(f"SELECT peer_id, last_read_id FROM {_DIRECT_READ} WHERE user_id = %s", [user_id])
    )
    usernames = dict(_rows(f"SELECT id, username FROM {_USER} WHERE id IN ({among})", peers))
    # Only the partners' presence: every connect reading every online user was O(online).
    online = {
        row[0]
        for row in _rows(
            f"SELECT DISTINCT user_id FROM {_CONNECTION} WHERE user_id IN ({among})", peers
        )
    }
    dms = []
    for peer_id, last_id in partners.items():
        last_read = reads.get(peer_id, 0)
        name = usernames[peer_id]
        dms.append(
            {
                "with": name,
                "unread": _count_capped(
                    "sender_id = %s AND recipient_id = %s AND id > %s",
                    [peer_id, user_id, last_read],
                ),
                "last_id": last_id,
                "last_read_id": last_read,
                "online": peer_id in online,
            }
        )
    dms.sort(key=lambda d: -d["last_id"])
    return {"type": "conversations", "rooms": rooms, "dms": dms}
