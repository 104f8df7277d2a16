"""Uploads: where a file may go, storing it (content once by hash, one row per upload), and
removing uploads no message ever carried."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db import connection, transaction

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
    thumb_temp = received.temp_path.with_name(received.temp_path.name + ".thumb")
    try:
        try:
            image = images.inspect(received.temp_path, thumb_temp)
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
        try:
            with transaction.atomic():
                # The row first, then the files, under the content's lock: a sweep that
                # removes this content's last other upload either ran before (the content is
                # then written anew here) or waits and finds this row.
                _lock_contents([received.sha256])
                attachment = Attachment.objects.create(
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
                store.keep(received.temp_path, received.sha256)
                if image is not None:
                    store.keep_thumb(thumb_temp, received.sha256)
            return attachment
        except Exception:
            contents_forget(sha256s=[received.sha256], store=store)
            raise
    finally:
        thumb_temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Swept:
    """What one round of :func:`unsent_files_sweep` removed."""

    files: int  # upload rows
    contents: int  # stored contents (with their thumbnails) no upload named any more


def unsent_files_sweep(*, uploaded_before: datetime, store: FileStore, limit: int = 100) -> Swept:
    """Remove up to ``limit`` uploads that no message carries and that were made before
    ``uploaded_before``, and each content no remaining upload names.

    A send attaching one of them at the same moment wins or loses as a whole: the rows are
    deleted only while still unattached (the ``DELETE`` checks again, under the row locks a
    concurrent ``UPDATE`` holds), and a send whose file was deleted first is refused
    (``unknown_file``, chat/services/messages.py). The caller repeats until fewer than
    ``limit`` were removed.
    """
    stale = _stale_unsent(uploaded_before=uploaded_before, limit=limit)
    if not stale:
        return Swept(files=0, contents=0)
    with transaction.atomic():
        _lock_contents(sha for _, sha in stale)
        deleted, _ = Attachment.objects.filter(
            pk__in=[pk for pk, _ in stale], message__isnull=True, created_at__lt=uploaded_before
        ).delete()
    contents = contents_forget(sha256s=[sha for _, sha in stale], store=store)
    return Swept(files=deleted, contents=contents)


def _stale_unsent(*, uploaded_before: datetime, limit: int) -> list[tuple[int, str]]:
    """``(id, sha256)`` of the oldest uploads made before then that no message carries."""
    return list(
        Attachment.objects.filter(message__isnull=True, created_at__lt=uploaded_before)
        .order_by("id")
        .values_list("id", "sha256")[:limit]
    )


def contents_forget(*, sha256s: Iterable[str], store: FileStore) -> int:
    """Remove each of these stored contents (and thumbnails) that no upload row names;
    returns how many went. Under the contents' locks, so an upload of the same bytes that
    found the content in place has its row in by then, and keeps it."""
    hashes = sorted(set(sha256s))
    moved: list[tuple[Path, Path]] = []
    gone = 0
    try:
        with transaction.atomic():
            _lock_contents(hashes)
            named = set(
                Attachment.objects.filter(sha256__in=hashes).values_list("sha256", flat=True)
            )
            for sha256 in hashes:
                if sha256 not in named:
                    aside = store.set_aside(sha256)
                    gone += bool(aside)
                    moved += aside
    except BaseException:
        store.put_back(moved)  # the rows were not committed: their contents stay
        raise
    store.discard(moved)  # after the commit: an upload now finds no content and writes it
    return gone


# Advisory locks of this project on PostgreSQL are (LOCK_SPACE, key) pairs.
LOCK_SPACE = 0x0D5C_F11E


def _lock_contents(sha256s: Iterable[str]) -> None:
    """Inside a transaction: until it ends, no other upload or sweep of these contents runs.

    On SQLite every transaction is IMMEDIATE (chatserver/config.py): it holds the one write
    lock from its start, so there is nothing more to take. On PostgreSQL, an advisory lock
    per content, taken in hash order so two sweeps never wait on each other in a circle.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sha256 in sorted(set(sha256s)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, int(sha256[:7], 16)]
            )
