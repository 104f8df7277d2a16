"""``POST /files/`` (upload) and ``GET /files/<id>/`` (download, and the image thumbnail).

Answers are JSON for the page's scripts. A download answers 404 to everyone who may not
read the file's conversation now, logged out included: an id tells nothing about a file.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from chatserver.chat.filestore import file_store
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.selectors.files import file_object, readable_file
from chatserver.chat.services.files import (
    ReceivedFile,
    clean_file_name,
    file_create,
    upload_target,
)
from chatserver.chat.uploads import StoreUploadHandler, UploadTooLarge

logger = logging.getLogger(__name__)

# What a multipart body holds besides the file: boundaries, part headers, the other fields.
MULTIPART_ALLOWANCE = 64 * 1024
# Refusals of where an upload goes, by the protocol's error code: a conversation that does
# not exist is a bad request; one the user is not in is forbidden.
STATUS_BY_CODE = {"not_joined": 403}
# A download is read and sent in parts of this size.
CHUNK_BYTES = 256 * 1024
# Downloads are never shown as pages of this origin, whatever they contain.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _error(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"error": detail, "code": code}, status=status)


def _too_large() -> JsonResponse:
    limit_mb = settings.DESKCHAT["MAX_UPLOAD_BYTES"] // (1024 * 1024)
    return _error(413, _("Files are limited to %(mb)s MB.") % {"mb": limit_mb}, "too_large")


@login_not_required  # answered here, in JSON, rather than redirected to the log-in page
@csrf_exempt  # checked by _receive once the upload handler is set (Django's documented order)
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Store the multipart ``file`` for ``room`` or ``to``; 201 with its file object."""
    if not request.user.is_authenticated:
        return _error(403, _("Log in to upload files."), "not_logged_in")
    limit = settings.DESKCHAT["MAX_UPLOAD_BYTES"]
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + MULTIPART_ALLOWANCE:
        return _too_large()  # before a byte of the body is parsed
    handler = StoreUploadHandler(request, store=file_store(), limit=limit)
    request.upload_handlers = [handler]
    try:
        return _receive(request, handler)
    except UploadTooLarge:
        return _too_large()
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        logger.warning("an upload by %s was refused: the disk is full (%s)", request.user, error)
        detail = _("The server's disk is full: the file was not stored.")
        return _error(507, detail, "disk_full")
    finally:
        handler.discard()


@csrf_protect
def _receive(request: HttpRequest, handler: StoreUploadHandler) -> HttpResponse:
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return _error(400, _("Choose a file to upload."), "missing_field")
    if handler.size == 0:
        return _error(400, _("The file is empty."), "empty_file")
    try:
        target = upload_target(
            user_id=request.user.pk, room=request.POST.get("room"), to=request.POST.get("to")
        )
        name = clean_file_name(uploaded.name or "")
        received = ReceivedFile(
            temp_path=handler.temp_path,
            name=name,
            size=handler.size,
            sha256=handler.sha256.hexdigest(),
            guessed_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        )
        attachment = file_create(
            uploader_id=request.user.pk, target=target, received=received, store=handler.store
        )
    except ProtocolError as error:
        return _error(STATUS_BY_CODE.get(error.code, 400), error.detail, error.code)
    handler.kept = True
    return JsonResponse(file_object(attachment), status=201)


def _not_found() -> JsonResponse:
    return _error(404, _("There is no such file."), "not_found")


@login_not_required  # logged out gets the same 404 as anyone else who may not see the file
@require_GET
def download(request: HttpRequest, file_id: int, name: str = "") -> HttpResponse:
    """The file itself: shown inline only if it is a raster image, else a download.
    ``name`` (any, from the URL) is not looked at: the id alone decides."""
    attachment = readable_file(user_id=request.user.pk, file_id=file_id)
    if attachment is None:
        return _not_found()
    path = file_store().path(attachment.sha256)
    return _serve(
        request,
        path,
        etag=attachment.sha256,
        content_type=attachment.content_type,
        inline=attachment.is_image,
        name=attachment.name,
    )


@login_not_required
@require_GET
def thumbnail(request: HttpRequest, file_id: int) -> HttpResponse:
    attachment = readable_file(user_id=request.user.pk, file_id=file_id)
    if attachment is None or not attachment.is_image:
        return _not_found()
    path = file_store().thumb_path(attachment.sha256)
    return _serve(
        request,
        path,
        etag=f"{attachment.sha256}-thumb",
        content_type="image/webp",
        inline=True,
        name=f"{Path(attachment.name).stem}-thumb.webp",
    )


def _serve(
    request: HttpRequest, path: Path, *, etag: str, content_type: str, inline: bool, name: str
) -> HttpResponse:
    """Stream ``path`` in chunks (FileResponse), cacheable only by this user's browser and
    revalidated, so access taken away is access gone."""
    quoted = f'"{etag}"'
    if request.headers.get("If-None-Match") == quoted:
        response: HttpResponse = HttpResponse(status=304)
    else:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return _not_found()
        response = FileResponse(
            handle, content_type=content_type, as_attachment=not inline, filename=name
        )
        if isinstance(request, ASGIRequest):
            # Django's ASGI handler reads a sync iterator whole into a list before sending
            # (StreamingHttpResponse.__aiter__): 1 GB in memory. An async one is streamed.
            response.streaming_content = _chunks(handle)
    response["ETag"] = quoted
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return response


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    """The file in parts, each read off the event loop; the response closes the file."""
    while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
        yield chunk
