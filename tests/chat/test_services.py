"""Services and selectors without sockets: storage rules, presence bookkeeping, visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.utils import timezone

from chatserver.chat.durability import presence_commits
from chatserver.chat.models import Connection, Membership, Message, Room, Worker
from chatserver.chat.protocol import ProtocolError
from chatserver.chat.selectors import conversations, messages, presence, rooms
from chatserver.chat.services import presence as registry
from chatserver.chat.services.messages import SendRequest, message_create_many
from chatserver.chat.services.read_markers import read_mark
from chatserver.chat.services.rooms import (
    membership_join,
    membership_leave,
    memberships_at_signup,
    room_rename,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    make = get_user_model().objects.create_user
    return make("alice"), make("bob"), make("carol")


def join(user, room: str = "general"):
    return membership_join(user_id=user.pk, name=room, max_rooms=10, ref=None).room


def send(user, body: str, client_id: str, **target):
    (outcome,) = message_create_many(
        requests=[
            SendRequest(
                sender_id=user.pk,
                sender_username=user.username,
                body=body,
                client_id=client_id,
                room_name=target.get("room"),
                to_username=target.get("to"),
            )
        ]
    )
    if isinstance(outcome, ProtocolError):
        raise outcome
    return outcome


def test_room_names_are_unique_ignoring_case_in_any_script(users):
    alice = users[0]
    first = join(alice, "Отдел Продаж")
    assert join(alice, "отдел продаж").pk == first.pk
    assert Room.objects.count() == 1
    with pytest.raises(IntegrityError):
        Room.objects.create(name="ОТДЕЛ ПРОДАЖ")


def test_message_create_deduplicates_by_sender_and_client_id(users):
    alice, bob, _ = users
    join(alice)
    first = send(alice, "hi", "c1", room="general")
    again = send(alice, "hi (edited retry)", "c1", room="general")
    assert first.created and not again.created
    assert again.frame["id"] == first.frame["id"] and again.frame["body"] == "hi"
    # Another sender may use the same client_id.
    assert send(bob, "yo", "c1", to="alice").created
    assert Message.objects.count() == 2


def test_failed_validation_stores_nothing(users):
    alice = users[0]
    with pytest.raises(ProtocolError):
        send(alice, "x", "c1", room="general")  # not joined (room does not even exist)
    with pytest.raises(ProtocolError):
        send(alice, "x", "c2", to="alice")
    assert Message.objects.count() == 0


def test_too_many_rooms_rolls_the_join_back(users):
    alice = users[0]
    membership_join(user_id=alice.pk, name="one", max_rooms=1, ref=None)
    with pytest.raises(ProtocolError) as error:
        membership_join(user_id=alice.pk, name="two", max_rooms=1, ref=None)
    assert error.value.code == "too_many_rooms"
    assert [room.name for room in rooms.joined_rooms(user_id=alice.pk, mention_cap=1000)] == ["one"]


def test_resume_sees_own_rooms_and_own_dms_only(users):
    alice, bob, carol = users
    join(alice)
    join(carol, "private-room")
    room_msg = send(alice, "room", "1", room="general").frame["id"]
    mine = send(bob, "to alice", "2", to="alice").frame["id"]
    send(bob, "to carol", "3", to="carol")
    send(carol, "elsewhere", "4", room="private-room")
    found, has_more = messages.visible_messages_since(user_id=alice.pk, since=0, limit=100)
    assert [f["id"] for f in found] == [room_msg, mine]
    assert not has_more


def test_read_marker_never_moves_back(users):
    alice = users[0]
    join(alice)
    read_mark(user_id=alice.pk, room_name="general", with_username=None, message_id=10, ref="r")
    read_mark(user_id=alice.pk, room_name="general", with_username=None, message_id=5, ref="r")
    assert Membership.objects.get(user=alice, room=Room.objects.get()).last_read_id == 10


def test_presence_counts_connections(users):
    alice, bob, _ = users
    room = join(alice)
    join(bob)
    first = registry.connection_open(
        channel_name="a1", user_id=alice.pk, worker="w", max_connections=5
    )
    assert first.room_ids == [room.pk] and first.online_user_ids == [alice.pk]
    second = registry.connection_open(
        channel_name="a2", user_id=alice.pk, worker="w", max_connections=5
    )
    assert second.room_ids == [] and second.online_user_ids == []
    assert presence.room_online(room_id=room.pk) == ["alice"]
    assert registry.connection_close_many(channel_names=["a1"]).room_ids == []
    last = registry.connection_close_many(channel_names=["a2"])
    assert last.room_ids == [room.pk] and last.offline_user_ids == [alice.pk]
    assert presence.room_online(room_id=room.pk) == []


def test_sockets_closing_together_are_forgotten_in_one_change(users):
    alice, bob, carol = users
    general, ops = join(alice), join(bob, "ops")
    join(carol)
    for channel, user in (("a1", alice), ("a2", alice), ("b1", bob), ("c1", carol)):
        registry.connection_open(
            channel_name=channel, user_id=user.pk, worker="w", max_connections=5
        )
    # alice keeps a2; bob and carol leave for good; an unknown socket is ignored.
    change = registry.connection_close_many(channel_names=["a1", "b1", "c1", "gone"])
    assert change.room_ids == sorted([general.pk, ops.pk])
    assert change.offline_user_ids == sorted([bob.pk, carol.pk])
    assert presence.room_online(room_id=general.pk) == ["alice"]
    assert presence.room_online(room_id=ops.pk) == []
    assert registry.connection_close_many(channel_names=["gone"]).room_ids == []


def test_connection_start_is_everything_a_socket_needs(users):
    alice, bob, carol = users
    room = join(alice)
    send(alice, "hi bob", "c1", to="bob")
    send(carol, "hi alice", "c2", to="alice")
    registry.connection_open(channel_name="b1", user_id=bob.pk, worker="w", max_connections=5)
    start = registry.connection_start(
        channel_name="a1", user_id=alice.pk, worker="w", max_connections=5
    )
    assert start.change.room_ids == [room.pk] and start.change.online_user_ids == [alice.pk]
    assert start.rooms == [(room.pk, "general")]
    assert [r["room"] for r in start.sidebar.rooms] == ["general"]
    # Only partners' presence is read, and read right: bob is connected, carol is not.
    online = {d["with"]: d["online"] for d in start.sidebar.dms}
    assert online == {"bob": True, "carol": False}


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_presence_commits_skip_the_fsync_only_for_presence():
    from django.db import connection, transaction

    def level() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            return cursor.fetchone()[0]

    full, normal = 2, 1
    assert level() == full  # messages: every commit waits for the disk
    with presence_commits():
        assert level() == normal
    assert level() == full
    with transaction.atomic(), presence_commits():
        assert level() == full  # SQLite cannot change it inside a transaction: stay safe
    with pytest.raises(RuntimeError), presence_commits():
        raise RuntimeError
    assert level() == full


def test_connection_limit_per_user(users):
    alice = users[0]
    registry.connection_open(channel_name="a1", user_id=alice.pk, worker="w", max_connections=1)
    with pytest.raises(registry.TooManyConnections):
        registry.connection_open(channel_name="a2", user_id=alice.pk, worker="w", max_connections=1)


def test_a_restart_forgets_everyone_online(users):
    alice = users[0]
    join(alice)
    registry.connection_open(channel_name="a1", user_id=alice.pk, worker="old", max_connections=5)
    registry.worker_start(worker="new", clear_all=True)
    assert Connection.objects.count() == 0


def test_a_dead_workers_connections_are_swept_by_a_live_one(users):
    alice, bob, _ = users
    room = join(alice)
    join(bob)
    registry.worker_start(worker="w1", clear_all=False)
    registry.worker_start(worker="w2", clear_all=False)
    registry.connection_open(channel_name="a", user_id=alice.pk, worker="w1", max_connections=5)
    registry.connection_open(channel_name="b", user_id=bob.pk, worker="w2", max_connections=5)
    Worker.objects.filter(name="w1").update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    change = registry.worker_heartbeat(worker="w2", stale_after=30)
    assert change.room_ids == [room.pk] and change.offline_user_ids == [alice.pk]
    assert presence.room_online(room_id=room.pk) == ["bob"]
    assert not Worker.objects.filter(name="w1").exists()


def test_conversations_lists_rooms_and_dm_partners_with_unread(users):
    alice, bob, carol = users
    join(alice)
    join(bob)
    send(bob, "one", "1", room="general")
    send(bob, "two", "2", room="general")
    send(carol, "hey", "3", to="alice")
    send(alice, "hi bob", "4", to="bob")
    conv = conversations.sidebar(user_id=alice.pk)
    assert [(r["room"], r["unread"]) for r in conv.rooms] == [("general", 2)]
    assert [(d["with"], d["unread"]) for d in conv.dms] == [("bob", 0), ("carol", 1)]


def test_history_frames_are_the_frames_that_were_broadcast(users):
    """Pages are read in SQL, live frames built from the model: both must say the same."""
    alice, bob, _ = users
    room = join(alice)
    live = [
        send(alice, "Привет <b>", "c1", room="general").frame,
        send(alice, "second", "c2", room="general").frame,
    ]
    dm = send(alice, "just you", "d1", to="bob").frame
    page, has_more = messages.room_messages(room_id=room.pk, before=None, limit=50)
    assert page == live and has_more is False
    older, has_more = messages.room_messages(room_id=room.pk, before=live[1]["id"], limit=1)
    assert older == live[:1] and has_more is False
    from chatserver.chat.models import dm_key

    dms, _ = messages.dm_messages(key=dm_key(alice.pk, bob.pk), before=None, limit=50)
    assert dms == [dm]


def test_a_join_that_must_not_create_finds_existing_rooms_only(users):
    alice, bob, _ = users
    with pytest.raises(ProtocolError) as raised:
        membership_join(user_id=alice.pk, name="  typo  ", max_rooms=10, ref="join", create=False)
    assert raised.value.code == "unknown_room"
    assert raised.value.frame()["room"] == "typo"  # the name as it would be stored
    assert not Room.objects.exists()
    room = join(bob, "Sales")
    found = membership_join(user_id=alice.pk, name="SALES", max_rooms=10, ref=None, create=False)
    assert found.room.pk == room.pk and found.created_membership
    with pytest.raises(ProtocolError) as raised:
        membership_join(user_id=alice.pk, name="x" * 65, max_rooms=10, ref=None, create=False)
    assert raised.value.code == "bad_room_name"


def test_a_send_by_a_rooms_old_name_reaches_the_room_for_its_members_only(users):
    """A page that had not heard of a rename yet: its member's message is stored in the room
    and names it as it is now; a non-member and a former member learn nothing from the old
    name; a live room that takes the old name is that name's room again."""
    alice, bob, carol = users
    get_user_model().objects.filter(pk=alice.pk).update(is_staff=True)
    room = join(alice, "ops")
    join(bob, "ops")
    join(carol, "ops")
    membership_leave(user_id=carol.pk, name="ops", ref=None)
    room_rename(user_id=alice.pk, room="ops", name="Operations", ref="rename")
    stored = send(bob, "sent as the rename happened", "late-1", room="OPS")
    assert stored.room_id == room.pk and stored.frame["room"] == "Operations"
    outsider = get_user_model().objects.create_user("dave")
    for who in (carol, outsider):  # a former member, someone who never was one
        with pytest.raises(ProtocolError) as raised:
            send(who, "hello?", "late-2", room="ops")
        frame = raised.value.frame()
        assert frame["code"] == "unknown_room" and "renamed_to" not in frame, frame
        assert "Operations" not in frame["detail"]
    other = join(carol, "ops")
    assert other.pk != room.pk
    assert send(carol, "in the new ops", "new-1", room="ops").room_id == other.pk
    with pytest.raises(ProtocolError) as raised:
        send(bob, "by the old name", "late-3", room="ops")  # bob is not in the new ops
    assert raised.value.code == "not_joined"
    assert list(Message.objects.filter(room_id=room.pk).values_list("body", flat=True)) == [
        "sent as the rename happened"
    ]


def test_the_first_account_brings_general_and_everyone_joins_it_under_any_name(users):
    alice, bob, _ = users
    (general,) = memberships_at_signup(user_id=alice.pk, first=True)
    assert general.name == "general"
    Room.objects.filter(pk=general.pk).update(name="Lobby", key="lobby")  # renamed by an admin
    assert [r.name for r in memberships_at_signup(user_id=bob.pk, first=False)] == ["Lobby"]
    assert set(Membership.objects.values_list("user__username", "room__name")) == {
        ("alice", "Lobby"),
        ("bob", "Lobby"),
    }
    assert Room.objects.count() == 1


def test_an_install_without_a_signup_room_makes_none_for_later_accounts(users):
    alice = users[0]
    assert memberships_at_signup(user_id=alice.pk, first=False) == []
    assert not Room.objects.exists()
