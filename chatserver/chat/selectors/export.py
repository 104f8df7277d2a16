"""What an export holds: one conversation a user may read now, and its messages in order.

Messages are read in keyset chunks and built by ``message_objects`` (the one builder every
read uses), so an export carries the same fields as history (``files`` included) and a
room with a million messages never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q

from chatserver.chat import frames
from chatserver.chat.models import Message, dm_key
from chatserver.chat.selectors.messages import message_objects
from chatserver.chat.selectors.rooms import member_room, room_by_name
from chatserver.chat.selectors.users import User

EXPORT_CHUNK = 500


@dataclass(frozen=True)
class Conversation:
    """A room (``room`` set) or the DM of ``people`` (two usernames, sorted)."""

    condition: Q
    room: str | None = None
    people: tuple[str, str] | None = None

    @property
    def title(self) -> str:
        return f"#{self.room}" if self.room is not None else " ↔ ".join(self.people or ())

    def descriptor(self) -> dict[str, object]:
        return {"room": self.room} if self.room is not None else {"dm": list(self.people or ())}


def readable_conversation(
    *, user_id: int, room: str | None, with_user: str | None
) -> Conversation | None:
    """The conversation if ``user_id`` may read it now, else None, whatever the reason (no
    such room, not a member, no such person, no messages between them): a refusal says
    nothing about what exists."""
    if (room is None) == (with_user is None):
        return None
    if room is not None:
        found = member_room(user_id=user_id, name=room)
        return None if found is None else Conversation(Q(room_id=found.pk), room=found.name)
    peer = User.objects.filter(username=with_user, is_active=True).exclude(pk=user_id).first()
    me = User.objects.filter(pk=user_id).values_list("username", flat=True).first()
    if peer is None or me is None:
        return None
    return _dm(user_id, me, peer.pk, peer.username)


def any_conversation(*, room: str | None, usernames: tuple[str, str] | None) -> Conversation | None:
    """For the server's operator (``deskchat manage export``): any room, any pair's DM."""
    if room is not None:
        found = room_by_name(room)
        return None if found is None else Conversation(Q(room_id=found.pk), room=found.name)
    assert usernames is not None
    users = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
    if len(users) != 2:
        return None
    (first, first_id), (second, second_id) = users.items()
    return _dm(first_id, first, second_id, second)


def _dm(user_id: int, username: str, peer_id: int, peer: str) -> Conversation | None:
    key = dm_key(user_id, peer_id)
    if not Message.objects.filter(dm_key=key).exists():
        return None
    return Conversation(Q(dm_key=key), people=tuple(sorted((username, peer))))  # type: ignore[arg-type]


def conversation_chunks(
    conversation: Conversation, *, after: int = 0
) -> Iterator[list[frames.Frame]]:
    """Every message of ``conversation`` after ``after``, oldest first, a chunk at a time."""
    while True:
        chunk = next_chunk(conversation, after=after)
        if not chunk:
            return
        yield chunk
        after = chunk[-1]["id"]


def next_chunk(conversation: Conversation, *, after: int) -> list[frames.Frame]:
    """Up to ``EXPORT_CHUNK`` message objects after the id ``after``, oldest first."""
    rows = Message.objects.filter(conversation.condition, id__gt=after).order_by("id")
    return message_objects(list(rows[:EXPORT_CHUNK]))
