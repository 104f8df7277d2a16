"""What a page in the window may ask of the launcher: pywebview's ``js_api`` objects.

Each is offered to every page the window loads (pywebview injects its bridge everywhere), so
each call checks that the page is still ours (``active``) or a chat page (``chat_open``), and
treats its arguments as input from a page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from desktop import notifications, pages, pywebview_internals

if TYPE_CHECKING:
    from desktop.window import DesktopApp

logger = logging.getLogger(__name__)

NOTIFY_WAIT = 10.0  # seconds a page's notify() waits for the OS to take the notification


class _Api:
    """Base for objects exposed to a page; ``active`` turns them off once the page is not ours
    (the bridge is injected into every page the window loads, including other servers')."""

    def __init__(self) -> None:
        self.active = True

    def __dir__(self) -> list[str]:
        # pywebview offers the page what dir() lists: nothing, once the page is not ours,
        # but the chat page's own calls while the window shows a chat.
        return pywebview_internals.api_names(
            super().__dir__(), exposed=self.active, still=self._chat_calls()
        )

    def _chat_calls(self) -> tuple[str, ...]:
        return ()

    def ping(self) -> bool:
        return self.active


class MainApi(_Api):
    """What the first-run and join screens may ask of the launcher."""

    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self._app = app

    def create_account(self, username: str, password1: str, password2: str) -> dict:
        with pages.activated():  # the form's messages in the page's language
            if not self.active or self._app.host is None:
                return {"__all__": [_("Not available here.")]}
            errors = self._app.host.account.create_owner(
                str(username), str(password1), str(password2)
            )
        if not errors:
            pywebview_internals.after_answer(self._app.open_chat)
        return errors

    def adopt_account(self, username: str, password: str) -> dict:
        with pages.activated():
            if not self.active or self._app.host is None:
                return {"__all__": [_("Not available here.")]}
            errors = self._app.host.account.adopt_owner(str(username), str(password))
        if not errors:
            pywebview_internals.after_answer(self._app.open_chat)
        return errors

    def show_join(self) -> None:
        if self.active:
            pywebview_internals.after_answer(self._app.show_join)

    def show_welcome(self) -> None:
        if self.active and self._app.host is not None:
            pywebview_internals.after_answer(self._app.show_welcome)

    def servers(self) -> list[dict]:
        if not self.active:
            return []
        return [{"name": f.name, "url": f.url} for f in self._app.servers()]

    def open_server(self, url: str) -> None:
        """Only an address that discovery actually found may be opened."""
        found = next((f for f in self._app.servers() if f.url == url), None)
        if self.active and found is not None:
            pywebview_internals.after_answer(lambda: self._app.open_remote(found))

    # The chat page's calls (ui/static/js/notify.js): checked like any input from a page.

    def _chat_calls(self) -> tuple[str, ...]:
        return ("notify", "set_unread") if self._app is not None and self._app.chat_open else ()

    def notify(self, payload: Any) -> dict:
        """A native notification: ``{title, body, conversation: {room} | {with}, sound}``."""
        if not self._app.chat_open:
            return {"ok": False, "error": "not a chat page"}
        try:
            request = notifications.parse_notify(payload)
        except notifications.InvalidPayload as error:
            logger.warning("notification refused: %s", error)
            return {"ok": False, "error": str(error)}
        # Answered once the OS has it (or could not take it), so the page knows which.
        try:
            shown = self._app.chat_bridge.notify(request).result(NOTIFY_WAIT)
        except Exception as error:
            logger.warning("notification not shown: %s", error)
            shown = False
        return {"ok": True} if shown else {"ok": False, "error": "notifications unavailable"}

    def set_unread(self, count: Any) -> dict:
        """Unread mentions and direct messages: the window title and the taskbar badge."""
        if not self._app.chat_open:
            return {"ok": False, "error": "not a chat page"}
        try:
            unread = notifications.parse_unread(count)
        except notifications.InvalidPayload as error:
            logger.warning("unread count refused: %s", error)
            return {"ok": False, "error": str(error)}
        self._app.chat_bridge.set_unread(unread)
        return {"ok": True}


class SharingApi(_Api):
    """The sharing panel's actions; its window never loads anything but our page."""

    def __init__(self, app: DesktopApp) -> None:
        super().__init__()
        self._app = app

    def status(self) -> dict:
        return self._app.sharing_status()

    def set_lan(self, on: bool) -> dict:
        self._app.set_lan(bool(on))
        return self._app.sharing_status()

    def set_signup(self, policy: str, new_code: bool = False) -> dict:
        self._app.host.sharing.set_signup(str(policy), new_code=bool(new_code))
        return self._app.sharing_status()

    def set_autostart(self, on: bool) -> dict:
        self._app.set_autostart(bool(on))
        return self._app.sharing_status()


class ErrorApi(_Api):
    def __init__(self) -> None:
        super().__init__()
        # Private: pywebview walks an API object's public attributes to build the page's
        # ``pywebview.api``, and walking a window reaches GTK objects it cannot read (it logs
        # an error for each).
        self._window = None

    def close(self) -> None:
        if self._window is not None:
            self._window.destroy()
