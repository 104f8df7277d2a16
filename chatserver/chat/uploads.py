"""Receiving an upload: Django's multipart parser hands the ``file`` field to this handler,
which writes it to the store's ``tmp/`` folder, hashes it as it goes and stops past the limit.

Nothing of the file is held in memory beyond one chunk, and the limit is enforced while the
body is read, for bodies whose Content-Length did not already say they are too large
(chunked ones). Whatever happens, :meth:`StoreUploadHandler.discard` leaves no temporary file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopFutureHandlers

from chatserver.chat.filestore import FileStore


class UploadTooLarge(Exception):
    """The file grew past the limit while it was read."""


class StoreUploadHandler(FileUploadHandler):
    """Streams the one ``file`` field to a temporary file in the store, hashing it."""

    chunk_size = 256 * 1024

    def __init__(self, request, *, store: FileStore, limit: int) -> None:
        super().__init__(request)
        self.store = store
        self.limit = limit
        self.temp = None
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.kept = False

    def new_file(self, field_name: str, file_name: str, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != "file" or self.temp is not None:
            raise SkipFile  # one file per upload; anything else is read past, not stored
        self.temp = self.store.new_temp()
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > self.limit:
            raise UploadTooLarge
        self.sha256.update(raw_data)
        self.temp.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.temp is None:
            return None
        self.temp.flush()
        return UploadedFile(
            self.temp, name=self.file_name, content_type=self.content_type, size=self.size
        )

    @property
    def temp_path(self) -> Path:
        assert self.temp is not None
        return Path(self.temp.name)

    def discard(self) -> None:
        """Close and remove the temporary file unless the store kept it."""
        if self.temp is None:
            return
        self.temp.close()
        if not self.kept:
            self.temp_path.unlink(missing_ok=True)
