"""Requests from many sockets, taken to the database thread a batch per trip.

All ORM work runs on one database thread (``database_sync_to_async``). Each trip costs a
hand-over to that thread and back, and a write its own transaction and commit; in a burst
the trips queue behind each other anyway. A :class:`DatabaseBatches` queue takes everything
waiting in one trip instead: while a batch runs, new requests pile up and become the next
one, so a lone request still goes at once and a burst costs one trip per batch. Message
writes (writer.py) and connects (connects.py) go this way; docs/benchmarks.md has what each
bought.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from channels.db import database_sync_to_async

Request = TypeVar("Request")
Queue = TypeVar("Queue", bound="DatabaseBatches[Any]")


class DatabaseBatches(Generic[Request]):
    """Queues requests and runs them through :meth:`run_many`, batch by batch, in order."""

    # Requests per trip at most: bounds how long one batch holds the database thread (and,
    # for writes, the write lock).
    max_batch = 256

    def __init__(self) -> None:
        self._pending: list[tuple[Request, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    def run_many(self, requests: list[Request]) -> list[Any]:
        """On the database thread: one outcome per request, an exception for a failed one."""
        raise NotImplementedError

    async def after_batch(self, futures: list[asyncio.Future]) -> None:
        """Called once a batch's futures are settled, before the next batch is taken."""

    def submit(self, request: Request) -> asyncio.Future:
        """Queue one request; the future gives its outcome or raises its error."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((request, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                outcomes = await database_sync_to_async(self.run_many)(
                    [request for request, _ in batch]
                )
            except Exception as error:  # the whole trip failed: every request gets the error
                outcomes = [error] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller went away (a closed socket)
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            await self.after_batch([future for _, future in batch])


def per_loop(factory: Callable[[], Queue]) -> Callable[[], Queue]:
    """One queue per event loop (the server has one; tests run one loop per test)."""
    queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Queue] = (
        weakref.WeakKeyDictionary()
    )

    def current() -> Queue:
        loop = asyncio.get_running_loop()
        queue = queues.get(loop)
        if queue is None:
            queue = queues[loop] = factory()
        return queue

    return current
