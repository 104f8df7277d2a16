"""Per-user send rate: a token bucket shared by all of a user's connections.

One process (the in-memory channel layer) keeps the buckets in memory. Several workers (the
Redis channel layer) keep them in that same Redis: a user with tabs on two workers must not
get twice the rate, the check is on every ``send`` so it must cost one round trip, and a Lua
script makes read-refill-spend atomic with Redis's own clock (no skew between machines).
The database would also be correct but would add a locked row write to every message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatserver.config import is_redis_layer


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Spend one token; return 0.0 if allowed, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else float("inf")


class RateLimiter:
    """Buckets keyed by user id. ``rate <= 0`` disables the limit."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[int, TokenBucket] = {}

    async def acquire(self, key: int) -> float:
        """Spend a token of ``key``: 0.0 if allowed, else the seconds to wait."""
        return self.retry_after(key)

    def retry_after(self, key: int) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._forget_full(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
        return bucket.take(now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely: they hold no state worth keeping."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * bucket.rate >= bucket.burst:
                del self._buckets[key]


# KEYS[1] the bucket; ARGV rate, burst, ttl (ms). Returns the wait as a string (Lua numbers
# would come back truncated to integers).
TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return tostring(wait)
"""


class RedisRateLimiter:
    """The same token bucket, kept in Redis so that every worker spends from one bucket.

    A bucket expires once it would be full again, so idle users cost nothing. redis-py's
    asyncio client belongs to the event loop that made it, hence one client per loop.
    """

    def __init__(self, url: str, rate: float, burst: int, prefix: str = "deskchat:rate:") -> None:
        self.url = url
        self.rate = rate
        self.burst = max(1, burst)
        self.prefix = prefix
        self._clients: dict[int, tuple[object, object]] = {}

    def _script(self):
        import asyncio

        from redis.asyncio import Redis

        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None or entry[0] is not loop:
            for key, (old_loop, _) in list(self._clients.items()):
                if old_loop.is_closed():  # type: ignore[attr-defined]
                    del self._clients[key]
            client = Redis.from_url(self.url, socket_connect_timeout=5, socket_timeout=5)
            entry = self._clients[id(loop)] = (loop, client.register_script(TOKEN_BUCKET_LUA))
        return entry[1]

    async def acquire(self, key: int) -> float:
        """Spend a token of ``key``: 0.0 if allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        ttl_ms = int(self.burst / self.rate * 1000) + 1000
        wait = await self._script()(
            keys=[f"{self.prefix}{key}"], args=[self.rate, self.burst, ttl_ms]
        )
        return float(wait)


def build_rate_limiter(limits: dict, channel_layers: dict) -> RateLimiter | RedisRateLimiter:
    """The limiter that matches the deployment: Redis when the channel layer is Redis."""
    layer = channel_layers["default"]
    if is_redis_layer(channel_layers):
        address = layer["CONFIG"]["hosts"][0]["address"]
        return RedisRateLimiter(address, limits["RATE_PER_SECOND"], limits["RATE_BURST"])
    return RateLimiter(limits["RATE_PER_SECOND"], limits["RATE_BURST"])
