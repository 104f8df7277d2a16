"""Telling rooms and the lobby who came online or went offline."""

from __future__ import annotations

from channels.db import database_sync_to_async

from chatserver.chat import selectors
from chatserver.chat.groups import LOBBY_GROUP, room_group
from chatserver.chat.protocol import encode
from chatserver.chat.services import PresenceChange


async def broadcast_room(channel_layer, room_id: int, name: str) -> None:
    """Send the room's current online list to everyone in it, encoded once."""
    online = await database_sync_to_async(selectors.room_online)(room_id=room_id)
    frame = {"type": "presence", "room": name, "online": online}
    await channel_layer.group_send(
        room_group(room_id), {"type": "chat.frame", "text": encode(frame)}
    )


async def announce(channel_layer, change: PresenceChange) -> None:
    if change.room_ids:
        names = await database_sync_to_async(selectors.room_names)(change.room_ids)
        for room_id in change.room_ids:
            if room_id in names:
                await broadcast_room(channel_layer, room_id, names[room_id])
    user_ids = change.online_user_ids + change.offline_user_ids
    if not user_ids:
        return
    usernames = await database_sync_to_async(selectors.usernames)(user_ids)
    for user_id in user_ids:
        frame = {
            "type": "user_presence",
            "user": usernames.get(user_id, ""),
            "online": user_id in change.online_user_ids,
        }
        await channel_layer.group_send(LOBBY_GROUP, {"type": "chat.frame", "text": encode(frame)})
