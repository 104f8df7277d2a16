"""Uploads: where a file may go, and storing it (content once by hash, one row per upload)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from chatserver.chat import images
from chatserver.chat.filestore import FileStore
from chatserver.chat.models import Attachment, dm_key
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.selectors.rooms import require_member
from chatserver.chat.selectors.users import require_peer

MAX_NAME_CHARS = 255
# Types a name may suggest that only Pillow may grant: a "photo.png" that is not one is
# an ordinary download.
RASTER_TYPES = frozenset(images.RASTER_TYPES.values())


@dataclass(frozen=True)
class UploadTarget:
    """The conversation an upload goes to: a room the uploader is in, or a DM."""

    room_id: int | None
    dm_key: str | None


@dataclass(frozen=True)
class ReceivedFile:
    """A complete upload in the store's ``tmp/`` folder (chat/uploads.py)."""

    temp_path: Path
    name: str
    size: int
    sha256: str
    guessed_type: str


def upload_target(*, user_id: int, room: str | None, to: str | None) -> UploadTarget:
    """Check the uploader may post there, with the same rules as ``send``."""
    if (room is None) == (to is None):
        raise ProtocolError("missing_field", "Give exactly one of 'room' or 'to'.")
    if room is not None:
        return UploadTarget(
            room_id=require_member(user_id=user_id, name=room, ref=None).pk, dm_key=None
        )
    peer = require_peer(user_id=user_id, username=to, ref=None)  # type: ignore[arg-type]
    return UploadTarget(room_id=None, dm_key=dm_key(user_id, peer.pk))


def clean_file_name(name: str) -> str:
    """The name shown and offered on download: no folders (Django's parser already took the
    last path part), no control or format characters (U+202E could disguise ``exe.png``)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if kept in ("", ".", ".."):
        kept = "file"
    if len(kept) > MAX_NAME_CHARS:
        stem, dot, ext = kept.rpartition(".")
        kept = (
            (stem[: MAX_NAME_CHARS - len(ext) - 1] + dot + ext)
            if dot and len(ext) < 16
            else kept[:MAX_NAME_CHARS]
        )
    return kept


def file_create(
    *, uploader_id: int, target: UploadTarget, received: ReceivedFile, store: FileStore
) -> Attachment:
    """Store a received upload: an image gets its thumbnail, the content goes under its hash
    (kept once), and the row names it. Raises ProtocolError ``image_too_large`` for a
    decompression bomb, leaving the temporary file to its handler."""
    try:
        image = images.inspect(received.temp_path, store.thumb_path(received.sha256))
    except images.ImageRefused:
        raise ProtocolError(
            "image_too_large",
            f"The image is too large to process (over {images.MAX_PIXELS:,} pixels).",
        ) from None
    if image is not None:
        content_type = image.content_type
    elif received.guessed_type in RASTER_TYPES:
        content_type = "application/octet-stream"
    else:
        content_type = received.guessed_type
    created = store.keep(received.temp_path, received.sha256)
    try:
        with transaction.atomic():
            return Attachment.objects.create(
                uploader_id=uploader_id,
                room_id=target.room_id,
                dm_key=target.dm_key,
                name=received.name,
                size=received.size,
                content_type=content_type,
                sha256=received.sha256,
                width=image.width if image else None,
                height=image.height if image else None,
            )
    except Exception:
        if created and not Attachment.objects.filter(sha256=received.sha256).exists():
            store.remove(received.sha256)
        raise
