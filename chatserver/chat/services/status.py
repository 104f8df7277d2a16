"""A user's status (available, away, do not disturb): one per user, for all their clients."""

from __future__ import annotations

from chatserver.chat.models import UserStatus
from chatserver.chat.selectors.presence import online_in_rooms
from chatserver.chat.services.presence import PresenceChange


def status_set(*, user_id: int, status: str) -> PresenceChange:
    """Store the status; the change names the rooms whose online lists now show it."""
    UserStatus.objects.update_or_create(user_id=user_id, defaults={"status": status})
    rooms = sorted(room for user, room in online_in_rooms(user_ids=[user_id]))
    return PresenceChange(room_ids=rooms, online_user_ids=[user_id])
