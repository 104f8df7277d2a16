"""Files a user may read, and the file objects messages carry.

The download rule is written here once: a file is readable by whoever can read its
conversation now (a member of its room; either person of its DM while the other is still
active, as ``history`` requires), and before it is sent only by its uploader.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from chatserver.chat import frames, sql
from chatserver.chat.models import Attachment, Membership


def file_object(attachment: Attachment) -> frames.Frame:
    return frames.file(
        id=attachment.pk,
        name=attachment.name,
        size=attachment.size,
        type=attachment.content_type,
        width=attachment.width,
        height=attachment.height,
    )


def readable_file(*, user_id: int | None, file_id: int) -> Attachment | None:
    """The file if ``user_id`` may download it now, else None (the caller answers 404)."""
    if user_id is None:
        return None
    attachment = Attachment.objects.filter(pk=file_id).first()
    if attachment is None:
        return None
    if attachment.message_id is None:
        return attachment if attachment.uploader_id == user_id else None
    if attachment.room_id is not None:
        member = Membership.objects.filter(user_id=user_id, room_id=attachment.room_id)
        return attachment if member.exists() else None
    low, high = (int(part) for part in attachment.dm_key.split(":"))
    if user_id not in (low, high):
        return None
    peer_id = high if user_id == low else low
    peer_active = get_user_model().objects.filter(pk=peer_id, is_active=True).exists()
    return attachment if peer_active else None


def message_files(message_ids: Iterable[int]) -> dict[int, list[frames.Frame]]:
    """Each message's file objects, in upload order, in one query (messages without files
    are simply absent).

    Plain SQL: every ``join`` and history page asks this for its 50 messages, and the ORM
    would spend more building the query than the index lookup takes (chat/sql.py).
    """
    ids = list(message_ids)
    if not ids:
        return {}
    found: dict[int, list[frames.Frame]] = {}
    rows = sql.rows(
        f"SELECT message_id, id, name, size, content_type, width, height FROM {sql.ATTACHMENT}"
        f" WHERE message_id IN ({sql.placeholders(ids)}) ORDER BY id",
        ids,
    )
    for message_id, id_, name, size, type_, width, height in rows:
        found.setdefault(message_id, []).append(
            frames.file(id=id_, name=name, size=size, type=type_, width=width, height=height)
        )
    return found


def attachable_files(file_ids: Iterable[int]) -> dict[int, Attachment]:
    """The uploads a batch of sends names, by id, in one query."""
    return Attachment.objects.in_bulk(list(file_ids))
