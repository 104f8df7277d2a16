"""The sidebar and an opened room: unread counts, read markers, the latest page.

Read by every connect and every join, in plain SQL: the ORM spent ~0.4 ms of Python building
each of the sidebar's eight-plus queries (about 5 ms per connect, on the one database thread
every connect queues for) where SQLite answers each in microseconds (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatserver.chat import frames, sql
from chatserver.chat.selectors.mentions import dm_mention_counts, room_mention_count
from chatserver.chat.selectors.messages import (
    UNREAD_COUNT_LIMIT,
    dm_unread,
    room_messages,
    room_unread,
)
from chatserver.chat.selectors.presence import (
    online_user_ids,
    room_online,
    statuses,
    statuses_by_id,
)
from chatserver.chat.selectors.rooms import JoinedRoom, joined_rooms

JOINED_PAGE = 50  # messages a ``joined`` frame carries


@dataclass(frozen=True)
class Sidebar:
    """The ``conversations`` frame's two lists."""

    rooms: list[dict[str, Any]]
    dms: list[dict[str, Any]]
    status: str  # the user's own (``hello``), read in the same trip


def sidebar(*, user_id: int, joined: list[JoinedRoom] | None = None) -> Sidebar:
    """Joined rooms and DM partners, each with unread count and last message id."""
    if joined is None:
        joined = joined_rooms(user_id=user_id, mention_cap=UNREAD_COUNT_LIMIT)
    rooms = [
        {
            "room": room.name,
            "unread": room_unread(
                room_id=room.room_id, user_id=user_id, last_read_id=room.last_read_id
            ),
            "last_id": room.last_id,
            "last_read_id": room.last_read_id,
            "mentions": room.mentions,
            "notify": room.notify,
        }
        for room in joined
    ]
    rooms.sort(key=lambda r: r["room"].casefold())

    partners: dict[int, int] = {}
    # Sent and received apart: each reads only DM rows from its partial index (message_dm_*);
    # one OR query walked every message the user ever sent to a room (300 ms at 500,000).
    for query in (
        f"SELECT recipient_id, MAX(id) FROM {sql.MESSAGE}"
        " WHERE sender_id = %s AND recipient_id IS NOT NULL GROUP BY recipient_id",
        f"SELECT sender_id, MAX(id) FROM {sql.MESSAGE} WHERE recipient_id = %s GROUP BY sender_id",
    ):
        for peer, last_id in sql.rows(query, [user_id]):
            partners[peer] = max(partners.get(peer, 0), last_id)
    if not partners:
        return Sidebar(rooms=rooms, dms=[], status=statuses_by_id([user_id])[user_id])
    peers = list(partners)
    reads: dict[int, int] = {}
    levels: dict[int, str] = {}
    for peer_id, last_read_id, level in sql.rows(
        f"SELECT peer_id, last_read_id, notify FROM {sql.DIRECT_READ} WHERE user_id = %s",
        [user_id],
    ):
        reads[peer_id], levels[peer_id] = last_read_id, level
    dm_mentions = dm_mention_counts(user_id=user_id)
    names = dict(
        sql.rows(
            f"SELECT id, username FROM {sql.USER} WHERE id IN ({sql.placeholders(peers)})", peers
        )
    )
    online = online_user_ids(peers)  # only the partners': all online users would be O(online)
    status = statuses_by_id([*peers, user_id])  # the partners' and the user's own
    dms = [
        {
            "with": names[peer_id],
            "unread": dm_unread(
                peer_id=peer_id, user_id=user_id, last_read_id=reads.get(peer_id, 0)
            ),
            "last_id": last_id,
            "last_read_id": reads.get(peer_id, 0),
            "online": peer_id in online,
            "status": status[peer_id],
            "mentions": dm_mentions.get(peer_id, 0),
            "notify": levels.get(peer_id, "all"),
        }
        for peer_id, last_id in partners.items()
    ]
    dms.sort(key=lambda d: -d["last_id"])
    return Sidebar(rooms=rooms, dms=dms, status=status[user_id])


def opened_room(*, user_id: int, room_id: int, name: str) -> frames.Frame:
    """The answer to ``join``: latest page, who is online, where the user read up to."""
    messages, has_more = room_messages(room_id=room_id, before=None, limit=JOINED_PAGE)
    marker = sql.rows(
        f"SELECT last_read_id, notify FROM {sql.MEMBERSHIP} WHERE user_id = %s AND room_id = %s",
        [user_id, room_id],
    )
    last_read, level = marker[0] if marker else (0, "mentions")
    online = room_online(room_id=room_id)
    return frames.joined(
        room=name,
        online=online,
        status=statuses(online),
        messages=messages,
        has_more=has_more,
        last_read_id=last_read,
        unread=room_unread(room_id=room_id, user_id=user_id, last_read_id=last_read),
        mentions=room_mention_count(user_id=user_id, room_id=room_id, last_read_id=last_read),
        notify=level,
    )
