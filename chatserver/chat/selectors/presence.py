"""Who is online: the one definition, and the reads built on it.

A user is **online** while they have at least one live connection (a ``Connection`` row), and
**online in a room** while at least one of those connections is joined to the room (a
``ConnectionRoom`` row). ``_ONLINE_IN_ROOMS`` is that second rule in SQL, written once; the
room list, each room's online list and every presence frame read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.chat import sql
from chatserver.chat.selectors.rooms import room_names
from chatserver.chat.selectors.users import usernames

# (room_id, user_id) for every user online in a room; {where} narrows it to some rooms.
_ONLINE_IN_ROOMS = (
    f"SELECT DISTINCT cr.room_id, c.user_id FROM {sql.CONNECTION_ROOM} cr"
    f" JOIN {sql.CONNECTION} c ON c.id = cr.connection_id {{where}}"
)


def room_online(*, room_id: int) -> list[str]:
    """Usernames online in the room, sorted as people read them (case-insensitive).

    In SQL: every join and every presence batch reads it (docs/benchmarks.md, S5's join).
    """
    online = _ONLINE_IN_ROOMS.format(where="WHERE cr.room_id = %s")
    found = sql.rows(
        f"SELECT u.username FROM ({online}) o JOIN {sql.USER} u ON u.id = o.user_id", [room_id]
    )
    return sorted((name for (name,) in found), key=str.casefold)


def rooms_online_in(
    *, user_id: int, room_ids: list[int], other_than: int | None = None
) -> set[int]:
    """Those of ``room_ids`` where the user is online (through a connection other than
    ``other_than``, when given): the presence registry's "was this user here already?"."""
    if not room_ids:
        return set()
    where = f"WHERE c.user_id = %s AND cr.room_id IN ({sql.placeholders(room_ids)})"
    params: list[int] = [user_id, *room_ids]
    if other_than is not None:
        where += " AND c.id <> %s"
        params.append(other_than)
    found = sql.rows(_ONLINE_IN_ROOMS.format(where=where), params)
    return {room_id for room_id, _ in found}


def online_in_rooms(*, user_ids: list[int]) -> set[tuple[int, int]]:
    """``(user_id, room_id)`` for every room where one of these users is online."""
    if not user_ids:
        return set()
    where = f"WHERE c.user_id IN ({sql.placeholders(user_ids)})"
    return {(user, room) for room, user in sql.rows(_ONLINE_IN_ROOMS.format(where=where), user_ids)}


def online_counts() -> dict[int, int]:
    """How many users are online in each room that has anyone online."""
    online = _ONLINE_IN_ROOMS.format(where="")
    return dict(sql.rows(f"SELECT room_id, COUNT(*) FROM ({online}) o GROUP BY room_id", []))


def online_user_ids(user_ids: list[int]) -> set[int]:
    """Those of ``user_ids`` who are online at all."""
    if not user_ids:
        return set()
    found = sql.rows(
        f"SELECT DISTINCT user_id FROM {sql.CONNECTION}"
        f" WHERE user_id IN ({sql.placeholders(user_ids)})",
        user_ids,
    )
    return {user_id for (user_id,) in found}


AVAILABLE = "available"


def statuses(names: list[str]) -> dict[str, str]:
    """Each of these users' status (``available`` when they never set one)."""
    found: dict[str, str] = dict.fromkeys(names, AVAILABLE)
    if not names:
        return found
    unique = sorted(set(names))
    found.update(
        sql.rows(
            f"SELECT u.username, s.status FROM {sql.USER_STATUS} s"
            f" JOIN {sql.USER} u ON u.id = s.user_id"
            f" WHERE u.username IN ({sql.placeholders(unique)})",
            unique,
        )
    )
    return found


def statuses_by_id(user_ids: list[int]) -> dict[int, str]:
    """:func:`statuses` for users known by id (no join with the user table)."""
    found: dict[int, str] = dict.fromkeys(user_ids, AVAILABLE)
    if user_ids:
        found.update(
            sql.rows(
                f"SELECT user_id, status FROM {sql.USER_STATUS}"
                f" WHERE user_id IN ({sql.placeholders(user_ids)})",
                list(user_ids),
            )
        )
    return found


@dataclass(frozen=True)
class PresenceSnapshot:
    rooms: dict[int, tuple[str, list[str]]]  # room id -> (name, online usernames)
    users: dict[str, bool]  # username -> online now
    statuses: dict[str, str]  # username -> status, for everyone named above


def presence_snapshot(*, room_ids: list[int], user_ids: list[int]) -> PresenceSnapshot:
    """Who is online now in these rooms, whether these users are online at all, and the
    status of everyone either names."""
    names = room_names(room_ids)
    rooms = {room_id: (name, room_online(room_id=room_id)) for room_id, name in names.items()}
    online = online_user_ids(user_ids)
    users = {name: pk in online for pk, name in usernames(user_ids).items()}
    everyone = {name for _, listed in rooms.values() for name in listed} | set(users)
    return PresenceSnapshot(rooms=rooms, users=users, statuses=statuses(sorted(everyone)))
