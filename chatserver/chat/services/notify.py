"""Notification levels: which messages of a conversation notify its user, kept on the server
so that every tab and device of theirs agrees."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.chat.models import DirectRead, Membership
from chatserver.chat.selectors.rooms import require_member
from chatserver.chat.selectors.users import require_peer


@dataclass(frozen=True)
class NotifyLevel:
    """A conversation's level, named as the server spells the conversation."""

    room: str | None
    with_user: str | None
    level: str


def notify_set(
    *, user_id: int, room_name: str | None, with_username: str | None, level: str, ref: str
) -> NotifyLevel:
    """Set the user's level for a room they are in, or for their DM with an active user."""
    if room_name is not None:
        room = require_member(user_id=user_id, name=room_name, ref=ref)
        Membership.objects.filter(user_id=user_id, room_id=room.pk).update(notify=level)
        return NotifyLevel(room=room.name, with_user=None, level=level)
    assert with_username is not None
    peer = require_peer(user_id=user_id, username=with_username, ref=ref)
    marker, created = DirectRead.objects.get_or_create(
        user_id=user_id, peer=peer, defaults={"notify": level}
    )
    if not created and marker.notify != level:
        DirectRead.objects.filter(pk=marker.pk).update(notify=level)
    return NotifyLevel(room=None, with_user=peer.username, level=level)
