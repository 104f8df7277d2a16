"""A client that stops reading is closed with 4009 while everyone else keeps receiving.

The slow reader is a bare socket with a tiny receive buffer that never reads; the server's
limit on unsent bytes is lowered so the test floods only a few megabytes.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from chatserver.realtime.codes import CLOSE_SLOW_READER
from tests.reliability.realws import RawWebSocket, connect, expect, join, send, signup
from tests.support.server import start_live_server

pytestmark = pytest.mark.process

LIMIT = 256 * 1024
BODY = "ж" * 3_000  # 6 KB on the wire per message
FLOOD = 700  # ~4 MB: well past the limit plus what the kernel buffers hold on loopback


class LogWatcher:
    """Reads the server's stderr on a thread and signals when a line contains ``needle``."""

    def __init__(self, stream, needle: str) -> None:
        self.needle = needle
        self.seen = threading.Event()
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:
        for line in stream:
            self.lines.append(line)
            if self.needle in line:
                self.seen.set()


@pytest.fixture
def server(tmp_path):
    server = start_live_server(
        tmp_path / "data",
        env={"DESKCHAT_SLOW_READER_BYTES": str(LIMIT), "DESKCHAT_RATE_PER_SECOND": "0"},
    )
    yield server
    server.stop()


async def test_slow_reader_is_closed_with_4009_and_others_keep_receiving(server):
    flooder, reader, stalled = (signup(server, name) for name in ("alice", "bob", "carol"))
    log = LogWatcher(server.follow_stderr(), "closing slow reader")

    # carol joins and then never reads; her receive window stays a few kilobytes.
    slow = RawWebSocket.open(server, stalled.ws_headers(), rcvbuf=4096)
    slow.send_json({"type": "join", "room": "flood"})
    drained: dict = {}

    def drain_when_closed() -> None:
        # Read only once the server has given up on carol: she must then find its close
        # frame (4009) behind the backlog, within the server's grace period.
        if log.seen.wait(120):
            drained["result"] = slow.read_until_close()

    drainer = threading.Thread(target=drain_when_closed, daemon=True)
    drainer.start()

    a = await connect(server, flooder)
    b = await connect(server, reader)
    await join(a, "flood")
    await join(b, "flood")

    async def flood() -> list[int]:
        acked = []
        for i in range(FLOOD):
            await send(
                a, {"type": "send", "room": "flood", "body": f"{i} {BODY}", "client_id": f"f{i}"}
            )
            if i % 20 == 19 or i == FLOOD - 1:  # keep a small window in flight
                while len(acked) < i + 1:
                    acked.append((await expect(a, "ack"))["id"])
        return acked

    async def receive() -> list[int]:
        got = []
        while len(got) < FLOOD:
            got.append((await expect(b, "message", room="flood"))["id"])
        return got

    acked, received = await asyncio.gather(flood(), receive())
    # bob, reading normally, got every message in order while carol was stuck.
    assert received == acked
    assert log.seen.wait(60), "the server never closed the slow reader:\n" + "".join(log.lines)

    await asyncio.to_thread(drainer.join, 60)
    code, frames = drained["result"]
    assert code == CLOSE_SLOW_READER
    relayed = [f["id"] for f in frames if f["type"] == "message"]
    # What reached carol before the close is a gap-free prefix: nothing reordered or skipped.
    assert relayed == acked[: len(relayed)]
    assert len(relayed) < FLOOD
    slow.close()

    # Reconnecting and resuming from the last id she saw, carol gets the rest exactly once.
    c = await connect(server, stalled)
    await send(c, {"type": "resume", "since": relayed[-1] if relayed else 0})
    rest: list[int] = []
    while True:
        batch = await expect(c, "resumed")
        rest += [m["id"] for m in batch["messages"] if m.get("room") == "flood"]
        if not batch["has_more"]:
            break
    assert relayed + rest == acked
    for ws in (a, b, c):
        await ws.close()
    assert "Traceback" not in "".join(log.lines)
