"""Unread mentions: how many of a conversation's unread messages mention the user.

Counts read the ``mention_room`` / ``mention_dm`` indexes from the reader's marker on: a range
of the user's own mentions, never the conversation's messages.
"""

from __future__ import annotations

from chatserver.chat import sql
from chatserver.chat.selectors.messages import UNREAD_COUNT_LIMIT


def room_mention_count(*, user_id: int, room_id: int, last_read_id: int) -> int:
    """Unread messages mentioning the user in one room (capped like unread)."""
    return sql.rows(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {sql.MENTION} WHERE user_id = %s AND room_id = %s"
        " AND message_id > %s LIMIT %s) capped",
        [user_id, room_id, last_read_id, UNREAD_COUNT_LIMIT],
    )[0][0]


def dm_mention_counts(*, user_id: int) -> dict[int, int]:
    """Unread DMs mentioning the user, by the peer who sent them."""
    return dict(
        sql.rows(
            f"SELECT x.sender_id, COUNT(*) FROM {sql.MENTION} x"
            f" LEFT JOIN {sql.DIRECT_READ} r ON r.user_id = x.user_id AND r.peer_id = x.sender_id"
            " WHERE x.user_id = %s AND x.room_id IS NULL"
            " AND x.message_id > COALESCE(r.last_read_id, 0) GROUP BY x.sender_id",
            [user_id],
        )
    )
