"""The launcher's pages as a person reads them: language, visible text, escaping, styles."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.conf import settings

from desktop import pages
from tests.support.server import ROOT

RU = {"LANG": "ru_RU.UTF-8"}
EN = {"LANG": "en_US.UTF-8"}


class _VisibleText(HTMLParser):
    """The text a person sees: no styles, scripts or <template> contents."""

    HIDDEN = {"style", "script", "template", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.title = ""
        self._hidden: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden.append(tag)

    def handle_endtag(self, tag):
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data):
        if self._hidden == ["title"]:
            self.title += data
        elif not self._hidden:
            self.parts.append(data)


def visible(page: str) -> tuple[str, str]:
    """(title, body text with whitespace collapsed)."""
    parser = _VisibleText()
    parser.feed(page)
    return parser.title.strip(), " ".join(" ".join(parser.parts).split())


@pytest.fixture
def locale(monkeypatch):
    """Set the session's locale variables (the others cleared, as in a plain session)."""

    def use(variables: dict[str, str]) -> None:
        for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return use


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LANG": "ru_UA"}, "ru"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX", "LANGUAGE": "ru"}, "en"),  # gettext ignores LANGUAGE in the C locale
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, "ru"),
        ({"LC_ALL": "en_GB.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LANGUAGE": "de:ru:en"}, "ru"),
        ({"LANG": "ru_RU.KOI8-R@cyrillic"}, "ru"),
    ],
)
def test_desktop_language_follows_the_session_locale(environ, expected):
    assert pages.desktop_language(environ, ["en", "ru"]) == expected


def test_the_launcher_speaks_the_chats_languages():
    assert list(settings.LANGUAGES) == pages.LANGUAGES
    assert settings.LANGUAGE_CODE == pages.DEFAULT_LANGUAGE


@pytest.mark.parametrize(
    ("environ", "heading", "button", "other"),
    [
        (EN, "Create your account", "Create account", "Join a chat on this network instead"),
        (
            RU,
            "Создайте учётную запись",
            "Зарегистрироваться",
            "Присоединиться к чату в этой сети",
        ),
    ],
)
def test_first_run_page(locale, environ, heading, button, other):
    locale(environ)
    page = pages.welcome(has_accounts=False)
    title, text = visible(page)
    assert title == "Deskchat"
    assert heading in text and button in text and other in text
    assert f'<html lang="{pages.language()}">' in page
    # The chat's own sign-up fields, with the ids the page's script reads.
    for field in ("username", "password1", "password2"):
        assert f'id="{field}"' in page
    if environ is RU:
        assert "Create your account" not in text
        assert "Пароль" in text


def test_log_in_page_when_accounts_exist(locale):
    locale(RU)
    _, text = visible(pages.welcome(has_accounts=True))
    assert "Вход в этот Deskchat" in text
    assert "Имя пользователя" in text and "Пароль" in text and "Войти" in text


@pytest.mark.parametrize(
    ("environ", "heading", "looking", "back"),
    [
        (EN, "Join a chat on this network", "Looking for Deskchat servers", "Back"),
        (RU, "Чаты в этой сети", "Ищем серверы Deskchat", "Назад"),
    ],
)
def test_join_page(locale, environ, heading, looking, back):
    locale(environ)
    _, text = visible(pages.join(can_host=True))
    assert heading in text and looking in text and back in text
    assert 'id="back"' not in pages.join(can_host=False)  # nowhere to go back to


def test_a_server_name_from_the_network_is_text_not_markup(locale):
    locale(EN)
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = pages.join(can_host=False, servers=[{"name": name, "url": "http://10.0.0.7:8765/"}])
    _, text = visible(page)
    assert name in text  # shown as typed
    assert "<img src=x" not in page and '<script>alert("x")' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "Choose a chat to join:" in text and "http://10.0.0.7:8765/" in text


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        (EN, ["Share on the network", "Who may create an account", "Anyone on the network"]),
        (RU, ["Доступ по сети", "Кто может создать учётную запись", "Любой в сети"]),
    ],
)
def test_sharing_panel(locale, environ, words):
    locale(environ)
    title, text = visible(pages.sharing())
    assert title == ("Deskchat — Sharing" if environ is EN else "Deskchat — доступ по сети")
    for word in words:
        assert word in text


@pytest.mark.parametrize(
    ("environ", "heading", "details", "close"),
    [
        (EN, "Deskchat could not start", "Details are in the log file:", "Close"),
        (RU, "Deskchat не удалось запустить", "Подробности в файле журнала:", "Закрыть"),
    ],
)
def test_error_page(locale, environ, heading, details, close):
    locale(environ)
    message = "cannot listen on 127.0.0.1:8000 <script>alert(1)</script> & more"
    page = pages.error(message, log_file="/home/a&b/<logs>/deskchat.log")
    title, text = visible(page)
    assert title == heading
    assert heading in text and details in text and close in text
    assert message in text and "/home/a&b/<logs>/deskchat.log" in text
    assert "<script>alert(1)" not in page and "<logs>" not in page


def test_pages_carry_the_chats_styles_inline():
    """No base URL under html=: the chat's stylesheet and launcher.css are in the page."""
    page = pages.error("x")
    app_css = (ROOT / "ui" / "static" / "css" / "app.css").read_text(encoding="utf-8")
    launcher_css = (ROOT / "ui" / "static" / "css" / "launcher.css").read_text(encoding="utf-8")
    assert app_css in page and launcher_css in page
    assert "<link" not in page and "/static/" not in page
    assert 'class="page-form launcher"' in page and 'class="card' in page
    assert 'src="data:image/svg+xml;base64,' in page


def test_pages_render_without_the_chats_settings():
    """The join window and early start-up errors come before (or without) the chat's Django:
    the pages still render, translated, and the chat's settings are never imported."""
    script = (
        "import json, sys\n"
        "from desktop import pages\n"
        "page = pages.error('no <server>')\n"
        "print(json.dumps({'page': page, 'join': pages.join(can_host=False),\n"
        "    'chat_settings': 'chatserver.settings' in sys.modules}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "ru_RU.UTF-8",
        "DJANGO_SETTINGS_MODULE": "chatserver.settings",  # as desktop.bootstrap sets it
        "DESKCHAT_DATA_DIR": "/nonexistent/deskchat",  # the chat's settings would fail here
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert not result["chat_settings"]
    _, text = visible(result["page"])
    assert "Deskchat не удалось запустить" in text and "no <server>" in text
    assert "Ищем серверы Deskchat" in visible(result["join"])[1]
