"""The launcher's own screens, rendered from the Django templates in ``ui/templates/desktop/``.

The first-run account form, the "join a chat on this network" list, the sharing panel and the
start-up error page. Their buttons call the Python objects in ``desktop/window_api.py`` through
``window.pywebview.api``.

How they get the chat's look: pywebview loads them with ``html=`` / ``load_html`` (Qt's
``setHtml`` with an empty base URL), so a ``<link href="/static/...">`` has nothing to resolve
against. Serving them from the chat's server instead would not cover the two pages shown when
there is no server: the join window (``--join``) and the start-up error. So ``render`` reads
``app.css`` and ``launcher.css`` through ``chatserver.paths.static_dir()`` (the same files in a
frozen build) into a ``<style>``, and the icon into a ``data:`` URI. Those bundled files are the
only thing marked safe; everything else goes through Django's auto-escaping.

Django: the hosting window renders after the chat's settings are running and uses them. The
join window and an early start-up error come without them; then ``LAUNCHER_SETTINGS`` is
enough for templates and translations, and loads nothing else (no database, no secret key).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping

from chatserver import paths

# The chat's settings.LANGUAGES (tests/desktop/test_pages.py keeps them equal).
LANGUAGES = [("en", "English"), ("ru", "Русский")]
DEFAULT_LANGUAGE = "en"

LAUNCHER_SETTINGS = {
    "INSTALLED_APPS": [],
    "LOGGING_CONFIG": None,  # desktop/logs.py has set logging up already
    "USE_I18N": True,
    "LANGUAGE_CODE": DEFAULT_LANGUAGE,
    "LANGUAGES": LANGUAGES,
    "LOCALE_PATHS": [paths.locale_dir()],
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [paths.templates_dir()],
        }
    ],
}

_setup_lock = threading.Lock()


def desktop_language(
    environ: Mapping[str, str], supported: Iterable[str], default: str = DEFAULT_LANGUAGE
) -> str:
    """The language of the user's session, as gettext picks it, among ``supported`` codes.

    The locale is the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set; unset, "C"
    or "POSIX" means ``default``. ``LANGUAGE`` (a list, e.g. ``ru:en``) comes first when the
    locale is set. ``ru_RU.UTF-8`` matches ``ru``.
    """
    codes = {code.lower() for code in supported}
    locale = next((environ[n] for n in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(n)), "")
    if _language_tag(locale) in {"", "c", "posix"}:
        return default
    for entry in [*environ.get("LANGUAGE", "").split(":"), locale]:
        tag = _language_tag(entry)
        for candidate in (tag, tag.split("-")[0]):
            if candidate in codes:
                return candidate
    return default


def _language_tag(posix_locale: str) -> str:
    """``ru_RU.UTF-8@euro`` -> ``ru-ru``."""
    return posix_locale.split(".")[0].split("@")[0].replace("_", "-").strip().lower()


def language() -> str:
    """The language the launcher speaks in this session (see ``desktop_language``)."""
    from django.conf import settings

    _prepare_django()
    return desktop_language(os.environ, [code for code, _ in settings.LANGUAGES])


@contextlib.contextmanager
def activated() -> Iterator[None]:
    """While inside, ``gettext`` answers in the launcher's language (menus, window titles)."""
    from django.utils import translation

    with translation.override(language()):
        yield


def render(template: str, **context) -> str:
    """A launcher page: ``template`` with the chat's styles, in the launcher's language."""
    from django.template.loader import render_to_string

    with activated():
        return render_to_string(template, {"styles": styles(), "icon": icon(), **context})


def welcome(*, has_accounts: bool) -> str:
    """First screen: create this computer's account (or claim an existing one), or join."""
    form = None
    if not has_accounts:
        from chatserver.accounts.forms import SignupForm

        form = SignupForm(auto_id="%s")  # ids "username", "password1", "password2"
    return render("desktop/welcome.html", has_accounts=has_accounts, form=form)


def join(*, can_host: bool, servers: Iterable = (), refused: str = "") -> str:
    """The Deskchat servers found on the network (``name`` and ``url`` each); the page keeps
    the list current and choosing one opens it. ``refused``: why the last choice was not
    opened (its certificate is not the one pinned for it, desktop/pinning.py)."""
    return render("desktop/join.html", can_host=can_host, servers=list(servers), refused=refused)


def sharing() -> str:
    """The sharing panel: LAN on/off, join addresses with QR codes, who may sign up."""
    return render("desktop/sharing.html")


def error(message: str, *, log_file: str = "") -> str:
    """Start-up failed: what happened in plain words, where the details are, and Close."""
    return render("desktop/error.html", message=message, log_file=log_file)


@functools.cache
def styles() -> str:
    """The chat's stylesheet and the launcher's few additions, for a ``<style>`` element."""
    from django.utils.safestring import mark_safe

    css = paths.static_dir() / "css"
    text = "\n".join(
        (css / name).read_text(encoding="utf-8") for name in ("app.css", "launcher.css")
    )
    return mark_safe(text)  # our own bundled files, not user text


@functools.cache
def icon() -> str:
    """The app icon as a ``data:`` URI (the page has no base URL to load it from)."""
    svg = (paths.static_dir() / "img" / "icon.svg").read_bytes()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _prepare_django() -> None:
    """Templates and translations need Django's apps to be ready: the chat's, or ours."""
    from django.apps import apps

    if apps.ready:
        return
    import django
    from django.conf import settings

    with _setup_lock:
        if not settings.configured:
            settings.configure(**LAUNCHER_SETTINGS)
        django.setup(set_prefix=False)
