"""Search and export in a real browser against the real server (issue 18): a result far back
in a busy room opens there, highlighted; both export formats download and the HTML one
reads offline with nothing blocked."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.support.server import Browserless

pytestmark = [pytest.mark.browser, pytest.mark.process]

ROOM = "Отдел продаж"
DECISION = "Решение по КВАРТАЛУ: <b>переносим</b> запуск"


def _seed(server, bodies: list[str]) -> None:
    """Post ``bodies`` in ROOM as "seeder" over a plain WebSocket, one after another."""
    seeder = Browserless(server.url)
    seeder.signup("seeder")
    with connect(server.ws_url, additional_headers=seeder.ws_headers()) as socket:
        socket.send(json.dumps({"type": "join", "room": ROOM}))
        for number, body in enumerate(bodies):
            socket.send(
                json.dumps({"type": "send", "room": ROOM, "client_id": f"s{number}", "body": body})
            )
        acks = 0
        while acks < len(bodies):
            frame = json.loads(socket.recv(timeout=10))
            assert frame["type"] != "error", frame
            acks += frame["type"] == "ack"


def test_a_result_opens_its_message_among_its_neighbours(people, live_server, shoot):
    _seed(live_server, ["before the decision", DECISION] + [f"filler {i:03d}" for i in range(120)])
    bob = people("bob", locale="ru-RU")
    bob.join(ROOM)
    page = bob.page
    expect(bob.message("filler 119")).to_be_visible()
    expect(bob.message("Решение")).to_have_count(0)  # 120 messages back: not loaded

    page.get_by_role("button", name="Поиск по сообщениям").click()
    box = page.get_by_role("searchbox", name="Поиск по сообщениям")
    expect(box).to_be_focused()
    box.fill("квартал")  # lower case, and the start of the word
    results = page.locator("#search-results .search-result")
    expect(results).to_have_count(1)
    expect(results.first.locator(".search-body")).to_have_text(DECISION)  # text, not markup
    expect(results.first.locator("mark")).to_have_text("КВАРТАЛУ")
    expect(page.locator("#search-status")).to_have_text("Найдено 1 сообщение")
    shoot(page, "search-results")

    # Limited to the open conversation: the same one result (the seeder wrote nowhere else).
    scope = page.get_by_label("Только в #Отдел продаж")
    scope.check()
    expect(results).to_have_count(1)
    scope.uncheck()
    # Escape closes the dialog; Ctrl+Shift+F opens it again, on the same words.
    page.keyboard.press("Escape")
    expect(page.locator("#search")).to_be_hidden()
    page.keyboard.press("Control+Shift+F")
    expect(box).to_be_focused()
    expect(results).to_have_count(1)
    box.fill("нет такого слова")
    expect(page.locator("#search-status")).to_have_text("Ничего не найдено.")
    box.fill("КВАРТ from:seeder")
    expect(results).to_have_count(1)
    results.first.click()

    found = page.locator("#message-list .msg.found")
    expect(found).to_have_count(1)
    expect(found.locator(".msg-body")).to_have_text(DECISION)
    expect(found).to_be_in_viewport()
    expect(found).to_be_focused()
    expect(bob.message("before the decision")).to_be_visible()  # its neighbours
    banner = page.locator("#older-banner")
    expect(banner).to_contain_text("Вы читаете более ранние сообщения.")
    shoot(page, "search-opened")
    banner.get_by_role("button", name="К последним").click()
    expect(banner).to_be_hidden()
    expect(bob.message("filler 119")).to_be_visible()
    bob.assert_clean()


def test_both_exports_download_from_the_header(people, live_server, shoot, tmp_path, browser):
    _seed(live_server, ["first line", DECISION, "last line"])
    alice = people("alice")
    alice.join(ROOM)
    page = alice.page
    expect(alice.message("last line")).to_be_visible()
    menu = page.get_by_role("button", name="Export this conversation")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    shoot(page, "export-menu")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as a web page (HTML)").click()
    html_file = tmp_path / download.value.suggested_filename
    download.value.save_as(html_file)
    assert html_file.name.endswith(".html") and "Отдел-продаж" in html_file.name
    menu.click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as data (JSON)").click()
    json_file = tmp_path / download.value.suggested_filename
    download.value.save_as(json_file)
    data = json.loads(json_file.read_text(encoding="utf-8"))
    assert [m["body"] for m in data["messages"]] == ["first line", DECISION, "last line"]
    alice.assert_clean()

    # The page read offline: nothing fetched, nothing blocked, the markup in a message is text.
    offline = browser.new_context(offline=True)
    reader = offline.new_page()
    problems: list[str] = []
    reader.on("console", lambda message: problems.append(message.text))
    reader.on(
        "request",
        lambda request: None if request.url.startswith("file:") else problems.append(request.url),
    )
    reader.goto(html_file.as_uri())
    expect(reader.locator("h1")).to_have_text(f"#{ROOM}")
    expect(reader.locator(".msg .body").nth(1)).to_have_text(DECISION)
    assert reader.locator(".msg b").count() == 0
    # The style block runs under the page's own CSP (its hash): the layout applied.
    assert reader.locator("body").evaluate("el => getComputedStyle(el).maxWidth") == "800px"
    assert reader.evaluate("() => document.scripts.length") == 0
    shoot(reader, "export-html")
    offline.close()
    assert not problems, problems
