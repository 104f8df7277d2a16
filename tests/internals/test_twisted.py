"""Canary for chatserver/realtime/twisted_internals.py: Twisted's write buffers and sockets."""

from __future__ import annotations

import socket
import time

import pytest
from twisted.internet import ssl, task, tcp
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory

from chatserver.realtime import twisted_internals
from chatserver.realtime.twisted_internals import pending_bytes, write_now
from tests.internals import assert_checked_version

BIG = 4 * 1024 * 1024  # far more than the kernel buffers below hold


class NoReactor:
    """Enough of a reactor for a transport that is written to and flushed by hand."""

    def addWriter(self, reader) -> None: ...
    def removeWriter(self, reader) -> None: ...
    def addReader(self, reader) -> None: ...
    def removeReader(self, reader) -> None: ...


@pytest.fixture
def tcp_pair():
    """A Twisted TCP transport on a real loopback connection, and its peer's socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        peer = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    peer.setblocking(False)
    transport = tcp.Connection(ours, Protocol(), NoReactor())
    transport.connected = True
    yield transport, peer
    ours.close()
    peer.close()


def flush_until_stuck(transport) -> None:
    """What the reactor does on writability, until the kernel takes nothing more."""
    before = None
    while pending_bytes(transport) and pending_bytes(transport) != before:
        before = pending_bytes(transport)
        transport.doWrite()


def read_all(peer: socket.socket, expected: int, timeout: float = 5.0) -> bytes:
    received = bytearray()
    deadline = time.monotonic() + timeout
    while len(received) < expected and time.monotonic() < deadline:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        received += chunk
    return bytes(received)


def test_the_installed_twisted_is_the_checked_one():
    assert_checked_version(twisted_internals)


def test_pending_bytes_is_what_the_kernel_has_not_taken(tcp_pair):
    transport, peer = tcp_pair
    data = bytes(range(256)) * (BIG // 256)
    transport.write(data)
    assert pending_bytes(transport) == len(data)  # all in _tempDataBuffer
    flush_until_stuck(transport)
    left = pending_bytes(transport)
    assert 0 < left < len(data), "the peer does not read: some bytes must stay buffered"
    transport.write(b"more")  # behind a part-written dataBuffer: offset and _tempDataLen
    assert pending_bytes(transport) == left + 4
    # Everything the kernel took reaches the peer; the rest is exactly what pending_bytes said.
    taken = len(data) - left
    received = read_all(peer, taken)
    assert len(received) == taken
    assert received == data[:taken], "the peer got other bytes than were written"


def test_pending_bytes_counts_plaintext_a_tls_wrapper_holds(tcp_pair):
    transport, _ = tcp_pair
    clock = task.Clock()
    factory = TLSMemoryBIOFactory(
        ssl.optionsForClientTLS("deskchat.invalid"), True, Factory.forProtocol(Protocol), clock
    )
    tls = factory.buildProtocol(None)
    tls.makeConnection(transport)  # writes a ClientHello into the TCP transport
    hello = pending_bytes(transport)
    assert hello > 0
    tls.write(b"x" * 500)
    # Twisted's BufferingTLSTransport holds small writes for one loop turn before they reach
    # _appSendBuffer (up to 64,000 bytes; not counted: the limit is megabytes).
    clock.advance(0)
    assert tls._appSendBuffer, "before the handshake, plaintext waits in _appSendBuffer"
    assert tls.transport is transport
    # ProtocolWrapper forwards attribute reads to the transport below: read through the
    # wrapper too, the TCP buffer would count twice and a slow reader over TLS be closed at
    # about half the limit.
    assert getattr(tls, "dataBuffer", None) is transport.dataBuffer  # the forwarding itself
    assert pending_bytes(tls) == 500 + hello


def test_write_now_sends_at_once_when_idle_and_keeps_order_when_the_kernel_is_full(tcp_pair):
    transport, peer = tcp_pair
    assert transport.TLS is False and transport.getHandle() is transport.socket
    write_now(transport, b"first", idle=True)
    assert pending_bytes(transport) == 0, "an idle plain TCP write goes straight to the socket"
    assert read_all(peer, 5) == b"first"
    data = bytes(range(256)) * (BIG // 256)
    write_now(transport, data, idle=True)
    left = pending_bytes(transport)
    assert 0 < left < len(data), "what the kernel refuses waits in Twisted's buffer"
    write_now(transport, b"last", idle=False)
    assert pending_bytes(transport) == left + 4
    received = bytearray()
    deadline = time.monotonic() + 10
    while len(received) < len(data) + 4 and time.monotonic() < deadline:
        received += read_all(peer, len(data) + 4 - len(received), timeout=0.05)
        transport.doWrite()
    assert len(received) == len(data) + 4
    assert bytes(received) == data + b"last", "bytes reordered or lost"
