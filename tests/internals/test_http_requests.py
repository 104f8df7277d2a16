"""Canary for chatserver/realtime/http_requests.py: what it relies on of Twisted, Daphne and
Django (the live tests in tests/chat/test_upload_live.py show that it works end to end)."""

from __future__ import annotations

import inspect
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
