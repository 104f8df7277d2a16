"""Search's SQL (chatserver/chat/selectors/search.py) finds exactly what a plain ORM filter and
a word test in Python find, on every engine (tests/scale reruns tests/chat on PostgreSQL).

The selector reads the newest ``WALK_ROWS`` messages first and asks the index for the rest;
``WALK_ROWS`` is made tiny here so that searches cross from one step to the other, on the
first page and while paging with ``before``.
"""

from __future__ import annotations

import random
import re

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q

from chatserver.chat.models import Membership, Message
from chatserver.chat.selectors import search as selector
from chatserver.chat.services.messages import SendRequest, message_create_many
from chatserver.chat.services.rooms import membership_join, membership_leave

pytestmark = pytest.mark.django_db

WORDS = ["alpha", "beta", "gamma", "plan", "planet", "отчёт", "квартал", "Отчётность", "u1", "r1"]


@pytest.fixture
def office():
    """Four people, four rooms (alice has left one), DMs, and 400 messages over all of them,
    with "secret" frequent in a room alice is not in."""
    make = get_user_model().objects.create_user
    people = [make(name) for name in ("alice", "bob", "carol", "dave")]
    alice, bob, carol, dave = people
    plan = {
        "general": people,
        "sales": [alice, bob],
        "board": [carol, dave],
        "left": [alice, carol],
    }
    for room, members in plan.items():
        for user in members:
            membership_join(user_id=user.pk, name=room, max_rooms=10, ref=None)
    rng = random.Random(18)
    sends = []
    for n in range(400):
        words = rng.choices(WORDS, k=rng.randint(1, 5))
        if rng.random() < 0.2:
            words = [word.upper() for word in words]
        if n not in (5, 90) and rng.random() < 0.15:
            sender, peer = rng.sample(people, 2)
            sends.append(
                SendRequest(
                    sender.pk, sender.username, " ".join(words), f"d{n}", to_username=peer.username
                )
            )
            continue
        room = rng.choice(list(plan))
        if n in (5, 90):  # alice's only readable secrets: old, in sales
            room, words = "sales", [*words, "secret"]
        elif room == "board" and rng.random() < 0.8:
            words.append("secret")
        sender = rng.choice(plan[room])
        sends.append(
            SendRequest(sender.pk, sender.username, " ".join(words), f"c{n}", room_name=room)
        )
    for start in range(0, len(sends), 50):
        message_create_many(requests=sends[start : start + 50])
    membership_leave(user_id=alice.pk, name="left", ref=None)
    return people


def readable(user) -> Q:
    rooms = Membership.objects.filter(user=user).values("room")
    return Q(room__in=rooms) | Q(recipient=user) | Q(sender=user, recipient__isnull=False)


def expected(user, q: str, scope: Q) -> list[int]:
    """The ids a search for ``q`` must find, newest first: every word whole, the last one
    also as the start of a word."""
    words = [word for word in q.lower().split() if not word.startswith("from:")]
    senders = [word[5:] for word in q.lower().split() if word.startswith("from:")]
    if senders:
        scope &= Q(sender__username=senders[0])
    found = []
    for message in Message.objects.filter(readable(user) & scope).order_by("-id"):
        tokens = set(re.findall(r"\w+", message.body.lower()))
        whole = all(word in tokens for word in words[:-1])
        if whole and any(token.startswith(words[-1]) for token in tokens):
            found.append(message.pk)
    return found


def every_page(user, q: str, limit: int, **where) -> list[int]:
    """All results, page after page with ``before``, checking ``has_more`` on the way."""
    ids: list[int] = []
    before = None
    while True:
        frame = selector.search(
            user_id=user.pk,
            q=q,
            room=where.get("room"),
            with_user=where.get("with_user"),
            before=before,
            limit=limit,
            ref=None,
        )
        page = [message["id"] for message in frame["results"]]
        ids += page
        if not frame["has_more"]:
            return ids
        assert len(page) == limit
        before = page[-1]


@pytest.mark.parametrize(
    ("walk_rows", "walk_more", "prefix_words"), [(1, 16000, 32), (7, 10, 1), (1000, 16000, 32)]
)
def test_search_agrees_with_the_orm_across_both_steps(
    office, monkeypatch, walk_rows, walk_more, prefix_words
):
    """``walk_more`` 10: PostgreSQL asks its index after one more walk at most;
    ``prefix_words`` 1: SQLite asks FTS5 ``"pla"*`` instead of the words it starts."""
    monkeypatch.setattr(selector, "WALK_ROWS", walk_rows)
    monkeypatch.setattr(selector, "WALK_MORE_ROWS", walk_more)
    monkeypatch.setattr(selector, "PREFIX_WORDS", prefix_words)
    alice, bob, carol, _dave = office
    scopes = {
        "everything": ({}, lambda user: Q()),
        "general": ({"room": "general"}, lambda user: Q(room__name="general")),
        "DM with bob": (
            {"with_user": "bob"},
            lambda user: Q(sender=user, recipient=bob) | Q(sender=bob, recipient=user),
        ),
    }
    queries = [
        *("secret", "alpha", "plan", "alpha pla", "ОТЧ", "квартал отчёт", "u1", "r1", "zzz"),
        *("plan from:bob", "secret from:carol", "ОТЧ from:alice", "s1", "s2"),
    ]
    checked = 0
    for user in (alice, carol):
        for name, (where, scope) in scopes.items():
            if name == "DM with bob" and user == bob:
                continue
            for q in queries:
                want = expected(user, q, scope(user))
                got = every_page(user, q, 4, **where)
                assert got == want, (user.username, name, q)
                checked += len(want)
    assert checked > 200  # the data has matches for these words, in every scope


def test_a_word_frequent_in_others_rooms_still_finds_the_users_few_matches(office, monkeypatch):
    """Nearly every match of "secret" is in "board", which alice is not in: her two old
    ones are found below the walk, and nothing of board's is."""
    monkeypatch.setattr(selector, "WALK_ROWS", 10)
    alice = office[0]
    assert Message.objects.filter(room__name="board", body__icontains="secret").count() > 40
    frame = selector.search(
        user_id=alice.pk, q="secret", room=None, with_user=None, before=None, limit=20, ref=None
    )
    assert [m["room"] for m in frame["results"]] == ["sales", "sales"]
    assert [m["id"] for m in frame["results"]] == expected(alice, "secret", Q())
    assert frame["has_more"] is False
