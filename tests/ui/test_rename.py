"""Renaming the install's general room from the page (issue 14): the administrator renames
it, every member's page follows at once (title, sidebar, address, draft, history), a name
that is taken is refused in words, and a link to the old name opens the room. The dialog
passes axe in the dark theme too, and messages sent as the rename happens (before, racing
it, from a page that has not heard of it yet) reach everyone once, in order."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.process]

ALL_IMPACTS = ("minor", "moderate", "serious", "critical")
# Enter in the composer without waiting for anything: the outbox puts the frame on the wire
# before this returns, so the next step races it.
PRESS_ENTER = """() => document.getElementById("composer-input")
    .dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}))"""


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


def test_the_rename_dialog_in_dark_mode_passes_axe(people, shoot):
    """The dialog in the dark theme: open, refused in words, all without an axe finding."""
    admin = people("admin", color_scheme="dark")
    admin.join("sales")
    admin.conversation_link("general").click()
    page = admin.page
    assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
    page.get_by_role("button", name="Rename room").click()
    dialog = page.get_by_role("dialog", name="Rename room")
    expect(dialog).to_be_visible()
    box = dialog.get_by_label("New name for #general")
    expect(box).to_have_value("general")
    # The dark theme really applies to the dialog (not the light one's white box).
    background = dialog.evaluate("(box) => getComputedStyle(box).backgroundColor")
    assert _luminance(background) < 0.2, background
    assert axe_violations(page, impacts=ALL_IMPACTS) == []
    shoot(page, "desktop-rename-dark")
    # The counter near the limit and a refusal, in the same theme.
    box.fill("x" * 60)
    expect(page.locator("#rename-count")).to_have_text("60 / 64")
    assert axe_violations(page, impacts=ALL_IMPACTS) == []
    box.fill("Sales")
    box.press("Enter")
    expect(dialog.get_by_role("alert")).to_have_text("There is already a room called #sales.")
    assert axe_violations(page, impacts=ALL_IMPACTS) == []
    shoot(page, "desktop-rename-refused-dark")
    admin.assert_clean()


def _luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of an ``rgb(...)``/``rgba(...)`` colour."""
    channels = [float(c) / 255 for c in re.findall(r"[\d.]+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


class LateRename:
    """A page's socket on which the rename comes late, as over a slow link: from the moment
    the server sends ``renamed``, it and every frame after it are held back until the server
    has answered a ``send`` the page made meanwhile (so that send names the room as the page
    still knows it, after the server renamed it). Everything else passes through."""

    def __init__(self) -> None:
        self.held: list[str] | None = None  # frames from the server held back, in order
        self.released = False
        self.sent_while_held: set[str] = set()  # client_ids
        self.sends: list[tuple[str, str | None]] = []  # (client_id, room) of every send

    def __call__(self, route) -> None:
        server = route.connect_to_server()

        def from_page(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "send":
                self.sends.append((frame["client_id"], frame.get("room")))
                if self.held is not None:
                    self.sent_while_held.add(frame["client_id"])
            server.send(message)

        def from_server(message) -> None:
            frame = json.loads(message)
            if self.held is None and not self.released and frame.get("type") == "renamed":
                self.held = []
            if self.held is None:
                route.send(message)
                return
            self.held.append(message)
            answered = {frame.get("client_id"), frame.get("ref")} & self.sent_while_held
            if frame.get("type") in ("ack", "error") and answered:
                held, self.held, self.released = self.held, None, True
                for late in held:
                    route.send(late)

        route.on_message(from_page)
        server.on_message(from_server)

    def wait_until_holding(self, page) -> None:
        """Until the server has sent the rename on this socket (and it is held back)."""
        deadline = time.monotonic() + 15
        while self.held is None:
            assert time.monotonic() < deadline, "the rename never reached this socket"
            page.wait_for_timeout(20)  # lets Playwright deliver the socket's frames


def test_messages_sent_as_the_room_is_renamed_reach_everyone_once_in_order(people, shoot):
    """Around an administrator's rename: carol sends just before it is confirmed, dave right
    after (which the server takes first is up to the race: dave's page still names the room
    as it was either way), and bob once the server has renamed it but before his page heard
    of it (his frame names the old room, for sure). Every message reaches every member,
    once, in order, under the new name, and stays so after a reload."""
    late = LateRename()
    admin, bob = people("admin"), people("bob", route_socket=late)
    carol, dave = people("carol"), people("dave")
    everyone = (admin, bob, carol, dave)
    admin.say("before anything")
    for person in everyone:
        expect(person.page.locator("#conv-title")).to_have_text("general")
        expect(person.message("before anything")).to_be_visible()

    admin.page.get_by_role("button", name="Rename room").click()
    box = admin.page.get_by_role("dialog", name="Rename room").get_by_label("New name for #general")
    box.fill("Lobby")
    carol.page.fill("#composer-input", "carol, just before the rename")
    dave.page.fill("#composer-input", "dave, as the rename is confirmed")
    # Each leaves without waiting for an answer, so they race at the server.
    carol.page.evaluate(PRESS_ENTER)
    box.evaluate("(box) => box.form.requestSubmit()")
    dave.page.evaluate(PRESS_ENTER)

    expect(admin.page.locator("#conv-title")).to_have_text("Lobby")
    late.wait_until_holding(bob.page)
    # bob's page has not heard yet: what he sends names the room as it was.
    expect(bob.page.locator("#conv-title")).to_have_text("general")
    bob.page.fill("#composer-input", "bob, before his page heard of it")
    bob.page.press("#composer-input", "Enter")
    expect(bob.page.locator("#conv-title")).to_have_text("Lobby")
    assert late.sends[-1][1] == "general", late.sends
    carol.say("carol, after it all")

    said = [
        "before anything",
        "carol, just before the rename",
        "dave, as the rename is confirmed",
        "bob, before his page heard of it",
        "carol, after it all",
    ]
    bodies = {}
    for person in everyone:
        page = person.page
        expect(page.locator("#message-list .msg-body")).to_have_count(len(said))
        unsent = page.locator("#message-list .msg.pending, #message-list .msg.failed")
        expect(unsent).to_have_count(0)
        bodies[person.name] = page.locator("#message-list .msg-body").all_text_contents()
        expect(page.locator("#conv-title")).to_have_text("Lobby")
        expect(page.locator("#room-list .conv-name")).to_have_text(["Lobby"])
    shoot(bob.page, "desktop-rename-race-bob")
    assert bodies == {person.name: said for person in everyone}

    for person in everyone:
        person.page.reload()
        person.page.locator("#app[data-state=connected]").wait_for()
        expect(person.page.locator("#conv-title")).to_have_text("Lobby")
        expect(person.page.locator("#message-list .msg-body")).to_have_text(said)
        expect(person.page.locator("#room-list .conv-name")).to_have_text(["Lobby"])
    shoot(dave.page, "desktop-rename-race-reloaded")
    for person in everyone:
        person.assert_clean()
