"""Read markers: how far a user has read each conversation (unread badges count from them)."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.chat.models import DirectRead, Membership
from chatserver.chat.selectors.rooms import require_member_by_any_name
from chatserver.chat.selectors.users import require_peer


@dataclass(frozen=True)
class ReadMarker:
    """Where the marker is now, named as the server spells the conversation."""

    room: str | None
    with_user: str | None
    id: int


def read_mark(
    *, user_id: int, room_name: str | None, with_username: str | None, message_id: int, ref: str
) -> ReadMarker:
    """Move the user's read marker forward (never back). A member's page that has not yet
    heard of a rename marks the room under its old name (as it sends: chat/services/messages.py)."""
    if room_name is not None:
        room = require_member_by_any_name(user_id=user_id, name=room_name, ref=ref)
        Membership.objects.filter(
            user_id=user_id, room_id=room.pk, last_read_id__lt=message_id
        ).update(last_read_id=message_id)
        return ReadMarker(room=room.name, with_user=None, id=message_id)
    assert with_username is not None
    peer = require_peer(user_id=user_id, username=with_username, ref=ref)
    marker, _ = DirectRead.objects.get_or_create(user_id=user_id, peer=peer)
    if marker.last_read_id < message_id:
        DirectRead.objects.filter(pk=marker.pk, last_read_id__lt=message_id).update(
            last_read_id=message_id
        )
    return ReadMarker(room=None, with_user=peer.username, id=message_id)
