"""What one process used to keep to itself now holds across workers: rate limits, idle sockets."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.realtime.ratelimit import RedisRateLimiter
from tests.scale.support import Socket, start_serve
from tests.support.server import Browserless

pytestmark = pytest.mark.scale


async def test_two_limiters_on_one_redis_spend_from_one_bucket(redis_url):
    worker1 = RedisRateLimiter(redis_url, rate=0.01, burst=3)
    worker2 = RedisRateLimiter(redis_url, rate=0.01, burst=3)
    spent = [await worker1.acquire(7), await worker2.acquire(7), await worker1.acquire(7)]
    assert spent == [0.0, 0.0, 0.0]
    wait = await worker2.acquire(7)
    assert 0 < wait <= 100  # one token comes back after 1 / rate seconds
    assert await worker2.acquire(8) == 0.0  # another user has a bucket of their own


@pytest.mark.process
async def test_rate_limit_spans_workers_and_idle_sockets_stay_open(tmp_path, engines_env):
    env = {**engines_env, "DESKCHAT_RATE_BURST": "3", "DESKCHAT_RATE_PER_SECOND": "0.01"}
    served = start_serve(tmp_path / "data", workers=2, env=env)
    try:
        w1, w2 = served.urls
        http = Browserless(w1)
        http.signup("alice")
        tab1 = await Socket.open(w1, http, "alice@w1")
        tab2 = await Socket.open(w2, http, "alice@w2")
        await tab1.join("general")

        # redis-py 8 used to close idle layer sockets every ~5 s (channels_redis issue 422,
        # code 1011): stay silent well past that, then talk.
        await asyncio.sleep(12)
        assert tab1.closed_code is None and tab2.closed_code is None
        await tab2.send({"type": "ping"})
        await tab2.expect("pong")

        await tab1.say("one", room="general")
        await tab2.say("two", room="general")
        await tab1.say("three", room="general")
        await tab2.send({"type": "send", "room": "general", "body": "four", "client_id": "c4"})
        error = await tab2.expect("error", code="rate_limited")
        assert error["retry_after"] > 0
        await tab1.close()
        await tab2.close()
    finally:
        served.stop()
