"""Fan-out through a real Daphne: every member gets every frame, byte for byte, in order.

The server frames a room message once and writes it straight to each idle socket
(chatserver/realtime/websocket_protocol.py); a member whose socket is backed up gets the rest
through Twisted's
buffer. Mixed sizes and scripts, and one member who stops reading for a while, exercise both
paths and the switch between them.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.reliability.realws import OP_TEXT, RawWebSocket, connect, expect, join, send, signup
from tests.support.server import start_live_server

pytestmark = pytest.mark.process

# About 8 KB on the wire each: 700 of them are more than a stalled loopback socket holds
# (the kernel's send buffer grows to 4 MB), so writes to carol go partial.
BODIES = ["ж" * 3_990, " ".join(["Привет, мир 👋"] * 250), '<b>"&amp;"</b>' + "ё" * 3_900, "hi"]
COUNT = 700


@pytest.fixture
def server(tmp_path):
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_RATE_BURST": str(COUNT)})
    yield server
    server.stop()


async def test_every_member_gets_every_frame_intact_and_in_order(server):
    sender, quick, paused = (signup(server, name) for name in ("alice", "bob", "carol"))
    a, b = [await connect(server, browser) for browser in (sender, quick)]
    for ws in (a, b):
        await join(ws, "fan-out")
    # carol's socket has a 4 KB receive window and she reads nothing until everything is sent:
    # the server's writes to her go partial, then through Twisted's buffer.
    c = RawWebSocket.open(server, paused.ws_headers(), rcvbuf=4096)
    c.send_json({"type": "join", "room": "fan-out"})

    def until_joined() -> None:  # a few small frames: her window holds them
        while True:
            opcode, payload = c.read_frame()
            if opcode == OP_TEXT and json.loads(payload)["type"] == "joined":
                return

    # Her join is answered once she is subscribed: from then on she gets every message.
    await asyncio.wait_for(asyncio.to_thread(until_joined), 15)

    expected = [f"{i}:{BODIES[i % len(BODIES)]}" for i in range(COUNT)]
    for i, body in enumerate(expected):
        await send(a, {"type": "send", "room": "fan-out", "body": body, "client_id": f"c{i}"})

    async def read_all(ws) -> list[dict]:
        got = []
        while len(got) < COUNT:
            got.append(await expect(ws, "message", timeout=30))
        return got

    def read_all_raw() -> list[dict]:
        got = []
        while len(got) < COUNT:
            opcode, payload = c.read_frame()
            frame = json.loads(payload) if opcode == OP_TEXT else {}
            if frame.get("type") == "message":
                got.append(frame)
        return got

    received = {"alice": await read_all(a), "bob": await read_all(b)}
    received["carol"] = await asyncio.to_thread(read_all_raw)
    for name, frames in received.items():
        assert [f["body"] for f in frames] == expected, name
        ids = [f["id"] for f in frames]
        assert ids == sorted(ids) and len(set(ids)) == COUNT, name
    for ws in (a, b):
        await ws.close()
    c.close()
