"""The chat WebSocket: one per client, every room and DM of its user over it.

The consumer only translates: it parses a frame (protocol.py), calls one service or selector
through ``database_sync_to_async``, and sends frames. Fan-out frames are encoded once by the
sender and travel through the channel layer as text, so each recipient only writes bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chatserver.chat import selectors, services
from chatserver.chat.protocol import (
    Command,
    ProtocolError,
    decode,
    encode,
    error_frame,
    parse,
    parse_pm,
)
from chatserver.realtime import connects, presence_broadcast, writer
from chatserver.realtime.groups import LOBBY_GROUP, room_group, user_group
from chatserver.realtime.ratelimit import build_rate_limiter

logger = logging.getLogger(__name__)

# Close codes (docs/protocol.md). 4000-4999 are the application's own range.
CLOSE_TOO_MANY_CONNECTIONS = 4008
CLOSE_SLOW_READER = 4009
CLOSE_UNAUTHENTICATED = 4401

RESUME_BATCH = 500

# What Deskchat's own Daphne protocol offers in scope["extensions"]: a plain function that
# sends one text frame at once (realtime/websocket_protocol.py). Elsewhere (tests'
# communicators, a stock Daphne) frames go through the ASGI ``send`` as usual.
RELAY_EXTENSION = "deskchat.relay_text"

# Channel layers forget group members after a while (channels_redis: 24 h). A socket that says
# anything (the UI pings after every quiet spell) renews its memberships this often.
GROUP_REFRESH_SECONDS = 3600.0

LIMITS = settings.DESKCHAT
# In Redis when the channel layer is Redis: one budget per user across all workers.
rate_limiter = build_rate_limiter(LIMITS, settings.CHANNEL_LAYERS)


class ChatConsumer(AsyncWebsocketConsumer):
    """Speaks the protocol in docs/protocol.md for one authenticated user."""

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
        try:
            await handler(message)
        finally:
            self._dispatching = False

    def _deliver_inline(self, event: dict[str, Any]) -> bool:
        """Relay a frame straight from the sender's ``group_send`` when idle.

        (realtime/channels_internals.py).

        Skipping the channel queue and its wake-up per recipient, and every coroutine on the
        way to the socket, is what lets one process fan a message out to a full office
        (docs/benchmarks.md has the figures). Busy with a frame or another event: decline,
        and the event is queued as usual, keeping order. Nothing here awaits, so no other
        event can overtake this one while it is written.
        """
        if self._dispatching or self._relay is None or event["type"] != "chat.frame":
            return False
        if event.get("exclude_user") == self.user_id:
            return True
        return self._relay(event["text"])

    # --- lifecycle ------------------------------------------------------------------------

    _dispatching = False
    _relay: Callable[[str], bool] | None = None

    async def connect(self) -> None:
        self.registered = False
        self._sends: asyncio.Future | None = None  # the last queued send (see on_send)
        self.rooms: dict[int, str] = {}
        try:
            opened = await connects.open_connection(
                session_key=self.scope.get("session_key"), channel_name=self.channel_name
            )
        except services.TooManyConnections:
            limit = LIMITS["MAX_CONNECTIONS_PER_USER"]
            await self.accept()
            await self.send_frame(
                error_frame("too_many_connections", f"At most {limit} connections per user.")
            )
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        if opened is None:
            # Accepted, then closed with the code: a browser is told nothing about a refused
            # handshake (its close code is 1006), so an open page whose session ended would
            # reconnect for ever instead of going to log in (tests/ui/test_connection_states.py).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        user, start = opened.user, opened.start
        self.user_id: int = user.pk
        self.username: str = user.username
        self.registered = True
        await self.accept()
        self._groups_refreshed = time.monotonic()
        self._relay = self.scope.get("extensions", {}).get(RELAY_EXTENSION)
        if self._relay is not None and hasattr(self.channel_layer, "attach"):
            self.channel_layer.attach(
                self.channel_name, self._deliver_inline
            )  # realtime/channels_internals.py
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        await self.channel_layer.group_add(LOBBY_GROUP, self.channel_name)
        for room_id, name in start.rooms:
            await self._follow(room_id, name)
        await self.send_frame(
            {
                "type": "hello",
                "user": self.username,
                "version": settings.VERSION,
                "limits": {
                    "max_body_chars": LIMITS["MAX_BODY_CHARS"],
                    "max_frame_bytes": LIMITS["MAX_FRAME_BYTES"],
                    "rate_per_second": LIMITS["RATE_PER_SECOND"],
                    "rate_burst": LIMITS["RATE_BURST"],
                },
            }
        )
        await self.send_frame(start.conversations)
        await presence_broadcast.announce(self.channel_layer, start.change)

    async def disconnect(self, code: int) -> None:
        if hasattr(self.channel_layer, "detach"):
            self.channel_layer.detach(self.channel_name)
        if not self.registered:
            return
        self.registered = False
        await self._sends_done()  # stored sends are broadcast even if their sender left
        for room_id in list(self.rooms):
            await self.channel_layer.group_discard(room_group(room_id), self.channel_name)
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        await self.channel_layer.group_discard(LOBBY_GROUP, self.channel_name)
        change = await connects.close_connection(channel_name=self.channel_name)
        await presence_broadcast.announce(self.channel_layer, change)

    # --- client frames --------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            command = parse(
                decode(text_data, LIMITS["MAX_FRAME_BYTES"]),
                max_body_chars=LIMITS["MAX_BODY_CHARS"],
            )
            if time.monotonic() - self._groups_refreshed > GROUP_REFRESH_SECONDS:
                await self._refresh_groups()
            if command.type != "send":
                await self._sends_done()  # replies leave in the order the frames came
            await getattr(self, f"on_{command.type}")(command)
        except ProtocolError as error:
            await self._sends_done()
            await self.send_frame(error.frame())
        except Exception:
            # A bug must cost one error frame, never this connection or anyone else's.
            logger.exception("unexpected error handling a frame from %s", self.username)
            await self._sends_done()
            await self.send_frame(
                error_frame("server_error", "The server could not handle that frame.")
            )

    async def on_ping(self, command: Command) -> None:
        await self.send_frame({"type": "pong"})

    async def on_join(self, command: Command) -> None:
        assert command.room is not None
        result = await database_sync_to_async(services.membership_join)(
            user_id=self.user_id,
            name=command.room,
            max_rooms=LIMITS["MAX_ROOMS_PER_CONNECTION"],
            ref=command.ref,
        )
        room = result.room
        # Subscribed before the frame is read: a message stored in between arrives live
        # (perhaps also in the frame; clients keep one per id) instead of being missed.
        await self._follow(room.pk, room.name)
        newly_online, joined = await database_sync_to_async(services.room_enter)(
            channel_name=self.channel_name,
            user_id=self.user_id,
            username=self.username,
            room_id=room.pk,
            name=room.name,
        )
        await self.send_frame(joined)
        if result.created_membership:
            # The user's other tabs follow the room too.
            await self.channel_layer.group_send(
                user_group(self.user_id),
                {
                    "type": "membership.changed",
                    "action": "join",
                    "room_id": room.pk,
                    "room": room.name,
                    "origin": self.channel_name,
                },
            )
        if newly_online:
            await presence_broadcast.broadcast_room(self.channel_layer, room.pk)

    async def on_leave(self, command: Command) -> None:
        assert command.room is not None
        room = await database_sync_to_async(services.membership_leave)(
            user_id=self.user_id, name=command.room, ref=command.ref
        )
        await self.channel_layer.group_send(
            user_group(self.user_id),
            {
                "type": "membership.changed",
                "action": "leave",
                "room_id": room.pk,
                "room": room.name,
                "origin": self.channel_name,
            },
        )
        await presence_broadcast.broadcast_room(self.channel_layer, room.pk)

    async def on_send(self, command: Command) -> None:
        """Check the send now, store it with whatever else is waiting (writer.py), go on.

        The next frame is read before this one is stored: a burst from one client then costs
        one commit per batch instead of one per message. Acks, errors and broadcasts still
        leave in arrival order, because each send's reply waits for the previous one's.
        """
        try:
            outcome: asyncio.Future | ProtocolError = writer.submit(
                await self._send_request(command)
            )
        except ProtocolError as error:
            outcome = error
        self._sends = asyncio.ensure_future(self._finish_send(command, outcome, self._sends))
        if isinstance(outcome, asyncio.Future):
            writer.reply_with(outcome, self._sends)

    async def _sends_done(self) -> None:
        if self._sends is not None:
            await self._sends

    async def _finish_send(
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
            stored = await outcome
            await self._store_done(command, stored)
        except ProtocolError as error:
            await self.send_frame(error.frame())
        except Exception:
            logger.exception("unexpected error storing a message from %s", self.username)
            await self.send_frame(
                error_frame("server_error", "The server could not store that message.", command.ref)
            )

    async def _send_request(self, command: Command) -> dict[str, Any]:
        """The arguments of ``services.message_create``, after the checks that need no DB."""
        assert command.body is not None and command.client_id is not None
        room_name, to, body = command.room, command.to, command.body
        pm = parse_pm(body) if room_name is not None else None
        if pm is not None:
            # The tutorial's "/pm user text" typed into a room is a direct message.
            to, body = pm
            room_name = None
            if not to:
                raise ProtocolError("missing_field", "Usage: /pm USER TEXT", command.ref)
            if not body:
                raise ProtocolError("empty_body", "The message is empty.", command.ref)
        wait = await rate_limiter.acquire(self.user_id)
        if wait > 0:
            raise ProtocolError(
                "rate_limited",
                f"Too many messages; try again in {wait:.1f} s.",
                command.ref,
                retry_after=round(wait, 3),
            )
        return {
            "sender_id": self.user_id,
            "sender_username": self.username,
            "body": body,
            "client_id": command.client_id,
            "room_name": room_name,
            "to_username": to,
        }

    async def _store_done(self, command: Command, stored: services.StoredMessage) -> None:
        """Ack a stored send, then broadcast it (encoded once) unless it was a retry."""
        await self.send_frame(
            {"type": "ack", "client_id": command.client_id, "id": stored.frame["id"]}
        )
        if not stored.created:
            return  # a client retry: everyone had the original (or gets it through resume)
        event = {"type": "chat.frame", "text": encode(stored.frame)}
        if stored.room_id is not None:
            await self.channel_layer.group_send(room_group(stored.room_id), event)
        else:
            await self.channel_layer.group_send(user_group(self.user_id), event)
            await self.channel_layer.group_send(user_group(stored.recipient_id), event)

    async def on_history(self, command: Command) -> None:
        await self.send_frame(
            await database_sync_to_async(selectors.history_frame)(
                user_id=self.user_id,
                room=command.room,
                with_user=command.with_user,
                before=command.before,
                limit=command.limit,
                ref=command.ref,
            )
        )

    async def on_resume(self, command: Command) -> None:
        """Everything after ``since`` that this user may see, in batches, oldest first."""
        since = command.since or 0
        while True:
            messages, has_more = await database_sync_to_async(selectors.visible_messages_since)(
                user_id=self.user_id, since=since, limit=RESUME_BATCH
            )
            await self.send_frame(
                {"type": "resumed", "since": since, "messages": messages, "has_more": has_more}
            )
            if not has_more or not messages:
                return
            since = messages[-1]["id"]

    async def on_typing(self, command: Command) -> None:
        if command.room is not None:
            room_id = self._followed_room_id(command.room)
            if room_id is None:
                raise ProtocolError("not_joined", "Join the room first.", command.ref)
            frame = {"type": "typing", "room": self.rooms[room_id], "user": self.username}
            await self.channel_layer.group_send(
                room_group(room_id),
                {"type": "chat.frame", "text": encode(frame), "exclude_user": self.user_id},
            )
            return
        assert command.to is not None
        peer = await database_sync_to_async(selectors.require_peer)(
            user_id=self.user_id, username=command.to, ref=command.ref
        )
        frame = {
            "type": "typing",
            "from": self.username,
            "to": peer.username,
            "user": self.username,
        }
        await self.channel_layer.group_send(
            user_group(peer.pk), {"type": "chat.frame", "text": encode(frame)}
        )

    async def on_read(self, command: Command) -> None:
        assert command.id is not None
        frame = await database_sync_to_async(services.read_mark)(
            user_id=self.user_id,
            room_name=command.room,
            with_username=command.with_user,
            message_id=command.id,
            ref=command.ref,
        )
        # Every tab of this user clears the same badge.
        await self.channel_layer.group_send(
            user_group(self.user_id), {"type": "chat.frame", "text": encode(frame)}
        )

    async def on_conversations(self, command: Command) -> None:
        await self.send_frame(
            await database_sync_to_async(selectors.conversations)(user_id=self.user_id)
        )

    # --- channel layer events -------------------------------------------------------------

    async def chat_frame(self, event: dict[str, Any]) -> None:
        """A frame encoded once by its sender: relay the text as is.

        Through the server's relay when it offers one, else straight to the ASGI ``send``
        (``base_send``): ``AsyncWebsocketConsumer.send`` only builds this same message, and
        this runs once per recipient of every message that was queued, not handed over.
        """
        if event.get("exclude_user") == self.user_id:
            return
        if self._relay is None or not self._relay(event["text"]):
            await self.base_send({"type": "websocket.send", "text": event["text"]})

    async def membership_changed(self, event: dict[str, Any]) -> None:
        """Another tab of this user joined or left a room: follow it here too."""
        room_id, name = event["room_id"], event["room"]
        if event["action"] == "join":
            if event["origin"] == self.channel_name or room_id in self.rooms:
                return
            newly_online = await self._follow(room_id, name, register=True)
            await self.send_frame({"type": "membership", "action": "join", "room": name})
            if newly_online:
                await presence_broadcast.broadcast_room(self.channel_layer, room_id)
        elif room_id in self.rooms:
            del self.rooms[room_id]
            await self.channel_layer.group_discard(room_group(room_id), self.channel_name)
            await self.send_frame({"type": "membership", "action": "leave", "room": name})

    # --- helpers --------------------------------------------------------------------------

    async def _refresh_groups(self) -> None:
        """Add this socket to its groups again, which restarts the layer's expiry clock."""
        self._groups_refreshed = time.monotonic()
        for group in [user_group(self.user_id), LOBBY_GROUP, *map(room_group, self.rooms)]:
            await self.channel_layer.group_add(group, self.channel_name)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=encode(frame))

    def _followed_room_id(self, name: str) -> int | None:
        wanted = " ".join(name.split()).casefold()
        return next((rid for rid, rname in self.rooms.items() if rname.casefold() == wanted), None)

    async def _follow(self, room_id: int, name: str, *, register: bool = False) -> bool:
        """Subscribe to a room's group; with ``register``, count this socket in its presence.

        Returns True when that made the user newly online in the room.
        """
        newly_online = False
        if register:
            newly_online = await database_sync_to_async(services.connection_join_room)(
                channel_name=self.channel_name, room_id=room_id
            )
        if room_id not in self.rooms:
            self.rooms[room_id] = name
            await self.channel_layer.group_add(room_group(room_id), self.channel_name)
        return newly_online
