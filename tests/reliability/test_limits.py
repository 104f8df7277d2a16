"""The limits in docs/security.md over real sockets: configurable, enforced, local to one user."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.reliability.realws import (
    OP_CLOSE,
    RawWebSocket,
    connect,
    expect,
    join,
    recv,
    send,
    signup,
)
from tests.support.server import start_live_server

pytestmark = pytest.mark.process

RATE, BURST = 2.0, 5
MAX_ROOMS, MAX_CONNECTIONS, MAX_FRAME = 3, 2, 16_384
CLOSE_MESSAGE_TOO_BIG = 1009


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_live_server(
        tmp_path_factory.mktemp("limits") / "data",
        env={
            "DESKCHAT_RATE_PER_SECOND": str(RATE),
            "DESKCHAT_RATE_BURST": str(BURST),
            "DESKCHAT_MAX_ROOMS_PER_CONNECTION": str(MAX_ROOMS),
            "DESKCHAT_MAX_CONNECTIONS_PER_USER": str(MAX_CONNECTIONS),
            "DESKCHAT_MAX_FRAME_BYTES": str(MAX_FRAME),
        },
    )
    yield server
    server.stop()


async def test_one_user_flooding_is_rate_limited_and_others_are_not(server):
    flooder, calm = signup(server, "flood"), signup(server, "calm")
    f = await connect(server, flooder)
    c = await connect(server, calm)
    await join(f, "busy")
    await join(c, "busy")

    started = time.monotonic()
    for i in range(40):
        await send(f, {"type": "send", "room": "busy", "body": f"spam {i}", "client_id": f"s{i}"})
    calm_acks = []
    for i in range(BURST):
        # calm's own budget is untouched by flood's.
        await send(c, {"type": "send", "room": "busy", "body": f"calm {i}", "client_id": f"c{i}"})
        calm_acks.append(await expect(c, "ack", client_id=f"c{i}"))

    acked, limited = [], []
    while len(acked) + len(limited) < 40:
        frame = await recv(f)
        if frame["type"] == "ack":
            acked.append(frame["client_id"])
        elif frame["type"] == "error":
            assert frame["code"] == "rate_limited", frame
            limited.append(frame)
    elapsed = time.monotonic() - started
    assert len(calm_acks) == BURST
    # The burst, plus what the bucket refilled while the flood was being answered.
    assert BURST <= len(acked) <= BURST + RATE * elapsed + 1
    assert limited
    for error in limited:
        assert error["ref"].startswith("s")
        assert 0 < error["retry_after"] <= 1 / RATE + 0.01
        assert "try again" in error["detail"]
    # Refused messages were not stored: the room holds the accepted ones and calm's.
    await send(c, {"type": "history", "room": "busy"})
    history = await expect(c, "history", room="busy")
    stored = {m["client_id"] for m in history["messages"]}
    assert stored == set(acked) | {f"c{i}" for i in range(BURST)}
    await f.close()
    await c.close()


async def test_rooms_per_user_are_capped(server):
    browser = signup(server, "roomy")
    ws = await connect(server, browser)
    # Rooms every account joins at sign-up (issue 14: the first account's `general`) count too.
    await send(ws, {"type": "conversations"})
    given = [r["room"] for r in (await expect(ws, "conversations"))["rooms"]]
    assert len(given) < MAX_ROOMS
    for i in range(MAX_ROOMS - len(given)):
        await join(ws, f"room {i}")
    await send(ws, {"type": "join", "room": "one too many"})
    error = await expect(ws, "error")
    assert error["code"] == "too_many_rooms"
    await send(ws, {"type": "conversations"})
    rooms = (await expect(ws, "conversations"))["rooms"]
    joined = [f"room {i}" for i in range(MAX_ROOMS - len(given))]
    assert sorted(r["room"] for r in rooms) == sorted(given + joined)
    await ws.close()


async def test_connections_per_user_are_capped(server):
    browser = signup(server, "tabs")
    open_ones = [await connect(server, browser) for _ in range(MAX_CONNECTIONS)]
    from websockets.asyncio.client import connect as ws_connect

    extra = await ws_connect(server.ws_url, additional_headers=browser.ws_headers(), proxy=None)
    error = await expect(extra, "error")
    assert error["code"] == "too_many_connections"
    with pytest.raises(ConnectionClosed) as closed:
        await recv(extra)
    assert closed.value.rcvd.code == 4008
    # The refused socket did not take a slot: closing one tab lets a new one in.
    await open_ones.pop().close()
    # The server frees the slot in its disconnect handler, after the close: the marker is a
    # new tab that gets its hello. Until then each try is refused (4008) and takes no slot.
    open_ones.append(await connect_once_a_slot_frees(server, browser))
    for ws in open_ones:
        await ws.close()


async def connect_once_a_slot_frees(server, browser, timeout: float = 15):
    from websockets.asyncio.client import connect as ws_connect

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        ws = await ws_connect(server.ws_url, additional_headers=browser.ws_headers(), proxy=None)
        first = await recv(ws)
        if first["type"] == "hello":
            await expect(ws, "conversations")
            return ws
        assert first.get("code") == "too_many_connections", first
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
        assert closed.value.rcvd.code == 4008
        assert asyncio.get_running_loop().time() < deadline, "the closed tab's slot never freed"


def test_oversized_frame_is_refused_from_its_header(server):
    """A frame announcing a gigabyte is refused before any of it is sent or buffered."""
    browser = signup(server, "big")
    raw = RawWebSocket.open(server, browser.ws_headers())
    raw.send_frame(b"", announce=1 << 30)
    code, _ = raw.read_until_close()
    assert code == CLOSE_MESSAGE_TOO_BIG
    raw.close()


def test_oversized_message_in_small_fragments_is_refused(server):
    browser = signup(server, "frag")
    raw = RawWebSocket.open(server, browser.ws_headers())
    chunk = b"x" * (MAX_FRAME // 4)
    raw.send_frame(chunk, fin=False)
    for _ in range(6):
        try:
            raw.send_frame(chunk, opcode=0, fin=False)
        except OSError:
            break  # the server already closed
    code, _ = raw.read_until_close()
    assert code == CLOSE_MESSAGE_TOO_BIG
    raw.close()


def test_frame_under_the_limit_with_a_long_body_is_an_error_not_a_close(server):
    browser = signup(server, "long")
    raw = RawWebSocket.open(server, browser.ws_headers())
    raw.send_json({"type": "join", "room": "long"})
    raw.send_json({"type": "send", "room": "long", "body": "y" * 5000, "client_id": "l1"})
    raw.send_json({"type": "ping"})
    frames = []
    while not frames or frames[-1].get("type") != "pong":
        opcode, payload = raw.read_frame()
        assert opcode != OP_CLOSE
        frames.append(json.loads(payload))
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["body_too_long"]
    raw.close()
