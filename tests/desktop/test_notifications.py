"""desktop/notifications.py: what a page may ask for, and the notifier on a real session bus."""

from __future__ import annotations

import logging
import time

import pytest

from desktop import notifications
from desktop.notifications import InvalidPayload, Notifier, parse_notify, parse_unread
from tests.desktop.session_bus import NotificationRecorder, start_session_bus

VALID = {"title": "bob", "body": "hi @alice", "conversation": {"room": "general"}, "sound": True}


def test_a_valid_payload_is_kept_as_sent():
    request = parse_notify(VALID)
    assert request.title == "bob" and request.body == "hi @alice"
    assert request.conversation == {"room": "general"} and request.sound is True
    dm = parse_notify({"title": "bob", "conversation": {"with": "bob"}})
    assert dm.body == "" and dm.sound is False and dm.conversation == {"with": "bob"}
    # Text is text: markup is shown as typed by the OS, never interpreted here.
    assert parse_notify({**VALID, "body": "<b>x</b>"}).body == "<b>x</b>"


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("not an object", "the payload must be an object"),
        (None, "the payload must be an object"),
        ([VALID], "the payload must be an object"),
        ({**VALID, "extra": 1}, "unknown field(s): extra"),
        ({**VALID, "title": 42}, "title must be a string"),
        ({**VALID, "title": "  "}, "title must not be empty"),
        ({**VALID, "title": "t" * 201}, "title is longer than 200 characters"),
        ({**VALID, "body": ["x"]}, "body must be a string"),
        ({**VALID, "body": "b" * 1001}, "body is longer than 1000 characters"),
        ({k: v for k, v in VALID.items() if k != "title"}, "title must be a string"),
        ({**VALID, "conversation": "general"}, "conversation must be"),
        ({**VALID, "conversation": {}}, "conversation must be"),
        ({**VALID, "conversation": {"room": "a", "with": "b"}}, "conversation must be"),
        ({**VALID, "conversation": {"evil": "x"}}, "conversation must be"),
        ({**VALID, "conversation": {"room": 7}}, "conversation.room must be a name"),
        ({**VALID, "conversation": {"with": ""}}, "conversation.with must be a name"),
        ({**VALID, "conversation": {"with": "u" * 151}}, "conversation.with must be a name"),
        ({**VALID, "sound": "yes"}, "sound must be true or false"),
        ({**VALID, "sound": 1}, "sound must be true or false"),
    ],
)
def test_bad_payloads_are_refused_with_the_reason(payload, error):
    with pytest.raises(InvalidPayload) as refused:
        parse_notify(payload)
    assert str(refused.value).startswith(error)


def test_limits_are_inclusive():
    request = parse_notify(
        {**VALID, "title": "t" * 200, "body": "b" * 1000, "conversation": {"with": "u" * 150}}
    )
    assert len(request.title) == 200 and len(request.body) == 1000


@pytest.mark.parametrize("count", [0, 1, 99, notifications.MAX_UNREAD])
def test_unread_counts(count):
    assert parse_unread(count) == count


@pytest.mark.parametrize("count", [True, False, -1, 1.5, "3", None, notifications.MAX_UNREAD + 1])
def test_bad_unread_counts(count):
    with pytest.raises(InvalidPayload):
        parse_unread(count)


def test_window_title_shows_the_count_first():
    assert notifications.window_title("Deskchat", 0) == "Deskchat"
    assert notifications.window_title("Deskchat", 12) == "(12) Deskchat"


@pytest.fixture
def bus(monkeypatch):
    process, address = start_session_bus()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    process.terminate()
    process.wait(10)


def test_notifier_shows_and_hears_the_click(bus, tmp_path):
    icon = tmp_path / "icon.png"
    icon.write_bytes(b"\x89PNG\r\n\x1a\n")
    recorder = NotificationRecorder(bus)
    notifier = Notifier(str(icon))
    clicked = []
    try:
        assert notifier.show("bob", "hi", sound=True, on_clicked=lambda: clicked.append(1)).result(
            20
        )
        shown = recorder.wait_for(lambda s: s.summary == "bob")
        assert (shown.app_name, shown.body, shown.app_icon) == ("Deskchat", "hi", icon.as_uri())
        assert shown.hints["sound-name"] == notifications.LINUX_SOUND
        assert notifier.show("quiet", "no sound").result(20)
        assert "sound-name" not in recorder.wait_for(lambda s: s.summary == "quiet").hints
        recorder.click(shown)
        deadline = time.monotonic() + 20
        while not clicked and time.monotonic() < deadline:
            time.sleep(0.05)
        assert clicked == [1]
    finally:
        notifier.close()
        recorder.close()


def test_without_a_notification_service_it_says_so_once(bus, caplog):
    notifier = Notifier(None)
    try:
        with caplog.at_level(logging.WARNING, logger="desktop.notifications"):
            assert notifier.show("a", "b").result(30) is False
            assert notifier.show("c", "d").result(30) is False
    finally:
        notifier.close()
    said = [r.getMessage() for r in caplog.records if r.name == "desktop.notifications"]
    assert len(said) == 1 and said[0].startswith("desktop notifications are not available")
