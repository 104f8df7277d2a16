"""One order for everyone (issue 14): 120 messages sent quickly from the composer, under the
default rate limit, reach both people in typing order, and stay so after a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.server import start_live_server

pytestmark = [pytest.mark.browser, pytest.mark.process]

COUNT = 120


@pytest.fixture
def live_server(tmp_path):
    """The real server under the default rate limit (tests elsewhere raise the burst)."""
    server = start_live_server(
        tmp_path / "data",
        env={"DESKCHAT_RATE_BURST": "30", "DESKCHAT_RATE_PER_SECOND": "5"},
    )
    yield server
    server.stop()


def all_bodies(page: Page) -> list[str]:
    """Every message of the open room, scrolling up until its beginning is shown."""
    status = page.locator("#history-status")
    bodies = page.locator("#message-list .msg-body")
    for _ in range(20):
        if status.text_content().startswith("This is the beginning"):
            break
        shown = bodies.count()
        page.locator("#scroller").evaluate("(box) => { box.scrollTop = 0; }")
        # An older page arrived (more messages shown), or there is none left.
        page.wait_for_function(
            """(shown) => document.querySelectorAll("#message-list .msg-body").length > shown
                || document.getElementById("history-status").textContent
                       .startsWith("This is the beginning")""",
            arg=shown,
        )
    expect(status).to_have_text("This is the beginning of #general.")
    return page.locator("#message-list .msg-body").all_text_contents()


def test_a_burst_of_messages_keeps_typing_order_for_everyone(people, shoot):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        expect(person.page.locator("#conv-title")).to_have_text("general")
    typed = [f"line {i:03d}" for i in range(COUNT)]
    # Typed into the composer and sent with Enter, all within a few milliseconds (a pasted
    # list, or an outbox flushing after a reconnect).
    alice.page.evaluate(
        """(lines) => {
            const box = document.getElementById("composer-input");
            for (const line of lines) {
                box.value = line;
                box.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
            }
        }""",
        typed,
    )
    # The default limit (a burst of 30, then 5 a second) holds most of them back: they wait
    # in line, each marked in place as not sent yet, and go in order.
    waiting = alice.page.locator("#message-list .msg.waiting")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("Waiting to send")
    assert alice.page.locator("#message-list .msg.pending").count() > 60
    shoot(alice.page, "desktop-outbox-waiting")
    expect(alice.page.locator("#message-list .msg.pending")).to_have_count(0, timeout=90_000)
    expect(alice.page.locator("#message-list .msg.failed")).to_have_count(0)
    expect(bob.message(typed[-1])).to_be_visible()
    live = bob.page.locator("#message-list .msg-body").all_text_contents()
    assert live[-50:] == typed[-50:]

    for person in (alice, bob):
        person.page.reload()
        person.page.locator("#app[data-state=connected]").wait_for()
        expect(person.page.locator("#conv-title")).to_have_text("general")
    seen_by_alice, seen_by_bob = all_bodies(alice.page), all_bodies(bob.page)
    assert seen_by_alice == typed, "the sender sees the server's order, which is typing order"
    assert seen_by_bob == seen_by_alice
    alice.assert_clean()
    bob.assert_clean()
