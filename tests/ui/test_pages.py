"""The pages around the chat, the Russian interface and the phone layout, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.server import Browserless
from tests.ui.conftest import DESKTOP, PASSWORD, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.process]


def test_the_russian_interface_renders_and_the_switch_changes_language(people, shoot):
    ivan = people("ivan", locale="ru-RU")
    page = ivan.page
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("#rooms-title")).to_have_text("Комнаты")
    expect(page.locator("#conn-text")).to_have_text("Подключено")
    ivan.join("общая")
    ivan.say("Привет всем! Обед в час.")
    expect(page.locator(".day-divider")).to_have_text("Сегодня")
    expect(page.locator("#composer-input")).to_have_attribute("placeholder", "Сообщение в #общая")
    expect(page.locator("#conv-sub")).to_have_text("1 в сети")
    shoot(page, "desktop-russian")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#rooms-title")).to_have_text("Rooms")
    expect(page.locator("#conv-title")).to_have_text("общая")  # ?room= kept the place
    ivan.assert_clean()


def test_sign_up_and_log_in_pages_are_translated_before_logging_in(browser, live_server, shoot):
    context = browser.new_context(locale="ru-RU", viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + "accounts/signup/")
        expect(page.locator("h1")).to_have_text("Создайте первую учётную запись")
        shoot(page, "signup-russian")
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Create the first account")
        shoot(page, "signup")
        # Nobody here yet: the chat's address leads to creating the first account...
        page.goto(live_server.url)
        expect(page).to_have_url(live_server.url + "accounts/signup/")
        expect(page.locator("h1")).to_have_text("Create the first account")
        # ...and once someone exists, to logging in.
        Browserless(live_server.url).signup("boss")
        page.goto(live_server.url)
        expect(page).to_have_url(live_server.url + "accounts/login/?next=/")
        expect(page.locator("h1")).to_have_text("Log in")
        page.fill("#id_username", "nobody")
        page.fill("#id_password", "wrong-password")
        page.locator("form button[type=submit]").first.click()
        expect(page.locator(".errors")).to_be_visible()
        shoot(page, "login-error")
        page.set_viewport_size(PHONE)
        shoot(page, "phone-login")
    finally:
        context.close()


def test_log_out_and_back_in_and_change_password(people, shoot):
    alice = people("alice")
    page = alice.page
    page.get_by_role("link", name="Change password").click()
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "an-even-better-one")
    page.fill("#id_new_password2", "an-even-better-one")
    shoot(page, "password-change")
    page.locator("form button[type=submit]").first.click()
    expect(page.locator("h1")).to_have_text("Password changed")
    page.get_by_role("link", name="Back to the chat").click()
    page.get_by_role("link", name="Log out").click()
    shoot(page, "logout")
    page.locator("form button[type=submit]").first.click()
    expect(page.locator("h1")).to_have_text("Log in")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "an-even-better-one")
    page.locator("form button[type=submit]").first.click()
    expect(page.locator("#app[data-state=connected]")).to_be_attached()
    alice.assert_clean()


def test_the_room_browser_lists_rooms_with_online_counts_and_opens_them(people, shoot):
    alice, bob = people("alice"), people("bob")
    alice.join("general")
    bob.join("general")
    alice.join("random")
    alice.join("R&D / 2026")  # a "/" cannot go in /chat/<name>/: the list links to /?room=
    page = bob.page
    page.get_by_role("link", name="Browse").click()
    row = page.locator(".room-list a", has_text="general")
    expect(row).to_contain_text("2 online")
    expect(page.locator(".room-list a", has_text="random")).to_contain_text("1 online")
    expect(page.locator(".room-list a", has_text="R&D / 2026")).to_contain_text("1 online")
    shoot(page, "room-browser")
    page.locator(".room-list a", has_text="random").click()
    expect(page.locator("#conv-title")).to_have_text("random")
    expect(bob.conversation_link("random")).to_be_visible()
    page.go_back()
    page.locator(".room-list a", has_text="R&D / 2026").click()
    expect(page.locator("#conv-title")).to_have_text("R&D / 2026")
    bob.assert_clean()


def test_the_dark_theme_follows_the_system(people, shoot):
    alice = people("alice", color_scheme="dark")
    alice.join("night shift")
    alice.say("all quiet here")
    background = alice.page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in background[4:-1].split(","))
    assert red + green + blue < 150, background
    shoot(alice.page, "desktop-dark")
    alice.assert_clean()


def test_a_phone_sized_screen_shows_one_pane_at_a_time(people, shoot):
    alice = people("alice")
    alice.join("general")
    alice.say("hello from a desktop")
    phone = people("bob", viewport=PHONE)
    page = phone.page
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("#conversation")).to_be_hidden()
    phone.join("general")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(phone.message("hello from a desktop")).to_be_visible()
    phone.say("and hello from a phone, with a fairly long line that has to wrap on a small screen")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "phone-room")

    page.locator("#members-button").click()
    expect(phone.member("alice")).to_be_visible()
    shoot(page, "phone-members")
    phone.member("alice").click()
    expect(page.locator("#conv-title")).to_have_text("alice")
    phone.say("a private hello")
    page.locator("#back-button").click()
    expect(page.locator("#sidebar")).to_be_visible()
    alice.say("are you there?")
    expect(phone.conversation_link("general").locator(".badge")).to_have_text("1")
    shoot(page, "phone-list")
    phone.assert_clean()
    alice.assert_clean()
