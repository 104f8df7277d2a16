"""A chat people can trust (issue 14): drafts stay where they were typed, nothing appears that
does not exist, presence agrees with itself, limits are said in words, reconnection is quick,
and a fresh install leads the first person in."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.support.server import Browserless, start_live_server
from tests.ui.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.process]


def test_a_fresh_install_leads_to_the_first_account_and_a_general_room(browser, live_server):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(live_server.url)
    expect(page.locator("h1")).to_have_text("Create the first account")
    page.fill("#id_username", "first")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    # Straight into the room everybody starts in, not an empty workspace.
    expect(page.locator("#conv-title")).to_have_text("general")
    expect(page.locator("#room-list .conv-name")).to_have_text(["general"])
    context.close()


def test_each_conversation_keeps_its_own_draft(people):
    alice = people("alice")
    alice.join("ops")
    page = alice.page
    page.fill("#composer-input", "for ops only")
    alice.conversation_link("general").click()
    expect(page.locator("#conv-title")).to_have_text("general")
    expect(page.locator("#composer-input")).to_have_value("")
    page.fill("#composer-input", "for general")
    alice.conversation_link("ops").click()
    expect(page.locator("#composer-input")).to_have_value("for ops only")
    page.reload()
    page.locator("#app[data-state=connected]").wait_for()
    expect(page.locator("#conv-title")).to_have_text("ops")
    expect(page.locator("#composer-input")).to_have_value("for ops only")
    alice.conversation_link("general").click()
    expect(page.locator("#composer-input")).to_have_value("for general")
    alice.assert_clean()


def test_no_ghost_conversations_or_rooms(people, live_server, shoot):
    alice, bob = people("alice"), people("bob")
    page = alice.page
    rooms = page.locator("#room-list .conv-name")
    dms = page.locator("#dm-list .conv-name")

    # /pm to nobody: an error where it was typed, the text kept, nothing added.
    page.fill("#composer-input", "/pm nobody hi there")
    page.press("#composer-input", "Enter")
    expect(page.locator("#composer-error")).to_have_text("There is no user called nobody.")
    expect(page.locator("#composer-input")).to_have_value("/pm nobody hi there")
    expect(page.locator("#conv-title")).to_have_text("general")
    expect(dms).to_have_count(0)
    shoot(page, "desktop-pm-unknown-user")

    # "@nobody" in the join box: the same.
    page.fill("#join-input", "@nobody")
    page.press("#join-input", "Enter")
    expect(page.locator("#join-error")).to_have_text("There is no user called nobody.")
    expect(dms).to_have_count(0)

    # /pm to someone real works and opens the DM.
    page.fill("#composer-input", "/pm bob lunch?")
    page.press("#composer-input", "Enter")
    expect(page.locator("#conv-title")).to_have_text("bob")
    expect(alice.message("lunch?")).to_be_visible()
    expect(dms).to_have_text(["bob"])
    expect(bob.page.locator("#dm-list .conv-name")).to_have_text(["alice"])

    # A typo in the join box asks first; nothing is created until confirmed.
    page.fill("#join-input", "genral")
    page.press("#join-input", "Enter")
    expect(page.locator("#join-error")).to_contain_text("There is no room called #genral.")
    expect(page.locator("#join-error button")).to_have_text("Create #genral")
    shoot(page, "desktop-create-room-question")
    expect(rooms).to_have_text(["general"])
    bob.page.goto(live_server.url + "chat/")
    expect(bob.page.locator(".room-list .room-name")).to_have_text(["general"])
    page.locator("#join-error button").click()
    expect(page.locator("#conv-title")).to_have_text("genral")
    expect(rooms).to_have_text(["general", "genral"])

    # A link to a missing room says so, and creates nothing.
    bob.page.goto(live_server.url + "?room=nowhere")
    expect(bob.page.locator("#welcome-note")).to_contain_text("There is no room called #nowhere.")
    expect(bob.page.locator("#room-list .conv-name")).to_have_text(["general"])
    shoot(bob.page, "desktop-missing-room-link")
    bob.page.goto(live_server.url + "?dm=nobody")
    expect(bob.page.locator("#welcome-note")).to_have_text("There is no user called nobody.")
    expect(bob.page.locator("#dm-list .conv-name")).to_have_text(["alice"])

    # Leaving offers undo.
    page.locator("#leave-button").click()
    expect(rooms).to_have_text(["general"])
    toast = page.locator("#toast")
    expect(toast).to_contain_text("You left #genral.")
    toast.get_by_role("button", name="Undo").click()
    expect(rooms).to_have_text(["general", "genral"])
    expect(page.locator("#conv-title")).to_have_text("genral")
    alice.assert_clean()
    bob.assert_clean()


class RealSocket:
    """bob's presence driven from outside the page: a real WebSocket of his, opened and
    closed at will (a native client, another device)."""

    def __init__(self, server, browser: Browserless) -> None:
        from websockets.sync.client import connect

        self.socket = connect(server.ws_url, additional_headers=browser.ws_headers())
        self.until("conversations")

    def until(self, kind: str) -> dict:
        while True:
            frame = json.loads(self.socket.recv(timeout=15))
            assert frame["type"] != "error", frame
            if frame["type"] == kind:
                return frame

    def close(self) -> None:
        self.socket.close()


def test_presence_is_one_truth_in_header_sidebar_and_members(people, live_server):
    """Each view must follow bob live, both ways. The `conversations` frame's `online` for a
    DM and a room's `presence` list are snapshots; only `user_presence` follows him. A view
    that read another source than the sidebar's dot would stay behind on one transition."""
    alice = people("alice")
    bob = Browserless(live_server.url)
    bob.signup("bob")
    socket = RealSocket(live_server, bob)
    socket.socket.send(
        json.dumps({"type": "send", "to": "alice", "body": "ping from bob", "client_id": "b1"})
    )
    socket.until("ack")
    socket.close()
    page = alice.page
    header, dot = page.locator("#conv-sub"), page.locator("#dm-list .presence")
    members = page.locator("#member-list button[data-user]")

    # Offline to start with, as the page learnt it when it loaded.
    page.reload()
    page.locator("#app[data-state=connected]").wait_for()
    expect(dot).to_have_class("presence off")
    alice.conversation_link("bob").click()
    expect(alice.message("ping from bob")).to_be_visible()
    expect(header).to_have_text("Direct message · offline")

    # In the DM: the header and the dot follow him online and offline again, live.
    socket = RealSocket(live_server, bob)
    expect(header).to_have_text("Direct message · online")
    expect(dot).to_have_class("presence on")
    socket.close()
    expect(header).to_have_text("Direct message · offline")
    expect(dot).to_have_class("presence off")

    # In a room: the member list and the dot, live, both ways.
    alice.conversation_link("general").click()
    expect(page.locator("#conv-title")).to_have_text("general")
    expect(members).to_have_count(0)
    socket = RealSocket(live_server, bob)
    expect(members).to_have_count(1)
    expect(alice.member("bob")).to_be_visible()
    expect(page.locator("#conv-sub")).to_have_text("2 online")
    expect(dot).to_have_class("presence on")
    socket.close()
    expect(members).to_have_count(0)
    expect(page.locator("#conv-sub")).to_have_text("1 online")
    expect(dot).to_have_class("presence off")
    alice.assert_clean()


