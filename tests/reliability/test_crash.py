"""SIGKILL while clients send: after a restart every acknowledged message is there exactly once.

Clients behave as the protocol asks (docs/protocol.md): a message without an ack is sent
again, with the same ``client_id``, after reconnecting. The server must neither lose an
acknowledged message nor store a retried one twice; presence must start empty, and SQLite
must find its file intact.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from websockets.exceptions import ConnectionClosed

from tests.reliability.realws import connect, expect, join, recv, send, signup
from tests.support.server import start_live_server

pytestmark = pytest.mark.process

USERS = ("alice", "bob", "carol", "dave")
ROOM = "crash"
KILL_AFTER_ACKS = 60  # total acks seen before the kill, spread over all clients
PER_CLIENT = 400  # more than any client can send before the kill


def query(database, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute(sql, params).fetchall()


class Sender:
    """One user's client: sends a numbered stream, remembers what was acked and what not."""

    def __init__(self, name: str, progress: asyncio.Condition) -> None:
        self.name = name
        self.sent: list[str] = []
        self.acked: dict[str, int] = {}
        self.progress = progress  # notified on every ack, by any client
        self.closed = False

    def body(self, client_id: str) -> str:
        return f"{self.name} says {client_id}"

    async def send_message(self, ws, client_id: str) -> None:
        frame = {"type": "send", "room": ROOM, "body": self.body(client_id), "client_id": client_id}
        await send(ws, frame)

    async def run_until_killed(self, ws, all_acks: list, killed: asyncio.Event) -> None:
        async def read_acks() -> None:
            try:
                while True:
                    frame = await recv(ws, timeout=60)
                    if frame["type"] == "ack":
                        self.acked[frame["client_id"]] = frame["id"]
                        all_acks.append(frame["client_id"])
                        async with self.progress:
                            self.progress.notify_all()
            finally:
                self.closed = True
                async with self.progress:  # wake the sender: this socket is gone
                    self.progress.notify_all()

        reader = asyncio.create_task(read_acks())
        try:
            for i in range(PER_CLIENT):
                client_id = f"{self.name}-{i}"
                self.sent.append(client_id)
                await self.send_message(ws, client_id)
                # A window of a few unacked messages, as a real client pipelines them.
                async with self.progress:
                    await self.progress.wait_for(
                        lambda: len(self.sent) - len(self.acked) <= 4 or self.closed
                    )
                if self.closed:
                    break
            await asyncio.wait_for(killed.wait(), 60)
            await asyncio.wait_for(reader, 30)
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()

    async def retry(self, ws) -> dict[str, int]:
        """Send everything again (acked or not) with the same client_ids; return the acks."""
        answers = {}
        for client_id in self.sent:
            await self.send_message(ws, client_id)
            answers[client_id] = (await expect(ws, "ack", client_id=client_id))["id"]
        return answers


async def test_acked_messages_survive_sigkill_exactly_once(tmp_path):
    data = tmp_path / "data"
    database = data / "deskchat.sqlite3"
    server = start_live_server(data, env={"DESKCHAT_RATE_PER_SECOND": "0"})
    try:
        browsers = {name: signup(server, name) for name in USERS}
        progress = asyncio.Condition()
        senders = [Sender(name, progress) for name in USERS]
        sockets = [await connect(server, browsers[s.name]) for s in senders]
        for ws in sockets:
            await join(ws, ROOM)
        assert query(database, "SELECT count(*) FROM chat_connection")[0][0] == len(USERS)

        all_acks: list[str] = []
        killed = asyncio.Event()

        async def kill_mid_stream() -> None:
            async with progress:
                await progress.wait_for(lambda: len(all_acks) >= KILL_AFTER_ACKS)
            server.kill()  # SIGKILL: no shutdown code runs
            killed.set()

        await asyncio.gather(
            kill_mid_stream(),
            *(
                s.run_until_killed(ws, all_acks, killed)
                for s, ws in zip(senders, sockets, strict=True)
            ),
        )
    finally:
        server.kill()

    acked_before = {cid: mid for s in senders for cid, mid in s.acked.items()}
    unacked = [cid for s in senders for cid in s.sent if cid not in s.acked]
    assert len(acked_before) >= KILL_AFTER_ACKS
    assert unacked, "the kill came after every send: nothing was in flight"

    server = start_live_server(data, env={"DESKCHAT_RATE_PER_SECOND": "0"})
    try:
        # Nobody is online after a crash: the dead process's connections were cleared.
        assert query(database, "SELECT count(*) FROM chat_connection") == [(0,)]
        first = await connect(server, browsers[senders[0].name])
        joined = await join(first, ROOM)
        assert joined["online"] == [senders[0].name]

        retried: dict[str, int] = {}
        sockets = [first] + [await connect(server, browsers[s.name]) for s in senders[1:]]
        for sender, ws in zip(senders, sockets, strict=True):
            retried.update(await sender.retry(ws))
            await ws.close()
    finally:
        server.stop()

    # Every message acked before the crash kept its id; retries of those got the same id back.
    for client_id, message_id in acked_before.items():
        assert retried[client_id] == message_id
    rows = query(
        database,
        "SELECT m.client_id, m.id, m.body, u.username FROM chat_message m "
        "JOIN auth_user u ON u.id = m.sender_id",
    )
    by_client_id: dict[str, list[int]] = {}
    for client_id, message_id, _body, _user in rows:
        by_client_id.setdefault(client_id, []).append(message_id)
    # Exactly once: every message any client sent is stored once, under the id it was acked with.
    everything = {cid for s in senders for cid in s.sent}
    assert set(by_client_id) == everything
    assert all(len(ids) == 1 for ids in by_client_id.values())
    assert {cid: ids[0] for cid, ids in by_client_id.items()} == retried
    assert all(body == f"{user} says {cid}" for cid, _, body, user in rows)
    assert query(database, "PRAGMA integrity_check") == [("ok",)]
