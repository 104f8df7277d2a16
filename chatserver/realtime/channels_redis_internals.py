"""channels_redis's layer, telling a consumer when it missed an event instead of dropping it.

channels_redis drops an event in two places, silently:

- ``group_send``: every socket of one server process shares one Redis sorted set (the part of
  the channel name before ``!``). When that set holds ``capacity`` events, the event is not
  added for any of that process's members of the group (only an INFO line says so).
- ``receive``: the events of each socket wait in a local ``BoundedQueue`` of ``capacity``,
  which throws away its *oldest* event when full.

This subclass makes both a *loss marker* instead, as the in-memory layer does
(``channels_internals.py``): the consumer gets one ``layer.overflow`` event
(``codes.EVENT_OVERFLOW``), closes its socket with 4009, and the client resumes from the
database. After the marker nothing more reaches that channel, so what the client saw is a
gap-free prefix.

- In Redis, the group_send script adds, in place of an event that does not fit, a marker member
  naming the channels that missed it. The same channels always make the same member, so a set
  that stays full holds one marker per group, not one per event (memory stays bounded). It is
  scored a millisecond before the oldest event in the set, so it is read next, before any
  event sent after it (on one host, whose senders share a clock; across hosts, as long as
  their clocks differ by less than the backlog's age), and is not expired before them.
- In this process, the marker (or a full local queue) marks each named channel *lost*: its
  local queue is replaced by the one overflow event, and later events for it are dropped.

The cost on the delivery path: one string per process and group_send (the member names,
passed to the script in case it needs them) and a prefix test per event read.

What this relies on, checked against ``CHECKED_VERSIONS``:

- ``RedisChannelLayer.group_send``'s steps (replaced here, same Redis calls plus the marker):
  ``_group_key``, ``consistent_hash``, ``connection(index)``, ``non_local_name``, ``prefix``,
  ``get_capacity``, ``serialize``, ``expiry``, ``group_expiry``; events as sorted-set members
  scored by send time, read lowest score first (``bzpopmin``), routed by the
  ``__asgi_channel__`` list they carry;
- ``receive_buffer``: a mapping from channel name to an ``asyncio.Queue`` that ``receive``
  fills with ``put_nowait`` and deletes when empty; ``deserialize(bytes)`` turns each member
  read from Redis back into a dict.

tests/realtime/test_layer_overflow.py is its canary: it fails when the installed
channels_redis is outside the checked range or no longer behaves as relied on here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer

from chatserver.realtime.codes import EVENT_OVERFLOW

logger = logging.getLogger(__name__)

DISTRIBUTION = "channels_redis"
# Checked against 4.3.0: [lowest, first unchecked) as (major, minor) tuples.
CHECKED_VERSIONS = ((4, 3), (4, 4))

# Sorted-set members of channels_redis start with random bytes then msgpack; a marker starts
# with a NUL and names the channels that missed an event, comma-separated.
MARKER_PREFIX = b"\x00deskchat-lost:"

# KEYS: one sorted set per process. ARGV: the event for each key, each key's capacity, each
# key's marker, then the time and the expiry. Returns how many keys were full.
GROUP_SEND_LUA = """
local n = #KEYS
local now = ARGV[3 * n + 1]
local expiry = ARGV[3 * n + 2]
local full = 0
for i = 1, n do
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
    else
        local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
        local score = tonumber(oldest[2] or now) - 0.001
        redis.call('ZADD', KEYS[i], score, ARGV[2 * n + i])
        full = full + 1
    end
    redis.call('EXPIRE', KEYS[i], expiry)
end
return full
"""


class ChannelBuffer(asyncio.Queue):
    """One socket's local queue: full, or told by a marker, it becomes one overflow event."""

    def __init__(self, layer: RedisChannelLayer, channel: str) -> None:
        super().__init__(maxsize=layer.capacity)
        self.layer = layer
        self.channel = channel

    def put_nowait(self, item: dict[str, Any]) -> None:
        lost = self.layer.lost
        if lost and self.channel in lost:
            return  # already told to resume, which brings this event too
        if item.get("type") == EVENT_OVERFLOW:
            self._lose("missed an event in Redis (its worker's queue was full)")
        elif self.full():
            self._lose("is full and missed an event")
        else:
            super().put_nowait(item)

    def _lose(self, why: str) -> None:
        self.layer.lost.add(self.channel)
        logger.warning("channel %s %s: it is told to reconnect and resume", self.channel, why)
        while not self.empty():
            self.get_nowait()
        super().put_nowait({"type": EVENT_OVERFLOW})


class _Buffers(dict):
    """``receive_buffer``: a :class:`ChannelBuffer` per channel, made on first use."""

    def __init__(self, layer: RedisChannelLayer) -> None:
        super().__init__()
        self.layer = layer

    def __missing__(self, channel: str) -> ChannelBuffer:
        buffer = self[channel] = ChannelBuffer(self.layer, channel)
        return buffer


class RedisChannelLayer(StockRedisChannelLayer):
    """channels_redis's layer; a channel that misses an event gets a loss marker instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost: set[str] = set()
        self.receive_buffer = _Buffers(self)

    def detach(self, channel: str) -> None:
        """The channel's consumer is gone: forget whether it was lost."""
        self.lost.discard(channel)

    def deserialize(self, message: bytes) -> dict[str, Any]:
        if message[:1] == b"\x00" and message.startswith(MARKER_PREFIX):
            channels = message[len(MARKER_PREFIX) :].decode("ascii").split(",")
            return {"type": EVENT_OVERFLOW, "__asgi_channel__": channels}
        return super().deserialize(message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """channels_redis's ``group_send``, with a marker where an event does not fit."""
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        await connection.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        channel_names = [x.decode("utf8") for x in await connection.zrange(key, 0, -1)]

        # Per process key: the channels it serves in this group (one event carries them all).
        members: dict[str, list[str]] = {}
        capacity: dict[str, int] = {}
        by_connection: dict[int, list[str]] = {}
        for channel in channel_names:
            local = self.non_local_name(channel) if "!" in channel else channel
            channel_key = self.prefix + local
            found = members.get(channel_key)
            if found is None:
                members[channel_key] = [channel]
                capacity[channel_key] = self.get_capacity(channel)
                by_connection.setdefault(self.consistent_hash(local), []).append(channel_key)
            else:
                found.append(channel)

        for index, channel_keys in by_connection.items():
            connection = self.connection(index)
            expired = int(time.time()) - int(self.expiry)
            pipe = connection.pipeline()
            for channel_key in channel_keys:
                pipe.zremrangebyscore(channel_key, min=0, max=expired)
            await pipe.execute()
            events = [
                self.serialize({**message, "__asgi_channel__": members[k]}) for k in channel_keys
            ]
            markers = [MARKER_PREFIX + ",".join(members[k]).encode("ascii") for k in channel_keys]
            full = await connection.eval(
                GROUP_SEND_LUA,
                len(channel_keys),
                *channel_keys,
                *events,
                *(capacity[k] for k in channel_keys),
                *markers,
                time.time(),
                self.expiry,
            )
            if full:  # each channel says it once, when its marker arrives (ChannelBuffer)
                logger.info(
                    "%s of %s processes were full for group %s: their sockets resume",
                    full,
                    len(channel_keys),
                    group,
                )
