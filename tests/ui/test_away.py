"""Away by itself after the configured idle time, back on activity (issue 17).

A module of its own: its server runs with a two-second idle time
(``DESKCHAT_AWAY_AFTER_SECONDS``), which every page of it follows.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.server import start_live_server

pytestmark = [pytest.mark.browser, pytest.mark.process]


@pytest.fixture
def live_server(tmp_path):
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_AWAY_AFTER_SECONDS": "2"})
    yield server
    server.stop()


def test_idle_goes_away_and_activity_comes_back_but_a_chosen_status_stays(people):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    dot = bob.page.locator("#member-list button[data-user=alice] .presence")
    # Nobody touches alice's page: after the idle time she shows as away, to bob and to her.
    expect(dot).to_have_class("presence on away")
    expect(alice.page.locator("#me-status-dot")).to_have_class("status-dot away")
    expect(alice.page.locator("#me-status")).to_have_text("Away")
    # A key press in her page: available again, everywhere.
    alice.page.locator("#composer-input").press("a")
    expect(dot).to_have_class("presence on")
    expect(alice.page.locator("#me-status-dot")).to_have_class("status-dot available")
    # Chosen by hand, "do not disturb" stays through activity.
    alice.page.click("#bell-button")
    alice.page.select_option("#status-select", "dnd")
    expect(dot).to_have_class("presence on dnd")
    alice.page.keyboard.press("Escape")
    alice.page.locator("#composer-input").press("b")
    expect(alice.page.locator("#me-status-dot")).to_have_class("status-dot dnd")
    alice.assert_clean()
    bob.assert_clean()
