"""What each reach into a library's internals buys, measured in-process with it and without it.

``python -m bench.internals [--rounds N]`` times each reach against the stock way of doing the
same thing, in the same process, interleaving the variants round by round (this machine is
shared, so only ratios measured side by side mean much). It prints, per variant, the median
time per call over the rounds and the spread (min-max), and the ratio of medians. The
``*_internals`` modules say what each reach relies on; tests/internals checks it.

Runs on a fresh SQLite database in a temporary folder; nothing else is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

Timer = Callable[[int], float]  # runs n calls, returns the seconds they took


def measure(variants: dict[str, Timer], calls: int, rounds: int) -> dict[str, list[float]]:
    """Per-call microseconds of each variant, one figure per round, variants interleaved."""
    for timer in variants.values():
        timer(max(calls // 10, 1))  # warm up caches, prepared statements, code paths
    found: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, timer in variants.items():
            found[name].append(timer(calls) / calls * 1e6)
    return found


def report(title: str, found: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    names = list(found)
    base = statistics.median(found[names[0]])
    for name in names:
        values = found[name]
        median = statistics.median(values)
        print(
            f"  {name:<44} {median:9.2f} µs  ({min(values):.2f}-{max(values):.2f})"
            f"  {median / base:5.2f}x"
        )


# --- Django ----------------------------------------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DESKCHAT_DATA_DIR", tempfile.mkdtemp(prefix="deskchat-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatserver.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def user_read(calls: int, rounds: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.backends import ModelBackend

    from chatserver.accounts.backends import AccountBackend

    user = get_user_model().objects.create(username="bench-user", password="!")
    ours, stock = AccountBackend(), ModelBackend()
    model = get_user_model()
    table = model._meta.db_table

    def timer(read: Callable[[], object]) -> Timer:
        def run(n: int) -> float:
            start = time.perf_counter()
            for _ in range(n):
                read()
            return time.perf_counter() - start

        return run

    raw_sql = f"SELECT * FROM {table} WHERE id = %s"
    report(
        "User read per session check (auth.get_user -> backend.get_user)",
        measure(
            {
                "AccountBackend (plain SQL + ORM converters)": timer(
                    lambda: ours.get_user(str(user.pk))
                ),
                "ModelBackend.get_user (stock)": timer(lambda: stock.get_user(user.pk)),
                "Manager.raw (public plain-SQL route)": timer(
                    lambda: list(model.objects.raw(raw_sql, [user.pk]))
                ),
            },
            calls,
            rounds,
        ),
    )


def session_load(calls: int, rounds: int) -> None:
    from django.contrib.sessions.backends.db import SessionStore as StockStore

    from chatserver.accounts.sessions import SessionStore

    stored = StockStore()
    stored["_auth_user_id"] = "1"
    stored.save()
    key = stored.session_key

    def timer(store_class: type) -> Timer:
        def run(n: int) -> float:
            start = time.perf_counter()
            for _ in range(n):
                store_class(key).load()
            return time.perf_counter() - start

        return run

    report(
        "Session load (SessionStore(key).load())",
        measure(
            {
                "ours (one plain SELECT)": timer(SessionStore),
                "db.SessionStore (stock)": timer(StockStore),
            },
            calls,
            rounds,
        ),
    )


# --- autobahn / Twisted / Daphne --------------------------------------------------------------


class NullTransport:
    """A transport that takes every write at no cost, to time the Python around it."""

    disconnecting = False
    connected = True

    def write(self, data: bytes) -> None: ...

    def getPeer(self): ...

    def getHost(self): ...


def connection_made(calls: int, rounds: int) -> None:
    from autobahn.twisted.websocket import WebSocketServerFactory
    from daphne.ws_protocol import WebSocketProtocol

    from chatserver.realtime.websocket_protocol import GuardedWebSocketProtocol

    class EagerDump(GuardedWebSocketProtocol):
        _connectionMade = WebSocketProtocol._connectionMade  # autobahn's, pformat and all

    def timer(protocol_class: type) -> Timer:
        factory = WebSocketServerFactory()
        factory.protocol = protocol_class
        # No handshake timer: it would schedule a call on a reactor that never runs here.
        factory.setProtocolOptions(openHandshakeTimeout=0)

        def run(n: int) -> float:
            protocols = [factory.buildProtocol(None) for _ in range(n)]
            start = time.perf_counter()
            for protocol in protocols:
                protocol.makeConnection(NullTransport())
            return time.perf_counter() - start

        return run

    report(
        "A new connection (makeConnection -> autobahn _connectionMade)",
        measure(
            {
                "lazy option dump (ours)": timer(GuardedWebSocketProtocol),
                "eager pformat (autobahn)": timer(EagerDump),
            },
            calls,
            rounds,
        ),
    )


def open_protocol(protocol_class: type, transport: object):
    from daphne.ws_protocol import WebSocketFactory

    factory = WebSocketFactory(None)
    factory.protocol = protocol_class
    factory.setProtocolOptions(openHandshakeTimeout=0)
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(transport)
    protocol.state = protocol.STATE_OPEN
    protocol.client_addr = ["127.0.0.1", 1]
    return protocol


FRAME_TEXT = (
    '{"type":"message","room":"general","id":123456,"user":"alice","client_id":"c-42",'
    '"body":"' + "Hello everyone, the build is green again. " * 4 + '","at":"2026-12-06T19:40:00Z"}'
)


def framing(calls: int, rounds: int) -> None:
    from daphne.ws_protocol import WebSocketProtocol

    from chatserver.realtime.websocket_protocol import GuardedWebSocketProtocol

    text = FRAME_TEXT

    def timer(protocol_class: type) -> Timer:
        protocol = open_protocol(protocol_class, NullTransport())

        def run(n: int) -> float:
            send = protocol.serverSend
            start = time.perf_counter()
            for _ in range(n):
                send(text, False)
            return time.perf_counter() - start

        return run

    report(
        f"serverSend of one room frame ({len(text)} chars) per recipient, writes discarded",
        measure(
            {
                "prepared once, pending_bytes checked (ours)": timer(GuardedWebSocketProtocol),
                "Daphne serverSend -> sendMessage (stock)": timer(WebSocketProtocol),
            },
            calls,
            rounds,
        ),
    )


def relay(calls: int, rounds: int) -> None:
    from daphne.server import Server

    from chatserver.realtime.websocket_protocol import GuardedWebSocketProtocol

    protocol = open_protocol(GuardedWebSocketProtocol, NullTransport())
    server = Server.__new__(Server)  # only handle_reply is used: it needs ``connections``
    server.connections = {protocol: {}}
    message = {"type": "websocket.send", "text": FRAME_TEXT}
    loop = asyncio.new_event_loop()

    def relayed(n: int) -> float:
        relay_text, text = protocol.relay_text, FRAME_TEXT
        start = time.perf_counter()
        for _ in range(n):
            relay_text(text)
        return time.perf_counter() - start

    async def through_send(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await server.handle_reply(protocol, message)
        return time.perf_counter() - start

    report(
        "One room frame to one member: relay extension vs Daphne's ASGI send (same serverSend)",
        measure(
            {
                "scope extension deskchat.relay_text (ours)": relayed,
                "await Server.handle_reply (stock send)": lambda n: loop.run_until_complete(
                    through_send(n)
                ),
            },
            calls,
            rounds,
        ),
    )
    loop.close()


class NoReactor:
    def addWriter(self, reader) -> None: ...
    def removeWriter(self, reader) -> None: ...
    def addReader(self, reader) -> None: ...
    def removeReader(self, reader) -> None: ...


def tcp_pair():
    """A Twisted TCP transport on a loopback connection (flushed by hand), and its peer."""
    from twisted.internet import address, tcp
    from twisted.internet.protocol import Protocol

    class Connection(tcp.Connection):
        def getPeer(self):
            return address.IPv4Address("TCP", *self.socket.getpeername())

        def getHost(self):
            return address.IPv4Address("TCP", *self.socket.getsockname())

    with socket.create_server(("127.0.0.1", 0)) as listener:
        peer = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
    peer.setblocking(False)
    transport = Connection(ours, Protocol(), NoReactor())
    transport.connected = True
    return transport, peer


def drain(peer: socket.socket) -> None:
    while True:
        try:
            if not peer.recv(1 << 20):
                return
        except BlockingIOError:
            return


def socket_write(calls: int, rounds: int) -> None:
    import select

    from chatserver.realtime.twisted_internals import write_now

    data = FRAME_TEXT.encode()
    transport, peer = tcp_pair()
    batch = 100

    def timed_batches(n: int, write_batch: Callable[[int], None]) -> float:
        spent = 0.0
        for done in range(0, n, batch):
            start = time.perf_counter()
            write_batch(min(batch, n - done))
            spent += time.perf_counter() - start
            drain(peer)
        return spent

    def direct(n: int) -> float:
        def write_batch(k: int) -> None:
            for _ in range(k):
                write_now(transport, data, True)

        return timed_batches(n, write_batch)

    def buffered(n: int) -> float:
        def write_batch(k: int) -> None:
            for _ in range(k):
                transport.write(data)
                transport.doWrite()  # what the reactor does on the next turn

        return timed_batches(n, write_batch)

    poller = select.epoll()
    fileno = transport.fileno()

    def buffered_with_epoll(n: int) -> float:
        def write_batch(k: int) -> None:
            for _ in range(k):
                transport.write(data)
                poller.register(fileno, select.EPOLLOUT)  # startWriting, on a real reactor
                transport.doWrite()
                poller.unregister(fileno)  # stopWriting once the buffer is empty

        return timed_batches(n, write_batch)

    report(
        f"Writing one {len(data)}-byte frame to an idle loopback TCP socket",
        measure(
            {
                "socket.send now (ours, write_now)": direct,
                "transport.write + doWrite, no epoll (stock, lower bound)": buffered,
                "transport.write + epoll register/unregister + doWrite": buffered_with_epoll,
            },
            calls,
            rounds,
        ),
    )
    poller.close()
    transport.socket.close()
    peer.close()


def pending_bytes_cost(calls: int, rounds: int) -> None:
    from chatserver.realtime.twisted_internals import pending_bytes

    transport, peer = tcp_pair()

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            pending_bytes(transport)
        return time.perf_counter() - start

    def empty_loop(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            pass
        return time.perf_counter() - start

    report(
        "pending_bytes(transport) on an idle plain TCP transport (the slow-reader check)",
        measure({"pending_bytes": run, "empty loop (for scale)": empty_loop}, calls, rounds),
    )
    transport.socket.close()
    peer.close()


# --- Channels ---------------------------------------------------------------------------------


def dispatch(calls: int, rounds: int) -> None:
    from channels.consumer import AsyncConsumer

    from chatserver.realtime.channels_internals import DirectDispatch

    class Stock(AsyncConsumer):
        async def chat_frame(self, message) -> None: ...

    class Direct(DirectDispatch, Stock):
        pass

    loop = asyncio.new_event_loop()

    def timer(consumer: AsyncConsumer) -> Timer:
        message = {"type": "chat.frame", "text": "x"}

        async def many(n: int) -> float:
            start = time.perf_counter()
            for _ in range(n):
                await consumer.dispatch(message)
            return time.perf_counter() - start

        return lambda n: loop.run_until_complete(many(n))

    report(
        "Consumer dispatch of one event to a handler that does nothing",
        measure(
            {
                "DirectDispatch (ours)": timer(Direct()),
                "AsyncConsumer.dispatch (stock)": timer(Stock()),
            },
            calls,
            rounds,
        ),
    )
    loop.close()


def group_send(calls: int, rounds: int, members: int = 200) -> None:
    from channels.layers import InMemoryChannelLayer as StockLayer

    from chatserver.realtime.channels_internals import InMemoryChannelLayer

    loop = asyncio.new_event_loop()

    def timer(layer) -> Timer:
        for i in range(members):
            loop.run_until_complete(layer.group_add("room-1", f"specific.inmemory!{i:012d}"))
        message = {"type": "chat.frame", "text": FRAME_TEXT}

        async def many(n: int) -> float:
            spent = 0.0
            for _ in range(n):
                start = time.perf_counter()
                await layer.group_send("room-1", message)
                spent += time.perf_counter() - start
                for queue in layer.channels.values():  # consumers read; not timed
                    while not queue.empty():
                        queue.get_nowait()
            return spent

        return lambda n: loop.run_until_complete(many(n))

    found = measure(
        {
            "ours (no scan, one deepcopy)": timer(InMemoryChannelLayer()),
            "InMemoryChannelLayer (stock)": timer(StockLayer()),
        },
        calls,
        rounds,
    )
    report(f"group_send of one room frame to {members} members (queued, not yet read)", found)
    loop.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per figure")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply calls per round")
    args = parser.parse_args(argv)
    setup_django()

    def calls(n: int) -> int:
        return max(int(n * args.scale), 10)

    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()}"
        f" {platform.python_version()}, {os.cpu_count()} CPUs, load {' '.join(load)},"
        f" {args.rounds} rounds; median per call (min-max), ratio to the first line"
    )
    user_read(calls(2000), args.rounds)
    session_load(calls(2000), args.rounds)
    connection_made(calls(1000), args.rounds)
    framing(calls(20000), args.rounds)
    relay(calls(20000), args.rounds)
    socket_write(calls(5000), args.rounds)
    pending_bytes_cost(calls(100000), args.rounds)
    dispatch(calls(2000), args.rounds)
    group_send(calls(200), args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
