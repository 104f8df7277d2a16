"""The sidebar keeps the server's room names and redraws only the entry that changed (issue 13)."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.process]

# Every <li> of both lists gets a property that only this exact node carries, and an observer
# notes which entries any change touched ("list" when a list itself gained or lost children).
WATCH_SIDEBAR = """() => {
  const items = () => [...document.querySelectorAll("#room-list > li, #dm-list > li")];
  window.sidebarBefore = items();
  window.sidebarBefore.forEach((li, index) => { li.testMark = index; });
  window.sidebarTouched = new Set();
  const note = (records) => {
    for (const record of records) {
      const node = record.target.nodeType === Node.ELEMENT_NODE
        ? record.target : record.target.parentElement;
      const li = node.closest("#room-list > li, #dm-list > li");
      window.sidebarTouched.add(li ? li.querySelector(".conv-name").textContent : "list");
    }
  };
  window.sidebarObserver = new MutationObserver(note);
  for (const list of document.querySelectorAll("#room-list, #dm-list")) {
    window.sidebarObserver.observe(list, {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
  }
}"""

SIDEBAR_CHANGES = """() => {
  window.sidebarObserver.takeRecords();
  const items = [...document.querySelectorAll("#room-list > li, #dm-list > li")];
  return {
    touched: [...window.sidebarTouched].sort(),
    sameNodes: items.length === window.sidebarBefore.length
      && items.every((li, index) => li === window.sidebarBefore[index] && li.testMark === index),
  };
}"""


def test_a_room_typed_in_another_case_opens_the_existing_room_once(people, live_server):
    alice, bob = people("alice"), people("bob")
    bob.join("Straße")
    alice.join("general")
    page = alice.page

    # The server folds case ("STRASSE" and "Straße" are one room); the page opens its answer.
    page.fill("#join-input", "STRASSE")
    page.press("#join-input", "Enter")
    expect(page.locator("#conv-title")).to_have_text("Straße")
    expect(page.locator("#join-input")).to_have_value("")
    entry = alice.conversation_link("Straße")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("aria-current", "page")
    expect(page.locator("#room-list .conv-name")).to_have_text(["general", "Straße"])
    expect(alice.member("bob")).to_be_visible()

    # Asked again in yet another spelling, from another room: still the one entry.
    alice.conversation_link("general").click()
    expect(page.locator("#conv-title")).to_have_text("general")
    page.fill("#join-input", "  strasse ")
    page.press("#join-input", "Enter")
    expect(page.locator("#conv-title")).to_have_text("Straße")
    expect(page.locator("#room-list .conv-name")).to_have_text(["general", "Straße"])

    # A link with the name in any case (?room=) opens the same room, with its spelling.
    page.goto(live_server.url + "?room=STRASSE")
    expect(page.locator("#conv-title")).to_have_text("Straße")
    expect(page).to_have_url(live_server.url + "?room=Stra%C3%9Fe")
    expect(page.locator("#room-list .conv-name")).to_have_text(["general", "Straße"])

    # A name the server refuses is explained under the box, and nothing else opens.
    page.fill("#join-input", "evil\u202eroom")  # a right-to-left override: not allowed
    page.press("#join-input", "Enter")
    expect(page.locator("#join-error")).to_have_text(
        "Room names are 1 to 64 letters, digits, spaces or punctuation."
    )
    expect(page.locator("#conv-title")).to_have_text("Straße")
    expect(page.locator("#room-list .conv-link")).to_have_count(2)
    alice.assert_clean()


def test_a_message_redraws_only_its_conversations_sidebar_entry(people, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("alpha")
    alice.join("beta")
    bob.join("beta")
    page = alice.page
    page.fill("#composer-input", "/pm bob lunch at noon?")
    page.press("#composer-input", "Enter")
    expect(page.locator("#conv-title")).to_have_text("bob")
    expect(alice.message("lunch at noon?")).to_be_visible()
    expect(alice.page.locator("#message-list .msg.pending")).to_have_count(0)
    alice.conversation_link("alpha").click()
    expect(page.locator("#conv-title")).to_have_text("alpha")
    expect(alice.conversation_link("bob")).to_have_attribute("aria-label", "bob, online")

    page.evaluate(WATCH_SIDEBAR)
    bob.say("the beta build is green")
    expect(alice.conversation_link("beta").locator(".badge")).to_have_text("1")
    # The title counts mentions and DMs (issue 17): a room message mentioning nobody, not.
    expect(page).to_have_title("#alpha · Deskchat")
    changes = page.evaluate(SIDEBAR_CHANGES)
    assert changes == {"touched": ["beta"], "sameNodes": True}
    expect(alice.conversation_link("alpha")).to_have_attribute("aria-current", "page")
    expect(alice.conversation_link("alpha")).to_have_text("alpha")
    expect(alice.conversation_link("beta")).to_have_text("beta1")
    shoot(page, "desktop-sidebar-two-rooms-and-a-dm")

    # Reading it redraws that entry alone too.
    page.evaluate(WATCH_SIDEBAR)
    alice.conversation_link("beta").click()
    expect(alice.message("the beta build is green")).to_be_visible()
    expect(alice.conversation_link("beta").locator(".badge")).to_have_count(0)
    changes = page.evaluate(SIDEBAR_CHANGES)
    assert changes == {"touched": ["alpha", "beta"], "sameNodes": True}
    alice.assert_clean()
    bob.assert_clean()


class HoldJoinAnswers:
    """Passes the page's socket through; while ``holding``, keeps the server's `joined`
    frames back until :meth:`release` (a slow server, as the page sees it)."""

    def __init__(self) -> None:
        self.holding = False
        self.held: list[str] = []
        self.route = None

    def __call__(self, route) -> None:
        self.route = route
        server = route.connect_to_server()

        def from_server(message) -> None:
            if self.holding and json.loads(message).get("type") == "joined":
                self.held.append(message)
            else:
                route.send(message)

        server.on_message(from_server)
        route.on_message(server.send)

    def wait_for_held(self, page, timeout: float = 15.0) -> None:
        """Until a `joined` is held (Playwright runs the route's handlers while it waits)."""
        deadline = time.monotonic() + timeout
        while not self.held:
            assert time.monotonic() < deadline, "no join answer came to hold"
            page.wait_for_timeout(20)

    def release(self) -> None:
        self.holding = False
        for message in self.held:
            self.route.send(message)
        self.held.clear()


def test_a_name_typed_while_the_last_join_is_answered_stays_in_the_box(people):
    gate = HoldJoinAnswers()
    alice = people("alice", route_socket=gate)
    alice.join("ops")
    alice.conversation_link("general").click()
    expect(alice.page.locator("#conv-title")).to_have_text("general")

    gate.holding = True
    alice.page.fill("#join-input", "ops")
    alice.page.press("#join-input", "Enter")
    gate.wait_for_held(alice.page)
    alice.page.fill("#join-input", "")
    alice.page.keyboard.type("next-room")  # typed before the answer came
    expect(alice.page.locator("#conv-title")).to_have_text("general")
    gate.release()

    expect(alice.page.locator("#conv-title")).to_have_text("ops")
    expect(alice.page.locator("#join-input")).to_have_value("next-room")
    assert alice.page.evaluate("() => document.activeElement.id") == "join-input"
    expect(alice.page.locator("#composer-input")).to_have_value("")
    alice.page.keyboard.press("Enter")
    expect(alice.page.locator("#join-error button")).to_contain_text("#next-room")
    alice.assert_clean()
