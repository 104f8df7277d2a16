"""Uploaded files on disk: each content stored once, under the data folder, by its SHA-256.

An upload is written to ``tmp/`` next to the store (same file system, so keeping it is one
atomic rename) and only then named by its hash: a file under its hash is always whole, and a
failed or aborted upload leaves nothing behind but a temporary file its handler removes.
Thumbnails sit beside the contents they were made from, also by hash.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO

from django.conf import settings

# A temporary upload file older than this was left by a process that died mid-upload (no
# upload takes a day); the next upload, or the periodic sweep (realtime/worker.py), removes it.
STALE_TEMP_SECONDS = 24 * 3600

_HASH = re.compile(r"[0-9a-f]{64}")


class FileStore:
    """The folder ``root`` (``DESKCHAT["FILES_DIR"]``): contents, ``thumbs/`` and ``tmp/``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the content with this (hex) hash lives; two levels keep folders small."""
        return self.root / sha256[:2] / sha256

    def thumb_path(self, sha256: str) -> Path:
        return self.root / "thumbs" / f"{sha256}.webp"

    def new_temp(self) -> IO[bytes]:
        """An open, empty file in ``tmp/``; its ``name`` is its path. The caller removes it."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.sweep_stale()
        return tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="upload-", delete=False)

    def sweep_stale(self, now: float | None = None) -> None:
        """Remove temporary files a crashed process left (a kill mid-upload: every other
        failure removes its own file at once)."""
        cutoff = (now if now is not None else time.time()) - STALE_TEMP_SECONDS
        if not self.tmp_dir.is_dir():
            return  # nothing was ever uploaded here
        for entry in os.scandir(self.tmp_dir):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass  # another upload removed it first

    def keep(self, temp_path: Path, sha256: str) -> bool:
        """Move a complete upload to its hash's place; True if this call stored the content.

        Contents already stored (the same file uploaded before) keep their copy and the
        temporary one is removed.
        """
        final = self.path(sha256)
        if final.exists():
            temp_path.unlink(missing_ok=True)
            return False
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(temp_path, final)
        return True

    def keep_thumb(self, temp_path: Path, sha256: str) -> None:
        """Move a thumbnail made in ``tmp/`` to its content's place (unless one is there)."""
        final = self.thumb_path(sha256)
        if final.exists():
            temp_path.unlink(missing_ok=True)
            return
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(temp_path, final)

    def set_aside(self, sha256: str) -> list[tuple[Path, Path]]:
        """Move a content and its thumbnail out of their places into ``tmp/``: gone for
        every reader at once, yet back in one rename if the removal is undone. Returns
        ``(set aside, original)`` pairs for :meth:`put_back` or :meth:`discard`."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        moved = []
        for original in (self.path(sha256), self.thumb_path(sha256)):
            aside = self.tmp_dir / f"removed-{uuid.uuid4().hex}"
            try:
                os.replace(original, aside)
            except FileNotFoundError:
                continue  # no thumbnail (not an image), or another sweep took it first
            except PermissionError:
                # Windows renames no file that is open (its uploader downloading it this
                # instant): it stays, named by nothing, rather than fail the whole batch.
                continue
            os.utime(aside)  # fresh, so sweep_stale leaves it until it is discarded
            moved.append((aside, original))
        return moved

    def stored_hashes(self) -> set[str]:
        """Every hash with a content or a thumbnail on disk (anything else in the folder,
        such as ``tmp/``, is not the store's to judge)."""
        found: set[str] = set()
        if not self.root.is_dir():
            return found
        for folder in os.scandir(self.root):
            if folder.is_dir() and len(folder.name) == 2:
                found.update(
                    entry.name
                    for entry in os.scandir(folder.path)
                    if _HASH.fullmatch(entry.name) and entry.name.startswith(folder.name)
                )
        thumbs = self.root / "thumbs"
        if thumbs.is_dir():
            found.update(
                entry.name.removesuffix(".webp")
                for entry in os.scandir(thumbs)
                if _HASH.fullmatch(entry.name.removesuffix(".webp"))
            )
        return found

    @staticmethod
    def put_back(moved: list[tuple[Path, Path]]) -> None:
        for aside, original in moved:
            os.replace(aside, original)

    @staticmethod
    def discard(moved: list[tuple[Path, Path]]) -> None:
        for aside, _ in moved:
            aside.unlink(missing_ok=True)


def file_store() -> FileStore:
    return FileStore(Path(settings.DESKCHAT["FILES_DIR"]))
