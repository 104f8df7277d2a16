"""The hot paths' plain SQL (chat/sql.py users) says what the ORM says, on every engine.

Each rule below is written once, in SQL, for speed; here the same question is asked through
the ORM on a populated database and the answers must match. tests/scale reruns tests/chat on
PostgreSQL, so this holds there too.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q

from chatserver.chat.models import (
    Connection,
    ConnectionRoom,
    DirectRead,
    Membership,
    Mention,
    Message,
    Room,
)
from chatserver.chat.selectors import conversations, mentions, messages, presence, rooms
from chatserver.chat.services import presence as registry
from chatserver.chat.services.messages import SendRequest, message_create_many
from chatserver.chat.services.read_markers import read_mark
from chatserver.chat.services.rooms import membership_join

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    """Five people, three rooms, messages, DMs, read markers and live sockets."""
    make = get_user_model().objects.create_user
    people = [make(name) for name in ("alice", "Bob", "carol", "dave", "Ёлка")]
    alice, bob, carol, dave, yolka = people
    plan = {"general": people, "Отдел продаж": [alice, yolka], "ops": [bob, carol]}
    for room, members in plan.items():
        for user in members:
            membership_join(user_id=user.pk, name=room, max_rooms=10, ref=None)
    sends = []
    for n in range(40):
        room, members = list(plan.items())[n % 3]
        sender = members[n % len(members)]
        sends.append(SendRequest(sender.pk, sender.username, f"msg{n}", f"c{n}", room_name=room))
    for n, (a, b) in enumerate([(alice, bob), (bob, alice), (carol, alice), (dave, carol)]):
        sends.append(SendRequest(a.pk, a.username, f"dm{n}", f"d{n}", to_username=b.username))
    # Mentions (issue 17): named, @room, in a DM, and of someone who cannot read the room.
    sends += [
        SendRequest(bob.pk, "Bob", "@alice and @Ёлка, see @carol", "x1", room_name="general"),
        SendRequest(carol.pk, "carol", "@room standup", "x2", room_name="ops"),
        SendRequest(yolka.pk, "Ёлка", "@alice @dave", "x3", room_name="Отдел продаж"),
        SendRequest(bob.pk, "Bob", "@alice ping", "x4", to_username="alice"),
        SendRequest(carol.pk, "carol", "@room @alice", "x5", room_name="general"),
    ]
    message_create_many(requests=sends)
    last = Message.objects.aggregate(Max("id"))["id__max"]
    read_mark(user_id=alice.pk, room_name="general", with_username=None, message_id=20, ref="r")
    read_mark(user_id=alice.pk, room_name=None, with_username="Bob", message_id=last, ref="r")
    for channel, user in [("a1", alice), ("a2", alice), ("b1", bob), ("y1", yolka)]:
        registry.connection_open(
            channel_name=channel, user_id=user.pk, worker="w", max_connections=5
        )
    # One of alice's sockets has left "ops"-like rooms behind: drop her from one room on a2.
    ConnectionRoom.objects.filter(connection__channel_name="a2", room__name="general").delete()
    return people


def test_membership(office):
    for user in office:
        for room in Room.objects.all():
            by_orm = Membership.objects.filter(user=user, room=room).exists()
            found = rooms.member_room(user_id=user.pk, name=room.name.upper())
            assert (found is not None) == by_orm
            if found is not None:
                assert found == (room.pk, room.name)
    assert rooms.member_room(user_id=office[0].pk, name="nowhere") is None


def test_joined_rooms(office):
    for user in office:
        by_orm = {
            m.room_id: (
                m.room.name,
                m.last_read_id,
                m.room.messages.aggregate(Max("id"))["id__max"] or 0,
            )
            for m in Membership.objects.filter(user=user).select_related("room")
        }
        found = {
            r.room_id: (r.name, r.last_read_id, r.last_id)
            for r in rooms.joined_rooms(user_id=user.pk, mention_cap=1000)
        }
        assert found == by_orm


def test_online_in_rooms(office):
    by_orm = {
        room.pk: sorted(
            get_user_model()
            .objects.filter(
                pk__in=ConnectionRoom.objects.filter(room=room).values("connection__user")
            )
            .values_list("username", flat=True),
            key=str.casefold,
        )
        for room in Room.objects.all()
    }
    for room_id, names in by_orm.items():
        assert presence.room_online(room_id=room_id) == names
    counts = dict(
        Room.objects.annotate(online=Count("live_connections__connection__user", distinct=True))
        .filter(online__gt=0)
        .values_list("pk", "online")
    )
    assert presence.online_counts() == counts
    pairs = set(ConnectionRoom.objects.values_list("connection__user_id", "room_id"))
    ids = [user.pk for user in office]
    assert presence.online_in_rooms(user_ids=ids) == pairs
    for user in office:
        room_ids = list(Room.objects.values_list("pk", flat=True))
        assert presence.rooms_online_in(user_id=user.pk, room_ids=room_ids) == {
            room for uid, room in pairs if uid == user.pk
        }
    online = set(Connection.objects.values_list("user_id", flat=True))
    assert presence.online_user_ids(ids) == online


def test_unread_counts_and_sidebar(office):
    for user in office:
        found = conversations.sidebar(user_id=user.pk)
        for entry in found.rooms:
            membership = Membership.objects.get(user=user, room__name=entry["room"])
            unread = Message.objects.filter(
                room=membership.room, id__gt=membership.last_read_id
            ).exclude(sender=user)
            assert entry["unread"] == unread.count()
            assert entry["last_read_id"] == membership.last_read_id
        dm_rows = Message.objects.filter(
            Q(sender=user) | Q(recipient=user), recipient__isnull=False
        )
        partners = {m.recipient_id if m.sender_id == user.pk else m.sender_id for m in dm_rows}
        assert {d["with"] for d in found.dms} == set(
            get_user_model().objects.filter(pk__in=partners).values_list("username", flat=True)
        )
        for entry in found.dms:
            peer = get_user_model().objects.get(username=entry["with"])
            marker = DirectRead.objects.filter(user=user, peer=peer).first()
            read = marker.last_read_id if marker else 0
            assert (
                entry["unread"]
                == Message.objects.filter(sender=peer, recipient=user, id__gt=read).count()
            )
            pair = dm_rows.filter(Q(sender=peer) | Q(recipient=peer))
            assert entry["last_id"] == pair.aggregate(Max("id"))["id__max"]
            assert entry["online"] == Connection.objects.filter(user=peer).exists()


def test_pages_and_retries(office):
    room = Room.objects.get(name="general")
    page, has_more = messages.room_messages(room_id=room.pk, before=None, limit=5)
    newest = list(Message.objects.filter(room=room).order_by("-id")[:6])
    assert [m["id"] for m in page] == [m.pk for m in reversed(newest[:5])]
    assert has_more == (len(newest) > 5)
    assert page == messages.message_objects(list(reversed(newest[:5])))
    # ``after``: the oldest above an id, oldest first, and whether newer ones remain.
    oldest = Message.objects.filter(room=room).order_by("id")
    for after in (0, oldest[1].pk):
        page, has_more = messages.room_messages(room_id=room.pk, before=None, limit=3, after=after)
        expected = list(oldest.filter(id__gt=after)[:4])
        assert page == messages.message_objects(expected[:3])
        assert has_more == (len(expected) > 3)
    alice = office[0]
    keys = {(alice.pk, "c0"), (alice.pk, "c3"), (alice.pk, "nope"), (office[1].pk, "c0")}
    by_orm = {
        (m.sender_id, m.client_id): m.pk
        for m in Message.objects.filter(sender__in=office, client_id__in=["c0", "c3", "nope"])
        if (m.sender_id, m.client_id) in keys
    }
    assert messages.stored_client_ids(keys) == by_orm


def test_the_registry_insert_matches_an_orm_row(office):
    """``connection_open`` writes its row in SQL; the database fills ``connected_at``."""
    live = Connection.objects.get(channel_name="a1")
    assert live.connected_at is not None and live.worker == "w"
    orm = Connection.objects.create(channel_name="orm", user=office[3], worker="w")
    orm.refresh_from_db()
    assert abs((orm.connected_at - live.connected_at).total_seconds()) < 60


def test_message_files(office):
    from chatserver.chat.models import Attachment
    from chatserver.chat.selectors.files import file_object, message_files

    alice = office[0]
    general = Room.objects.get(name="general")
    first, second = Message.objects.filter(room=general).order_by("id")[:2]
    for message, names in ((first, ["b.png", "a.txt"]), (second, ["c.pdf"])):
        for name in names:
            Attachment.objects.create(
                uploader=alice,
                room=general,
                message=message,
                name=name,
                size=len(name),
                content_type="image/png" if name.endswith("png") else "text/plain",
                sha256="0" * 64,
                width=10 if name.endswith("png") else None,
                height=5 if name.endswith("png") else None,
            )
    ids = list(Message.objects.values_list("id", flat=True))
    by_orm: dict[int, list] = {}
    for attachment in Attachment.objects.filter(message_id__in=ids).order_by("pk"):
        by_orm.setdefault(attachment.message_id, []).append(file_object(attachment))
    assert message_files(ids) == by_orm
    assert [f["name"] for f in by_orm[first.pk]] == ["b.png", "a.txt"]
    assert message_files([]) == {}


def test_mentions_and_their_counts(office):
    """Who each message mentions, and each conversation's unread mentions, as the ORM says."""
    for message in Message.objects.all():
        by_orm = sorted(
            Mention.objects.filter(message=message).values_list("user__username", flat=True),
            key=str.casefold,
        )
        assert messages.mentions_of([message.pk]).get(message.pk, []) == by_orm
    alice = office[0]
    assert Mention.objects.filter(user=alice).count() == 4  # named twice, @room once, in a DM
    assert not Mention.objects.filter(user__username="dave", room__name="Отдел продаж").exists()
    for user in office:
        by_room = {}
        for membership in Membership.objects.filter(user=user):
            by_room[membership.room_id] = Mention.objects.filter(
                user=user, room=membership.room, message_id__gt=membership.last_read_id
            ).count()
        found = {
            r.room_id: r.mentions for r in rooms.joined_rooms(user_id=user.pk, mention_cap=1000)
        }
        assert found == by_room
        by_peer = {}
        for row in Mention.objects.filter(user=user, room__isnull=True):
            marker = DirectRead.objects.filter(user=user, peer_id=row.sender_id).first()
            if row.message_id > (marker.last_read_id if marker else 0):
                by_peer[row.sender_id] = by_peer.get(row.sender_id, 0) + 1
        assert mentions.dm_mention_counts(user_id=user.pk) == by_peer
        for entry in conversations.sidebar(user_id=user.pk).rooms:
            room = Room.objects.get(name=entry["room"])
            assert entry["mentions"] == by_room[room.pk]


def test_search_sees_what_resume_sees(office):
    """Search's SQL (FTS5 or tsvector, plus its own visibility condition) finds exactly the
    messages the ORM's resume rule says the user may read: ``ms`` matches the room
    messages here ("msg0"...), ``dm`` the DMs ("dm0"...)."""
    from chatserver.chat.selectors.search import search

    for user in office:
        visible, _ = messages.visible_messages_since(user_id=user.pk, since=0, limit=1000)
        for q, kept in (("ms", lambda b: b.startswith("ms")), ("dm", lambda b: b.startswith("dm"))):
            found = search(
                user_id=user.pk, q=q, room=None, with_user=None, before=None, limit=50, ref=None
            )
            expected = sorted((m["id"] for m in visible if kept(m["body"])), reverse=True)
            assert [m["id"] for m in found["results"]] == expected, (user.username, q)
            assert found["has_more"] is False
        by_sender = search(
            user_id=user.pk,
            q="from:alice",
            room=None,
            with_user=None,
            before=None,
            limit=50,
            ref=None,
        )
        expected = sorted((m["id"] for m in visible if m["user"] == "alice"), reverse=True)
        assert [m["id"] for m in by_sender["results"]] == expected
