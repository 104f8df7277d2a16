"""Telling rooms and users who came online or went offline, a short moment late and batched.

Presence changes arrive in storms: an office arriving in the morning, a server restart, a Wi-Fi
blip dropping a floor at once. Announcing each change on its own costs O(N) frames per change,
O(N²) per storm (1,000 people connecting sent ~500,000 presence frames; docs/benchmarks.md).
So changes are collected for ``COALESCE_SECONDS`` and then each changed room gets one frame
with its online list as it is *then*, and users get one ``user_presence`` frame naming everyone
whose state changed. Order with messages does not matter: presence frames carry full state.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from channels.db import database_sync_to_async

from chatserver.chat import frames
from chatserver.chat.selectors.presence import presence_snapshot
from chatserver.chat.services.presence import PresenceChange
from chatserver.realtime.groups import LOBBY_GROUP, frame_event, room_group

logger = logging.getLogger(__name__)

# Long enough to merge a storm into a few frames, short enough that nobody notices the delay.
COALESCE_SECONDS = 0.1
# A batch costs O(members) frames, so in a storm the window stretches to keep presence under
# about a tenth of the server's time (each window at least 10x the last batch's cost), but
# never past this. S2's 200 connects: connect p99 docs/benchmarks.md.
MAX_COALESCE_SECONDS = 1.0
COST_SHARE = 0.1


def next_window(last_batch_seconds: float) -> float:
    """How long to collect changes after a batch that took ``last_batch_seconds``."""
    return min(MAX_COALESCE_SECONDS, max(COALESCE_SECONDS, last_batch_seconds / COST_SHARE))


class PresenceAnnouncer:
    """Collects changes in this process and sends them in one batch per window."""

    def __init__(self, channel_layer) -> None:
        self.channel_layer = channel_layer
        self._rooms: set[int] = set()
        self._users: set[int] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()
        self._last_cost = 0.0

    def add(self, change: PresenceChange) -> None:
        self._rooms.update(change.room_ids)
        self._users.update(change.online_user_ids)
        self._users.update(change.offline_user_ids)
        if (self._rooms or self._users) and self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(next_window(self._last_cost), self._start_flush)

    def _start_flush(self) -> None:
        self._flush = None
        rooms, users = self._rooms, self._users
        self._rooms, self._users = set(), set()
        task = asyncio.ensure_future(self._send(rooms, users))
        self._tasks.add(task)  # keep a reference until done (asyncio holds only weak ones)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, room_ids: set[int], user_ids: set[int]) -> None:
        started = time.perf_counter()
        try:
            snapshot = await database_sync_to_async(presence_snapshot)(
                room_ids=sorted(room_ids), user_ids=sorted(user_ids)
            )
            for room_id, (name, online) in snapshot.rooms.items():
                status = {user: snapshot.statuses[user] for user in online}
                frame = frames.presence(room=name, online=online, status=status)
                await self.channel_layer.group_send(room_group(room_id), frame_event(frame))
            if snapshot.users:
                status = {user: snapshot.statuses[user] for user in snapshot.users}
                frame = frames.user_presence(users=snapshot.users, status=status)
                await self.channel_layer.group_send(LOBBY_GROUP, frame_event(frame))
        except Exception:  # a lost presence update must not take anything else down
            logger.exception("presence announcement failed")
        finally:
            self._last_cost = time.perf_counter() - started


_announcers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceAnnouncer] = (
    weakref.WeakKeyDictionary()
)


def _announcer(channel_layer) -> PresenceAnnouncer:
    loop = asyncio.get_running_loop()
    announcer = _announcers.get(loop)
    if announcer is None or announcer.channel_layer is not channel_layer:
        announcer = _announcers[loop] = PresenceAnnouncer(channel_layer)
    return announcer


async def announce(channel_layer, change: PresenceChange) -> None:
    """Queue a change; the rooms and users it names are announced within the window."""
    _announcer(channel_layer).add(change)


async def broadcast_room(channel_layer, room_id: int) -> None:
    """Queue a room whose online list may have changed."""
    _announcer(channel_layer).add(PresenceChange(room_ids=[room_id]))
