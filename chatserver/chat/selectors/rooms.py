"""Rooms and who is a member of them: the one membership check every path goes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from chatserver.chat import sql
from chatserver.chat.models import Room, RoomFormerName, room_key
from chatserver.chat.protocol import ProtocolError


class RoomRef(NamedTuple):
    """A room as the protocol needs it: its id and its stored (canonical) name."""

    pk: int
    name: str


def room_by_name(name: str) -> RoomRef | None:
    """The room called ``name`` (compared as ``room_key`` does: folded case and spaces)."""
    found = sql.rows(f"SELECT id, name FROM {sql.ROOM} WHERE key = %s", [room_key(name)])
    return RoomRef(*found[0]) if found else None


def room_renamed_from(name: str) -> RoomRef | None:
    """The room that was called ``name`` before a rename, under its name now (else None).

    Rooms are public (the room browser lists them all), so saying where one went leaks
    nothing; a live room of that name, if any, is found by :func:`room_by_name` first.
    """
    found = (
        RoomFormerName.objects.filter(key=room_key(name))
        .values_list("room_id", "room__name")
        .first()
    )
    return RoomRef(*found) if found else None


def member_room(*, user_id: int, name: str) -> RoomRef | None:
    """The room called ``name`` if the user is a member of it, else None: one query.

    The membership rule, written once: joins by members (every reconnect, every tab), every
    send and every history page go through it (docs/benchmarks.md, S5 and S1).
    """
    found = sql.rows(
        f"SELECT r.id, r.name FROM {sql.ROOM} r JOIN {sql.MEMBERSHIP} m"
        " ON m.room_id = r.id AND m.user_id = %s WHERE r.key = %s",
        [user_id, room_key(name)],
    )
    return RoomRef(*found[0]) if found else None


def require_member(*, user_id: int, name: str, ref: str | None) -> RoomRef:
    """:func:`member_room`, or the error that says why not (no such room, or not joined)."""
    room = member_room(user_id=user_id, name=name)
    if room is not None:
        return room
    room = room_by_name(name)
    if room is None:
        raise ProtocolError("unknown_room", f"There is no room called '{name[:64]}'.", ref)
    raise ProtocolError("not_joined", f"Join '{room.name}' first.", ref)


def require_member_by_any_name(*, user_id: int, name: str, ref: str | None) -> RoomRef:
    """:func:`require_member`, also by a name the room had before a rename, for a member.

    For sends and read markers: a page that has not yet heard of a rename still names the
    room as it was, and refusing what its person wrote (or read) there would lose it. A live
    room of that name comes first; to anyone who is not a member, the old name still says
    nothing (as :func:`require_member`).
    """
    room = member_room(user_id=user_id, name=name)
    if room is None and room_by_name(name) is None:
        moved = room_renamed_from(name)
        if moved is not None:
            room = member_room(user_id=user_id, name=moved.name)
    return room if room is not None else require_member(user_id=user_id, name=name, ref=ref)


@dataclass(frozen=True)
class JoinedRoom:
    room_id: int
    name: str
    last_read_id: int
    last_id: int  # the room's newest message, 0 when empty
    notify: str = "mentions"  # the member's notification level
    mentions: int = 0  # unread messages mentioning the member, capped like unread counts


# Unread mentions of the member, from the ``mention_room`` index; capped as unread counts are
# (selectors/messages.py, UNREAD_COUNT_LIMIT, which is passed in).
_UNREAD_MENTIONS = (
    f"(SELECT COUNT(*) FROM (SELECT 1 FROM {sql.MENTION} mn WHERE mn.user_id = m.user_id"
    " AND mn.room_id = m.room_id AND mn.message_id > m.last_read_id LIMIT %s) capped)"
)


def joined_rooms(*, user_id: int, mention_cap: int) -> list[JoinedRoom]:
    """The user's rooms with their read markers, newest message ids, notification levels
    and unread mentions, in one query (every connect reads it: a query more costs each
    connect of a storm ~60 µs of the one database thread, docs/benchmarks.md)."""
    found = sql.rows(
        f"SELECT m.room_id, r.name, m.last_read_id,"
        f" (SELECT MAX(x.id) FROM {sql.MESSAGE} x WHERE x.room_id = m.room_id), m.notify,"
        f" {_UNREAD_MENTIONS}"
        f" FROM {sql.MEMBERSHIP} m JOIN {sql.ROOM} r ON r.id = m.room_id WHERE m.user_id = %s",
        [mention_cap, user_id],
    )
    return [
        JoinedRoom(room_id, name, read, last or 0, notify, mentions)
        for room_id, name, read, last, notify, mentions in found
    ]


def room_members(*, user_id: int, name: str, ref: str | None) -> tuple[RoomRef, list[str]]:
    """A room the user is a member of and its active members' usernames, sorted as people
    read them (the composer completes ``@`` from these)."""
    room = require_member(user_id=user_id, name=name, ref=ref)
    found = sql.rows(
        f"SELECT u.username FROM {sql.MEMBERSHIP} m JOIN {sql.USER} u ON u.id = m.user_id"
        " WHERE m.room_id = %s AND u.is_active = %s",
        [room.pk, True],
    )
    return room, sorted((username for (username,) in found), key=str.casefold)


def all_rooms() -> list[RoomRef]:
    """Every room, by name."""
    return [
        RoomRef(pk, name) for pk, name in Room.objects.order_by("name").values_list("pk", "name")
    ]


def room_names(room_ids: list[int]) -> dict[int, str]:
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "name"))
