"""Large HTTP request bodies (uploads) on Daphne: never parsed by Twisted, never held in memory.

Measured with a 64 MiB upload before this module (docs/benchmarks.md, "Uploads"): the server
took 8.6 s and peaked at 920 MB of memory before Django saw the request. Two things in the
stack did that, and this module undoes both:

1. Twisted's ``Request`` parses every ``multipart/form-data`` POST into ``request.args``
   (reading the whole body into memory and through the ``email`` parser) before Daphne gets
   the request; Daphne never reads ``args``. Twisted's constructor has a switch,
   ``parsePOSTFormSubmission``, that :class:`UploadRequest` turns off.
2. Twisted spools a body of 100,000 bytes or more to an anonymous temporary file; Daphne
   then reads that file in 8 KiB chunks and queues *all* of them for the application at
   once, so the whole body sits in memory again. :class:`UploadRequest` hands Django the
   temporary file itself instead, through the ASGI scope's ``extensions`` (the spec's place
   for what a server offers beyond it), and gives Daphne an empty body to queue;
   :class:`BodyFileASGIHandler` reads it from there.

3. Daphne writes a response to the socket as fast as the application sends it, with no
   backpressure: a 256 MiB download peaked at 588 MB, the file queued in Twisted's write
   buffer. :class:`UploadRequest` registers a producer on the request, which Twisted pauses
   while its buffer is full, and offers a wait for it as the scope extension
   ``deskchat.http_writable``; :class:`BodyFileASGIHandler` awaits it before each body part.

4. Daphne's ``http_timeout`` counts from the moment the body has arrived to the end of the
   answer, whatever happens meanwhile: a 1 GiB download to a slow reader, or a large upload
   on a slow machine still being read by Django, was cut after 60 s while still moving.
   :class:`UploadRequest` makes it a time without progress instead: a byte of the body
   read by the application, a part of the answer written, the connection's write buffer
   draining. A request that moves nothing for ``DESKCHAT_HTTP_IDLE_SECONDS`` is still cut:
   503 if nothing was answered yet, else the connection is dropped (Daphne would end the
   answer as if complete). While the body arrives, Twisted's own idle timeout on the
   connection, set to the same time, does the same.

A body larger than any request may carry (the upload limit plus the multipart framing) is
not kept at all: it is read and dropped as it arrives, and the view answers 413 from the
Content-Length. Without a Content-Length (chunked), one that grows past that size is
answered 413 at once and the connection closed.

What this relies on of Daphne and Twisted is in ``daphne_internals`` (checked versions and a
canary in tests/internals/test_daphne.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

BODY_FILE_EXTENSION = "deskchat.body_file"
WRITABLE_EXTENSION = "deskchat.http_writable"
_body_file: ContextVar[Any] = ContextVar("deskchat_body_file", default=None)

logger = logging.getLogger(__name__)
# Progress times; a test may replace it.
clock = time.monotonic


def max_request_body() -> int:
    """The largest body any request may carry: the largest upload and its framing."""
    from chatserver.chat.file_views import MULTIPART_ALLOWANCE  # needs the apps loaded

    return settings.DESKCHAT["MAX_UPLOAD_BYTES"] + MULTIPART_ALLOWANCE


class _Discard:
    """Where a too-large body goes: counted, not kept."""

    closed = False

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)

    def read(self, size: int = -1) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        self.closed = True


class ProgressFile:
    """A spooled body that notes, at each read, that the request is moving: the
    application reading a large body on a slow machine is progress, not idleness."""

    def __init__(self, file: Any, moved: Callable[[], None]) -> None:
        self._file = file
        self._moved = moved

    def read(self, size: int = -1) -> bytes:
        self._moved()
        return self._file.read(size)

    def readline(self, size: int = -1) -> bytes:
        self._moved()
        return self._file.readline(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class Writable:
    """A push producer for Twisted that the application can wait on: paused while the
    connection's write buffer is full, resumed once it drained (or the connection ended)."""

    def __init__(self, drained: Callable[[], None] | None = None) -> None:
        self._ready = asyncio.Event()
        self._ready.set()
        self._drained = drained

    def pauseProducing(self) -> None:
        self._ready.clear()

    def resumeProducing(self) -> None:
        if self._drained is not None:
            self._drained()  # the reader took what was waiting: the answer is moving
        self._ready.set()

    def stopProducing(self) -> None:
        self._ready.set()

    async def wait(self) -> None:
        await self._ready.wait()


