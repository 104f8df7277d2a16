"""Writes: every change to rooms, messages, read markers and presence goes through here.

Each function is synchronous and atomic; consumers call them through
``database_sync_to_async``. They raise :class:`ProtocolError` for anything the user can fix,
so the consumer turns it into an ``error`` frame without knowing the rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chatserver.chat import selectors
from chatserver.chat.models import (
    Connection,
    ConnectionRoom,
    DirectRead,
    Membership,
    Message,
    Room,
    Worker,
    dm_key,
)
from chatserver.chat.protocol import ProtocolError, valid_room_name
from chatserver.chat.selectors import require_member, require_peer


def room_get_or_create(*, name: str, user_id: int | None, ref: str | None = None) -> Room:
    cleaned = valid_room_name(name)
    if cleaned is None:
        raise ProtocolError(
            "bad_room_name",
            "Room names are 1 to 64 letters, digits, spaces or punctuation.",
            ref,
        )
    room = selectors.room_by_name(cleaned)
    if room is not None:
        return room
    try:
        with transaction.atomic():
            return Room.objects.create(name=cleaned, created_by_id=user_id)
    except IntegrityError:
        # Someone created it between our read and write (names are unique ignoring case).
        room = selectors.room_by_name(cleaned)
        assert room is not None
        return room


@dataclass(frozen=True)
class JoinResult:
    room: Room
    created_membership: bool


@transaction.atomic
def membership_join(*, user_id: int, name: str, max_rooms: int, ref: str | None) -> JoinResult:
    joined = selectors.joined_room(user_id=user_id, name=name)
    if joined is not None:  # a member already (every reconnect, every tab): one query
        return JoinResult(room=joined, created_membership=False)
    room = room_get_or_create(name=name, user_id=user_id, ref=ref)
    _, created = Membership.objects.get_or_create(user_id=user_id, room=room)
    count = Membership.objects.filter(user_id=user_id).count()
    if created and count > max_rooms:
        # Raising rolls the membership back: nothing half-done.
        raise ProtocolError(
            "too_many_rooms", f"You can be in at most {max_rooms} rooms at once.", ref
        )
    return JoinResult(room=room, created_membership=created)


@transaction.atomic
def membership_leave(*, user_id: int, name: str, ref: str | None) -> Room:
    room = require_member(user_id=user_id, name=name, ref=ref)
    Membership.objects.filter(user_id=user_id, room=room).delete()
    ConnectionRoom.objects.filter(connection__user_id=user_id, room=room).delete()
    return room


@dataclass(frozen=True)
class StoredMessage:
    frame: dict
    room_id: int | None
    recipient_id: int | None
    created: bool


def message_create(
    *,
    sender_id: int,
    sender_username: str,
    body: str,
    client_id: str,
    room_name: str | None = None,
    to_username: str | None = None,
    members: dict[tuple[int, str], Room] | None = None,
) -> StoredMessage:
    """Store one message and return its frame; a repeated ``client_id`` returns the original.

    The row is committed before this returns, so the ack that follows is a promise kept.
    ``members`` remembers (sender, room name) memberships already checked in the same
    transaction, so a batch looks each one up once.
    """
    existing = Message.objects.filter(sender_id=sender_id, client_id=client_id).first()
    if existing is not None:
        return _stored(existing, created=False)
    if room_name is not None:
        room = members.get((sender_id, room_name)) if members is not None else None
        if room is None:
            room = require_member(user_id=sender_id, name=room_name, ref=client_id)
            if members is not None:
                members[(sender_id, room_name)] = room
        fields = {"room_id": room.pk}
        names = {sender_id: sender_username}
        room_label = room.name
    else:
        assert to_username is not None
        peer = require_peer(user_id=sender_id, username=to_username, ref=client_id)
        fields = {"recipient_id": peer.pk, "dm_key": dm_key(sender_id, peer.pk)}
        names = {sender_id: sender_username, peer.pk: peer.username}
        room_label = None
    try:
        with transaction.atomic():
            message = Message.objects.create(
                sender_id=sender_id, body=body, client_id=client_id, **fields
            )
    except IntegrityError:
        # The same client_id raced in on another connection: return the winner.
        existing = Message.objects.get(sender_id=sender_id, client_id=client_id)
        return _stored(existing, created=False)
    return StoredMessage(
        frame=selectors.message_frame(message, usernames=names, room_name=room_label),
        room_id=message.room_id,
        recipient_id=message.recipient_id,
        created=True,
    )


def message_create_many(requests: list[dict]) -> list[StoredMessage | ProtocolError]:
    """Store several sends in one transaction, so they share one commit (realtime/writer.py).

    Each request is checked exactly as :func:`message_create` checks it; one that is refused
    (not a member, unknown user) becomes its ``ProtocolError`` and the others are stored.
    Retries are found with one query and the new rows go in with one ``INSERT``; if another
    worker stored one of these ``client_id``s meanwhile (PostgreSQL only: on SQLite this
    transaction holds the write lock), the batch is redone one message at a time.
    """
    with transaction.atomic():
        try:
            # An INSERT of many rows tells their ids only where the database can return them
            # (SQLite >= 3.35, PostgreSQL); elsewhere each message goes in on its own.
            if connection.features.can_return_rows_from_bulk_insert:
                with transaction.atomic():
                    return _create_batch(requests)
        except IntegrityError:
            pass  # decided one by one below
        outcomes: list[StoredMessage | ProtocolError] = []
        members: dict[tuple[int, str], Room] = {}
        for request in requests:
            try:
                outcomes.append(message_create(**request, members=members))
            except ProtocolError as error:
                outcomes.append(error)
        return outcomes


def _create_batch(requests: list[dict]) -> list[StoredMessage | ProtocolError]:
    """The body of :func:`message_create_many`: 2-4 statements for the whole batch instead
    of four per message (a lookup, a savepoint, the insert, its release). docs/benchmarks.md
    has the figure."""
    keys = [(r["sender_id"], r["client_id"]) for r in requests]
    stored_ids = selectors.stored_client_ids(set(keys))
    stored: dict[tuple[int, str], Message] = {}
    if stored_ids:  # retries after a reconnect: their original rows, as sent the first time
        originals = Message.objects.in_bulk(list(stored_ids.values()))
        stored = {key: originals[id_] for key, id_ in stored_ids.items()}
    members: dict[tuple[int, str], tuple[int, str]] = {}
    outcomes: list[StoredMessage | ProtocolError | None] = [None] * len(requests)
    new: dict[tuple[int, str], tuple[Message, dict[int, str], str | None]] = {}
    fresh: list[tuple[int, tuple[int, str]]] = []  # where each new row's outcome goes
    repeats: list[tuple[int, tuple[int, str]]] = []  # the same client_id twice in one batch
    for index, (request, key) in enumerate(zip(requests, keys, strict=True)):
        if key in stored:
            outcomes[index] = _stored(stored[key], created=False)
            continue
        if key in new:
            repeats.append((index, key))
            continue
        try:
            fields, names, room_label = _target(request, members)
        except ProtocolError as error:
            outcomes[index] = error
            continue
        message = Message(
            sender_id=request["sender_id"],
            body=request["body"],
            client_id=request["client_id"],
            **fields,
        )
        new[key] = (message, names, room_label)
        fresh.append((index, key))
    Message.objects.bulk_create([message for message, _, _ in new.values()])  # ids in order
    for index, key in fresh:
        message, names, room_label = new[key]
        outcomes[index] = StoredMessage(
            frame=selectors.message_frame(message, usernames=names, room_name=room_label),
            room_id=message.room_id,
            recipient_id=message.recipient_id,
            created=True,
        )
    for index, key in repeats:
        outcomes[index] = _stored(new[key][0], created=False)
    return outcomes  # type: ignore[return-value]  # every slot is filled by now


def _target(
    request: dict, members: dict[tuple[int, str], tuple[int, str]]
) -> tuple[dict, dict[int, str], str | None]:
    """Where a send goes: the row's fields, the names its frame shows, its room's name."""
    sender_id, client_id = request["sender_id"], request["client_id"]
    room_name = request.get("room_name")
    if room_name is not None:
        room = members.get((sender_id, room_name))
        if room is None:
            room = selectors.member_room(user_id=sender_id, name=room_name)
            if room is None:  # not a member, or no such room: the ORM check says which
                found = require_member(user_id=sender_id, name=room_name, ref=client_id)
                room = (found.pk, found.name)
            members[(sender_id, room_name)] = room
        room_id, name = room
        return {"room_id": room_id}, {sender_id: request["sender_username"]}, name
    peer = require_peer(user_id=sender_id, username=request["to_username"], ref=client_id)
    fields = {"recipient_id": peer.pk, "dm_key": dm_key(sender_id, peer.pk)}
    return fields, {sender_id: request["sender_username"], peer.pk: peer.username}, None


def _stored(message: Message, *, created: bool) -> StoredMessage:
    frame = selectors._frames([message])[0]
    return StoredMessage(
        frame=frame, room_id=message.room_id, recipient_id=message.recipient_id, created=created
    )


def read_mark(
    *, user_id: int, room_name: str | None, with_username: str | None, message_id: int, ref: str
) -> dict:
    """Move the user's read marker forward (never back) and return the ``read`` frame."""
    if room_name is not None:
        room = require_member(user_id=user_id, name=room_name, ref=ref)
        Membership.objects.filter(user_id=user_id, room=room, last_read_id__lt=message_id).update(
            last_read_id=message_id
        )
        return {"type": "read", "room": room.name, "id": message_id}
    assert with_username is not None
    peer = require_peer(user_id=user_id, username=with_username, ref=ref)
    marker, _ = DirectRead.objects.get_or_create(user_id=user_id, peer=peer)
    if marker.last_read_id < message_id:
        DirectRead.objects.filter(pk=marker.pk, last_read_id__lt=message_id).update(
            last_read_id=message_id
        )
    return {"type": "read", "with": peer.username, "id": message_id}


