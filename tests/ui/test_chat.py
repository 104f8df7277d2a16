"""The chat in a real browser against the real server process (issue 3's required scenarios)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.support.server import Browserless, start_live_server

pytestmark = [pytest.mark.browser, pytest.mark.process]


def test_two_people_talk_both_ways_and_see_each_other_online(people, live_server, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")

    expect(bob.page.locator("#history-status")).to_have_text("No messages yet. Say hello!")
    alice.say("Hello Bob, coffee at 11?")
    expect(bob.message("Hello Bob, coffee at 11?")).to_be_visible()
    # The first message, arriving live, replaces the empty-room hint.
    expect(bob.page.locator("#history-status")).to_have_text("This is the beginning of #general.")
    bob.say("Sure!\nSee you in the kitchen.")
    expect(alice.message("See you in the kitchen.")).to_be_visible()
    expect(alice.message("Sure!")).to_have_text("Sure!\nSee you in the kitchen.")

    # Each sees the other in the members panel (open by default on a wide screen).
    expect(alice.member("bob")).to_be_visible()
    expect(bob.member("alice")).to_be_visible()
    expect(alice.page.locator("#conv-sub")).to_have_text("2 online")

    bob.page.fill("#composer-input", "typing something long")
    expect(alice.page.locator("#typing")).to_have_text("bob is typing…")
    shoot(alice.page, "desktop-room")
    alice.assert_clean()
    bob.assert_clean()
    # Nothing comes from a CDN: every request of both pages went to this server.
    origin = live_server.url.replace("http", "ws", 1)
    for url in alice.requests + bob.requests:
        assert url.startswith((live_server.url, origin)), url


def test_the_page_is_usable_with_a_keyboard_and_a_screen_reader(people):
    alice = people("alice")
    page = alice.page
    page.get_by_label("Join or create a room").focus()
    page.keyboard.type("kitchen")
    page.keyboard.press("Enter")
    # A new room is made only when confirmed: the next Tab stop is "Create #kitchen".
    create = page.get_by_role("button", name="Create #kitchen")
    expect(create).to_be_visible()
    page.keyboard.press("Tab")
    expect(create).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    log = page.get_by_role("log", name="Messages")
    expect(log).to_have_attribute("aria-live", "polite")
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    expect(alice.message("first line")).to_have_text("first line\nsecond line")
    expect(page.get_by_role("link", name="kitchen")).to_have_attribute("aria-current", "page")
    # Focus is visible: the focused control gets an outline or a ring.
    page.get_by_role("button", name="Leave room").focus()
    outline = page.get_by_role("button", name="Leave room").evaluate(
        "el => getComputedStyle(el).outlineStyle"
    )
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="kitchen")).to_have_count(0)
    alice.assert_clean()


def test_a_direct_message_reaches_only_its_recipient_with_an_unread_badge(people, shoot):
    alice, bob, carol = people("alice"), people("bob"), people("carol")
    for person in (alice, bob, carol):
        person.join("general")

    alice.member("bob").click()
    expect(alice.page.locator("#conv-title")).to_have_text("bob")
    alice.say("Just between us: the cake is a surprise.")

    link = bob.conversation_link("alice")
    expect(link.locator(".badge")).to_have_text("1")
    expect(bob.page).to_have_title("(1) #general · Deskchat")
    expect(bob.message("the cake is a surprise")).to_have_count(0)  # bob is still in #general
    shoot(bob.page, "desktop-dm-unread")

    # Carol shares the room but must never see the DM: a later room message proves her page
    # has caught up with everything sent before it.
    alice.conversation_link("general").click()
    alice.say("Meeting moved to 3 pm.")
    expect(carol.message("Meeting moved to 3 pm.")).to_be_visible()
    expect(carol.page.get_by_text("the cake is a surprise")).to_have_count(0)
    expect(carol.page.locator("#dm-list .conv-link")).to_have_count(0)

    link.click()
    expect(bob.message("the cake is a surprise")).to_be_visible()
    expect(link.locator(".badge")).to_have_count(0)
    expect(bob.page).to_have_title("alice · Deskchat")
    bob.page.reload()  # the server remembers it was read
    expect(bob.message("the cake is a surprise")).to_be_visible()
    expect(link).to_be_visible()
    expect(link.locator(".badge")).to_have_count(0)
    expect(link).to_have_attribute("aria-label", "alice, online")

    # The tutorial's "/pm user text" typed in a room is a direct message too.
    carol.page.fill("#composer-input", "/pm bob the cake is chocolate")
    carol.page.press("#composer-input", "Enter")
    expect(carol.page.locator("#conv-title")).to_have_text("bob")
    expect(carol.message("the cake is chocolate")).to_be_visible()
    expect(bob.conversation_link("carol").locator(".badge")).to_have_text("1")
    expect(alice.page.get_by_text("the cake is chocolate")).to_have_count(0)
    expect(alice.page.locator("#dm-list .conv-link")).to_have_count(1)
    for person in (alice, bob, carol):
        person.assert_clean()


def test_markup_in_messages_and_names_is_shown_as_text(people):
    alice, bob = people("alice"), people("bob")
    room = "<i>design</i>"
    alice.join(room)
    bob.join(room)
    attack = "<img src=x onerror=alert(1)>"
    alice.say(attack)
    alice.say("see javascript:alert(2) and https://example.org/a?b=1.")

    expect(bob.message(attack)).to_have_text(attack)
    assert bob.page.locator("#message-list img, #message-list i").count() == 0
    assert bob.page.locator("#room-list i").count() == 0
    expect(bob.conversation_link(room)).to_be_visible()
    links = bob.page.locator("#message-list a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/a?b=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    alice.assert_clean()
    bob.assert_clean()  # includes: no dialog opened


def test_a_pm_to_someone_not_there_yet_stays_and_can_be_sent_once_they_are(people, live_server):
    alice = people("alice")
    alice.join("general")
    alice.page.fill("#composer-input", "/pm nobody are you there?")
    alice.page.press("#composer-input", "Enter")
    # Refused in place: the text stays in the box, nothing is added to the sidebar.
    expect(alice.page.locator("#composer-error")).to_have_text("There is no user called nobody.")
    expect(alice.page.locator("#composer-input")).to_have_value("/pm nobody are you there?")
    expect(alice.page.locator("#dm-list .conv-link")).to_have_count(0)
    # "nobody" signs up meanwhile: the same Enter now really sends it.
    nobody = Browserless(live_server.url)
    nobody.signup("nobody")
    alice.page.press("#composer-input", "Enter")
    expect(alice.page.locator("#conv-title")).to_have_text("nobody")
    expect(alice.message("are you there?")).to_be_visible()
    expect(alice.conversation_link("nobody")).to_be_visible()
    unsent = alice.page.locator("#message-list .msg.pending, #message-list .msg.failed")
    expect(unsent).to_have_count(0)
    # The server has it, once.
    with connect(live_server.ws_url, additional_headers=nobody.ws_headers()) as socket:
        socket.send(json.dumps({"type": "history", "with": "alice", "before": None, "limit": 50}))
        while (frame := json.loads(socket.recv(timeout=10)))["type"] != "history":
            assert frame["type"] != "error", frame
    assert [m["body"] for m in frame["messages"]] == ["are you there?"]
    alice.assert_clean()


class FailFirstSend:
    """Passes the page's socket through, except its first ``send``: that one never reaches
    the server and is answered as a failed write is (``server_error`` with the frame's ref)."""

    def __init__(self) -> None:
        self.sends: list[str] = []  # client_id of every send the page made

    def __call__(self, route) -> None:
        server = route.connect_to_server()

        def from_page(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "send":
                self.sends.append(frame["client_id"])
                if len(self.sends) == 1:
                    refusal = {"type": "error", "code": "server_error", "ref": frame["client_id"]}
                    route.send(json.dumps({**refusal, "detail": "The database is busy."}))
                    return
            server.send(message)

        route.on_message(from_page)


def test_a_failed_message_is_sent_by_retry(people, live_server):
    tap = FailFirstSend()
    alice = people("alice", route_socket=tap)
    alice.join("general")
    alice.page.fill("#composer-input", "is anyone there?")
    alice.page.press("#composer-input", "Enter")
    failed = alice.page.locator("#message-list .msg.failed")
    expect(failed).to_have_count(1)
    failed.get_by_role("button", name="Retry").click()
    # Retry really sends it: stored, shown as sent, under the same client_id.
    expect(
        alice.page.locator("#message-list .msg.failed, #message-list .msg.pending")
    ).to_have_count(0)
    expect(alice.message("is anyone there?")).to_be_visible()
    assert len(tap.sends) == 2 and tap.sends[0] == tap.sends[1]
    # The server has it, once.
    bob = Browserless(live_server.url)
    bob.signup("bob")
    with connect(live_server.ws_url, additional_headers=bob.ws_headers()) as socket:
        socket.send(json.dumps({"type": "join", "room": "general"}))
        while (frame := json.loads(socket.recv(timeout=10)))["type"] != "joined":
            assert frame["type"] != "error", frame
    assert [m["body"] for m in frame["messages"]] == ["is anyone there?"]
    alice.assert_clean()


def _seed(server, room: str, count: int) -> None:
    """Post ``count`` messages as "seeder" over a plain WebSocket (faster than typing)."""
    seeder = Browserless(server.url)
    seeder.signup("seeder")
    with connect(server.ws_url, additional_headers=seeder.ws_headers()) as socket:
        socket.send(json.dumps({"type": "join", "room": room}))
        for number in range(1, count + 1):
            socket.send(
                json.dumps(
                    {
                        "type": "send",
                        "room": room,
                        "client_id": f"seed-{number}",
                        "body": f"seeded message {number:03d}",
                    }
                )
            )
        acks = 0
        while acks < count:
            frame = json.loads(socket.recv(timeout=10))
            assert frame["type"] != "error", frame
            acks += frame["type"] == "ack"


def test_scrolling_up_loads_older_history_and_new_messages_show_a_marker(
    people, live_server, shoot
):
    _seed(live_server, "archive", 120)
    alice = people("alice")
    alice.join("archive")
    bodies = alice.page.locator("#message-list .msg-body")
    expect(bodies).to_have_count(50)
    expect(bodies.last).to_have_text("seeded message 120")

    for expected in (100, 120):
        alice.page.locator("#scroller").evaluate("box => box.scrollTop = 0")
        expect(bodies).to_have_count(expected)
    expect(bodies.first).to_have_text("seeded message 001")
    expect(alice.page.locator("#history-status")).to_have_text("This is the beginning of #archive.")

    # Scrolled up, a new message does not move the view: a marker offers to jump down.
    alice.page.locator("#scroller").evaluate("box => box.scrollTop = 0")
    bob = people("bob")
    bob.join("archive")
    bob.say("anyone still reading the archive?")
    expect(alice.page.locator("#jump-button")).to_have_text("1 new message")
    assert alice.page.locator("#scroller").evaluate("box => box.scrollTop") < 50
    shoot(alice.page, "desktop-history-marker")
    alice.page.locator("#jump-button").click()
    expect(alice.message("anyone still reading")).to_be_in_viewport()
    expect(alice.page.locator("#jump-button")).to_be_hidden()
    alice.assert_clean()


class SocketGate:
    """Lets a page's WebSocket through to the server, or refuses it while ``blocked``."""

    def __init__(self) -> None:
        self.blocked = False

    def __call__(self, route) -> None:
        if self.blocked:
            route.close(code=4000, reason="blocked by the test")
        else:
            route.connect_to_server()


def test_after_a_server_restart_the_page_reconnects_and_gets_what_it_missed(
    people, live_server, shoot
):
    gate = SocketGate()
    alice, bob = people("alice", route_socket=gate), people("bob")
    alice.join("ops")
    bob.join("ops")
    alice.say("before the restart")
    expect(bob.message("before the restart")).to_be_visible()

    port = live_server.port
    live_server.kill()
    for person in (alice, bob):
        expect(person.page.locator("#conn-text")).to_have_text("Reconnecting…")
        expect(person.page.locator("#conn-banner")).to_be_visible()
    shoot(alice.page, "desktop-reconnecting")

    # Alice stays cut off until bob has said something she can only get through `resume`;
    # meanwhile she writes a message that waits as pending.
    gate.blocked = True
    alice.page.fill("#composer-input", "written while the server was down")
    alice.page.press("#composer-input", "Enter")
    expect(alice.page.locator("#message-list .msg.pending")).to_have_count(1)

    restarted = start_live_server(live_server.data_dir, args=["--port", str(port)])
    try:
        bob.page.evaluate("window.dispatchEvent(new Event('online'))")  # skip the backoff
        expect(bob.page.locator("#conn-text")).to_have_text("Connected")
        bob.say("said while alice was away")
        gate.blocked = False
        alice.page.evaluate("window.dispatchEvent(new Event('online'))")  # skip the backoff
        expect(alice.page.locator("#conn-text")).to_have_text("Connected")
        expect(alice.message("said while alice was away")).to_be_visible()
        expect(alice.page.locator("#message-list .msg.pending")).to_have_count(0)
        expect(bob.message("written while the server was down")).to_be_visible()
        expect(alice.page.locator("#conn-banner")).to_be_hidden()
        assert alice.message("said while alice was away").count() == 1
        alice.assert_clean()
        bob.assert_clean()
    finally:
        restarted.stop()
