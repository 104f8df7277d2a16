"""Renaming the install's general room from the page (issue 14): the administrator renames
it, every member's page follows at once (title, sidebar, address, draft, history), a name
that is taken is refused in words, and a link to the old name opens the room."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.process]


def test_the_administrator_renames_general_and_everyone_follows_at_once(people, live_server, shoot):
    admin, bob = people("admin"), people("bob")  # the first account is the administrator
    admin.say("said before the rename")
    expect(bob.message("said before the rename")).to_be_visible()
    bob.page.fill("#composer-input", "a draft bob keeps")
    # Only an administrator gets the button.
    expect(bob.page.locator("#rename-button")).to_be_hidden()
    expect(bob.page.locator("#rename-button")).to_have_count(1)
    admin.join("sales")
    admin.conversation_link("general").click()

    page = admin.page
    page.get_by_role("button", name="Rename room").click()
    dialog = page.get_by_role("dialog", name="Rename room")
    expect(dialog).to_be_visible()
    box = dialog.get_by_label("New name for #general")
    expect(box).to_have_value("general")
    assert axe_violations(page) == []
    # A name another room has is refused in words, and nothing changes.
    box.fill("Sales")
    box.press("Enter")
    expect(dialog.get_by_role("alert")).to_have_text("There is already a room called #sales.")
    expect(dialog).to_be_visible()
    shoot(page, "desktop-rename-refused")
    box.fill("Lobby")
    box.press("Enter")
    expect(dialog).to_be_hidden()

    for person in (admin, bob):
        expect(person.page.locator("#conv-title")).to_have_text("Lobby")
        expect(person.page.locator("#room-list .conv-name")).to_have_text(
            ["Lobby", "sales"] if person is admin else ["Lobby"]
        )
        expect(person.page.locator("#toast")).to_contain_text("#general is now called #Lobby.")
        expect(person.page).to_have_url(re.compile(r"/\?room=Lobby$"))
        expect(person.message("said before the rename")).to_be_visible()
        expect(person.page.locator("#history-status")).to_have_text(
            "This is the beginning of #Lobby."
        )
        expect(person.page).to_have_title(re.compile(r"#Lobby · Deskchat$"))
    shoot(bob.page, "desktop-room-renamed")
    expect(bob.page.locator("#composer-input")).to_have_value("a draft bob keeps")
    expect(bob.page.locator("#composer-input")).to_have_attribute("placeholder", "Message #Lobby")
    admin.say("said after the rename")
    expect(bob.message("said after the rename")).to_be_visible()
    expect(bob.page.locator("#room-list .conv-name")).to_have_text(["Lobby"])

    # A link to the old name says where the room went and opens it; nothing is created.
    bob.page.goto(live_server.url + "?room=general")
    expect(bob.page.locator("#conv-title")).to_have_text("Lobby")
    expect(bob.page.locator("#toast")).to_contain_text("#general is now called #Lobby.")
    expect(bob.page.locator("#room-list .conv-name")).to_have_text(["Lobby"])
    expect(bob.message("said after the rename")).to_be_visible()
    # So does the join box.
    admin.page.fill("#join-input", "general")
    admin.page.press("#join-input", "Enter")
    expect(admin.page.locator("#conv-title")).to_have_text("Lobby")
    expect(admin.page.locator("#room-list .conv-name")).to_have_text(["Lobby", "sales"])
    admin.assert_clean()
    bob.assert_clean()
