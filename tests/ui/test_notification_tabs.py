"""One notification per message across a person's tabs of one browser (issue 17).

Tabs of one Playwright context share what tabs of one browser profile share: Web Locks,
BroadcastChannel, storage. Each tab's ``Notification`` is replaced before any script runs by
one that records each construction (with its tag) in that tab, permission granted.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.process]

RECORDING = """
(() => {
  const made = [];
  window.__made = made;
  class RecordingNotification {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.tag = options.tag;
      this.onclick = null;
      made.push(this);
    }
    close() { this.closed = true; }
  }
  window.Notification = RecordingNotification;
})();
"""

# The notifying tab has the lock and nobody else is waiting for it: the tab that is left after
# the others closed has taken over (read through the Web Locks API itself, not the page's code).
TOOK_OVER = """async () => {
  const {held, pending} = await navigator.locks.query();
  const mine = (lock) => lock.name.startsWith("deskchat.notifier.");
  return held.some(mine) && !pending.some(mine);
}"""


def made(page: Page) -> list[dict]:
    return page.evaluate(
        "() => window.__made.map((n) => ({title: n.title, body: n.body, tag: n.tag}))"
    )


def tabs_of(person, conversation: str) -> tuple[Page, Page]:
    """``person``'s page, recording, and a second tab of the same browser, both on
    ``conversation``."""
    person.context.add_init_script(RECORDING)
    person.page.reload()
    person.page.locator("#app[data-state=connected]").wait_for()
    second = person.context.new_page()
    second.on("pageerror", lambda error: person.problems.append(f"second tab: {error}"))
    second.goto(person.page.url)
    second.locator("#app[data-state=connected]").wait_for()
    for page in (person.page, second):
        show(page, conversation)
    return person.page, second


def show(page: Page, name: str) -> None:
    page.locator(".conv-link", has=page.locator(".conv-name", has_text=name)).click()
    expect(page.locator("#conv-title")).to_have_text(name)


def open_dm(person, other: str) -> None:
    person.page.fill("#join-input", f"@{other}")
    person.page.press("#join-input", "Enter")
    expect(person.page.locator("#conv-title")).to_have_text(other)


def unread_badge(page: Page, name: str):
    link = page.locator(".conv-link", has=page.locator(".conv-name", has_text=name))
    return link.locator(".badge")


def test_two_tabs_make_one_notification_and_the_other_takes_over_when_it_closes(people):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.join("general")
    first, second = tabs_of(alice, "general")
    open_dm(bob, "alice")
    bob.say("one")
    bob.say("two")
    # Both tabs have the messages (their sidebars count them) and one of them was told.
    for page in (first, second):
        expect(unread_badge(page, "bob")).to_have_text("2")
    first.wait_for_function("() => window.__made.length >= 2")
    assert [n["body"] for n in made(first)] == ["one", "two"]
    assert made(second) == []  # the tab opened later waits for the lock
    tags = [n["tag"] for n in made(first)]
    assert len(set(tags)) == 2 and all(tag.startswith("deskchat-message-") for tag in tags)

    # A click shows that conversation in the tab that showed the notification.
    first.evaluate("() => window.__made[0].onclick()")
    expect(first.locator("#conv-title")).to_have_text("bob")

    # The notifying tab closes: the other one takes over and tells of the next message.
    first.close()
    second.wait_for_function(TOOK_OVER)
    bob.say("three")
    second.wait_for_function("() => window.__made.length >= 1")
    assert [n["body"] for n in made(second)] == ["three"]
    alice.assert_clean()
    bob.assert_clean()


def test_a_tab_focused_on_the_conversation_silences_the_other_tab_while_it_lives(people):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.join("general")
        person.join("side")
    first, second = tabs_of(alice, "side")  # the first tab notifies; it shows #side
    show(second, "general")
    assert second.evaluate("() => document.hasFocus() && document.visibilityState") == "visible"

    show(bob.page, "general")
    bob.say("@alice on the other tab's screen")
    expect(second.locator("#message-list .msg-body", has_text="on the other tab")).to_be_visible()
    # The second tab moves on: its room is no longer on screen anywhere.
    show(second, "side")
    bob.say("@alice now nobody shows general")
    # The marker: a DM after both, notified (level "all"), so the decisions before it are made.
    open_dm(bob, "alice")
    bob.say("marker dm")
    first.wait_for_function("() => window.__made.length >= 2")
    assert [n["body"] for n in made(first)] == ["@alice now nobody shows general", "marker dm"]
    assert made(second) == []

    # A tab that went without a word (crashed) and last said it showed #general: it holds no
    # lock any more, so it silences nothing.
    second.evaluate(
        """() => new BroadcastChannel("deskchat.tabs.alice").postMessage(
            {kind: "state", id: "gone-without-a-word", key: "r:general", shown: true})"""
    )
    show(bob.page, "general")
    bob.say("@alice the gone tab does not count")
    first.wait_for_function("() => window.__made.length >= 3")
    assert made(first)[2]["body"] == "@alice the gone tab does not count"
    alice.assert_clean()
    bob.assert_clean()