def test_limits_are_counted_and_refused_in_words_never_cut(people, shoot):
    alice = people("alice")
    page = alice.page
    count = page.locator("#composer-count")
    page.fill("#composer-input", "x" * 3000)
    expect(count).to_be_hidden()
    page.fill("#composer-input", "x" * 3990)
    expect(count).to_have_text("3990 / 4000")
    page.fill("#composer-input", "y" * 4001)
    expect(page.locator("#composer-input")).to_have_value("y" * 4001)  # nothing cut off
    expect(count).to_have_text("4001 / 4000: 1 too many")
    page.press("#composer-input", "Enter")
    expect(page.locator("#composer-error")).to_have_text(
        "This message is 1 character over the limit of 4000. Shorten it or send it in parts."
    )
    expect(page.locator("#composer-input")).to_have_value("y" * 4001)
    expect(page.locator("#message-list .msg.own")).to_have_count(0)
    shoot(page, "desktop-message-too-long")
    page.press("#composer-input", "Backspace")
    expect(page.locator("#composer-error")).to_have_text("")

    long_name = "r" * 65
    page.fill("#join-input", long_name)
    expect(page.locator("#join-input")).to_have_value(long_name)
    expect(page.locator("#join-count")).to_have_text("65 / 64")
    page.press("#join-input", "Enter")
    expect(page.locator("#join-error")).to_have_text(
        "Room names are 1 to 64 letters, digits, spaces or punctuation."
    )
    expect(page.locator("#room-list .conv-name")).to_have_text(["general"])
    alice.assert_clean()


def test_the_page_is_back_within_about_a_second_of_the_server(people, live_server):
    alice = people("alice")
    port = live_server.port
    live_server.kill()
    expect(alice.page.locator("#conn-banner")).to_be_visible()
    expect(alice.page.get_by_role("button", name="Retry now")).to_be_visible()
    time.sleep(8)  # long enough for a growing backoff to have reached many seconds
    restarted = start_live_server(live_server.data_dir, args=["--port", str(port)])
    try:
        answering = time.monotonic()
        expect(alice.page.locator("#app")).to_have_attribute("data-state", "connected")
        took = time.monotonic() - answering
        assert took < 2.5, f"back {took:.1f} s after the server answered"
        alice.say("still here")
        alice.assert_clean()
    finally:
        restarted.stop()
