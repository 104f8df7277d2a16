"""Canary for chatserver/realtime/http_requests.py: what it relies on of Twisted, Daphne and
Django (the live tests in tests/chat/test_upload_live.py show that it works end to end)."""

from __future__ import annotations

import inspect
import io
from types import SimpleNamespace

from daphne.http_protocol import HTTPFactory, WebRequest
from django.http import StreamingHttpResponse
from twisted.web import http

from chatserver.realtime import http_requests


def test_twisted_request_can_be_told_not_to_parse_form_bodies():
    parameters = inspect.signature(http.Request.__init__).parameters
    assert "parsePOSTFormSubmission" in parameters
    assert parameters["parsePOSTFormSubmission"].default is True  # so we must say False
    assert "_parsePOSTFormSubmission" in inspect.getsource(http.Request.requestReceived)


def test_daphne_reads_the_body_from_twisteds_content_file_and_sets_its_request_class():
    process = inspect.getsource(WebRequest.process)
    assert "self.content.read(buffer_size)" in process
    assert "self.server.create_application" in process
    assert "protocol.requestFactory = WebRequest" in inspect.getsource(HTTPFactory.buildProtocol)
    # Twisted spools a body to a file from this size on (the upload view's cut-off).
    assert "100000" in inspect.getsource(http._getContentFile)


def test_twisted_channel_pauses_a_request_producer_when_its_buffer_fills():
    pause = inspect.getsource(http.HTTPChannel.pauseProducing)
    assert "self._requestProducer.pauseProducing()" in pause
    resume = inspect.getsource(http.HTTPChannel.resumeProducing)
    assert "self._requestProducer.resumeProducing()" in resume


def test_django_still_lists_sync_streams_under_asgi():
    """Why downloads give an async iterator: a sync one is read whole before sending."""
    assert "sync_to_async(list)" in inspect.getsource(StreamingHttpResponse.__aiter__)


def test_request_class_is_daphnes_with_parsing_off():
    request_class = http_requests.request_class()
    assert issubclass(request_class, WebRequest)
    connected = []
    server = SimpleNamespace(protocol_connected=connected.append)
    channel = SimpleNamespace(
        getPeer=lambda: None,
        getHost=lambda: None,
        transport=None,
        factory=SimpleNamespace(server=server),
    )
    request = request_class(channel)
    assert request._parsePOSTFormSubmission is False
    assert connected == [request]


def test_daphne_checks_each_request_with_check_timeouts_and_writes_replies_directly():
    """What the idle timeout (UploadRequest.check_timeouts) relies on: Daphne's checker calls
    every protocol's ``check_timeouts`` against ``server.http_timeout``, and replies reach
    Twisted through ``handle_reply`` (which calls ``http.Request.write`` itself, so only
    ``handle_reply`` sees every part of an answer)."""
    from daphne.server import Server

    assert "protocol.check_timeouts()" in inspect.getsource(Server.timeout_checker)
    check = inspect.getsource(WebRequest.check_timeouts)
    assert "self.server.http_timeout" in check and "self._response_started" in check
    assert "http.Request.write(self" in inspect.getsource(WebRequest.handle_reply)
    # While a body arrives, Twisted's idle timeout runs: taken from the factory, reset by
    # each read, switched off once the body is whole.
    assert "timeOut = self.timeOut" in inspect.getsource(http.HTTPFactory.buildProtocol)
    assert "self.resetTimeout()" in inspect.getsource(http.HTTPChannel.dataReceived)
    assert "self.setTimeout(None)" in inspect.getsource(http.HTTPChannel.allContentReceived)


def test_progress_is_a_body_read_a_reply_or_a_drained_buffer(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(http_requests, "clock", lambda: now[0])
    request_class = http_requests.request_class()
    server = SimpleNamespace(protocol_connected=lambda request: None)
    channel = SimpleNamespace(
        getPeer=lambda: None,
        getHost=lambda: None,
        transport=None,
        factory=SimpleNamespace(server=server),
    )
    request = request_class(channel)
    now[0] = 105.0
    assert request.idle_seconds() == 5.0
    body = http_requests.ProgressFile(io.BytesIO(b"abcdef"), request.moved)
    assert body.read(3) == b"abc"  # the application reads the body: progress
    assert request.idle_seconds() == 0.0
    body.seek(0)  # anything else is the file's own
    assert body.tell() == 0
    now[0] = 108.0
    writable = http_requests.Writable(request.moved)
    writable.pauseProducing()
    assert request.idle_seconds() == 3.0  # a full buffer is no progress
    writable.resumeProducing()  # the reader took what waited
    assert request.idle_seconds() == 0.0
