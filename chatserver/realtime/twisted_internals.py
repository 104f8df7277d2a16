"""Twisted internals Deskchat relies on: what a transport still holds, and writing to its socket.

Twisted offers no way to ask a transport how many written bytes the kernel has not taken yet
(``ITransport`` has ``write`` and producers, whose pause fires at a fixed 64 KB), and no way
to write to a socket at once: ``transport.write`` always buffers and waits for the next loop
turn. So this module reads, checked against ``CHECKED_VERSIONS``:

- ``abstract.FileDescriptor``: unsent bytes are ``dataBuffer`` from ``offset`` on, plus the
  ``_tempDataBuffer`` list whose total length is ``_tempDataLen``;
- ``protocols.tls.TLSMemoryBIOProtocol``: plaintext not yet encrypted waits in
  ``_appSendBuffer`` (a list of bytes), and the TCP transport below is its ``transport``;
- ``tcp.Connection``: its ``socket`` (non-blocking; ``getHandle()`` returns the same object),
  ``TLS`` (true once ``startTLS`` wrapped it), ``connected`` and ``disconnecting``.

Under TLS, ``ProtocolWrapper`` forwards attribute reads to the TCP transport below it, so
``dataBuffer`` is read only from a transport whose class defines it (a ``FileDescriptor``),
never through a wrapper: the TCP buffer counts once. One gap is left: ``BufferingTLSTransport``
holds up to 64,000 plaintext bytes for one loop turn in its aggregator, which is not counted;
it only delays by one turn when a slow reader over TLS is closed.

Who uses what, and why, is in ``chatserver/realtime/websocket_protocol.py``.
tests/internals/test_twisted.py fails when the installed Twisted is outside the checked range
or no longer behaves as relied on here.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp

DISTRIBUTION = "Twisted"
# Checked against 26.10.0: [lowest, first unchecked) as (major, minor) tuples.
CHECKED_VERSIONS = ((26, 10), (26, 11))


def pending_bytes(transport: Any) -> int:
    """Bytes written to ``transport`` that the kernel has not accepted yet.

    Under TLS, the wrapper's plaintext buffer and the TCP transport below it count too. Runs
    before every frame a socket is sent, so plain TCP takes one step.
    """
    total = 0
    for _ in range(3):  # TCP, or TLS over TCP
        if transport is None:
            break
        # The TCP transport owns the buffer (its class defines it); a TLS wrapper only
        # forwards the attribute read, which would count the same bytes twice.
        if hasattr(type(transport), "dataBuffer"):
            return total + len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        app_buffer = getattr(transport, "_appSendBuffer", None)
        if app_buffer:
            total += sum(len(chunk) for chunk in app_buffer)
        transport = getattr(transport, "transport", None)
    return total


def write_now(transport: Any, data: bytes, idle: bool) -> None:
    """Write ``data`` in order; straight to the socket when ``idle`` (nothing buffered).

    ``transport.write`` would register the socket with the reactor, wait for the next loop
    turn and unregister it again: two system calls more per write. Whatever the kernel does
    not take goes through ``transport.write``, so order is kept. The caller says ``idle`` only
    when :func:`pending_bytes` was 0.
    """
    # Plain TCP only: a TLS wrapper forwards attribute reads (``socket`` included) to the
    # TCP transport below it, whose socket must only ever carry encrypted bytes.
    plain = isinstance(transport, tcp.Connection) and not transport.TLS
    if not (idle and plain) or transport.disconnecting or not transport.connected:
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        transport.write(data)  # a broken connection: let Twisted notice it its own way
        return
    if sent < len(data):
        transport.write(data[sent:])
