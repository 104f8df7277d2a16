"""A channel that cannot take an event is told so (one ``layer.overflow``), never skipped.

Both layers: the in-memory one (channels_internals.py) and the Redis one
(channels_redis_internals.py, which this file and tests/scale/test_layer_overflow_redis.py are
the canary for: the parts that need a Redis server are there). The burst through real sockets is
in tests/reliability/test_layer_overflow.py and tests/scale/test_layer_overflow_redis.py.
"""

from __future__ import annotations

import pytest

from chatserver.realtime import channels_redis_internals
from chatserver.realtime.channels_internals import InMemoryChannelLayer
from chatserver.realtime.codes import CLOSE_SLOW_READER, EVENT_OVERFLOW
from chatserver.realtime.groups import user_group
from tests.internals import assert_checked_version

OVERFLOW = {"type": EVENT_OVERFLOW}


def event(n: int) -> dict:
    return {"type": "chat.frame", "text": f"m{n}"}


# --- in memory ------------------------------------------------------------------------------


async def test_a_full_channel_gets_one_overflow_event_and_nothing_after_it():
    layer = InMemoryChannelLayer(capacity=3)
    await layer.group_add("room-1", "specific.full")
    await layer.group_add("room-1", "specific.reader")
    for n in range(4):  # the fourth does not fit in specific.full
        await layer.group_send("room-1", event(n))
        if n < 3:
            assert await layer.receive("specific.reader") == event(n)
    assert await layer.receive("specific.reader") == event(3)  # the reader keeps everything
    await layer.group_send("room-1", event(4))  # after the loss: not for the full channel
    assert await layer.receive("specific.full") == OVERFLOW
    assert "specific.full" not in layer.channels, "an event after the loss reached the channel"
    assert await layer.receive("specific.reader") == event(4)


async def test_a_failing_inline_handler_makes_the_channel_resume():
    layer = InMemoryChannelLayer(capacity=10)
    await layer.group_add("room-1", "specific.a")

    def broken(_event: dict) -> bool:
        raise RuntimeError("socket gone wrong")

    layer.attach("specific.a", broken)
    await layer.group_send("room-1", event(1))
    await layer.group_send("room-1", event(2))
    assert await layer.receive("specific.a") == OVERFLOW
    assert "specific.a" not in layer.channels


async def test_an_expired_event_makes_the_channel_resume_and_keeps_its_groups():
    layer = InMemoryChannelLayer(capacity=10, expiry=-1)  # every event is expired at once
    await layer.group_add("room-1", "specific.slow")
    await layer.group_send("room-1", event(1))
    layer._cleaned_at = float("-inf")  # the next clean is due
    await layer.group_send("room-1", event(2))
    assert await layer.receive("specific.slow") == OVERFLOW
    assert "specific.slow" in layer.groups["room-1"]  # Channels would have dropped it silently


async def test_detach_forgets_the_channel():
    layer = InMemoryChannelLayer(capacity=1)
    await layer.group_add("room-1", "specific.a")
    await layer.group_send("room-1", event(1))
    await layer.group_send("room-1", event(2))
    layer.detach("specific.a")
    assert "specific.a" not in layer.channels
    await layer.group_send("room-1", event(3))  # a channel name is never reused; no state kept
    assert await layer.receive("specific.a") == event(3)


@pytest.mark.django_db(transaction=True)
async def test_the_consumer_closes_with_4009_on_overflow():
    from channels.layers import get_channel_layer

    from tests.support.ws import ChatClient, make_user

    alice = await make_user("alice")
    client = await ChatClient.connect(alice)
    await get_channel_layer().group_send(user_group(alice.pk), dict(OVERFLOW))
    closed = await client.communicator.receive_output(5)
    assert closed == {"type": "websocket.close", "code": CLOSE_SLOW_READER}


# --- Redis ------------------------------------------------------------------------------------


def test_the_installed_channels_redis_is_the_checked_one():
    assert_checked_version(channels_redis_internals)


def test_the_stock_layer_still_drops_silently_where_ours_marks():
    """What the subclass replaces: stock's receive buffer throws its oldest event away."""
    from channels_redis.core import BoundedQueue, RedisChannelLayer

    stock = RedisChannelLayer(hosts=["redis://127.0.0.1:1"], capacity=2)
    queue = stock.receive_buffer["specific.x!a"]
    assert isinstance(queue, BoundedQueue)
    for n in range(3):
        queue.put_nowait(event(n))
    assert [queue.get_nowait() for _ in range(2)] == [event(1), event(2)]


def test_our_receive_buffer_turns_full_into_one_overflow_event():
    layer = channels_redis_internals.RedisChannelLayer(hosts=["redis://127.0.0.1:1"], capacity=2)
    buffer = layer.receive_buffer["specific.x!a"]
    for n in range(4):
        buffer.put_nowait(event(n))
    assert buffer.get_nowait() == OVERFLOW and buffer.empty()
    buffer.put_nowait(event(5))
    assert buffer.empty(), "an event after the loss reached the channel"
    layer.detach("specific.x!a")
    assert "specific.x!a" not in layer.lost