def request_class() -> type:
    """Daphne's request class with the changes above (built on first use: importing
    ``daphne.http_protocol`` needs the reactor Daphne installs)."""
    from daphne.http_protocol import WebRequest

    class UploadRequest(WebRequest):
        """Daphne's ``WebRequest`` that neither parses nor re-reads a large body."""

        body_file: Any = None
        writable: Writable | None = None
        refused = False  # answered 413 while its body arrived: never handed to Django

        processing = False  # the body has arrived; the application has the request
        progress_at = 0.0  # when a byte of this request last moved (``clock``)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._limit = max_request_body()
            self.moved()
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

        def moved(self) -> None:
            """Note progress (from the reactor, or the thread that reads the body)."""
            self.progress_at = clock()

        def idle_seconds(self) -> float:
            return clock() - self.progress_at

        def check_timeouts(self) -> None:
            """Daphne's ``http_timeout``, counted from the last progress rather than from
            the request's start (called every 2 s by Daphne's timeout checker)."""
            timeout = self.server.http_timeout
            if not timeout or not self.processing or self.finished or self.channel is None:
                return
            idle = self.idle_seconds()
            if idle <= timeout:
                return
            what = (
                f"{self.method.decode('ascii', 'replace')} {self.path.decode('ascii', 'replace')}"
            )
            if not self._response_started:
                logger.warning("%s answered nothing for %.0f s: 503", what, idle)
                self.basic_error(
                    503, b"Service Unavailable", "Application failed to respond within time limit."
                )
                return
            # A stalled reader, or an application that stopped half-way: ending the answer
            # (Daphne's way) would make a cut-off download look complete.
            logger.warning("%s moved no byte for %.0f s: connection dropped", what, idle)
            self.channel.transport.abortConnection()

        def handleContentChunk(self, data: bytes) -> None:
            self.moved()
            self._content_chunk(data)

        def handle_reply(self, message: dict[str, Any]) -> None:
            self.moved()
            super().handle_reply(message)

        def gotLength(self, length: int | None) -> None:
            if length is not None and length > self._limit:
                self.content = _Discard()  # the view refuses it by its Content-Length
                return
            super().gotLength(length)

        def _content_chunk(self, data: bytes) -> None:
            if self.content.tell() + len(data) > self._limit and not isinstance(
                self.content, _Discard
            ):
                self._refuse_too_large()
                return
            super().handleContentChunk(data)

        def _refuse_too_large(self) -> None:
            """A body without a Content-Length outgrew any request: 413, then close."""
            body = json.dumps({"error": "The request is too large.", "code": "too_large"}).encode()
            self.channel.transport.write(
                b"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            self.refused = True
            self.content.close()
            self.content = _Discard()
            self.channel.transport.loseConnection()

        def process(self) -> None:
            if self.refused:  # the rest of a refused body was already in the read buffer
                return
            # A body Twisted spooled to a file goes to Django as that file (not for
            # WebSocket upgrades, whose "body" is the first frames Daphne passes on).
            upgrade = self.requestHeaders.getRawHeaders(b"upgrade")
            if not upgrade and not isinstance(self.content, io.BytesIO | _Discard):
                self.body_file, self.content = ProgressFile(self.content, self.moved), io.BytesIO()
            if not upgrade:
                self.writable = Writable(self.moved)
                self.registerProducer(self.writable, True)
                self.processing = True
                self.moved()
            super().process()

        def finish(self) -> None:
            self._release()
            super().finish()

        def connectionLost(self, reason: Any) -> None:
            self._release()
            super().connectionLost(reason)

        def _release(self) -> None:
            """Unregister the producer before Twisted cleans up (it logs one left over),
            and let an application still waiting on it go on to find the request gone."""
            if self.writable is not None:
                if self.producer is not None:
                    self.unregisterProducer()
                self.writable.resumeProducing()

    return UploadRequest


def body_file_for(protocol: Any) -> Any:
    """The scope extension's value for one request: its spooled body, or None."""
    return getattr(protocol, "body_file", None)


def writable_for(protocol: Any) -> Any:
    """The scope extension's value for one request: a wait until it can take more, or None."""
    writable = getattr(protocol, "writable", None)
    return writable.wait if writable is not None else None


def install(server: Any) -> None:
    """Make a running ``daphne.server.Server`` build each HTTP request as an
    ``UploadRequest`` and pass spooled bodies on (from its ``ready_callable``)."""
    from chatserver.realtime import daphne_internals

    daphne_internals.use_http_request(server, request_class())
    # While a body arrives, Twisted's idle timeout on the connection is the one that runs
    # (Daphne's starts with the application): the same time for both.
    daphne_internals.http_factory(server).timeOut = settings.DESKCHAT["HTTP_IDLE_SECONDS"]
    daphne_internals.add_scope_extension(server, BODY_FILE_EXTENSION, body_file_for)
    daphne_internals.add_scope_extension(server, WRITABLE_EXTENSION, writable_for)


class BodyFileASGIHandler(ASGIHandler):
    """Django's ASGI handler, reading a body the server handed over as a file."""

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # One handler serves every request at once: the file travels in this request's
        # context, from here to read_body (which Django calls with ``receive`` alone).
        extensions = scope.get("extensions") or {}
        token = _body_file.set(extensions.get(BODY_FILE_EXTENSION))
        wait_writable = extensions.get(WRITABLE_EXTENSION)
        if wait_writable is not None:
            send = _paced(send, wait_writable)
        try:
            await super().handle(scope, receive, send)
        finally:
            _body_file.reset(token)

    async def listen_for_disconnect(self, receive: Any) -> None:
        """A client that left ends this task normally instead of with ``RequestAborted``.

        ``handle`` treats both alike (it cancels the view either way), but when the server
        stops, Daphne cancels ``handle`` itself while it waits: the orphaned task then raised
        into nobody and asyncio logged "Task exception was never retrieved" at ERROR (seen
        when a test stopped the server under a stalled download).
        """
        try:
            await super().listen_for_disconnect(receive)
        except RequestAborted:
            return

    async def read_body(self, receive: Any) -> Any:
        body_file = _body_file.get()
        if body_file is None:
            return await super().read_body(receive)
        while True:  # the (empty) body messages Daphne still sends; a disconnect aborts
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file


def _paced(send: Any, wait_writable: Any) -> Any:
    """``send`` that waits, before each part of a response body, until the connection can
    take it: a download streams at the reader's pace instead of queueing in memory."""

    async def paced_send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            await wait_writable()
        await send(message)

    return paced_send
