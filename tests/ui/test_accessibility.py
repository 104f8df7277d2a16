"""Accessible to everyone (issue 14): axe-core finds nothing serious on any page, in light and
dark, wide and phone-sized; a skip link; text direction per message; keyboard shortcuts; and
Russian that fits as well as English."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import DESKTOP, PHONE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.process]


def check(page: Page, where: str, found: dict[str, list[str]]) -> None:
    problems = axe_violations(page)
    if problems:
        found[where] = problems


@pytest.mark.parametrize(
    ("scheme", "viewport"),
    [("light", DESKTOP), ("dark", DESKTOP), ("light", PHONE), ("dark", PHONE)],
    ids=["light", "dark", "phone-light", "phone-dark"],
)
def test_axe_finds_nothing_serious_on_any_page(browser, people, live_server, scheme, viewport):
    bob = people("bob")  # the other person, on a desktop: only alice's pages are checked
    alice = people("alice", color_scheme=scheme, viewport=viewport)
    base = live_server.url
    found: dict[str, list[str]] = {}
    page = alice.page
    phone = viewport is PHONE
    if phone:
        page.goto(base)  # the list of conversations
        page.locator("#app[data-state=connected]").wait_for()
        check(page, "chat list", found)

    page.goto(base + "?room=general")
    expect(page.locator("#conv-title")).to_have_text("general")
    bob.say("مرحبا بالجميع")  # a right-to-left message, and someone to see online
    expect(alice.message("مرحبا بالجميع")).to_be_visible()
    check(page, "room", found)

    page.goto(base + "?dm=bob")
    expect(page.locator("#conv-title")).to_have_text("bob")
    alice.say("hi bob")
    check(page, "dm", found)

    page.keyboard.press("Control+k")
    expect(page.locator("#switcher")).to_be_visible()
    check(page, "switcher", found)
    page.keyboard.press("Escape")

    for path, where in [("chat/", "room browser"), ("accounts/password/", "password")]:
        page.goto(base + path)
        check(page, where, found)

    anonymous = browser.new_context(color_scheme=scheme, viewport=viewport)
    other = anonymous.new_page()
    for path, where in [("accounts/login/", "log in"), ("accounts/signup/", "sign up")]:
        other.goto(base + path)
        check(other, where, found)
    anonymous.close()
    assert not found, found


def test_skip_link_text_direction_and_shortcuts(people):
    alice, bob = people("alice"), people("bob")
    alice.join("ops")
    bob.join("ops")
    page = alice.page

    # The skip link is the first stop of the Tab order, and it moves past the sidebar.
    first = "() => document.querySelector('a[href], button, input, textarea, [tabindex]')"
    assert page.evaluate(first + ".className") == "skip-link"
    page.locator(".sidebar .brand").focus()
    page.keyboard.press("Shift+Tab")
    skip = page.get_by_role("link", name="Skip to the conversation")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#conversation")).to_be_focused()

    # Each message's direction follows its own text.
    bob.say("שלום לכולם")
    bob.say("hello everyone")
    expect(alice.message("שלום לכולם")).to_have_attribute("dir", "auto")
    direction = "(node) => getComputedStyle(node).direction"
    assert alice.message("שלום לכולם").evaluate(direction) == "rtl"
    assert alice.message("hello everyone").evaluate(direction) == "ltr"

    # Ctrl+K: the quick switcher.
    page.keyboard.press("Control+k")
    switcher = page.locator("#switcher")
    expect(switcher).to_be_visible()
    expect(page.locator("#switcher-input")).to_be_focused()
    page.keyboard.type("gen")
    expect(page.locator("#switcher-list [role=option]")).to_have_text(["general"])
    page.keyboard.press("Enter")
    expect(switcher).to_be_hidden()
    expect(page.locator("#conv-title")).to_have_text("general")

    # Alt+Shift+↓: the next conversation with something unread.
    bob.say("news in ops")
    expect(alice.conversation_link("ops")).to_have_class("conv-link has-unread")
    page.keyboard.press("Alt+Shift+ArrowDown")
    expect(page.locator("#conv-title")).to_have_text("ops")
    expect(alice.message("news in ops")).to_be_visible()
    alice.assert_clean()
    bob.assert_clean()


OVERFLOWING = """() => {
    const bad = [];
    const selector = "button, a, label, h1, h2, .section-title, .conn, .composer-hint, .empty-hint";
    for (const node of document.querySelectorAll(selector)) {
        const skipped = ".conv-name, .me-name, .room-name, .visually-hidden";
        if (!node.offsetParent || node.closest(skipped)) continue;
        if (node.scrollWidth > node.clientWidth + 1) bad.push(node.outerHTML.slice(0, 120));
    }
    // The placeholder of the join box, measured in the input's own font.
    const input = document.querySelector("#join-input");
    const canvas = document.createElement("canvas").getContext("2d");
    const style = getComputedStyle(input);
    canvas.font = `${style.fontSize} ${style.fontFamily}`;
    if (canvas.measureText(input.placeholder).width > input.clientWidth) bad.push("placeholder");
    return bad;
}"""


def test_russian_fits_and_says_join_and_log_out_differently(people, shoot):
    ivan = people("ivan", locale="ru-RU")
    page = ivan.page
    page.locator("button[name=language][value=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.locator("#app[data-state=connected]").wait_for()
    expect(page.locator("#join-input")).to_have_attribute("placeholder", "Комната или @имя")
    join = page.locator("#join-form button[type=submit]")
    expect(join).to_have_attribute("aria-label", "Присоединиться")
    log_out = page.locator(".foot-actions a[href$='/accounts/logout/']")
    expect(log_out).to_have_attribute("aria-label", "Выйти из аккаунта")
    assert page.evaluate(OVERFLOWING) == []
    shoot(page, "desktop-russian-room")
    page.set_viewport_size(PHONE)
    page.keyboard.press("Escape")  # the members panel, now over the conversation
    page.locator("#back-button").click()
    expect(page.locator("#sidebar")).to_be_visible()
    assert page.evaluate(OVERFLOWING) == []
    shoot(page, "phone-russian-list")
    ivan.assert_clean()


def test_password_page_heading_and_language_buttons_name_what_they_show(people):
    alice = people("alice")
    page = alice.page
    page.goto(page.url.split("?")[0] + "accounts/password/")
    expect(page.locator("h1")).to_have_text("Change password")
    english = page.locator("button[name=language][value=en]")
    expect(english).to_have_accessible_name("EN (English)")
