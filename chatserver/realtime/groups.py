"""Channel-layer groups and the events sent to them.

Group names are always built from primary keys (Channels wants short ASCII). A frame for many
sockets travels as a ``chat.frame`` event carrying its text, encoded once by its sender, so
each recipient only writes bytes (the consumer's ``chat_frame``).
"""

from __future__ import annotations

from typing import Any

from chatserver.chat import frames

LOBBY_GROUP = "lobby"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def room_group(room_id: int) -> str:
    return f"room-{room_id}"


def frame_event(frame: frames.Frame, *, exclude_user: int | None = None) -> dict[str, Any]:
    """The event that relays ``frame`` to each member (but not ``exclude_user``'s sockets)."""
    event: dict[str, Any] = {"type": "chat.frame", "text": frames.encode(frame)}
    if exclude_user is not None:
        event["exclude_user"] = exclude_user
    return event
