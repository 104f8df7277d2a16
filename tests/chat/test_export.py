"""Export of a conversation: ``/export/`` (who may download what) and ``deskchat manage
export``; the HTML page is self-contained, script-free and escapes every user text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.test import AsyncClient
from django.utils.html import escape

from chatserver.chat.export import CSP, HtmlExport, JsonExport
from chatserver.chat.models import Membership, Message, Room, dm_key
from chatserver.chat.selectors.export import Conversation

pytestmark = [pytest.mark.django_db(transaction=True)]

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> </ol></body>'


@sync_to_async
def world() -> dict:
    users = {
        name: get_user_model().objects.create_user(username=name, password="pw-for-tests-1")
        for name in ("alice", "bob", "carol", "dave")
    }
    room = Room.objects.create(name="Отдел продаж")
    for name in ("alice", "bob"):
        Membership.objects.create(user=users[name], room=room)
    for i in range(3):
        Message.objects.create(sender=users["alice"], room=room, body=f"room line {i}")
    Message.objects.create(sender=users["bob"], room=room, body=HOSTILE)
    key = dm_key(users["alice"].pk, users["bob"].pk)
    Message.objects.create(
        sender=users["alice"], recipient=users["bob"], dm_key=key, body="just between us"
    )
    # carol was a member and left; dave never was.
    Membership.objects.create(user=users["carol"], room=room).delete()
    Room.objects.create(name="empty room")
    return users


async def client_for(user) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(user)
    return client


async def body_of(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


async def test_a_member_downloads_json_with_every_message_oldest_first():
    users = await world()
    client = await client_for(users["bob"])
    response = await client.get("/export/", {"room": "ОТДЕЛ ПРОДАЖ", "format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(r"deskchat-.*-\d{4}-\d\d-\d\d\.json", disposition)
    data = json.loads(await body_of(response))
    assert data["format"] == "deskchat-export"
    assert data["conversation"] == {"room": "Отдел продаж"}
    assert data["exported_by"] == "bob"
    assert [m["body"] for m in data["messages"]] == [
        "room line 0",
        "room line 1",
        "room line 2",
        HOSTILE,
    ]
    first = data["messages"][0]
    assert first["type"] == "message" and first["room"] == "Отдел продаж"
    assert first["user"] == "alice" and first["ts"].endswith("Z")


async def test_the_html_page_is_self_contained_and_escapes_user_text():
    users = await world()
    client = await client_for(users["alice"])
    response = await client.get("/export/", {"room": "Отдел продаж", "format": "html"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    page = (await body_of(response)).decode()
    assert "<script" not in page.lower()
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "&lt;/ol&gt;&lt;/body&gt;" in page
    assert f'content="{escape(CSP)}"' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing to fetch
    assert "room line 2" in page and "Отдел продаж" in page
    assert "4 messages" in page
    assert "just between us" not in page


async def test_a_dm_is_exported_for_its_two_people():
    users = await world()
    for me, other in (("alice", "bob"), ("bob", "alice")):
        client = await client_for(users[me])
        response = await client.get("/export/", {"with": other, "format": "json"})
        assert response.status_code == 200
        data = json.loads(await body_of(response))
        assert data["conversation"] == {"dm": ["alice", "bob"]}
        assert [m["body"] for m in data["messages"]] == ["just between us"]


@sync_to_async
def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("dave", {"room": "Отдел продаж"}),  # never a member
        ("carol", {"room": "Отдел продаж"}),  # former member
        ("dave", {"room": "no such room"}),  # nothing there at all
        ("carol", {"with": "alice"}),  # third party to alice and bob's DM
        ("carol", {"with": "bob"}),
        ("carol", {"with": "nobody"}),
        ("alice", {"with": "alice"}),
        ("alice", {"room": "Отдел продаж", "with": "bob"}),
        ("alice", {}),
    ],
)
async def test_whoever_may_not_read_it_gets_the_same_404(who, query):
    users = await world()
    client = await client_for(users[who])
    nowhere = await client.get("/export/", {"room": "no such room", "format": "json"})
    for fmt in ("json", "html"):
        response = await client.get("/export/", {**query, "format": fmt})
        assert response.status_code == 404
        text = response.content.decode()
        assert "room line" not in text and "between us" not in text
        # The same page as for a room that does not exist: not even existence shows.
        assert heading(text) == heading(nowhere.content.decode())


def heading(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)


async def test_a_dm_with_a_deactivated_person_is_not_exported():
    users = await world()
    await deactivate(users["bob"])
    client = await client_for(users["alice"])
    response = await client.get("/export/", {"with": "bob", "format": "json"})
    assert response.status_code == 404


async def test_logged_out_and_deactivated_people_are_sent_to_log_in():
    users = await world()
    anonymous = await AsyncClient().get("/export/", {"room": "Отдел продаж", "format": "json"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    client = await client_for(users["alice"])
    await deactivate(users["alice"])
    response = await client.get("/export/", {"room": "Отдел продаж", "format": "html"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


async def test_an_unknown_format_is_a_bad_request():
    users = await world()
    client = await client_for(users["alice"])
    response = await client.get("/export/", {"room": "Отдел продаж", "format": "pdf"})
    assert response.status_code == 400


def conversation_with_files() -> tuple[Conversation, list[dict]]:
    message = {
        "type": "message",
        "id": 7,
        "user": "al<b>ice",
        "body": "see attached",
        "ts": "2026-12-06T10:11:12.000000Z",
        "client_id": None,
        "room": "r",
        "files": [
            {
                "id": 1,
                "name": '"><script>x</script>.png',
                "size": 2048,
                "type": "image/png",
                "url": "/files/1/",
                "thumb": "/files/1/thumb",
            },
            {
                "id": 2,
                "name": "evil.html",
                "size": 10,
                "type": "text/html",
                "url": "javascript:alert(1)",
            },
        ],
    }
    return Conversation(Q(), room="r"), [message]


def test_attachments_are_listed_with_links_to_the_server():
    conversation, messages = conversation_with_files()
    moment = datetime(2026, 12, 6, tzinfo=UTC)
    page = "".join(
        HtmlExport(
            conversation, exported_by="x", exported_at=moment, base_url="http://10.0.0.5:8765/"
        ).render([messages])
    )
    assert '<a href="http://10.0.0.5:8765/files/1/"' in page
    assert "&quot;&gt;&lt;script&gt;x&lt;/script&gt;.png" in page
    assert "2.0 KB" in page
    assert "evil.html" in page and "javascript:" not in page  # named, never linked
    assert "al&lt;b&gt;ice" in page
    data = json.loads(
        "".join(
            JsonExport(
                conversation, exported_by=None, exported_at=moment, base_url="http://h:1"
            ).render([messages])
        )
    )
    files = data["messages"][0]["files"]
    assert files[0]["url"] == "http://h:1/files/1/"
    assert files[0]["thumb"] == "http://h:1/files/1/thumb"
    assert files[0]["name"] == '"><script>x</script>.png'


@sync_to_async
def run_export(**options) -> None:
    call_command("export", **options)


async def test_the_management_command_writes_either_format(tmp_path):
    await world()
    target = tmp_path / "room.json"
    await run_export(room="отдел продаж", format="json", output=str(target))
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["exported_by"] is None
    assert len(data["messages"]) == 4
    page = tmp_path / "dm.html"
    await run_export(dm=["bob", "alice"], format="html", output=str(page))
    text = page.read_text(encoding="utf-8")
    assert "just between us" in text and "alice ↔ bob" in text
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(CommandError, match="no room 'nowhere'"):
        await run_export(room="nowhere", format="json", output=str(tmp_path / "x.json"))
    with pytest.raises(CommandError):
        await run_export(dm=["alice", "carol"], format="json")
    assert not (tmp_path / "x.json").exists()