# --- presence -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresenceChange:
    """Rooms whose online list changed, and users who came online or went offline."""

    room_ids: list[int]
    online_user_ids: list[int] = field(default_factory=list)
    offline_user_ids: list[int] = field(default_factory=list)


class TooManyConnections(Exception):
    pass


_CONNECTION = Connection._meta.db_table
_CONNECTION_ROOM = ConnectionRoom._meta.db_table


@contextmanager
def presence_commits() -> Iterator[None]:
    """Commit presence rows without waiting for the disk (SQLite ``synchronous=NORMAL``).

    Presence is rebuilt at every start (``worker_start``), so a power cut that forgot the
    last few connects loses nothing; but with ``synchronous=FULL`` each connect and
    disconnect waited for its own fsync on the one database thread (0.4 ms idle, 4-12 ms
    under load), which was most of a connect in a rush (docs/benchmarks.md has the figure).
    WAL keeps the order: a later message commit syncs these pages too. SQLite refuses to
    change the level inside a transaction, so an outer transaction keeps its level.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        level = int(cursor.fetchone()[0])  # what config.sqlite_database set (FULL)
        cursor.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={level}")


@dataclass(frozen=True)
class ConnectionStart:
    """All a new socket needs, from one trip to the database thread."""

    change: PresenceChange
    rooms: list[tuple[int, str]]
    conversations: dict[str, Any]


def connection_start(
    *, channel_name: str, user_id: int, worker: str, max_connections: int
) -> ConnectionStart:
    """Register a socket (``connection_open``) and read its rooms and sidebar.

    One ``database_sync_to_async`` call instead of three: connects queue on the single
    database thread, so each hop a connect makes is paid by every connect behind it.
    """
    joined = selectors.joined_rooms(user_id=user_id)
    with presence_commits():
        change = connection_open(
            channel_name=channel_name,
            user_id=user_id,
            worker=worker,
            max_connections=max_connections,
            room_ids=[room.room_id for room in joined],
        )
    return ConnectionStart(
        change=change,
        rooms=[(room.room_id, room.name) for room in joined],
        conversations=selectors.conversations(user_id=user_id, joined=joined),
    )


@transaction.atomic
def connection_open(
    *,
    channel_name: str,
    user_id: int,
    worker: str,
    max_connections: int,
    room_ids: list[int] | None = None,
) -> PresenceChange:
    """Record a live socket and join it to all the user's rooms (``room_ids`` when the
    caller has just read them)."""
    _lock_presence([user_id])
    # In SQL, like the sidebar it shares a trip with (selectors.joined_rooms): the ORM's
    # count, create and bulk_create cost more Python than the database takes to answer.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_CONNECTION} WHERE user_id = %s", [user_id])
        others = cursor.fetchone()[0]
        if others >= max_connections:
            raise TooManyConnections
        returning = connection.features.can_return_columns_from_insert  # SQLite >= 3.35
        cursor.execute(
            f"INSERT INTO {_CONNECTION} (channel_name, user_id, worker, connected_at)"
            f" VALUES (%s, %s, %s, %s){' RETURNING id' if returning else ''}",
            [
                channel_name,
                user_id,
                worker,
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        live_id = cursor.fetchone()[0] if returning else cursor.lastrowid
        if room_ids is None:
            room_ids = list(
                Membership.objects.filter(user_id=user_id).values_list("room_id", flat=True)
            )
        if room_ids:
            cursor.executemany(
                f"INSERT INTO {_CONNECTION_ROOM} (connection_id, room_id) VALUES (%s, %s)",
                [(live_id, room_id) for room_id in room_ids],
            )
    already: set[int] = set()
    if others:  # another socket of this user may already count in some of these rooms
        already = set(
            ConnectionRoom.objects.filter(connection__user_id=user_id, room_id__in=room_ids)
            .exclude(connection_id=live_id)
            .values_list("room_id", flat=True)
        )
    return PresenceChange(
        room_ids=[r for r in room_ids if r not in already],
        online_user_ids=[user_id] if others == 0 else [],
    )


def connection_join_room(*, channel_name: str, room_id: int) -> bool:
    """Join one live connection to a room; True if its user was not online there before."""
    # In SQL, like connection_open: every join makes this trip (S5's join figure).
    with presence_commits(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, user_id FROM {_CONNECTION} WHERE channel_name = %s", [channel_name]
        )
        live = cursor.fetchone()
        if live is None:
            return False
        connection_id, user_id = live
        _lock_presence([user_id])
        cursor.execute(
            f"SELECT 1 FROM {_CONNECTION_ROOM} cr JOIN {_CONNECTION} c ON c.id = cr.connection_id"
            " WHERE c.user_id = %s AND cr.room_id = %s LIMIT 1",
            [user_id, room_id],
        )
        before = cursor.fetchone() is not None
        cursor.execute(
            f"INSERT INTO {_CONNECTION_ROOM} (connection_id, room_id) SELECT %s, %s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {_CONNECTION_ROOM}"
            " WHERE connection_id = %s AND room_id = %s)",
            [connection_id, room_id, connection_id, room_id],
        )
        return not before


def room_enter(
    *, channel_name: str, user_id: int, username: str, room_id: int, name: str
) -> tuple[bool, dict[str, Any]]:
    """Count this socket in the room's presence and read the ``joined`` frame, in one trip to
    the database thread (a join made three; S5's join figure, docs/benchmarks.md).

    Returns whether the user was newly online there, and the frame.
    """
    newly_online = connection_join_room(channel_name=channel_name, room_id=room_id)
    frame = selectors.joined_frame(user_id=user_id, username=username, room_id=room_id, name=name)
    return newly_online, frame


def connection_close_many(*, channel_names: list[str]) -> PresenceChange:
    """Forget sockets that closed, in one transaction (connects.py groups a storm of them)."""
    with presence_commits(), transaction.atomic():
        live = list(Connection.objects.filter(channel_name__in=channel_names))
        if not live:
            return PresenceChange(room_ids=[])
        return _drop_connections(live)


def _lock_presence(user_ids) -> None:
    """Make presence changes of the same user take turns, across worker processes.

    Each change reads "is this user still connected elsewhere?" and then writes. On PostgreSQL
    two workers closing a user's last two sockets at once would each still see the other's
    and neither would announce "offline". Locking the user rows (in id order: no deadlock;
    NO KEY UPDATE: messages referencing the user are not blocked) serialises them. SQLite
    needs no lock (its IMMEDIATE transactions let one writer in at a time) and ignores
    FOR UPDATE, so the query is skipped there.
    """
    from django.contrib.auth import get_user_model

    ids = sorted(set(user_ids))
    if ids and connection.vendor != "sqlite":
        list(
            get_user_model()
            .objects.select_for_update(no_key=True)
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _drop_connections(connections: list[Connection]) -> PresenceChange:
    _lock_presence(c.user_id for c in connections)
    # Another worker may have removed some of them while this one waited for the lock.
    connections = list(Connection.objects.filter(pk__in=[c.pk for c in connections]))
    user_ids = {c.user_id for c in connections}
    pairs = set(
        ConnectionRoom.objects.filter(connection__in=connections).values_list(
            "connection__user_id", "room_id"
        )
    )
    Connection.objects.filter(pk__in=[c.pk for c in connections]).delete()
    still_room = set(
        ConnectionRoom.objects.filter(connection__user_id__in=user_ids).values_list(
            "connection__user_id", "room_id"
        )
    )
    still_users = set(
        Connection.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )
    return PresenceChange(
        room_ids=sorted({room_id for _, room_id in pairs - still_room}),
        offline_user_ids=sorted(user_ids - still_users),
    )


def worker_start(*, worker: str, clear_all: bool) -> None:
    """A server process starts: forget presence it (or, alone, anyone) left behind."""
    with transaction.atomic():
        if clear_all:
            Connection.objects.all().delete()
            Worker.objects.all().delete()
        else:
            Connection.objects.filter(worker=worker).delete()
        Worker.objects.update_or_create(name=worker, defaults={"heartbeat_at": timezone.now()})


def worker_heartbeat(*, worker: str, stale_after: float) -> PresenceChange:
    """Say this worker is alive and drop the connections of workers that stopped saying so."""
    now = timezone.now()
    with transaction.atomic():
        Worker.objects.update_or_create(name=worker, defaults={"heartbeat_at": now})
        # skip_locked: when several workers notice the same dead one, one of them sweeps it
        # (and announces its users offline once); the others move on.
        stale = list(
            Worker.objects.select_for_update(skip_locked=True)
            .filter(heartbeat_at__lt=now - timedelta(seconds=stale_after))
            .exclude(name=worker)
            .values_list("name", flat=True)
        )
        if not stale:
            return PresenceChange(room_ids=[])
        connections = list(Connection.objects.filter(worker__in=stale))
        change = _drop_connections(connections)
        Worker.objects.filter(name__in=stale).delete()
        return change


def worker_stop(*, worker: str) -> None:
    with transaction.atomic():
        Connection.objects.filter(worker=worker).delete()
        Worker.objects.filter(name=worker).delete()
