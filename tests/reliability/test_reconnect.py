"""A reader whose socket drops mid-stream reconnects, resumes, and misses nothing.

The client follows docs/protocol.md: remember the last message id applied; after
reconnecting, send ``resume`` with it; hold live frames until the resume is complete, then
apply only ids above the last one applied (the new socket is subscribed before ``resume``
runs, so a message can arrive both ways).
"""

from __future__ import annotations

import asyncio

import pytest

from tests.reliability.realws import connect, expect, join, recv, send, signup
from tests.support.server import start_live_server

pytestmark = pytest.mark.process

TOTAL = 150
DROP_AFTER = 40


class Timeline:
    """What the user sees: messages applied once each, in id order."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    @property
    def last_id(self) -> int:
        return self.messages[-1]["id"] if self.messages else 0

    def apply(self, message: dict) -> None:
        if message["id"] > self.last_id:
            self.messages.append(message)


async def test_dropped_reader_resumes_every_message_once_in_order(tmp_path):
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_RATE_PER_SECOND": "0"})
    try:
        writer, reader = signup(server, "alice"), signup(server, "bob")
        a = await connect(server, writer)
        b = await connect(server, reader)
        await join(a, "stream")
        await join(b, "stream")
        timeline = Timeline()
        dropped = asyncio.Event()

        async def write() -> None:
            for i in range(TOTAL):
                await send(
                    a, {"type": "send", "room": "stream", "body": f"m{i}", "client_id": f"c{i}"}
                )
                await expect(a, "ack", client_id=f"c{i}")
                if i == DROP_AFTER + 20:
                    # Keep writing while bob is away, and after he is back.
                    await dropped.wait()

        async def read() -> None:
            nonlocal b
            while len(timeline.messages) < DROP_AFTER:
                timeline.apply(await expect(b, "message", room="stream"))
            # The network goes away under bob: no close frame, just a dead TCP connection.
            b.transport.abort()
            dropped.set()
            await asyncio.sleep(0.2)  # alice keeps sending meanwhile
            b = await connect(server, reader)
            await send(b, {"type": "resume", "since": timeline.last_id})
            held: list[dict] = []
            resumed_ids: list[int] = []
            while True:
                frame = await recv(b)
                if frame["type"] == "message":
                    held.append(frame)
                elif frame["type"] == "resumed":
                    resumed_ids += [m["id"] for m in frame["messages"]]
                    for message in frame["messages"]:
                        timeline.apply(message)
                    if not frame["has_more"]:
                        break
            assert resumed_ids == sorted(set(resumed_ids))  # no repeats within the resume
            for message in held:
                timeline.apply(message)
            while len(timeline.messages) < TOTAL:
                timeline.apply(await expect(b, "message", room="stream"))

        await asyncio.wait_for(asyncio.gather(write(), read()), 120)
        assert [m["body"] for m in timeline.messages] == [f"m{i}" for i in range(TOTAL)]
        # Nothing more is in flight: the stream ends exactly at the last message.
        await send(b, {"type": "ping"})
        extra = []
        while (frame := await recv(b))["type"] != "pong":
            extra.append(frame)
        assert not [f for f in extra if f["type"] == "message"]
        await a.close()
        await b.close()
    finally:
        server.stop()
