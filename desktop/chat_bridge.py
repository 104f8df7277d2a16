"""What the chat page's two bridge calls do (docs/protocol.md, "The desktop window's bridge").

``notify`` shows a native notification (``desktop/notifications.py``) whose click brings the
window back on that conversation; ``set_unread`` puts the count of unread mentions and direct
messages in the window title and on the taskbar/Dock badge and the tray's tooltip. The calls'
arguments were checked as input from a page before they get here (``desktop/window_api.py``).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING

from desktop import notifications

if TYPE_CHECKING:
    from desktop.window import DesktopApp

logger = logging.getLogger(__name__)


class ChatBridge:
    """The launcher's side of the chat page's ``notify`` and ``set_unread``."""

    def __init__(self, app: DesktopApp) -> None:
        self._app = app

    def notify(self, request: notifications.NotifyRequest) -> Future:
        """Show it; the future says whether the OS took it."""
        conversation = dict(request.conversation)
        return self._app.notifier.show(
            request.title,
            request.body,
            sound=request.sound,
            on_clicked=lambda: notifications.in_thread(self.open_conversation, conversation),
        )

    def open_conversation(self, conversation: dict[str, str]) -> None:
        """A notification was clicked: the window, on that conversation."""
        app = self._app
        if not app.chat_open or app.window is None:
            return
        app.show_window()
        # A JSON literal is a JavaScript literal; run_js, not evaluate_js (the CSP forbids eval).
        target = json.dumps(conversation)
        app.window.run_js(
            "window.deskchat && window.deskchat.openConversation"
            f" && window.deskchat.openConversation({target})"
        )

    def set_unread(self, count: int) -> None:
        title = notifications.window_title(self._app.title, count)
        self._app.window.set_title(title)
        shell = self._app.tray.shell
        if shell is not None:
            try:
                shell.set_badge(count)
                shell.set_tooltip(title)
            except Exception:
                logger.warning("cannot set the taskbar badge", exc_info=True)
