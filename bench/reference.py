"""The limit reference: a bare ``websockets`` broadcast server that speaks Deskchat's frames.

No database, no auth, no channel layer: one process, one event loop, each message encoded once
and pushed to every room member with :func:`websockets.asyncio.server.broadcast`. Whatever
Deskchat does on top costs the difference, which is why every figure is printed as a ratio.

Run as ``python -m bench.reference [--port 0]``; it prints its URL, like ``python -m desktop``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


class BroadcastServer:
    """Rooms as sets of connections; ids from a counter, as the database would give them."""

    def __init__(self) -> None:
        self.rooms: dict[str, set[ServerConnection]] = {}
        self.next_id = 0
        self.users = 0

    async def handler(self, ws: ServerConnection) -> None:
        self.users += 1
        user = f"user{self.users}"
        joined: set[str] = set()
        await ws.send(encode({"type": "hello", "user": user, "version": "reference"}))
        await ws.send(encode({"type": "conversations", "rooms": [], "dms": []}))
        try:
            async for text in ws:
                await self.on_frame(ws, user, joined, json.loads(text))
        finally:
            for room in joined:
                self.rooms[room].discard(ws)

    async def on_frame(
        self, ws: ServerConnection, user: str, joined: set[str], frame: dict[str, Any]
    ) -> None:
        kind = frame.get("type")
        room = frame.get("room")
        if kind == "join":
            self.rooms.setdefault(room, set()).add(ws)
            joined.add(room)
            await ws.send(
                encode(
                    {
                        "type": "joined",
                        "room": room,
                        "online": [],
                        "messages": [],
                        "has_more": False,
                        "last_read_id": 0,
                        "unread": 0,
                    }
                )
            )
        elif kind == "send":
            self.next_id += 1
            message = {
                "type": "message",
                "id": self.next_id,
                "user": user,
                "body": frame["body"],
                "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "client_id": frame["client_id"],
                "room": room,
            }
            await ws.send(
                encode({"type": "ack", "client_id": frame["client_id"], "id": self.next_id})
            )
            broadcast(self.rooms.get(room, ()), encode(message))
        elif kind == "history":
            await ws.send(
                encode(
                    {
                        "type": "history",
                        "room": room,
                        "before": None,
                        "messages": [],
                        "has_more": False,
                    }
                )
            )
        elif kind == "resume":
            await ws.send(
                encode(
                    {
                        "type": "resumed",
                        "since": frame.get("since"),
                        "messages": [],
                        "has_more": False,
                    }
                )
            )
        elif kind == "ping":
            await ws.send(encode({"type": "pong"}))


async def serve_forever(host: str, port: int) -> None:
    app = BroadcastServer()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # compression=None: Daphne does not compress either; deflate would cost the limit CPU.
    async with serve(
        app.handler, host, port, compression=None, max_size=None, ping_interval=None
    ) as server:
        real_port = server.sockets[0].getsockname()[1]
        print(f"http://{host}:{real_port}/", flush=True)
        await stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reference")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve_forever(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
