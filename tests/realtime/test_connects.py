"""Grouped connects (realtime/connects.py): one trip and one transaction for the connects
waiting together, and each still signed in, registered or refused on its own."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.utils import override_settings

from chatserver.chat.models import Connection, ConnectionRoom, Membership, Room
from chatserver.chat.services import presence as services
from chatserver.realtime import connects
from chatserver.realtime.connects import ConnectRequest, Opened

pytestmark = pytest.mark.django_db(transaction=True)


def member(username: str, room: Room):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-1")
    Membership.objects.create(user=user, room=room)
    return user


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key


def limits(**changed):
    return override_settings(DESKCHAT={**settings.DESKCHAT, **changed})


def test_a_batch_signs_in_registers_and_refuses_each_connect_on_its_own():
    room = Room.objects.create(name="general")
    alice, bob, carol = (member(name, room) for name in ("alice", "bob", "carol"))
    services.connection_open(
        channel_name="carol-1", user_id=carol.pk, worker="w", max_connections=1
    )
    requests = [
        ConnectRequest(session_key=session_of(alice), channel_name="alice-1"),
        ConnectRequest(session_key="no-such-session", channel_name="nobody-1"),
        ConnectRequest(session_key=session_of(carol), channel_name="carol-2"),  # over the limit
        ConnectRequest(session_key=session_of(bob), channel_name="bob-1"),
        ConnectRequest(session_key=None, channel_name="nobody-2"),
    ]
    with limits(MAX_CONNECTIONS_PER_USER=1):
        outcomes = connects.sign_in_and_register_many(requests)

    opened_alice, nobody, refused, opened_bob, no_cookie = outcomes
    assert isinstance(opened_alice, Opened) and opened_alice.user == alice
    assert opened_alice.start.rooms == [(room.pk, "general")]
    assert opened_alice.start.change.online_user_ids == [alice.pk]
    assert isinstance(opened_bob, Opened) and opened_bob.user == bob
    assert nobody is None and no_cookie is None
    assert isinstance(refused, services.TooManyConnections)
    live = set(Connection.objects.values_list("channel_name", flat=True))
    assert live == {"alice-1", "bob-1", "carol-1"}
    assert ConnectionRoom.objects.filter(connection__channel_name="carol-2").count() == 0


def test_a_connect_failing_half_way_leaves_nothing_and_the_others_go_on(monkeypatch):
    room = Room.objects.create(name="general")
    alice, bob = member("alice", room), member("bob", room)
    register = services.connection_open

    def fail_after_writing(**kwargs):
        change = register(**kwargs)  # its rows are written ...
        if kwargs["channel_name"] == "alice-1":
            raise RuntimeError("the disk went away")  # ... and then it fails
        return change

    monkeypatch.setattr(services, "connection_open", fail_after_writing)
    outcomes = connects.sign_in_and_register_many(
        [
            ConnectRequest(session_key=session_of(alice), channel_name="alice-1"),
            ConnectRequest(session_key=session_of(bob), channel_name="bob-1"),
        ]
    )
    assert isinstance(outcomes[0], RuntimeError) and isinstance(outcomes[1], Opened)
    assert list(Connection.objects.values_list("channel_name", flat=True)) == ["bob-1"]
    assert ConnectionRoom.objects.filter(connection__channel_name="alice-1").count() == 0


def test_registrations_go_in_user_id_order(monkeypatch):
    """On PostgreSQL each holds its user's row lock until the batch commits: one order for
    every batch of every worker, or two batches could wait for each other."""
    room = Room.objects.create(name="general")
    users = [member(name, room) for name in ("alice", "bob", "carol", "dave")]
    registered: list[int] = []
    register = services.connection_start

    def record(**kwargs):
        registered.append(kwargs["user_id"])
        return register(**kwargs)

    monkeypatch.setattr(connects, "connection_start", record)
    arrival = [users[2], users[0], users[3], users[1]]
    outcomes = connects.sign_in_and_register_many(
        [ConnectRequest(session_of(u), f"{u.username}-1") for u in arrival]
    )
    assert [o.user for o in outcomes] == arrival  # answers in the order asked
    assert registered == sorted(u.pk for u in users)


@pytest.mark.asyncio
async def test_connects_waiting_together_share_one_trip(monkeypatch):
    trips: list[list[str]] = []

    def run_many(self, requests: list[ConnectRequest]) -> list:
        trips.append([r.channel_name for r in requests])
        return [None if r.channel_name != "bad" else ValueError("refused") for r in requests]

    monkeypatch.setattr(connects.ConnectQueue, "run_many", run_many)
    futures = [
        connects.open_connection(session_key=None, channel_name=name)
        for name in ("a", "b", "bad", "c")
    ]
    later = None

    async def arrive_during_the_first_trip() -> None:
        nonlocal later
        await asyncio.sleep(0)
        later = connects.open_connection(session_key=None, channel_name="d")

    await asyncio.gather(arrive_during_the_first_trip(), *futures, return_exceptions=True)
    await later
    assert trips == [["a", "b", "bad", "c"], ["d"]]
    assert [f.result() for f in futures if f is not futures[2]] == [None, None, None]
    assert isinstance(futures[2].exception(), ValueError)


@pytest.mark.asyncio
async def test_disconnects_waiting_together_share_one_trip_and_one_change(monkeypatch):
    trips: list[list[str]] = []

    def close_many(*, channel_names: list[str]) -> services.PresenceChange:
        trips.append(list(channel_names))
        return services.PresenceChange(room_ids=[7], offline_user_ids=[len(trips)])

    monkeypatch.setattr(connects, "connection_close_many", close_many)
    first = [connects.close_connection(channel_name=name) for name in ("a", "b", "c")]
    changes = await asyncio.gather(*first)
    later = await connects.close_connection(channel_name="d")
    assert trips == [["a", "b", "c"], ["d"]]
    assert all(change.offline_user_ids == [1] for change in changes)
    assert later.offline_user_ids == [2]
