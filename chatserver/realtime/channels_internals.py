"""Channels' in-memory layer without its per-delivery costs (docs/benchmarks.md has figures).

The stock ``InMemoryChannelLayer`` walks every channel and every group membership to expire old
entries on *each* ``receive`` and ``group_send``, and fans out through one task and one
``deepcopy`` per recipient. With N sockets in a room that is O(N) work per delivery, O(N²) per
message. This subclass expires at most once a second (entries live 60 s, so nothing stays
noticeably longer), copies an event once per ``group_send``, and puts it straight into each
recipient's queue.

Nothing is dropped without the recipient learning it. Where Channels' layer drops an event
silently (a full queue, an expired one) and we would too (a recipient's inline handler raises),
the channel is marked *lost*: what it still has queued is thrown away, one ``layer.overflow``
event (``codes.EVENT_OVERFLOW``) is queued in its place, and every later event for it is
dropped. Its consumer closes the socket with 4009 on that event, and the client resumes from
the database, which holds every message. Since nothing after a lost event ever reaches the
channel, what the client saw is a gap-free prefix and ``resume`` returns exactly the rest.

A consumer in this process may also *attach* a handler to its channel: ``group_send`` then
calls it directly instead of queueing, which saves the queue, a task and a wake-up per
recipient. The handler is a plain function (no coroutine per recipient) that either finishes
the delivery before it returns (True) or declines (False): it declines whenever the consumer
is busy, and nothing is handed over while events wait in the channel's queue or while the
consumer holds one it took from the queue but has not dispatched yet, so each consumer still
sees its events one at a time and in order, as if they had been queued.

:class:`DirectDispatch` is ``AsyncConsumer.dispatch`` without Channels >= 4.2's hop to a
worker thread (``aclose_old_connections``) before every handler.

What this relies on, checked against ``CHECKED_VERSIONS``:

- ``channels.layers.InMemoryChannelLayer``: ``_clean_expired()`` (called by ``receive`` and
  ``group_send`` to expire entries; replaced here), ``channels`` (name -> ``asyncio.Queue``
  of ``(expires, message)`` tuples, which ``receive`` unpacks; the head read through
  ``asyncio.Queue._queue``), ``groups`` (name -> {channel: time added}), ``group_expiry``,
  ``get_capacity(channel)``, ``expiry`` and ``require_valid_group_name``;
- ``channels.consumer.AsyncConsumer``: ``dispatch(message)`` is what ``__call__`` hands every
  message to, and in the stock version awaits ``aclose_old_connections()`` before the handler.

tests/internals/test_channels.py fails when the installed Channels is outside the checked
range or no longer behaves as relied on here.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer

from chatserver.realtime.codes import EVENT_OVERFLOW

logger = logging.getLogger(__name__)

DISTRIBUTION = "channels"
# Checked against 4.3.2: [lowest, first unchecked) as (major, minor) tuples.
CHECKED_VERSIONS = ((4, 3), (4, 4))

CLEAN_INTERVAL_SECONDS = 1.0

# Called with the group_send's own copy of the event: it may read it, never change it.
InlineHandler = Callable[[dict[str, Any]], bool]


class InMemoryChannelLayer(StockInMemoryChannelLayer):
    """Same API and semantics as Channels' in-memory layer, with O(1) work per delivery."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0
        self._inline: dict[str, InlineHandler] = {}
        self._lost: set[str] = set()  # channels told to resume: they get nothing more
        # Channels whose consumer took an event from its queue and has not dispatched it yet
        # (``receive`` returned, the dispatch loop has not resumed): handing it the next event
        # inline now would overtake that one.
        self._taken: set[str] = set()

    def attach(self, channel: str, handler: InlineHandler) -> None:
        """Hand ``channel``'s group events to ``handler`` (True: handled, False: queue it)."""
        self._inline[channel] = handler

    def settled(self, channel: str) -> None:
        """The consumer now dispatches the event it took (see ``_taken``)."""
        self._taken.discard(channel)

    async def receive(self, channel: str) -> dict[str, Any]:
        message = await super().receive(channel)
        if channel in self._inline:
            self._taken.add(channel)
        return message

    def detach(self, channel: str) -> None:
        """The channel's consumer is gone: forget its handler and whether it was lost."""
        self._inline.pop(channel, None)
        self._lost.discard(channel)
        self._taken.discard(channel)
        self.channels.pop(channel, None)  # nobody reads it any more

    def lose(self, channel: str, why: str) -> None:
        """``channel`` missed an event: replace its queue with one overflow event (see above)."""
        if channel in self._lost:
            return
        self._lost.add(channel)
        logger.warning("channel %s %s: it is told to reconnect and resume", channel, why)
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait((time.time() + self.expiry, {"type": EVENT_OVERFLOW}))

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_INTERVAL_SECONDS:
            return
        self._cleaned_at = now
        # Channels drops an expired event and removes its channel from every group, silently:
        # here the channel is lost instead (its consumer resumes), and keeps its groups.
        wall = time.time()
        for channel, queue in list(self.channels.items()):
            if queue.empty() or channel in self._lost:
                continue
            if queue._queue[0][0] < wall:  # type: ignore[attr-defined]
                self.lose(channel, "held an event past its expiry")
        timeout = int(wall) - self.group_expiry
        for members in self.groups.values():
            for name, added in list(members.items()):
                if added and added < timeout:
                    members.pop(name, None)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        # One deep copy isolates the event from the sender; recipients get a shallow copy each,
        # enough for handlers that read fields (ours never mutate nested values).
        event = copy.deepcopy(message)
        expires = time.time() + self.expiry
        lost, taken = self._lost, self._taken
        for channel in list(members):
            if lost and channel in lost:
                continue  # already told to resume, which will bring this event too
            queue = self.channels.get(channel)
            handler = self._inline.get(channel)
            if handler is not None and (queue is None or queue.empty()) and channel not in taken:
                try:
                    if handler(event):
                        continue
                except Exception:  # one recipient's failure must not stop the fan-out
                    logger.exception("delivering an event to %s failed", channel)
                    self.lose(channel, f"failed to take an event for {group}")
                    continue
            if queue is None:
                queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
            try:
                queue.put_nowait((expires, dict(event)))
            except asyncio.QueueFull:
                self.lose(channel, f"is full and missed an event for {group}")


class DirectDispatch:
    """Consumer mixin: each message goes straight to its handler, without a thread hop first.

    ``_dispatching`` is True while a handler runs (the inline hand-over above declines then).
    """

    _dispatching = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels >= 4.2 hops to a worker thread to close old database connections before
        # *every* handler, fan-out events included. All our ORM work goes through
        # database_sync_to_async, which does that clean-up in its own thread, so the extra
        # hop only adds latency to every delivery (docs/benchmarks.md has the figure).
        kind = message["type"]
        handler = None if kind.startswith("_") else getattr(self, kind.replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {kind}")
        self._dispatching = True
        if not kind.startswith("websocket."):  # a channel-layer event: inline may resume after
            settled = getattr(getattr(self, "channel_layer", None), "settled", None)
            if settled is not None:
                settled(self.channel_name)
        try:
            await handler(message)
        finally:
            self._dispatching = False
