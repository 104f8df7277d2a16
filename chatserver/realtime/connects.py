"""Grouped connects: every socket opening at the same moment is signed in and registered in
one trip to the database thread, and one transaction; likewise every socket closing.

Connects come in storms (an office arriving, a server restart, a Wi-Fi blip). One trip and
one transaction per connect spent more of the server's time on the trip (a thread hand-over
each way, the transaction, the commit) than on the connect: in a 200-client storm, server CPU
per connect fell from 5.2-5.8 ms to 3.4-3.9 ms when the connects waiting at the same moment
went together, and connect p99 with it (docs/benchmarks.md). Each connect still succeeds or
fails on its own: it runs in its own savepoint. Disconnects come in the same storms (a Wi-Fi
blip drops a floor, which then reconnects at once) and go the same way, all in one
``connection_close_many``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from chatserver.chat.durability import presence_commits
from chatserver.chat.services.presence import (
    ConnectionStart,
    connection_close_many,
    connection_start,
)
from chatserver.realtime.batches import DatabaseBatches, per_loop
from chatserver.realtime.socket_auth import user_for_session
from chatserver.realtime.worker import WORKER_NAME

# Connects (or disconnects) per transaction at most: on PostgreSQL each holds its user's row
# lock until the batch commits, so a batch stays short.
MAX_BATCH = 64


@dataclass(frozen=True)
class ConnectRequest:
    session_key: str | None
    channel_name: str


@dataclass(frozen=True)
class Opened:
    """A signed-in socket, registered, with all it needs to start (``ConnectionStart``)."""

    user: Any
    start: ConnectionStart


def sign_in_and_register_many(requests: list[ConnectRequest]) -> list[Any]:
    """For each request: ``Opened``, ``None`` when its session signs nobody in, or the error
    that refused it (``TooManyConnections``...)."""
    outcomes: list[Any] = [None] * len(requests)
    users: dict[int, Any] = {}
    for i, request in enumerate(requests):
        try:
            user = user_for_session(request.session_key)
        except Exception as error:  # this session only (a corrupt row...): the others go on
            outcomes[i] = error
            continue
        if user.is_authenticated:
            users[i] = user
    if not users:
        return outcomes
    # In user-id order: on PostgreSQL each registration locks its user's row until the batch
    # commits (services/presence.py), and one order for every transaction of every worker
    # means none waits for another in a cycle.
    with presence_commits(), transaction.atomic():
        for i in sorted(users, key=lambda i: users[i].pk):
            try:
                with transaction.atomic():  # a savepoint: a refused connect leaves the others
                    start = connection_start(
                        channel_name=requests[i].channel_name,
                        user_id=users[i].pk,
                        worker=WORKER_NAME,
                        max_connections=settings.DESKCHAT["MAX_CONNECTIONS_PER_USER"],
                    )
            except Exception as error:
                outcomes[i] = error
            else:
                outcomes[i] = Opened(users[i], start)
    return outcomes


class ConnectQueue(DatabaseBatches[ConnectRequest]):
    max_batch = MAX_BATCH

    def run_many(self, requests: list[ConnectRequest]) -> list[Any]:
        return sign_in_and_register_many(requests)


_queue = per_loop(ConnectQueue)


def open_connection(*, session_key: str | None, channel_name: str) -> asyncio.Future:
    """Sign a new socket in and register it, with whatever other connects are waiting.

    The future gives ``Opened``, ``None`` (nobody signed in) or raises what refused it.
    """
    return _queue().submit(ConnectRequest(session_key=session_key, channel_name=channel_name))


class DisconnectQueue(DatabaseBatches[str]):
    max_batch = MAX_BATCH

    def run_many(self, channel_names: list[str]) -> list[Any]:
        # One presence change for the batch: announcing it for each socket is harmless, the
        # announcer collects rooms and users as sets (presence.py).
        change = connection_close_many(channel_names=channel_names)
        return [change] * len(channel_names)


_closing = per_loop(DisconnectQueue)


def close_connection(*, channel_name: str) -> asyncio.Future:
    """Forget a closed socket, with whatever other disconnects are waiting; the future gives
    the presence change (``PresenceChange``) to announce."""
    return _closing().submit(channel_name)
