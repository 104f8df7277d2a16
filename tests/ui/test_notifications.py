"""Notifications, mentions and levels in a real Chromium against the real server (issue 17).

The page's ``Notification`` is replaced before any script runs (``add_init_script``) by one
that records each construction, with permission granted (or, where a test says so, not yet
decided); what a person would be shown is what was constructed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.process]

RECORDING = """
(() => {
  const made = [];
  const asked = [];
  window.__made = made;
  window.__asked = asked;
  class RecordingNotification {
    static permission = "%(permission)s";
    static requestPermission() {
      asked.push(Date.now());
      RecordingNotification.permission = "%(answer)s";
      return Promise.resolve(RecordingNotification.permission);
    }
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.onclick = null;
      made.push(this);
    }
    close() { this.closed = true; }
  }
  window.Notification = RecordingNotification;
  window.__played = [];
  HTMLMediaElement.prototype.play = function play() {
    window.__played.push(this.src);
    return Promise.resolve();
  };
})();
"""

BRIDGE = """
(() => {
  window.__bridge = [];
  window.pywebview = { api: {
    notify: async (payload) => { window.__bridge.push(["notify", payload]); },
    set_unread: async (count) => { window.__bridge.push(["set_unread", count]); },
  } };
})();
"""


def record(person, *, permission: str = "granted", answer: str = "granted") -> None:
    """Record ``Notification`` from the next page load on, and load it again."""
    person.context.add_init_script(RECORDING % {"permission": permission, "answer": answer})
    person.page.reload()
    person.page.locator("#app[data-state=connected]").wait_for()


def made(person) -> list[dict]:
    return person.page.evaluate("() => window.__made.map((n) => ({title: n.title, body: n.body}))")


def open_conversation(person, name: str) -> None:
    person.conversation_link(name).click()
    expect(person.page.locator("#conv-title")).to_have_text(name)


def test_a_mention_elsewhere_notifies_and_a_click_opens_it(people, shoot):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.join("general")
        person.join("side")
    record(alice)
    open_conversation(alice, "side")
    open_conversation(bob, "general")

    bob.say("@alice can you look at the report?")
    bob.say("just chatting, no mention")
    alice.say("my own words stay quiet @bob")  # in #side, on alice's screen anyway
    open_conversation(alice, "side")
    # The marker: a DM (level "all" by default) notifies, and it comes after the others.
    bob.page.fill("#join-input", "@alice")
    bob.page.press("#join-input", "Enter")
    expect(bob.page.locator("#conv-title")).to_have_text("alice")
    bob.say("marker dm")
    expect(alice.conversation_link("bob")).to_be_visible()
    alice.page.wait_for_function("() => window.__made.length >= 2")
    assert made(alice) == [
        {"title": "bob in #general", "body": "@alice can you look at the report?"},
        {"title": "bob", "body": "marker dm"},
    ]
    # The title counts the unread mention and the unread DM, not the plain message.
    expect(alice.page).to_have_title("(2) #side · Deskchat")

    alice.page.evaluate("() => window.__made[0].onclick()")
    expect(alice.page.locator("#conv-title")).to_have_text("general")
    mention = alice.page.locator(".msg.mentioned", has_text="can you look at the report?")
    expect(mention).to_be_visible()
    expect(mention.locator(".mention-me")).to_have_text("@alice")
    expect(alice.page).to_have_title("(1) #general · Deskchat")
    shoot(alice.page, "mention-highlight")
    alice.assert_clean()
    bob.assert_clean()


def test_a_muted_conversation_and_the_one_on_screen_stay_quiet(people):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.join("general")
        person.join("side")
    record(alice)
    # Muted: set in one tab, the server's answer is what the select shows.
    open_conversation(alice, "side")
    alice.page.select_option("#conv-notify", "none")
    expect(alice.page.locator("#conv-notify")).to_have_value("none")
    open_conversation(alice, "general")  # and on screen, in a focused window
    expect(alice.page.locator("#conv-notify")).to_have_value("mentions")
    assert alice.page.evaluate("() => document.hasFocus()")

    open_conversation(bob, "side")
    bob.say("@alice muted room mention")
    open_conversation(bob, "general")
    bob.say("@alice on screen mention")
    expect(alice.message("on screen mention")).to_be_visible()
    bob.page.fill("#join-input", "@alice")
    bob.page.press("#join-input", "Enter")
    expect(bob.page.locator("#conv-title")).to_have_text("alice")
    bob.say("marker dm")
    alice.page.wait_for_function("() => window.__made.length >= 1")
    assert made(alice) == [{"title": "bob", "body": "marker dm"}]
    # The muted room counts in no title: only the DM does.
    expect(alice.page).to_have_title("(1) #general · Deskchat")
    expect(alice.conversation_link("side")).to_have_class("conv-link muted")
    expect(alice.conversation_link("side")).to_have_attribute(
        "aria-label", "side, 1 unread, mentioned, muted"
    )
    alice.assert_clean()


def test_do_not_disturb_silences_every_tab(people):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    record(alice)
    second = alice.context.new_page()  # a second tab of alice's, recording too
    second.goto(alice.page.url)
    second.locator("#app[data-state=connected]").wait_for()
    alice.page.click("#bell-button")
    alice.page.select_option("#status-select", "dnd")
    for page in (alice.page, second):
        expect(page.locator("#me-status-dot")).to_have_class("status-dot dnd")
        expect(page.locator("#bell-button")).to_have_attribute(
            "aria-label", "Notifications: paused (do not disturb)"
        )
    open_conversation(bob, "general")
    expect(bob.member("alice")).to_be_visible()
    bob.page.fill("#join-input", "@alice")
    bob.page.press("#join-input", "Enter")
    expect(bob.page.locator("#conv-title")).to_have_text("alice")
    bob.say("are you there?")
    for page in (alice.page, second):
        # The message arrived and was decided on (the same frame draws the sidebar entry).
        expect(page.locator(".conv-link", has_text="bob").locator(".badge")).to_have_text("1")
        assert page.evaluate("() => window.__made.length") == 0
    # bob's view of alice says so too.
    expect(bob.page.locator(".conv-link", has_text="alice").locator(".presence")).to_have_class(
        "presence on dnd"
    )
    expect(bob.conversation_link("alice")).to_have_attribute(
        "aria-label", "alice, online, Do not disturb"
    )
    alice.assert_clean()


def test_permission_is_asked_only_from_the_bell_and_a_denial_is_explained(people, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    record(alice, permission="default", answer="denied")
    expect(alice.page.locator("#bell-button")).to_have_attribute("aria-label", "Notifications: off")
    bob.say("@alice before any permission")
    expect(alice.message("before any permission")).to_be_visible()
    assert alice.page.evaluate("() => window.__asked.length") == 0  # never on load
    alice.page.click("#bell-button")
    expect(alice.page.locator("#bell-panel")).to_be_visible()
    shoot(alice.page, "bell-panel")
    assert axe_violations(alice.page) == []
    alice.page.click("#bell-enable")
    expect(alice.page.locator("#bell-state")).to_contain_text("blocks notifications")
    assert alice.page.evaluate("() => window.__asked.length") == 1
    expect(alice.page.locator("#bell-enable")).to_be_hidden()
    alice.assert_clean()


def test_permission_granted_from_the_bell_then_levels_decide(people, shoot):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.join("general")
        person.join("side")
    record(alice, permission="default", answer="granted")
    open_conversation(alice, "side")
    alice.page.click("#bell-button")
    alice.page.click("#bell-enable")
    expect(alice.page.locator("#bell-button")).to_have_attribute("aria-label", "Notifications: on")
    expect(alice.page.locator("#bell-enable")).to_be_hidden()
    alice.page.check("#sound-toggle")  # kept in the browser for the next visit
    shoot(alice.page, "bell-on")
    alice.page.keyboard.press("Escape")
    expect(alice.page.locator("#bell-panel")).to_be_hidden()
    open_conversation(bob, "general")
    bob.say("@alice now you hear me")
    alice.page.wait_for_function("() => window.__made.length >= 1")
    assert made(alice) == [{"title": "bob in #general", "body": "@alice now you hear me"}]
    played = alice.page.evaluate("() => window.__played")
    assert len(played) == 1 and played[0].endswith("/static/sound/notify.wav")
    assert alice.page.request.get(played[0]).headers["content-type"].startswith("audio/")
    alice.assert_clean()


def test_in_the_desktop_window_the_bridge_notifies_and_opens(people):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.join("general")
        person.join("side")
    alice.context.add_init_script(BRIDGE)
    record(alice)  # a Notification exists too: the bridge must be preferred
    open_conversation(alice, "side")
    open_conversation(bob, "general")
    bob.say("@alice via the launcher")
    alice.page.wait_for_function("() => window.__bridge.some(([kind]) => kind === 'notify')")
    calls = alice.page.evaluate("() => window.__bridge")
    assert [
        "notify",
        {
            "title": "bob in #general",
            "body": "@alice via the launcher",
            "conversation": {"room": "general"},
            "sound": False,
        },
    ] in calls
    assert ["set_unread", 0] in calls and ["set_unread", 1] in calls
    assert made(alice) == []
    assert alice.page.evaluate("() => window.deskchat.openConversation({room: 'general'})")
    expect(alice.page.locator("#conv-title")).to_have_text("general")
    alice.page.wait_for_function("() => window.__bridge[window.__bridge.length - 1][1] === 0")
    # A bridge that appears late (pywebview injects it after load) is told the count then.
    alice.page.evaluate("() => { window.__bridge.length = 0; }")
    alice.page.evaluate("() => window.dispatchEvent(new Event('pywebviewready'))")
    assert alice.page.evaluate("() => window.__bridge") == [["set_unread", 0]]
    # Nothing the person is not in opens.
    assert not alice.page.evaluate("() => window.deskchat.openConversation({room: 'nowhere'})")
    alice.assert_clean()


def test_the_composer_completes_mentions_from_the_members(people):
    alice, bob, carol = people("alice"), people("bob"), people("carol")
    for person in (alice, bob, carol):
        person.join("general")
    carol.page.close()  # a member who is offline is offered too
    page = alice.page
    page.fill("#composer-input", "")
    page.locator("#composer-input").press_sequentially("hi @c")
    options = page.locator("#mention-list [role=option]")
    expect(options).to_have_text(["@carol"])
    expect(page.locator("#composer-input")).to_have_attribute(
        "aria-activedescendant", "mention-option-0"
    )
    page.keyboard.press("Enter")
    expect(page.locator("#composer-input")).to_have_value("hi @carol ")
    page.locator("#composer-input").press_sequentially("and @")
    expect(options).to_have_text(["@room", "@bob", "@carol"])
    assert axe_violations(page) == []
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Tab")
    expect(page.locator("#composer-input")).to_have_value("hi @carol and @bob ")
    page.keyboard.press("Enter")
    expect(bob.page.locator(".msg.mentioned .mention-me")).to_have_text("@bob")
    # Her own copy shows whom the server found mentioned once its frame came (after the ack).
    expect(page.locator(".msg.own .mention")).to_have_text(["@carol", "@bob"])
    alice.assert_clean()
    bob.assert_clean()


def test_the_bell_speaks_russian(people, shoot):
    olga = people("olga", locale="ru-RU")
    olga.page.click("#bell-button")
    panel = olga.page.locator("#bell-panel")
    expect(panel.locator("#bell-title")).to_have_text("Уведомления и статус")
    expect(olga.page.locator("#status-select option:checked")).to_have_text("На месте")
    expect(panel.locator("#bell-state")).to_contain_text("Уведомления выключены")
    expect(olga.page.locator("#bell-button")).to_have_attribute(
        "aria-label", "Уведомления: выключены"
    )
    expect(olga.page.locator("#conv-notify option:checked")).to_have_text("Только об упоминаниях")
    shoot(olga.page, "bell-panel-ru")
    olga.assert_clean()
