"""One socket's sends: checked at once, stored in batches, answered in the order they came.

A consumer reads the next frame before the last send is stored: a burst from one client then
costs one commit per batch (writer.py) instead of one per message. Each send's reply (``ack``
and fan-out, or an ``error``) waits for the previous send's, so replies still leave in arrival
order, and the writer takes its next batch once these replies are out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from chatserver.chat import frames, health
from chatserver.chat.protocol import Command, ProtocolError
from chatserver.chat.services.messages import StoredMessage, send_request
from chatserver.realtime import writer
from chatserver.realtime.batches import per_loop
from chatserver.realtime.groups import frame_event, room_group, user_group
from chatserver.realtime.ratelimit import build_rate_limiter

logger = logging.getLogger(__name__)

# In Redis when the channel layer is Redis: one budget per user across all workers.
rate_limiter = build_rate_limiter(settings.DESKCHAT, settings.CHANNEL_LAYERS)

SendFrame = Callable[[frames.Frame], Awaitable[None]]


class SocketSends:
    """The sends of one socket, from ``send`` frame to ack and fan-out."""

    def __init__(self, *, user_id: int, username: str, layer: Any, send_frame: SendFrame) -> None:
        self.user_id = user_id
        self.username = username
        self.layer = layer
        self.send_frame = send_frame
        self._last: asyncio.Future | None = None  # the last send's reply

    async def submit(self, command: Command) -> None:
        """Check a ``send`` now and queue it for the writer; its reply follows the last one's."""
        try:
            request = send_request(command, sender_id=self.user_id, sender_username=self.username)
            wait = await rate_limiter.acquire(self.user_id)
            if wait > 0:
                raise ProtocolError(
                    "rate_limited",
                    f"Too many messages; try again in {wait:.1f} s.",
                    command.ref,
                    retry_after=round(wait, 3),
                )
            outcome: asyncio.Future | ProtocolError = writer.submit(request)
            slot: FanOutSlot | None = _fan_out().reserve()  # in the writer's order: id order
        except ProtocolError as error:
            outcome, slot = error, None
        self._last = asyncio.ensure_future(self._reply(command, outcome, self._last, slot))
        if isinstance(outcome, asyncio.Future):
            writer.reply_with(outcome, self._last)

    async def done(self) -> None:
        """Wait until every send so far is answered (before any other reply, and at close)."""
        if self._last is not None:
            await self._last

    async def _reply(
        self,
        command: Command,
        outcome: asyncio.Future | ProtocolError,
        previous: asyncio.Future | None,
        slot: FanOutSlot | None,
    ) -> None:
        try:
            if previous is not None:
                await previous
            await self._answer(command, outcome, slot)
        finally:
            if slot is not None:
                slot.release()  # stored or not, later fan-outs need not wait for this one

    async def _answer(
        self, command: Command, outcome: asyncio.Future | ProtocolError, slot: FanOutSlot | None
    ) -> None:
        try:
            if isinstance(outcome, ProtocolError):
                raise outcome
            await self._stored(command, await outcome, slot)
        except ProtocolError as error:
            await self.send_frame(error.frame())
        except Exception as error:
            # Nothing was stored (the batch's transaction rolled back) and there is no ack:
            # the client keeps the message and may send it again with the same client_id.
            fault = health.report(error)
            if fault is None:
                logger.exception("unexpected error storing a message from %s", self.username)
            detail = fault.detail if fault else "The server could not store that message."
            kind = fault.kind if fault else None
            await self.send_frame(frames.server_error(detail, command.ref, fault=kind))

    async def _stored(
        self, command: Command, stored: StoredMessage, slot: FanOutSlot | None
    ) -> None:
        """Ack a stored send, then fan it out (encoded once) unless it was a retry."""
        assert command.client_id is not None
        await self.send_frame(frames.ack(client_id=command.client_id, id=stored.frame["id"]))
        if not stored.created:
            return  # a client retry: everyone had the original (or gets it through resume)
        event = frame_event(stored.frame)
        if stored.room_id is not None:
            groups = [room_group(stored.room_id)]
        else:
            groups = [user_group(self.user_id), user_group(stored.recipient_id)]
        assert slot is not None
        await slot.wait_turn()
        for group in groups:
            await self.layer.group_send(group, event)


class FanOutSlot:
    """One send's place in this process's fan-out order (see :class:`FanOut`)."""

    __slots__ = ("_done", "_previous")

    def __init__(self, previous: asyncio.Future | None, done: asyncio.Future) -> None:
        self._previous = previous
        self._done = done

    async def wait_turn(self) -> None:
        """Until every send queued for the writer before this one is fanned out (or failed)."""
        if self._previous is not None and not self._previous.done():
            await self._previous

    def release(self) -> None:
        if not self._done.done():
            self._done.set_result(None)


class FanOut:
    """This process's message fan-outs leave in the order the writer stored them (by id).

    Each send takes a slot when it is queued for the writer, so slots follow the writer's
    order, which is the order of the ids. Replies can finish out of that order (one socket's
    replies wait for each other, a Redis ``group_send`` awaits the network), and then a later
    message could reach a socket first: if that socket is told to resume (4009), it resumes
    after the newest id it saw and would never get the one that was overtaken. In slot order,
    whatever a socket misses comes after everything it got. With the in-memory layer nothing
    here waits in practice (its ``group_send`` never does).
    """

    def __init__(self) -> None:
        self._last: asyncio.Future | None = None

    def reserve(self) -> FanOutSlot:
        done = asyncio.get_running_loop().create_future()
        slot = FanOutSlot(self._last, done)
        self._last = done
        return slot


_fan_out = per_loop(FanOut)
