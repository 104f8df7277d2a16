"""Server faults said in the page, in words, with what to do (issue 19). Made for real, as
tests/reliability does: the data folder on a small filesystem that fills up, and a database
page overwritten with garbage."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.reliability.test_corruption import corrupt_a_page
from tests.reliability.test_write_faults import fill, mounted_small_filesystem
from tests.support.server import start_live_server
from tests.ui.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.process]

DISK_FULL = (
    "The disk holding the chat's database is full: nothing new can be stored. Whoever runs "
    "Deskchat must free space on that disk; then unsent messages can be sent again."
)
DAMAGED = (
    "The chat's database is damaged: nothing can be stored. Whoever runs Deskchat should quit "
    "it and restore the last backup (deskchat restore FILE)."
)


@pytest.fixture
def small_disk(tmp_path):
    with mounted_small_filesystem(tmp_path / "small") as mount_point:
        yield mount_point


@pytest.fixture
def live_server(request, tmp_path):
    """The real server; for the full-disk test its data folder is on a small filesystem (the
    console and the log stay off it, as on a machine whose data disk filled up)."""
    if "small_disk" in request.fixturenames:
        small = request.getfixturevalue("small_disk")
        data = small / "data"
        data.mkdir()
        (tmp_path / "logs").mkdir()
        (data / "logs").symlink_to(tmp_path / "logs")
        (tmp_path / "data").symlink_to(data)
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_RATE_PER_SECOND": "0"})
    yield server
    server.stop()


@pytest.mark.server_errors(r"the disk holding the chat's database \(.*\) is full")
def test_a_full_disk_is_said_in_the_page_and_retry_sends_once_space_is_freed(
    people, live_server, small_disk, shoot
):
    alice, bob = people("alice"), people("bob")
    alice.say("before the disk filled up")
    expect(bob.message("before the disk filled up")).to_be_visible()
    database = live_server.data_dir / "deskchat.sqlite3"
    # An empty WAL: the next commit must grow it, and the disk will have no room.
    with contextlib.closing(sqlite3.connect(database)) as db:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    filler = fill(small_disk)

    alice.page.fill("#composer-input", "is the disk full?")
    alice.page.press("#composer-input", "Enter")
    # In place: the message is marked not sent, with the reason in words ...
    failed = alice.page.locator("#message-list .msg.failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("is the disk full?")
    expect(failed).to_contain_text(DISK_FULL)
    # ... and above the conversation, a notice that stays while the fault lasts.
    notice = alice.page.locator("#fault-banner")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("role", "alert")
    expect(notice).to_contain_text(DISK_FULL)
    assert axe_violations(alice.page) == []
    shoot(alice.page, "desktop-disk-full")

    filler.unlink()  # someone freed space
    failed.get_by_role("button", name="Retry").click()
    expect(
        alice.page.locator("#message-list .msg.failed, #message-list .msg.pending")
    ).to_have_count(0)
    expect(notice).to_be_hidden()
    expect(bob.message("is the disk full?")).to_have_count(1)
    alice.assert_clean()
    bob.assert_clean()


# The damage is said (CRITICAL), and whatever met it or was refused after it logs its error.
@pytest.mark.server_errors(r"is damaged|malformed|Internal Server Error")
def test_a_damaged_database_is_said_in_the_page_when_it_cannot_connect(
    people, live_server, tmp_path, shoot
):
    alice = people("alice")
    alice.say("written before the damage")
    assert live_server.stop() == 0  # a clean stop: the next start does not check the file
    corrupt_a_page(live_server.data_dir / "deskchat.sqlite3")
    server = start_live_server(live_server.data_dir, env={"DESKCHAT_RATE_PER_SECOND": "0"})

    # The session is still good (its table is intact); the socket's first read of the damaged
    # table refuses the connection with 4503, after saying why.
    alice.page.goto(server.url)
    expect(alice.page.locator("#app")).to_have_attribute("data-state", "fault")
    expect(alice.page.locator("#conn-text")).to_have_text("Server problem")
    notice = alice.page.locator("#fault-banner")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(DAMAGED)
    expect(notice).to_contain_text("This page keeps trying to connect.")
    expect(notice.get_by_role("button", name="Retry now")).to_be_visible()
    expect(alice.page.locator("#toast")).to_be_hidden()  # said once, in the notice
    assert axe_violations(alice.page) == []
    shoot(alice.page, "desktop-database-damaged")
    # Retrying meets the same fault, and says it the same way.
    notice.get_by_role("button", name="Retry now").click()
    expect(alice.page.locator("#app")).to_have_attribute("data-state", "fault")
    expect(notice).to_contain_text(DAMAGED)
    assert server.stop() == 0
    alice.assert_clean()
