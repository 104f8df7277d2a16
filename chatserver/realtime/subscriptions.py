"""One socket's channel-layer groups: its user's, the lobby's and one per room it follows."""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async

from chatserver.chat.models import room_key
from chatserver.chat.services.presence import connection_join_room
from chatserver.realtime.groups import LOBBY_GROUP, room_group, user_group

# Channel layers forget group members after a while (channels_redis: 24 h). A socket that says
# anything (the UI pings after every quiet spell) renews its memberships this often.
GROUP_REFRESH_SECONDS = 3600.0


class Subscriptions:
    """The groups of one socket; ``rooms`` maps each followed room's id to its name."""

    def __init__(self, channel_layer: Any, channel_name: str, user_id: int) -> None:
        self.layer = channel_layer
        self.channel_name = channel_name
        self.user_id = user_id
        self.rooms: dict[int, str] = {}
        self._refreshed = time.monotonic()

    async def start(self, rooms: list[tuple[int, str]]) -> None:
        """Follow the user's own group, the lobby and every room they are a member of."""
        await self.layer.group_add(user_group(self.user_id), self.channel_name)
        await self.layer.group_add(LOBBY_GROUP, self.channel_name)
        for room_id, name in rooms:
            await self.follow(room_id, name)

    async def stop(self) -> None:
        for group in self._groups():
            await self.layer.group_discard(group, self.channel_name)
        self.rooms.clear()

    async def follow(self, room_id: int, name: str, *, register: bool = False) -> bool:
        """Subscribe to a room's group; with ``register``, count this socket in its presence.

        Returns True when that made the user newly online in the room.
        """
        newly_online = False
        if register:
            newly_online = await database_sync_to_async(connection_join_room)(
                channel_name=self.channel_name, room_id=room_id
            )
        if room_id not in self.rooms:
            self.rooms[room_id] = name
            await self.layer.group_add(room_group(room_id), self.channel_name)
        return newly_online

    async def unfollow(self, room_id: int) -> None:
        if self.rooms.pop(room_id, None) is not None:
            await self.layer.group_discard(room_group(room_id), self.channel_name)

    def followed(self, name: str) -> int | None:
        """The id of the followed room called ``name`` (compared as the server compares)."""
        wanted = room_key(name)
        return next((rid for rid, rname in self.rooms.items() if room_key(rname) == wanted), None)

    async def refresh_if_due(self) -> None:
        """Add this socket to its groups again, which restarts the layer's expiry clock."""
        if time.monotonic() - self._refreshed <= GROUP_REFRESH_SECONDS:
            return
        self._refreshed = time.monotonic()
        for group in self._groups():
            await self.layer.group_add(group, self.channel_name)

    def _groups(self) -> list[str]:
        return [user_group(self.user_id), LOBBY_GROUP, *map(room_group, self.rooms)]
