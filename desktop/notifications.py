"""Native desktop notifications for the chat page, through ``desktop-notifier``.

The chat page asks for them over pywebview's JS bridge (``window.pywebview.api.notify``, see
``desktop/window_api.py``, shown by ``desktop/chat_bridge.py``); a page is untrusted input, so
``parse_notify`` and ``parse_unread`` check every field's type and length before anything
reaches the OS. ``desktop-notifier``
speaks D-Bus (org.freedesktop.Notifications) on Linux and the native APIs on Windows and
macOS; on Linux it needs a running asyncio loop to hear clicks, so ``Notifier`` keeps one in
a daemon thread of its own, started with the first notification.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

APP_NAME = "Deskchat"
# A notification shows a line or two: longer text from a page is refused, not cut, so a page
# that sends a whole message learns of it (its answer says why).
MAX_TITLE = 200
MAX_BODY = 1000
# Usernames (Django: 150) and room names (chat.models.Room.name: 64) both fit.
MAX_NAME = 150
MAX_UNREAD = 1_000_000
CONVERSATION_KEYS = ("room", "with")
LINUX_SOUND = "message-new-instant"  # freedesktop Sound Naming Specification


class InvalidPayload(ValueError):
    """What the page sent cannot be shown; the message says which field and why."""


@dataclass(frozen=True)
class NotifyRequest:
    """One notification the page asked for, checked."""

    title: str
    body: str
    conversation: dict[str, str]  # exactly one of {"room": name} or {"with": username}
    sound: bool


def _text(payload: dict, key: str, limit: int, *, required: bool) -> str:
    value = payload.get(key, None if required else "")
    if not isinstance(value, str):
        raise InvalidPayload(f"{key} must be a string")
    if required and not value.strip():
        raise InvalidPayload(f"{key} must not be empty")
    if len(value) > limit:
        raise InvalidPayload(f"{key} is longer than {limit} characters")
    return value


def parse_notify(payload: Any) -> NotifyRequest:
    """``{title, body, conversation: {room: name} | {with: username}, sound: bool}``, checked."""
    if not isinstance(payload, dict):
        raise InvalidPayload("the payload must be an object")
    unknown = set(payload) - {"title", "body", "conversation", "sound"}
    if unknown:
        raise InvalidPayload(f"unknown field(s): {', '.join(sorted(map(str, unknown)))[:100]}")
    title = _text(payload, "title", MAX_TITLE, required=True)
    body = _text(payload, "body", MAX_BODY, required=False)
    conversation = payload.get("conversation")
    if not isinstance(conversation, dict) or len(conversation) != 1:
        raise InvalidPayload('conversation must be {"room": name} or {"with": username}')
    [(key, name)] = conversation.items()
    if key not in CONVERSATION_KEYS:
        raise InvalidPayload('conversation must be {"room": name} or {"with": username}')
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidPayload(f"conversation.{key} must be a name of 1 to {MAX_NAME} characters")
    sound = payload.get("sound", False)
    if not isinstance(sound, bool):
        raise InvalidPayload("sound must be true or false")
    return NotifyRequest(title=title, body=body, conversation={key: name}, sound=sound)


def parse_unread(count: Any) -> int:
    """A whole number of unread mentions and direct messages (``true`` is not a number)."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidPayload("count must be a whole number")
    if not 0 <= count <= MAX_UNREAD:
        raise InvalidPayload(f"count must be between 0 and {MAX_UNREAD}")
    return count


def window_title(base: str, unread: int) -> str:
    """``(3) Deskchat``: the count first, as browsers show it in a tab."""
    return f"({unread}) {base}" if unread else base


def in_thread(action: Callable[..., None], *args: Any) -> None:
    """Window work for a notification's click, off the notifier's event loop (a script in the
    page waits for the GUI thread, which may be showing a dialog)."""
    threading.Thread(target=action, args=args, name="notification-click", daemon=True).start()


class Notifier:
    """Shows notifications from any thread; clicks run their callback in the notifier's
    thread (the caller hands GUI work on to the GUI thread itself)."""

    def __init__(self, icon: str | None) -> None:
        self._icon = icon
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._notifier = None
        self._lock = threading.Lock()
        self._unavailable = ""  # why notifications cannot be shown, said once in the log

    def show(
        self,
        title: str,
        body: str,
        *,
        sound: bool = False,
        on_clicked: Callable[[], None] | None = None,
    ) -> Future:
        """Send one notification; the future says whether it reached the OS."""
        loop = self._start()
        return asyncio.run_coroutine_threadsafe(self._send(title, body, sound, on_clicked), loop)

    def close(self) -> None:
        """Stop the notifier's loop (its thread is a daemon: nothing waits for it at exit)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="notifications", daemon=True)
                self._thread.start()
                ready.wait(10)
                self._loop = loop
            return self._loop

    async def _send(
        self, title: str, body: str, sound: bool, on_clicked: Callable[[], None] | None
    ) -> bool:
        from desktop_notifier import DEFAULT_SOUND, DesktopNotifier, Icon, Sound

        if self._notifier is None:
            icon = Icon(path=Path(self._icon)) if self._icon else None
            self._notifier = DesktopNotifier(app_name=APP_NAME, app_icon=icon)
        try:
            # Asked first so that a missing notification service is one line in the log,
            # not the library's warning with a traceback at every message.
            await self._notifier.get_capabilities()
        except Exception as exc:
            if not self._unavailable:
                self._unavailable = str(exc) or type(exc).__name__
                logger.warning("desktop notifications are not available: %s", self._unavailable)
            return False
        # The freedesktop sound theme names a chat message's sound; elsewhere "default" is
        # the system's own notification sound.
        chime = Sound(name=LINUX_SOUND) if sys.platform.startswith("linux") else DEFAULT_SOUND
        await self._notifier.send(
            title, body, sound=chime if sound else None, on_clicked=on_clicked
        )
        return True
