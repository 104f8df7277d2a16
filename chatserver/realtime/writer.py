"""Grouped writes: every send waiting at the same moment is stored in one transaction.

With ``synchronous=FULL`` each SQLite commit waits for the disk (``fsync``); one commit per
message caps a server at a few hundred messages a second on a busy disk, and a consumer that
waits for each commit before reading the next frame caps one sender at the same. The writer
keeps a queue; while a batch is being committed, new sends pile up and become the next batch,
so an idle server still stores a lone message at once, and a burst costs one commit per batch.
Nothing is acked before its batch is committed (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import asyncio
from typing import Any

from chatserver.chat.services.messages import SendRequest, message_create_many
from chatserver.realtime.batches import DatabaseBatches, per_loop

# Sends stored per transaction at most: bounds how long one commit holds the write lock.
MAX_BATCH = 256

# How long the next batch waits at most for the last one's replies (see MessageWriter):
# a fan-out stuck on a slow channel layer must not stop everyone's sends.
REPLY_WAIT_SECONDS = 1.0


class MessageWriter(DatabaseBatches[SendRequest]):
    """Queues send requests and stores them batch by batch, in order."""

    max_batch = MAX_BATCH

    def __init__(self) -> None:
        super().__init__()
        self._replies: dict[asyncio.Future, asyncio.Future] = {}

    def run_many(self, requests: list[SendRequest]) -> list[Any]:
        return message_create_many(requests=requests)

    def reply_with(self, stored: asyncio.Future, reply: asyncio.Future) -> None:
        """``reply`` acks and fans out what ``stored`` gives; the next batch waits for it."""
        self._replies[stored] = reply

    async def after_batch(self, futures: list[asyncio.Future]) -> None:
        # The next batch waits until this one is acked and fanned out. Sent to the database
        # thread at once, it fought that fan-out for the GIL with whatever one or two sends
        # had arrived: a burst then settled into batches of 1-3 and cost about twice the CPU
        # per delivery. Waiting, new sends pile up and go in one batch (docs/benchmarks.md).
        replies = [self._replies.pop(f) for f in futures if f in self._replies]
        if replies:
            await asyncio.wait(replies, timeout=REPLY_WAIT_SECONDS)


_writer = per_loop(MessageWriter)


def submit(request: SendRequest) -> asyncio.Future:
    """Queue one send; the future gives its ``StoredMessage`` or raises its error."""
    return _writer().submit(request)


def reply_with(stored: asyncio.Future, reply: asyncio.Future) -> None:
    _writer().reply_with(stored, reply)
