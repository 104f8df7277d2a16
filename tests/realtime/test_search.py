"""``search`` and ``history`` around an id, through the real ASGI stack (docs/protocol.md,
"Search"). Everything here also runs on PostgreSQL (tests/scale/test_protocol_on_engines.py)
except what names SQLite's FTS5 table or tokenizer (marker ``sqlite``)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chatserver.chat.models import Message
from tests.support.ws import ChatClient, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def search(client: ChatClient, q: str, **fields) -> dict:
    await client.send({"type": "search", "q": q, **fields})
    return await client.expect("search_results")


async def search_error(client: ChatClient, q, **fields) -> dict:
    await client.send({"type": "search", "q": q, **fields})
    return await client.expect("error")


def bodies(frame: dict) -> list[str]:
    return [m["body"] for m in frame["results"]]


async def room_with(client: ChatClient, room: str, texts: list[str]) -> list[int]:
    await client.join(room)
    ids = []
    for i, text in enumerate(texts):
        ack = await client.say(text, client_id=f"{room}-{i}", room=room)
        ids.append(ack["id"])
    return ids


async def test_cyrillic_latin_and_mixed_text_match_without_case_and_by_prefix():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await room_with(
        a,
        "Отдел продаж",
        [
            "Отчёт за КВАРТАЛ готов",
            "Quarterly REPORT is ready",
            "смешанный Text: проверка Deskchat",
            "nothing to see here",
        ],
    )
    assert bodies(await search(a, "квартал")) == ["Отчёт за КВАРТАЛ готов"]
    assert bodies(await search(a, "КВАР")) == ["Отчёт за КВАРТАЛ готов"]  # prefix, folded
    assert bodies(await search(a, "report")) == ["Quarterly REPORT is ready"]
    assert bodies(await search(a, "QUART")) == ["Quarterly REPORT is ready"]
    assert bodies(await search(a, "text ПРОВЕРКА")) == ["смешанный Text: проверка Deskchat"]
    assert bodies(await search(a, "deskchat смеш")) == ["смешанный Text: проверка Deskchat"]
    assert bodies(await search(a, "report квартал")) == []  # every word must occur
    # The last word may be the start of one (it is being typed); earlier ones are whole words.
    assert bodies(await search(a, "смеш deskchat")) == []
    assert bodies(await search(a, "смешанный desk")) == ["смешанный Text: проверка Deskchat"]
    # A one-letter last word is the word itself, not the start of every word it begins.
    assert bodies(await search(a, "смешанный d")) == []
    assert bodies(await search(a, "смешанный de")) == ["смешанный Text: проверка Deskchat"]
    found = await search(a, "Квартал")
    assert found["q"] == "Квартал"
    assert found["has_more"] is False
    message = found["results"][0]
    assert message["type"] == "message"
    assert message["room"] == "Отдел продаж"
    assert message["user"] == "alice"
    await a.close()


@pytest.mark.sqlite
async def test_sqlite_folds_diacritics():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await room_with(a, "r", ["Café crème", "Ёлка в офисе"])
    assert bodies(await search(a, "cafe creme")) == ["Café crème"]
    # unicode61 removes Latin diacritics only: ё and й stay letters of their own.
    assert bodies(await search(a, "ёлка")) == ["Ёлка в офисе"]
    assert bodies(await search(a, "елка")) == []
    await a.close()


async def test_phrases_are_matched_as_written():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await room_with(a, "r", ["the plan is final", "final: the plan"])
    assert bodies(await search(a, '"plan is final"')) == ["the plan is final"]
    assert bodies(await search(a, '"final the"')) == ["final: the plan"]
    assert bodies(await search(a, '"fin"')) == []  # a phrase is whole words, no prefix
    await a.close()


async def test_results_are_newest_first_and_page_with_before():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    ids = await room_with(a, "r", [f"budget item {i}" for i in range(7)] + ["unrelated"])
    first = await search(a, "budget", limit=3)
    assert [m["id"] for m in first["results"]] == ids[6:3:-1]
    assert first["has_more"] is True
    second = await search(a, "budget", limit=3, before=first["results"][-1]["id"])
    assert second["before"] == ids[4]
    assert [m["id"] for m in second["results"]] == ids[3:0:-1]
    last = await search(a, "budget", limit=3, before=ids[1])
    assert [m["id"] for m in last["results"]] == [ids[0]]
    assert last["has_more"] is False
    await a.close()


async def test_from_and_in_filters():
    alice, bob = await make_user("alice"), await make_user("bob")
    a, b = await ChatClient.connect(alice), await ChatClient.connect(bob)
    for client in (a, b):
        await client.join("Отдел продаж")
        await client.join("general")
    await a.say("deadline friday", client_id="a1", room="Отдел продаж")
    await b.say("deadline monday", client_id="b1", room="Отдел продаж")
    await b.say("deadline in general", client_id="b2", room="general")
    await a.say("deadline by DM", client_id="a2", to="bob")
    assert bodies(await search(b, "deadline from:alice")) == ["deadline by DM", "deadline friday"]
    assert bodies(await search(b, "from:@alice")) == ["deadline by DM", "deadline friday"]
    assert bodies(await search(b, 'deadline in:"отдел ПРОДАЖ"')) == [
        "deadline monday",
        "deadline friday",
    ]
    assert bodies(await search(b, "deadline in:#general")) == ["deadline in general"]
    assert bodies(await search(b, "deadline", room="general")) == ["deadline in general"]
    assert bodies(await search(b, "deadline", **{"with": "alice"})) == ["deadline by DM"]
    in_room = await search(b, "from:alice in:general")
    assert in_room["results"] == []
    dm = (await search(a, "DM"))["results"][0]
    assert (dm["from"], dm["to"]) == ("alice", "bob")
    error = await search_error(b, "deadline from:nobody")
    assert error["code"] == "unknown_user"
    error = await search_error(b, "x", room="general", **{"with": "alice"})
    assert error["code"] == "bad_field"
    await a.close()
    await b.close()


@database_sync_to_async
def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


async def test_only_conversations_the_user_can_read_now():
    """Non-member, former member, third party in a DM, a deactivated peer: nothing of theirs
    is found, and asking for it by name says no more than history does."""
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a, b, c = [await ChatClient.connect(u) for u in (alice, bob, carol)]
    await a.join("secret plans")
    await a.say("zebra in the room", client_id="a1", room="secret plans")
    await a.say("zebra between us", client_id="a2", to="bob")
    await c.join("secret plans")
    await c.send({"type": "leave", "room": "secret plans"})
    await c.send({"type": "ping"})
    await c.expect("pong")
    await a.say("zebra after carol left", client_id="a3", room="secret plans")

    assert bodies(await search(b, "zebra")) == ["zebra between us"]  # non-member of the room
    assert (await search(c, "zebra"))["results"] == []  # former member, third party in the DM
    assert (await search(c, "zebra from:alice"))["results"] == []
    not_joined = await search_error(c, 'zebra in:"secret plans"')
    assert not_joined["code"] == "not_joined"
    assert "zebra" not in str(not_joined)
    assert (await search(c, "zebra", **{"with": "alice"}))["results"] == []  # carol's own DM
    assert (await search(c, "zebra", **{"with": "bob"}))["results"] == []
    assert len((await search(a, "zebra"))["results"]) == 3

    await deactivate(bob)
    gone = await search_error(a, "zebra", **{"with": "bob"})
    assert gone["code"] == "unknown_user"
    await a.close()
    await b.close()
    await c.close()


@database_sync_to_async
def edit_and_delete(edit_id: int, delete_id: int) -> None:
    Message.objects.filter(pk=edit_id).update(body="rewritten as giraffe")
    Message.objects.filter(pk=delete_id).delete()


async def test_the_index_follows_every_edit_and_delete():
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    ids = await room_with(a, "r", ["elephant one", "elephant two"])
    await edit_and_delete(ids[0], ids[1])
    assert (await search(a, "elephant"))["results"] == []
    assert [m["id"] for m in (await search(a, "giraffe"))["results"]] == [ids[0]]
    await a.close()


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"unbalanced',
        "*",
        "zebra*",
        "^zebra",
        "zebra AND",
        "OR zebra NOT",
        "NEAR(zebra, 2)",
        "body:zebra",
        "{body}: zebra",
        "zebra -",
        "'zebra'",
        "zebra & ! | : <-> (",
        "\\zebra\\",
        "ze'bra",
        'ze"bra',
        "from:",
        "in:",
        "from: zebra",
        "%_%",
        "zebra" + "ё" * 200,
    ],
)
async def test_hostile_queries_give_results_or_a_clear_error(q):
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await room_with(a, "r", ["zebra crossing"])
    await a.send({"type": "search", "q": q})
    answer = await a.recv()
    while answer["type"] not in {"error", "search_results"}:  # presence may come first
        answer = await a.recv()
    if answer["type"] == "error":
        assert answer["code"] in {"bad_query", "unknown_user", "unknown_room"}, answer
        assert answer["ref"] == "search"
    else:
        assert answer["type"] == "search_results", answer
        assert answer["q"] == q
    await a.send({"type": "ping"})
    await a.expect("pong")
    await a.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"q": "x" * 257}, "bad_query"),
        ({"q": " ".join(["w"] * 13)}, "bad_query"),
        ({"q": "   "}, "bad_query"),
        ({"q": "?!"}, "bad_query"),
        ({"q": "x", "limit": 51}, "bad_field"),
        ({"q": "x", "limit": 0}, "bad_field"),
        ({"q": 5}, "bad_field"),
        ({}, "missing_field"),
        ({"q": "x", "before": "1"}, "bad_field"),
        ({"q": "x\x00"}, "bad_field"),
    ],
)
async def test_bad_search_frames_are_refused_in_words(frame, code):
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    await a.send({"type": "search", **frame})
    error = await a.expect("error")
    assert error["code"] == code
    assert error["detail"]
    await a.close()


@pytest.mark.sqlite
async def test_the_fts_table_is_what_sqlite_searches():
    """The triggers keep ``chat_message_fts`` in step with sends (not a LIKE scan)."""
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    ids = await room_with(a, "r", ["indexed words"])

    @database_sync_to_async
    def indexed() -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH 'indexed'"
            )
            return [row[0] for row in cursor.fetchall()]

    assert await indexed() == ids
    await a.close()


async def test_history_around_an_id_opens_a_result_with_its_neighbours():
    alice, _bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a, c = await ChatClient.connect(alice), await ChatClient.connect(carol)
    ids = await room_with(a, "r", [f"m{i}" for i in range(30)])
    dm = await a.say("in a DM", client_id="dm", to="bob")
    await a.send({"type": "history", "room": "r", "around": ids[10], "limit": 6})
    page = await a.expect("history")
    assert page["around"] == ids[10]
    assert [m["id"] for m in page["messages"]] == ids[8:14]
    assert (page["has_more"], page["has_newer"]) == (True, True)
    await a.send({"type": "history", "room": "r", "around": ids[1], "limit": 6})
    page = await a.expect("history")
    assert [m["id"] for m in page["messages"]] == ids[0:5]
    assert (page["has_more"], page["has_newer"]) == (False, True)
    await a.send({"type": "history", "room": "r", "around": ids[-1]})
    page = await a.expect("history")
    assert [m["id"] for m in page["messages"]] == ids[5:]
    assert (page["has_more"], page["has_newer"]) == (True, False)
    # An id from another conversation shows only this one's messages around that point.
    await a.send({"type": "history", "room": "r", "around": dm["id"], "limit": 4})
    page = await a.expect("history")
    assert [m["id"] for m in page["messages"]] == ids[-2:]
    assert "in a DM" not in str(page)
    await a.send({"type": "history", "with": "bob", "around": dm["id"], "limit": 4})
    page = await a.expect("history")
    assert [m["body"] for m in page["messages"]] == ["in a DM"]
    # Not a member, or not in the DM: the same refusals as any history page.
    await c.send({"type": "history", "room": "r", "around": ids[10]})
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.send({"type": "history", "with": "bob", "around": dm["id"]})
    page = await c.expect("history")
    assert page["messages"] == []
    await c.send({"type": "history", "room": "r", "around": 5, "before": 9})
    assert (await c.expect("error"))["code"] == "bad_field"
    await a.close()
    await c.close()


async def test_phrases_and_joined_words_keep_their_order_below_the_walk(monkeypatch):
    """Below the newest ``WALK_ROWS`` messages PostgreSQL's index knows only which words a
    message holds; the order of a phrase's words (or of ``e-mail``'s) is still checked."""
    from chatserver.chat.selectors import search as selector

    monkeypatch.setattr(selector, "WALK_ROWS", 1)
    alice = await make_user("alice")
    a = await ChatClient.connect(alice)
    ids = await room_with(
        a, "r", ["the plan is final", "final: the plan", "send an e-mail", "mail e", "newest"]
    )
    assert [m["id"] for m in (await search(a, '"plan is final"'))["results"]] == [ids[0]]
    assert [m["id"] for m in (await search(a, '"the plan"'))["results"]] == [ids[1], ids[0]]
    assert [m["id"] for m in (await search(a, "e-mail"))["results"]] == [ids[2]]
    assert [m["id"] for m in (await search(a, "final pla"))["results"]] == [ids[1], ids[0]]
    page = await search(a, "plan", limit=1)
    assert ([m["id"] for m in page["results"]], page["has_more"]) == ([ids[1]], True)
    page = await search(a, "plan", limit=1, before=ids[1])
    assert ([m["id"] for m in page["results"]], page["has_more"]) == ([ids[0]], False)
    await a.close()
