"""The presence registry: which sockets are live, in which rooms, on which worker process.

Rows here are what "online" is read from (selectors/presence.py). They describe sockets of
running processes only: a process clears its own rows at start and stop, and a heartbeat lets
the other workers sweep the rows of one that died (docs/deploy.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from chatserver.chat import frames, sql
from chatserver.chat.durability import presence_commits
from chatserver.chat.models import Connection, ConnectionRoom, Membership, Worker
from chatserver.chat.selectors.conversations import Sidebar, opened_room, sidebar
from chatserver.chat.selectors.messages import UNREAD_COUNT_LIMIT
from chatserver.chat.selectors.presence import online_in_rooms, online_user_ids, rooms_online_in
from chatserver.chat.selectors.rooms import joined_rooms


@dataclass(frozen=True)
class PresenceChange:
    """Rooms whose online list changed, and users who came online or went offline."""

    room_ids: list[int]
    online_user_ids: list[int] = field(default_factory=list)
    offline_user_ids: list[int] = field(default_factory=list)


class TooManyConnections(Exception):
    pass


@dataclass(frozen=True)
class ConnectionStart:
    """All a new socket needs, from one trip to the database thread."""

    change: PresenceChange
    rooms: list[tuple[int, str]]
    sidebar: Sidebar


def connection_start(
    *, channel_name: str, user_id: int, worker: str, max_connections: int
) -> ConnectionStart:
    """Register a socket (``connection_open``) and read its rooms and sidebar.

    One ``database_sync_to_async`` call instead of three: connects queue on the single
    database thread, so each hop a connect makes is paid by every connect behind it.
    """
    joined = joined_rooms(user_id=user_id, mention_cap=UNREAD_COUNT_LIMIT)
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
        sidebar=sidebar(user_id=user_id, joined=joined),
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
    # In SQL, like the sidebar it shares a trip with (selectors/conversations.py): the ORM's
    # count, create and bulk_create cost more Python than the database takes to answer.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {sql.CONNECTION} WHERE user_id = %s", [user_id])
        others = cursor.fetchone()[0]
        if others >= max_connections:
            raise TooManyConnections
        returning = connection.features.can_return_columns_from_insert  # SQLite >= 3.35
        cursor.execute(
            f"INSERT INTO {sql.CONNECTION} (channel_name, user_id, worker)"
            f" VALUES (%s, %s, %s){' RETURNING id' if returning else ''}",
            [channel_name, user_id, worker],
        )
        live_id = cursor.fetchone()[0] if returning else cursor.lastrowid
        if room_ids is None:
            room_ids = list(
                Membership.objects.filter(user_id=user_id).values_list("room_id", flat=True)
            )
        if room_ids:
            cursor.executemany(
                f"INSERT INTO {sql.CONNECTION_ROOM} (connection_id, room_id) VALUES (%s, %s)",
                [(live_id, room_id) for room_id in room_ids],
            )
    already: set[int] = set()
    if others:  # another socket of this user may already count in some of these rooms
        already = rooms_online_in(user_id=user_id, room_ids=room_ids, other_than=live_id)
    return PresenceChange(
        room_ids=[r for r in room_ids if r not in already],
        online_user_ids=[user_id] if others == 0 else [],
    )


def connection_join_room(*, channel_name: str, room_id: int) -> bool:
    """Join one live connection to a room; True if its user was not online there before."""
    # In SQL, like connection_open: every join makes this trip (S5's join figure).
    with presence_commits(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, user_id FROM {sql.CONNECTION} WHERE channel_name = %s", [channel_name]
        )
        live = cursor.fetchone()
        if live is None:
            return False
        connection_id, user_id = live
        _lock_presence([user_id])
        before = bool(rooms_online_in(user_id=user_id, room_ids=[room_id]))
        cursor.execute(
            f"INSERT INTO {sql.CONNECTION_ROOM} (connection_id, room_id) SELECT %s, %s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {sql.CONNECTION_ROOM}"
            " WHERE connection_id = %s AND room_id = %s)",
            [connection_id, room_id, connection_id, room_id],
        )
        return not before


def room_enter(
    *, channel_name: str, user_id: int, room_id: int, name: str
) -> tuple[bool, frames.Frame]:
    """Count this socket in the room's presence and read the ``joined`` frame, in one trip to
    the database thread (a join made three; S5's join figure, docs/benchmarks.md).

    Returns whether the user was newly online there, and the frame.
    """
    newly_online = connection_join_room(channel_name=channel_name, room_id=room_id)
    frame = opened_room(user_id=user_id, room_id=room_id, name=name)
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
    still_online = online_in_rooms(user_ids=sorted(user_ids))
    return PresenceChange(
        room_ids=sorted({room_id for _, room_id in pairs - still_online}),
        offline_user_ids=sorted(user_ids - online_user_ids(sorted(user_ids))),
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
