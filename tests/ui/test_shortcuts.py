"""Alt+Shift+↓ / Alt+Shift+↑: the next / previous conversation with unread messages, in the
sidebar's order (rooms by name, then direct messages), wrapping around (issue 14)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.process]


def test_next_and_previous_unread_go_each_their_own_way_and_wrap(people):
    alice, bob = people("alice"), people("bob")
    page = alice.page
    for room in ("alpha", "zulu"):
        alice.join(room)
    alice.conversation_link("general").click()
    expect(page.locator("#conv-title")).to_have_text("general")
    for room in ("alpha", "zulu"):
        bob.join(room)
        bob.say(f"news in {room}")
    bob.say("/pm alice a word in private")
    for name in ("alpha", "zulu", "bob"):
        expect(alice.conversation_link(name)).to_have_class("conv-link has-unread")
    title = page.locator("#conv-title")
    # The sidebar: alpha, general, zulu, then the DM with bob; alice is in general.

    page.keyboard.press("Alt+Shift+ArrowUp")  # back: alpha, not zulu
    expect(title).to_have_text("alpha")
    expect(alice.message("news in alpha")).to_be_visible()
    expect(alice.conversation_link("alpha")).not_to_have_class("conv-link has-unread")

    page.keyboard.press("Alt+Shift+ArrowUp")  # back from the top: wraps to the last, the DM
    expect(title).to_have_text("bob")
    expect(alice.message("a word in private")).to_be_visible()

    page.keyboard.press("Alt+Shift+ArrowDown")  # on from the end: wraps, skips the read ones
    expect(title).to_have_text("zulu")
    expect(alice.message("news in zulu")).to_be_visible()

    # Nothing unread is left: both keys stay where they are.
    for key in ("Alt+Shift+ArrowDown", "Alt+Shift+ArrowUp"):
        page.keyboard.press(key)
        expect(title).to_have_text("zulu")
    expect(page.locator("#sidebar .conv-link.has-unread")).to_have_count(0)
    alice.assert_clean()
    bob.assert_clean()
