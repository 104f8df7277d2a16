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

from chatserver.chat import frames
from chatserver.chat.protocol import Command, ProtocolError
from chatserver.chat.services.messages import StoredMessage, send_request
from chatserver.realtime import writer
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
        except ProtocolError as error:
            outcome = error
        self._last = asyncio.ensure_future(self._reply(command, outcome, self._last))
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
    ) -> None:
        if previous is not None:
            await previous
        try:
            if isinstance(outcome, ProtocolError):
                raise outcome
            await self._stored(command, await outcome)
        except ProtocolError as error:
            await self.send_frame(error.frame())
        except Exception:
            logger.exception("unexpected error storing a message from %s", self.username)
            await self.send_frame(
                frames.error(
                    "server_error", "The server could not store that message.", command.ref
                )
            )

    async def _stored(self, command: Command, stored: StoredMessage) -> None:
        """Ack a stored send, then fan it out (encoded once) unless it was a retry."""
        assert command.client_id is not None
        await self.send_frame(frames.ack(client_id=command.client_id, id=stored.frame["id"]))
        if not stored.created:
            return  # a client retry: everyone had the original (or gets it through resume)
        event = frame_event(stored.frame)
        if stored.room_id is not None:
            await self.layer.group_send(room_group(stored.room_id), event)
        else:
            await self.layer.group_send(user_group(self.user_id), event)
            await self.layer.group_send(user_group(stored.recipient_id), event)
