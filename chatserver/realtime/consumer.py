"""The chat WebSocket: one per client, every room and DM of its user over it.

The consumer only translates: it parses a frame (chat/protocol.py), calls one service or
selector through ``database_sync_to_async`` and answers with frames built by chat/frames.py.
Sends go through :class:`~chatserver.realtime.sends.SocketSends` (batched storage, ordered
replies) and the socket's groups through :class:`~chatserver.realtime.subscriptions.Subscriptions`.
Fan-out frames are encoded once by the sender and travel through the channel layer as text,
so each recipient only writes bytes. docs/architecture.md follows one message along this path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from chatserver.chat import frames, health
from chatserver.chat.protocol import Command, ProtocolError, decode, parse
from chatserver.chat.selectors.conversations import sidebar
from chatserver.chat.selectors.messages import (
    history,
    resume_start,
    visible_messages_since,
)
from chatserver.chat.selectors.rooms import room_members
from chatserver.chat.selectors.search import search
from chatserver.chat.selectors.users import require_peer
from chatserver.chat.services.notify import notify_set
from chatserver.chat.services.presence import TooManyConnections, room_enter
from chatserver.chat.services.read_markers import read_mark
from chatserver.chat.services.rooms import membership_join, membership_leave, room_rename
from chatserver.chat.services.status import status_set
from chatserver.realtime import connects, presence_broadcast
from chatserver.realtime.access import ends_this_socket
from chatserver.realtime.channels_internals import DirectDispatch
from chatserver.realtime.codes import (
    CLOSE_DATABASE_FAULT,
    CLOSE_SLOW_READER,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_UNAUTHENTICATED,
    RELAY_EXTENSION,
)
from chatserver.realtime.groups import frame_event, room_group, user_group
from chatserver.realtime.sends import SocketSends
from chatserver.realtime.subscriptions import Subscriptions

logger = logging.getLogger(__name__)

RESUME_BATCH = 500
LIMITS = settings.DESKCHAT


class ChatConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """Speaks the protocol in docs/protocol.md for one authenticated user."""

    registered = False
    _relay: Callable[[str], bool] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        try:
            opened = await connects.open_connection(
                session_key=self.scope.get("session_key"), channel_name=self.channel_name
            )
        except DatabaseError as error:
            fault = health.report(error)
            if fault is None:
                raise
            # Said in words (the database is damaged, the disk is full), not a traceback.
            await self._refuse(
                CLOSE_DATABASE_FAULT, frames.server_error(fault.detail, fault=fault.kind)
            )
            return
        except TooManyConnections:
            limit = LIMITS["MAX_CONNECTIONS_PER_USER"]
            await self._refuse(
                CLOSE_TOO_MANY_CONNECTIONS,
                frames.error("too_many_connections", f"At most {limit} connections per user."),
            )
            return
        if opened is None:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        user, start = opened.user, opened.start
        self.user_id: int = user.pk
        self.username: str = user.username
        self.registered = True
        self.subscriptions = Subscriptions(self.channel_layer, self.channel_name, self.user_id)
        self.sends = SocketSends(
            user_id=self.user_id,
            username=self.username,
            layer=self.channel_layer,
            send_frame=self.send_frame,
        )
        await self.accept()
        self._relay = self.scope.get("extensions", {}).get(RELAY_EXTENSION)
        if self._relay is not None and hasattr(self.channel_layer, "attach"):
            self.channel_layer.attach(self.channel_name, self._deliver_inline)
        await self.subscriptions.start(start.rooms)
        await self.send_frame(
            frames.hello(
                user=self.username,
                version=settings.VERSION,
                limits=LIMITS,
                status=start.sidebar.status,
            )
        )
        await self.send_frame(
            frames.conversations(rooms=start.sidebar.rooms, dms=start.sidebar.dms)
        )
        await presence_broadcast.announce(self.channel_layer, start.change)

    async def disconnect(self, code: int) -> None:
        if not self.registered:
            self._detach()
            return
        self.registered = False
        await self.sends.done()  # stored sends are broadcast even if their sender left
        await self.subscriptions.stop()
        self._detach()  # out of every group: nothing more can arrive for this channel
        change = await connects.close_connection(channel_name=self.channel_name)
        await presence_broadcast.announce(self.channel_layer, change)

    async def _refuse(self, code: int, frame: frames.Frame | None = None) -> None:
        """Accept, say why (``frame``), close with ``code``. Accepted first: a browser is told
        nothing about a refused handshake (its close code is 1006), so an open page whose
        session ended would reconnect for ever instead of going to log in
        (tests/ui/test_connection_states.py)."""
        await self.accept()
        if frame is not None:
            await self.send_frame(frame)
        await self.close(code=code)

    # --- client frames --------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.registered:
            return  # refused at connect (4401, 4008): a frame already on its way is not read
        command: Command | None = None
        try:
            command = parse(
                decode(text_data, LIMITS["MAX_FRAME_BYTES"]),
                max_body_chars=LIMITS["MAX_BODY_CHARS"],
            )
            await self.subscriptions.refresh_if_due()
            if command.type == "send":
                await self.sends.submit(command)
                return
            await self.sends.done()  # replies leave in the order the frames came
            await getattr(self, f"on_{command.type}")(command)
        except ProtocolError as error:
            await self.sends.done()
            await self.send_frame(error.frame())
        except Exception as error:
            # A bug or a database fault must cost one error frame, never this connection or
            # anyone else's; a fault (disk full, damaged database) is said in words.
            fault = health.report(error)
            if fault is None:
                logger.exception("unexpected error handling a frame from %s", self.username)
            await self.sends.done()
            ref = command.ref if command is not None else None  # the client can match it
            detail = fault.detail if fault else "The server could not handle that frame."
            kind = fault.kind if fault else None
            await self.send_frame(frames.server_error(detail, ref, fault=kind))

    async def on_ping(self, command: Command) -> None:
        await self.send_frame(frames.pong())

    async def on_join(self, command: Command) -> None:
        assert command.room is not None
        result = await database_sync_to_async(membership_join)(
            user_id=self.user_id,
            name=command.room,
            max_rooms=LIMITS["MAX_ROOMS_PER_CONNECTION"],
            ref=command.ref,
            create=command.create,
        )
        room = result.room
        # Subscribed before the frame is read: a message stored in between arrives live
        # (perhaps also in the frame; clients keep one per id) instead of being missed.
        await self.subscriptions.follow(room.pk, room.name)
        newly_online, joined = await database_sync_to_async(room_enter)(
            channel_name=self.channel_name, user_id=self.user_id, room_id=room.pk, name=room.name
        )
        await self.send_frame(joined)
        if result.created_membership:
            await self._tell_other_tabs("join", room.pk, room.name)
        if newly_online:
            await presence_broadcast.broadcast_room(self.channel_layer, room.pk)

    async def on_leave(self, command: Command) -> None:
        assert command.room is not None
        room = await database_sync_to_async(membership_leave)(
            user_id=self.user_id, name=command.room, ref=command.ref
        )
        await self._tell_other_tabs("leave", room.pk, room.name)
        await presence_broadcast.broadcast_room(self.channel_layer, room.pk)

    async def on_rename(self, command: Command) -> None:
        """An administrator renames a room; every connection of every member is told at once
        (``room.renamed``), this one included: that frame is the answer."""
        assert command.room is not None and command.name is not None
        result = await database_sync_to_async(room_rename)(
            user_id=self.user_id, room=command.room, name=command.name, ref=command.ref
        )
        await self.channel_layer.group_send(
            room_group(result.room_id),
            {
                "type": "room.renamed",
                "room_id": result.room_id,
                "old": result.old,
                "name": result.name,
            },
        )

    async def on_history(self, command: Command) -> None:
        await self.send_frame(
            await database_sync_to_async(history)(
                user_id=self.user_id,
                room=command.room,
                with_user=command.with_user,
                before=command.before,
                limit=command.limit,
                ref=command.ref,
                around=command.around,
                after=command.after,
            )
        )

    async def on_search(self, command: Command) -> None:
        assert command.q is not None
        await self.send_frame(
            await database_sync_to_async(search)(
                user_id=self.user_id,
                q=command.q,
                room=command.room,
                with_user=command.with_user,
                before=command.before,
                limit=command.limit,
                ref=command.ref,
            )
        )

    async def on_resume(self, command: Command) -> None:
        """Everything after ``since`` that this user may see, in batches, oldest first (with
        several server processes, from a little before it: ``resume_start``)."""
        since = command.since or 0
        after = await database_sync_to_async(resume_start)(
            since=since, overlap_seconds=settings.DESKCHAT["RESUME_OVERLAP_SECONDS"]
        )
        while True:
            messages, has_more = await database_sync_to_async(visible_messages_since)(
                user_id=self.user_id, since=after, limit=RESUME_BATCH
            )
            await self.send_frame(frames.resumed(since=since, messages=messages, has_more=has_more))
            if not has_more or not messages:
                return
            since = after = messages[-1]["id"]

    async def on_typing(self, command: Command) -> None:
        if command.room is not None:
            room_id = self.subscriptions.followed(command.room)
            if room_id is None:
                raise ProtocolError("not_joined", "Join the room first.", command.ref)
            frame = frames.typing_in_room(
                room=self.subscriptions.rooms[room_id], user=self.username
            )
            await self.channel_layer.group_send(
                room_group(room_id),
                frame_event(frame, exclude_user=self.user_id),
            )
            return
        assert command.to is not None
        peer = await database_sync_to_async(require_peer)(
            user_id=self.user_id, username=command.to, ref=command.ref
        )
        frame = frames.typing_to(user=self.username, to=peer.username)
        await self.channel_layer.group_send(user_group(peer.pk), frame_event(frame))

    async def on_read(self, command: Command) -> None:
        assert command.id is not None
        marker = await database_sync_to_async(read_mark)(
            user_id=self.user_id,
            room_name=command.room,
            with_username=command.with_user,
            message_id=command.id,
            ref=command.ref,
        )
        frame = frames.read(room=marker.room, with_user=marker.with_user, id=marker.id)
        # Every tab of this user clears the same badge.
        await self.channel_layer.group_send(user_group(self.user_id), frame_event(frame))

    async def on_notify(self, command: Command) -> None:
        assert command.level is not None
        level = await database_sync_to_async(notify_set)(
            user_id=self.user_id,
            room_name=command.room,
            with_username=command.with_user,
            level=command.level,
            ref=command.ref,
        )
        frame = frames.notify(room=level.room, with_user=level.with_user, level=level.level)
        # Every tab of this user follows the same level.
        await self.channel_layer.group_send(user_group(self.user_id), frame_event(frame))

    async def on_status(self, command: Command) -> None:
        """Store the status; everyone (this user's tabs included) learns it from the next
        presence batch, as ``user_presence`` and the ``presence`` of the rooms they are in."""
        assert command.status is not None
        change = await database_sync_to_async(status_set)(
            user_id=self.user_id, status=command.status
        )
        await presence_broadcast.announce(self.channel_layer, change)

    async def on_members(self, command: Command) -> None:
        assert command.room is not None
        room, names = await database_sync_to_async(room_members)(
            user_id=self.user_id, name=command.room, ref=command.ref
        )
        await self.send_frame(frames.members(room=room.name, members=names))

    async def on_conversations(self, command: Command) -> None:
        found = await database_sync_to_async(sidebar)(user_id=self.user_id)
        await self.send_frame(frames.conversations(rooms=found.rooms, dms=found.dms))

    # --- channel layer events -------------------------------------------------------------

    def _deliver_inline(self, event: dict[str, Any]) -> bool:
        """Relay a frame straight from the sender's ``group_send`` when idle.

        The in-memory layer calls this for each recipient in this process
        (channels_internals.py): skipping the channel queue and its wake-up per recipient,
        and every coroutine on the way to the socket, is what lets one process fan a message
        out to a full office (docs/benchmarks.md). Busy with a frame or another event:
        decline, and the event is queued as usual, keeping order. Nothing here awaits, so no
        other event can overtake this one while it is written.
        """
        if self._dispatching or self._relay is None or event["type"] != "chat.frame":
            return False
        if event.get("exclude_user") == self.user_id:
            return True
        return self._relay(event["text"])

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

    async def layer_overflow(self, event: dict[str, Any]) -> None:
        """The channel layer could not hand this socket an event (its channel was full, or
        the hand-over failed) and will send it nothing more: close with 4009, so the client
        reconnects and resumes from the database, which holds everything it missed."""
        await self.close(code=CLOSE_SLOW_READER)

    async def access_ended(self, event: dict[str, Any]) -> None:
        """This user was deactivated, or this session logged out, or the password changed
        in another session (chatserver/realtime/access.py): close as if never signed in."""
        if ends_this_socket(event, self.scope.get("session_key")):
            logger.info("closing a socket of %s: its access ended", self.username)
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def membership_changed(self, event: dict[str, Any]) -> None:
        """Another tab of this user joined or left a room: follow it here too."""
        room_id, name = event["room_id"], event["room"]
        if event["action"] == "join":
            if event["origin"] == self.channel_name or room_id in self.subscriptions.rooms:
                return
            newly_online = await self.subscriptions.follow(room_id, name, register=True)
            await self.send_frame(frames.membership(action="join", room=name))
            if newly_online:
                await presence_broadcast.broadcast_room(self.channel_layer, room_id)
        elif room_id in self.subscriptions.rooms:
            await self.subscriptions.unfollow(room_id)
            await self.send_frame(frames.membership(action="leave", room=name))

    async def room_renamed(self, event: dict[str, Any]) -> None:
        """A followed room has a new name: follow it under that name, and tell the client.
        Queued like any event, so messages sent after the rename arrive after this frame."""
        if event["room_id"] in self.subscriptions.rooms:
            self.subscriptions.rooms[event["room_id"]] = event["name"]
        await self.send_frame(frames.renamed(room=event["old"], name=event["name"]))

    # --- helpers --------------------------------------------------------------------------

    async def _tell_other_tabs(self, action: str, room_id: int, name: str) -> None:
        await self.channel_layer.group_send(
            user_group(self.user_id),
            {
                "type": "membership.changed",
                "action": action,
                "room_id": room_id,
                "room": name,
                "origin": self.channel_name,
            },
        )

    def _detach(self) -> None:
        if hasattr(self.channel_layer, "detach"):
            self.channel_layer.detach(self.channel_name)

    async def send_frame(self, frame: frames.Frame) -> None:
        await self.send(text_data=frames.encode(frame))
