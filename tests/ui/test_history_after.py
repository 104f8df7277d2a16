"""From a search result far back in a busy room down to the latest, in a real browser against
the real server: scrolling down and "Go to the latest" fetch the newer pages (`history` with
`after`) and show every message once, in order, including one sent meanwhile."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.support.server import Browserless

pytestmark = [pytest.mark.browser, pytest.mark.process]

ROOM = "planning"
TARGET = "the decision we are looking for"
FILLERS = 230  # a page around the result shows 25 of them: the rest is several pages away


def filler(n: int) -> str:
    return f"filler {n:03d}"


class Seeder:
    """The user "seeder", posting in ROOM over a plain WebSocket."""

    def __init__(self, server) -> None:
        person = Browserless(server.url)
        person.signup("seeder")
        self.socket = connect(server.ws_url, additional_headers=person.ws_headers())
        self.socket.send(json.dumps({"type": "join", "room": ROOM}))
        self.sent = 0

    def post(self, bodies: list[str]) -> None:
        for body in bodies:
            self.sent += 1
            self.socket.send(
                json.dumps(
                    {"type": "send", "room": ROOM, "client_id": f"s{self.sent}", "body": body}
                )
            )
        acks = 0
        while acks < len(bodies):
            frame = json.loads(self.socket.recv(timeout=10))
            assert frame["type"] != "error", frame
            acks += frame["type"] == "ack"


def shown_bodies(page) -> list[str]:
    return page.locator("#message-list .msg-body").all_inner_texts()


def scroll_to_bottom(page) -> None:
    page.evaluate(
        "() => { const s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight; }"
    )


def test_scrolling_down_and_go_to_the_latest_load_newer_pages_in_order(people, live_server, shoot):
    seeder = Seeder(live_server)
    seeder.post(["long before", TARGET] + [filler(n) for n in range(FILLERS)])
    bob = people("bob")
    bob.join(ROOM)
    page = bob.page
    expect(bob.message(filler(FILLERS - 1))).to_be_visible()

    page.get_by_role("button", name="Search messages").click()
    page.get_by_role("searchbox", name="Search messages").fill("decision")
    results = page.locator("#search-results .search-result")
    expect(results).to_have_count(1)
    results.first.click()
    found = page.locator("#message-list .msg.found")
    expect(found.locator(".msg-body")).to_have_text(TARGET)
    banner = page.locator("#older-banner")
    expect(banner).to_be_visible()
    assert shown_bodies(page)[-1] == filler(24)  # 25 newer ones on the page around it

    # Scrolling down fetches the next pages below, in order: no reload, the result stays.
    for expected_last in (filler(74), filler(124)):
        scroll_to_bottom(page)
        expect(page.locator("#message-list .msg-body").last).to_have_text(expected_last)
        expect(banner).to_be_visible()
    assert shown_bodies(page) == ["long before", TARGET] + [filler(n) for n in range(125)]
    expect(found).to_have_count(1)  # the same list, extended: the highlight is still there
    shoot(page, "history-after-scrolled")

    # Something new is said meanwhile: it is not drawn in the gap, but is there at the end.
    seeder.post(["said while bob reads the past"])
    page.get_by_role("button", name="Go to the latest").click()
    expect(banner).to_be_hidden()
    expect(bob.message("said while bob reads the past")).to_be_in_viewport()
    # Everything from the result to the newest, once each: a reload would show only the
    # newest page (and lose the result and what is above it).
    assert shown_bodies(page) == (
        ["long before", TARGET]
        + [filler(n) for n in range(FILLERS)]
        + ["said while bob reads the past"]
    )
    shoot(page, "history-after-latest")
    # Live again: the next message is appended once, as usual.
    seeder.post(["and one more"])
    expect(bob.message("and one more")).to_have_count(1)
    assert shown_bodies(page)[-2:] == ["said while bob reads the past", "and one more"]
    seeder.socket.close()
    bob.assert_clean()


def test_sending_while_reading_a_result_goes_to_the_latest_with_nothing_missing(
    people, live_server
):
    seeder = Seeder(live_server)
    seeder.post([TARGET] + [filler(n) for n in range(120)])
    bob = people("bob")
    bob.join(ROOM)
    page = bob.page
    expect(bob.message(filler(119))).to_be_visible()
    page.get_by_role("button", name="Search messages").click()
    page.get_by_role("searchbox", name="Search messages").fill("decision")
    page.locator("#search-results .search-result").first.click()
    expect(page.locator("#older-banner")).to_be_visible()

    bob.say("my answer, sent from the past")
    expect(page.locator("#older-banner")).to_be_hidden()
    expect(bob.message("my answer, sent from the past")).to_be_in_viewport()
    assert shown_bodies(page) == (
        [TARGET] + [filler(n) for n in range(120)] + ["my answer, sent from the past"]
    )
    seeder.socket.close()
    bob.assert_clean()


def test_go_to_the_latest_from_far_back_opens_the_newest_page(people, live_server):
    """More than five pages of 100 behind: the newest page on its own, as when the room
    opens (paging through all of them would load thousands of messages into the page)."""
    seeder = Seeder(live_server)
    seeder.post([TARGET] + [filler(n) for n in range(600)])
    bob = people("bob")
    bob.join(ROOM)
    page = bob.page
    expect(bob.message(filler(599))).to_be_visible()
    page.get_by_role("button", name="Search messages").click()
    page.get_by_role("searchbox", name="Search messages").fill("decision")
    page.locator("#search-results .search-result").first.click()
    expect(page.locator("#message-list .msg.found")).to_have_count(1)

    page.get_by_role("button", name="Go to the latest").click()
    expect(page.locator("#older-banner")).to_be_hidden()
    expect(bob.message(filler(599))).to_be_in_viewport()
    shown = shown_bodies(page)
    assert shown == [filler(n) for n in range(600 - len(shown), 600)]  # in order, no gaps
    assert TARGET not in shown
    seeder.socket.close()
    bob.assert_clean()
