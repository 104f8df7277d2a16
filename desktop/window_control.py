"""What the window answers on its control socket (``desktop/control.py``): a second launch asks
it to show itself, and tests (``DESKCHAT_TEST_PROBE``) read and drive its pages.

The socket's address and secret are published where later launches look (instance.json when
hosting, join.json for a window that only joins). The test commands exist only when the probe
is asked for in the environment; a person's launch answers ``raise`` and ``close`` alone.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from desktop.control import ControlServer

if TYPE_CHECKING:
    from desktop.window import DesktopApp

logger = logging.getLogger(__name__)

PROBE_ENV = "DESKCHAT_TEST_PROBE"

# What tests read from the page (DESKCHAT_TEST_PROBE=1): the title, who is signed in and the
# connection's state (the chat page carries both on #app), the address, and the visible
# text. Run with ``run_js``, not ``evaluate_js``: the latter wraps the script in eval(),
# which the chat's CSP forbids.
PROBE_JS = """JSON.stringify({
  title: document.title,
  url: location.href.slice(0, 200),
  user: (document.querySelector('#app') || {dataset: {}}).dataset.user || null,
  state: (document.querySelector('#app') || {dataset: {}}).dataset.state || null,
  text: (document.body ? document.body.innerText : '').slice(0, 20000)
})"""


class WindowControl:
    """The control socket's commands for one launch's windows."""

    def __init__(self, app: DesktopApp, publish: Callable[..., None] | None) -> None:
        self._app = app
        self._publish = publish  # where the socket is announced
        # "1": the test commands; a file name: also each loaded page's probe, appended there.
        self._probe_file = os.environ.get(PROBE_ENV, "")
        self.server: ControlServer | None = None

    def start(self) -> None:
        """Listen, and tell later launches (and tests) where."""
        handlers: dict[str, Callable[[dict], dict]] = {
            "raise": self._raise,
            "close": self._close,
        }
        if self._probe_file:
            handlers["probe"] = self._probe
            handlers["eval"] = self._eval
            handlers["sharing"] = self._sharing
        self.server = ControlServer(handlers).start()
        if self._publish is not None:
            self._publish(**self.server.published())

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def _raise(self, request: dict) -> dict:
        logger.info("another launch asked to show the window")
        self._app.show_window()
        return {}

    def _close(self, request: dict) -> dict:
        threading.Timer(0.05, self._app.window.destroy).start()
        return {}

    def _target(self, request: dict):
        return self._app.sharing_window if request.get("window") == "sharing" else self._app.window

    def _probe(self, request: dict) -> dict:
        return {"page": json.loads(self._target(request).run_js(PROBE_JS))}

    def _eval(self, request: dict) -> dict:
        return {"result": self._target(request).run_js(str(request.get("script", "")))}

    def _sharing(self, request: dict) -> dict:
        if request.get("hide") and self._app.sharing_window is not None:
            self._app.sharing_window.hide()
        else:
            self._app.show_sharing()
        return {}

    def on_loaded(self) -> None:
        """With a probe file (``DESKCHAT_TEST_PROBE=path``), each page the main window loads
        is appended there as one JSON line (pywebview's ``loaded``)."""
        if not self._probe_file or self._probe_file == "1":
            return
        try:
            page = json.loads(self._app.window.run_js(PROBE_JS))
        except Exception as exc:
            page = {"error": str(exc)}
        with open(self._probe_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(page) + "\n")
