"""Presence batches stretch in a storm so they stay a small share of the server's time."""

from __future__ import annotations

import asyncio

import pytest

from chatserver.chat.selectors.presence import PresenceSnapshot
from chatserver.chat.services.presence import PresenceChange
from chatserver.realtime import presence_broadcast as presence


def test_the_window_follows_the_last_batch_cost_within_bounds():
    assert presence.next_window(0.0) == presence.COALESCE_SECONDS
    assert presence.next_window(0.005) == presence.COALESCE_SECONDS  # cheap: 0.1 s as ever
    assert presence.next_window(0.03) == pytest.approx(0.3)  # 30 ms of work: 10 % of 0.3 s
    assert presence.next_window(5.0) == presence.MAX_COALESCE_SECONDS


class _Layer:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.arrived = asyncio.Event()

    async def group_send(self, group: str, event: dict) -> None:
        self.sent.append(group)
        self.arrived.set()


@pytest.mark.asyncio
async def test_a_slow_batch_lengthens_the_next_window(monkeypatch):
    cost = {"seconds": 0.0}

    def snapshot(*, room_ids, user_ids):
        import time

        time.sleep(cost["seconds"])  # runs in the database thread, as the real one does
        return PresenceSnapshot(
            rooms={1: ("general", ["alice"])}, users={}, statuses={"alice": "available"}
        )

    monkeypatch.setattr(presence, "presence_snapshot", snapshot)
    monkeypatch.setattr(presence, "database_sync_to_async", lambda f: _to_thread(f))
    announcer = presence.PresenceAnnouncer(_Layer())
    loop = asyncio.get_running_loop()

    cost["seconds"] = 0.05
    announcer.add(PresenceChange(room_ids=[1]))
    await asyncio.wait_for(announcer.channel_layer.arrived.wait(), 5)  # the window ran out
    await asyncio.gather(*announcer._tasks)  # and its batch has finished (its cost noted)
    assert announcer.channel_layer.sent == ["room-1"]
    assert announcer._last_cost >= 0.05
    started = loop.time()
    announcer.add(PresenceChange(room_ids=[1]))
    assert announcer._flush is not None
    assert announcer._flush.when() - started >= 0.45  # about 10x the 50 ms batch


def _to_thread(function):
    async def run(**kwargs):
        return await asyncio.to_thread(function, **kwargs)

    return run
