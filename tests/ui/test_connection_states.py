"""What a page shows when the server refuses its WebSocket: one tab too many (4008), or a
session that ended while the page was open (4401). Real refusals from a real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.server import start_live_server
from tests.ui.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.process]

MAX_CONNECTIONS = 2


@pytest.fixture
def live_server(tmp_path):
    """The real server with room for two tabs per person."""
    server = start_live_server(
        tmp_path / "data", env={"DESKCHAT_MAX_CONNECTIONS_PER_USER": str(MAX_CONNECTIONS)}
    )
    yield server
    server.stop()


def open_tab(page: Page, url: str) -> Page:
    tab = page.context.new_page()
    tab.goto(url)
    return tab


def test_a_tab_over_the_limit_says_so_and_gets_in_once_another_closes(people, live_server, shoot):
    alice = people("alice")
    second = open_tab(alice.page, live_server.url)
    expect(second.locator("#app")).to_have_attribute("data-state", "connected")

    third = open_tab(alice.page, live_server.url)
    expect(third.locator("#app")).to_have_attribute("data-state", "refused")
    expect(third.locator("#conn-text")).to_have_text("Too many tabs")
    expect(third.locator("#conn-banner")).to_be_visible()
    expect(third.locator("#conn-banner")).to_contain_text(
        "Too many open tabs: close some and reload."
    )
    shoot(third, "desktop-too-many-tabs")

    # The tabs that got in keep working.
    alice.join("ops")
    alice.say("two tabs are enough")
    expect(second.locator("#app")).to_have_attribute("data-state", "connected")

    # Closing one lets the refused tab in (its retry waits 30 s; coming back online asks now),
    # once the server has let go of the closed one (its own record says so).
    second.close()
    live_server.wait_for_open_sockets("alice", MAX_CONNECTIONS - 1)
    third.evaluate("window.dispatchEvent(new Event('online'))")
    expect(third.locator("#app")).to_have_attribute("data-state", "connected", timeout=5_000)
    expect(third.locator("#conn-banner")).to_be_hidden()
    alice.assert_clean()


def test_retry_now_tries_at_once_instead_of_waiting_out_the_delay(people, live_server):
    alice = people("alice")
    second = open_tab(alice.page, live_server.url)
    expect(second.locator("#app")).to_have_attribute("data-state", "connected")
    third = open_tab(alice.page, live_server.url)
    expect(third.locator("#app")).to_have_attribute("data-state", "refused")
    second.close()
    # A refused tab waits 30 s by itself; "Retry now" gets it in straight away.
    retry = third.get_by_role("button", name="Retry now")
    expect(retry).to_be_visible()
    live_server.wait_for_open_sockets("alice", MAX_CONNECTIONS - 1)  # it let go of the tab
    retry.click()
    expect(third.locator("#app")).to_have_attribute("data-state", "connected", timeout=5_000)
    expect(third.locator("#conn-banner")).to_be_hidden()
    alice.assert_clean()


def test_a_page_whose_session_ended_goes_to_log_in_at_once(people, live_server, shoot):
    alice = people("alice")
    # Signed out in another tab: the server closes this session's open sockets with 4401 at
    # once (issue 16), and the page goes to log in, to come back after.
    other = open_tab(alice.page, live_server.url + "accounts/logout/")
    other.locator("form button[type=submit]").first.click()
    expect(other.locator("h1")).to_have_text("Log in")
    alice.page.wait_for_url(re.compile(r"/accounts/login/\?next=%2F%3Froom%3Dgeneral$"))
    expect(alice.page.locator("h1")).to_have_text("Log in")
    shoot(alice.page, "desktop-signed-out")
    alice.page.fill("#id_username", "alice")
    alice.page.fill("#id_password", PASSWORD)
    alice.page.locator("form button[type=submit]").first.click()
    expect(alice.page.locator("#app")).to_have_attribute("data-state", "connected")
    alice.assert_clean()
