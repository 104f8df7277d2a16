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
import weakref
from typing import Any

from channels.db import database_sync_to_async

from chatserver.chat import services

# Sends stored per transaction at most: bounds how long one commit holds the write lock.
MAX_BATCH = 256

# How long the next batch waits at most for the last one's replies (see MessageWriter._drain):
# a fan-out stuck on a slow channel layer must not stop everyone's sends.
REPLY_WAIT_SECONDS = 1.0


class MessageWriter:
    """Queues ``services.message_create`` requests and stores them batch by batch, in order."""

    def __init__(self) -> None:
        self._pending: list[tuple[dict[str, Any], asyncio.Future]] = []
        self._replies: dict[asyncio.Future, asyncio.Future] = {}
        self._task: asyncio.Task | None = None

    def submit(self, request: dict[str, Any]) -> asyncio.Future:
        """Queue one send; the future gives its ``StoredMessage`` or raises its error."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((request, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return future

    def reply_with(self, stored: asyncio.Future, reply: asyncio.Future) -> None:
        """``reply`` acks and fans out what ``stored`` gives; the next batch waits for it."""
        self._replies[stored] = reply

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                outcomes = await database_sync_to_async(services.message_create_many)(
                    [request for request, _ in batch]
                )
            except Exception as error:  # the whole transaction failed: nothing was stored
                outcomes = [error] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            # The next batch waits until this one is acked and fanned out. Sent to the
            # database thread at once, it fought that fan-out for the GIL with whatever one or
            # two sends had arrived: a burst then settled into batches of 1-3 and cost about
            # twice the CPU per delivery. Waiting, new sends pile up and go in one batch
            # (docs/benchmarks.md has the figures).
            replies = [self._replies.pop(f) for _, f in batch if f in self._replies]
            if replies:
                await asyncio.wait(replies, timeout=REPLY_WAIT_SECONDS)


# One writer per event loop (tests run one loop per test; the server has one).
_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MessageWriter] = (
    weakref.WeakKeyDictionary()
)


def _writer() -> MessageWriter:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = MessageWriter()
    return writer


def submit(request: dict[str, Any]) -> asyncio.Future:
    return _writer().submit(request)


def reply_with(stored: asyncio.Future, reply: asyncio.Future) -> None:
    _writer().reply_with(stored, reply)
