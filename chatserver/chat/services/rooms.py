"""Rooms and memberships: creating a room, joining it, leaving it."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from chatserver.chat.models import ConnectionRoom, Membership, Room, RoomFormerName, room_key
from chatserver.chat.protocol import ProtocolError, valid_room_name
from chatserver.chat.selectors.rooms import (
    RoomRef,
    member_room,
    require_member,
    room_by_name,
    room_renamed_from,
)


def _cleaned_name(name: str, ref: str | None) -> str:
    """The room name as it would be stored, or ``bad_room_name``."""
    cleaned = valid_room_name(name)
    if cleaned is None:
        raise ProtocolError(
            "bad_room_name",
            "Room names are 1 to 64 letters, digits, spaces or punctuation.",
            ref,
        )
    return cleaned


def room_get_or_create(*, name: str, user_id: int | None, ref: str | None = None) -> RoomRef:
    """The room called ``name`` (compared without case), created if there is none."""
    cleaned = _cleaned_name(name, ref)
    room = room_by_name(cleaned)
    if room is not None:
        return room
    try:
        with transaction.atomic():
            created = Room.objects.create(name=cleaned, created_by_id=user_id)
            return RoomRef(created.pk, created.name)
    except IntegrityError:
        # Someone created it between our read and write (names are unique ignoring case).
        room = room_by_name(cleaned)
        assert room is not None
        return room


def room_existing(*, name: str, ref: str | None = None) -> RoomRef:
    """The room called ``name``; ``bad_room_name`` or ``unknown_room`` when there is none
    (with ``renamed_to``, the room's name now, when a room was called that before)."""
    cleaned = _cleaned_name(name, ref)
    room = room_by_name(cleaned)
    if room is None:
        moved = room_renamed_from(cleaned)
        if moved is not None:
            raise ProtocolError(
                "unknown_room",
                f"There is no room called '{cleaned}': it is now called '{moved.name}'.",
                ref,
                room=cleaned,
                renamed_to=moved.name,
            )
        raise ProtocolError(
            "unknown_room", f"There is no room called '{cleaned}'.", ref, room=cleaned
        )
    return room


@dataclass(frozen=True)
class RoomRenamed:
    room_id: int
    old: str
    name: str


@transaction.atomic
def room_rename(*, user_id: int, room: str, name: str, ref: str | None) -> RoomRenamed:
    """Give a room a new name; its messages, members and read markers stay (they point at
    its id), and links to the old name say where it went (``RoomFormerName``).

    Who may: an administrator (``is_staff``: the install's first account is one) who is a
    member of the room. Anyone else who is a member gets ``not_allowed``; someone who is
    not gets what every other frame gets (``unknown_room`` / ``not_joined``).
    """
    current = require_member(user_id=user_id, name=room, ref=ref)
    if not get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).exists():
        raise ProtocolError("not_allowed", "Only an administrator can rename a room.", ref)
    cleaned = _cleaned_name(name, ref)
    taken = room_by_name(cleaned)
    if taken is not None and taken.pk != current.pk:
        raise ProtocolError(
            "room_exists", f"There is already a room called '{taken.name}'.", ref, room=taken.name
        )
    row = Room.objects.select_for_update().get(pk=current.pk)
    old = row.name
    if cleaned == old:
        return RoomRenamed(row.pk, old, old)
    row.name = cleaned
    try:
        with transaction.atomic():
            row.save(update_fields=["name", "key"])
    except IntegrityError:  # another room took that name meanwhile
        raise ProtocolError(
            "room_exists", f"There is already a room called '{cleaned}'.", ref, room=cleaned
        ) from None
    # The new name is a live room's again; the old one points here (unless only its case
    # or spacing changed: then it still finds this room directly).
    RoomFormerName.objects.filter(key=row.key).delete()
    if room_key(old) != row.key:
        RoomFormerName.objects.update_or_create(
            key=room_key(old), defaults={"room_id": row.pk, "name": old}
        )
    return RoomRenamed(row.pk, old, row.name)


DEFAULT_ROOM_NAME = "general"


@transaction.atomic
def memberships_at_signup(*, user_id: int, first: bool) -> list[RoomRef]:
    """Make a new account a member of the rooms everybody joins (``joined_on_signup``).

    The install's first account brings ``general`` into being, so nobody lands in an empty
    workspace; later accounts join whatever rooms carry the mark (under any name).
    """
    rooms = list(Room.objects.filter(joined_on_signup=True))
    if not rooms and first:
        room = room_get_or_create(name=DEFAULT_ROOM_NAME, user_id=user_id)
        Room.objects.filter(pk=room.pk).update(joined_on_signup=True)
        rooms = list(Room.objects.filter(pk=room.pk))
    for room in rooms:
        Membership.objects.get_or_create(user_id=user_id, room_id=room.pk)
    return [RoomRef(room.pk, room.name) for room in rooms]


@dataclass(frozen=True)
class JoinResult:
    room: RoomRef
    created_membership: bool


@transaction.atomic
def membership_join(
    *, user_id: int, name: str, max_rooms: int, ref: str | None, create: bool = True
) -> JoinResult:
    """Make the user a member of the room, within ``max_rooms``.

    A missing room is created when ``create`` is true; otherwise it is ``unknown_room``, so a
    client can ask the person before a typo becomes a permanent public room.
    """
    joined = member_room(user_id=user_id, name=name)
    if joined is not None:  # a member already (every reconnect, every tab): one query
        return JoinResult(room=joined, created_membership=False)
    if create:
        room = room_get_or_create(name=name, user_id=user_id, ref=ref)
    else:
        room = room_existing(name=name, ref=ref)
    _, created = Membership.objects.get_or_create(user_id=user_id, room_id=room.pk)
    if created and Membership.objects.filter(user_id=user_id).count() > max_rooms:
        # Raising rolls the membership back: nothing half-done.
        raise ProtocolError(
            "too_many_rooms", f"You can be in at most {max_rooms} rooms at once.", ref
        )
    return JoinResult(room=room, created_membership=created)


@transaction.atomic
def membership_leave(*, user_id: int, name: str, ref: str | None) -> RoomRef:
    """End the user's membership; their sockets stop counting as online there."""
    room = require_member(user_id=user_id, name=name, ref=ref)
    Membership.objects.filter(user_id=user_id, room_id=room.pk).delete()
    ConnectionRoom.objects.filter(connection__user_id=user_id, room_id=room.pk).delete()
    return room
