"""Canary for chatserver/realtime/channels_internals.py: the in-memory layer and dispatch."""

from __future__ import annotations

import asyncio
import time

import channels.consumer
import pytest
from channels.consumer import AsyncConsumer
from channels.layers import InMemoryChannelLayer as StockLayer

from chatserver.realtime import channels_internals
from chatserver.realtime.channels_internals import DirectDispatch, InMemoryChannelLayer
from tests.internals import assert_checked_version


def test_the_installed_channels_is_the_checked_one():
    assert_checked_version(channels_internals)


async def test_the_stock_layer_keeps_what_the_subclass_reads(monkeypatch):
    layer = StockLayer(capacity=7)
    assert layer.channels == {} and layer.groups == {}
    assert layer.get_capacity("any") == 7 and layer.expiry == 60
    cleaned = []
    monkeypatch.setattr(layer, "_clean_expired", lambda: cleaned.append(True))
    await layer.group_add("room-1", "specific.a")
    assert list(layer.groups["room-1"]) == ["specific.a"]
    await layer.group_send("room-1", {"type": "x"})
    # receive unpacks (expires, message) tuples from the channel's queue, expiring first.
    queue = layer.channels["specific.a"]
    assert isinstance(queue, asyncio.Queue) and queue.qsize() == 1
    queue.put_nowait((time.time() + 60, {"type": "y"}))
    assert await layer.receive("specific.a") == {"type": "x"}
    assert await layer.receive("specific.a") == {"type": "y"}
    assert len(cleaned) >= 3, "receive and group_send no longer call _clean_expired"


async def test_our_layer_delivers_to_the_stock_receive():
    layer = InMemoryChannelLayer()
    await layer.group_add("room-1", "specific.a")
    await layer.group_send("room-1", {"type": "chat.frame", "text": "hi"})
    assert await layer.receive("specific.a") == {"type": "chat.frame", "text": "hi"}


class Recorder(AsyncConsumer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    async def chat_frame(self, message) -> None:
        self.seen.append((message["type"], getattr(self, "_dispatching", None)))


async def test_stock_dispatch_hops_to_close_connections_before_each_handler(monkeypatch):
    hops = []

    async def counting_hop() -> None:
        hops.append(True)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting_hop)
    consumer = Recorder()
    await consumer.dispatch({"type": "chat.frame"})
    assert hops == [True], "Channels no longer hops before every handler: drop DirectDispatch"
    assert consumer.seen == [("chat.frame", None)]


async def test_direct_dispatch_calls_the_handler_without_the_hop(monkeypatch):
    async def no_hop() -> None:
        raise AssertionError("DirectDispatch must not hop to a thread")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", no_hop)

    class Direct(DirectDispatch, Recorder):
        async def broken(self, message) -> None:
            raise RuntimeError("handler failed")

    consumer = Direct()
    await consumer.dispatch({"type": "chat.frame"})
    assert consumer.seen == [("chat.frame", True)] and consumer._dispatching is False
    with pytest.raises(RuntimeError):
        await consumer.dispatch({"type": "broken"})
    assert consumer._dispatching is False
    for kind in ("no.such.handler", "_private"):
        with pytest.raises(ValueError, match="No handler for message type"):
            await consumer.dispatch({"type": kind})
