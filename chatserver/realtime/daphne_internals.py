"""Daphne internals Deskchat relies on: a running ``daphne.server.Server``'s factories and lists.

``Server``'s public side is its constructor, ``run()``, ``stop()`` and the two attributes its
own CLI and ``daphne.testing`` (which Channels' live-server tests use) read:
``listening_addresses`` and ``abort_start``. Those are used directly. What this module reads,
checked against ``CHECKED_VERSIONS``, is set up inside ``Server.run`` before
``ready_callable`` is called, and has no public way in:

- ``ws_factory``: an autobahn ``WebSocketServerFactory`` whose ``protocol`` class every
  upgraded HTTP connection is built with (``HTTPProtocol`` calls ``ws_factory.buildProtocol``);
- ``create_application(protocol, scope)``: called by each WebSocket protocol, through the
  server instance, with the scope it built;
- ``http_factory``: the factory every endpoint listens with; its ``buildProtocol`` sets each
  HTTP channel's ``requestFactory`` to ``daphne.http_protocol.WebRequest``, whose
  ``process`` reads the body from Twisted's ``content`` file (``http_requests.py`` swaps in
  a subclass, which passes ``parsePOSTFormSubmission`` on to Twisted's ``Request``);
- ``connections``: a dict whose keys are the open protocols (HTTP and WebSocket).

Why Deskchat wants each is in ``chatserver/realtime/websocket_protocol.py`` and
``desktop/embedded_server.py``. tests/internals/test_daphne.py fails when the installed
Daphne is outside the checked range or no longer behaves as relied on here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daphne.ws_protocol import WebSocketProtocol

DISTRIBUTION = "daphne"
# Checked against 4.2.3: [lowest, first unchecked) as (major, minor) tuples.
CHECKED_VERSIONS = ((4, 2), (4, 3))


def use_websocket_protocol(server: Any, protocol_class: type, **options: Any) -> None:
    """Build every later WebSocket with ``protocol_class``, with autobahn ``options`` set."""
    server.ws_factory.protocol = protocol_class
    if options:
        server.ws_factory.setProtocolOptions(**options)


def add_scope_extension(server: Any, name: str, value_for: Callable[[Any], Any]) -> None:
    """Put ``value_for(protocol)`` in ``scope["extensions"][name]`` unless it is None.

    ASGI's place for what a server offers beyond the spec; Daphne has no hook for it, so its
    ``create_application`` is wrapped on this server instance.
    """
    create_application = server.create_application

    def create_with_extension(protocol: Any, scope: dict[str, Any]) -> Any:
        value = value_for(protocol)
        if value is not None:
            scope.setdefault("extensions", {})[name] = value
        return create_application(protocol, scope)

    server.create_application = create_with_extension


def use_http_request(server: Any, request_class: type) -> None:
    """Build every later HTTP request with ``request_class`` (a ``WebRequest`` subclass)."""
    factory = server.http_factory
    build = factory.buildProtocol

    def build_with_request_class(addr: Any) -> Any:
        protocol = build(addr)
        protocol.requestFactory = request_class
        return protocol

    factory.buildProtocol = build_with_request_class


def http_factory(server: Any) -> Any:
    """The factory to listen with on one more address (it serves HTTP and WebSocket)."""
    return server.http_factory


def open_protocols(server: Any) -> list[Any]:
    """Every open connection's protocol, HTTP and WebSocket."""
    return list(server.connections)


def open_websockets(server: Any) -> list[WebSocketProtocol]:
    return [p for p in server.connections if isinstance(p, WebSocketProtocol)]
