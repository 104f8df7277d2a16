"""What every tray shell shares, whatever the GUI toolkit: the menu and how calls reach the GUI.

A shell (``qt_shell``, ``gtk_shell``, ``winforms_shell``, ``cocoa_shell``) gives the launcher
one interface for the tray icon, its menu, a Yes/No question and the unread badge. The menu's
items, their order and what each does are decided here once (``menu_items``); a shell only
draws them with its toolkit's widgets. Toolkit objects live on the GUI thread while the
launcher calls from threads of its own (pywebview's js_api, the notifier, a tray action's
worker): ``GuiShell.call`` hands a function to the GUI thread and waits for its result.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

DESKTOP_FILE = "deskchat"  # build/linux/deskchat.desktop: the Linux badge is addressed to it


@dataclass
class TrayMenu:
    """The tray menu's labels (translated by the caller) and what each item does."""

    tooltip: str
    open_label: str
    share_label: str
    autostart_label: str
    quit_label: str
    on_open: Callable[[], None]
    on_share: Callable[[bool], None]
    on_autostart: Callable[[bool], None]
    on_quit: Callable[[], None]


@dataclass(frozen=True)
class Action:
    """A plain item: ``run`` when chosen."""

    label: str
    run: Callable[[], None]


@dataclass(frozen=True)
class Check:
    """An on/off item; ``name`` is what ``set_checks`` calls it, ``toggle`` gets the new state."""

    name: str
    label: str
    checked: bool
    toggle: Callable[[bool], None]


@dataclass(frozen=True)
class Separator:
    """A line between groups of items."""


MenuItem = Action | Check | Separator


def menu_items(menu: TrayMenu, *, sharing: bool, autostart: bool) -> list[MenuItem]:
    """The tray menu, top to bottom: open, the two switches, quit."""
    return [
        Action(menu.open_label, menu.on_open),
        Separator(),
        Check("sharing", menu.share_label, sharing, menu.on_share),
        Check("autostart", menu.autostart_label, autostart, menu.on_autostart),
        Separator(),
        Action(menu.quit_label, menu.on_quit),
    ]


class GuiShell(ABC):
    """The tray icon and badge of one launch; every public method may be called from any thread.

    Created on the GUI thread (pywebview's ``before_show`` event runs there). ``window`` is
    pywebview's window, for toolkits that address the badge to it.
    """

    def __init__(self, window: Any = None) -> None:
        self.window = window
        self._checks: dict[str, Any] = {}  # Check.name -> the toolkit's item
        self._updating = False  # set_checks is changing items: their handlers must not fire

    # --- reaching the GUI thread ----------------------------------------------------------

    def _on_gui_thread(self) -> bool:
        """Whether the caller is on the GUI thread (the main thread, unless a shell says)."""
        return threading.current_thread() is threading.main_thread()

    @abstractmethod
    def _post(self, job: Callable[[], None]) -> None:
        """Queue ``job`` to run once on the GUI thread; return at once."""

    def call(self, function: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``function`` on the GUI thread and return its result (or raise its error)."""
        if self._on_gui_thread():
            return function()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def job() -> None:
            try:
                outcome["value"] = function()
            except BaseException as exc:  # handed back to the caller's thread
                outcome["error"] = exc
            finally:
                done.set()

        self._post(job)
        if not done.wait(timeout):
            raise TimeoutError("the GUI thread did not answer")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    # --- the tray ---------------------------------------------------------------------------

    def show_tray(self, icon: str | None, menu: TrayMenu, *, sharing: bool, autostart: bool):
        """Put the icon in the tray (once); returns whether it was offered to one (whether a
        tray really shows it: ``tray_shown``)."""
        items = menu_items(menu, sharing=sharing, autostart=autostart)
        return bool(self.call(lambda: self._has_tray() or self._show_tray(icon, menu, items)))

    @abstractmethod
    def _has_tray(self) -> bool:
        """Whether ``_show_tray`` already made the icon (GUI thread)."""

    @abstractmethod
    def _show_tray(self, icon: str | None, menu: TrayMenu, items: list[MenuItem]) -> bool:
        """Make the icon with ``items`` as its menu, keeping each Check's item in
        ``self._checks``; handlers call ``self._chosen`` or ``self._toggled`` (GUI thread)."""

    def _chosen(self, action: Callable[[], None]) -> None:
        """A plain item was chosen, or the icon clicked (GUI thread)."""
        self._guarded(action)

    def _toggled(self, check: Check, on: bool) -> None:
        """A check item changed: the person's choice, unless ``set_checks`` is changing it."""
        if not self._updating:
            self._guarded(check.toggle, on)

    @staticmethod
    def _guarded(action: Callable[..., None], *args: Any) -> None:
        """Run a menu's action; its error is logged, never raised into the toolkit's loop
        (PyQt6 aborts the process on an exception in a slot, .NET shows its own dialog)."""
        try:
            action(*args)
        except Exception:
            logger.exception("the tray menu's action failed")

    @abstractmethod
    def tray_shown(self) -> bool:
        """Whether the icon is on screen in a tray now (the close button asks)."""

    def set_checks(self, *, sharing: bool | None = None, autostart: bool | None = None) -> None:
        """Make the menu's check marks say what really happened (a switch can fail)."""
        wanted = {"sharing": sharing, "autostart": autostart}

        def update() -> None:
            self._updating = True
            try:
                for name, value in wanted.items():
                    item = self._checks.get(name)
                    if value is not None and item is not None:
                        self._set_checked(item, value)
            finally:
                self._updating = False

        self.call(update)

    @abstractmethod
    def _set_checked(self, item: Any, on: bool) -> None:
        """Set a check item's mark (GUI thread)."""

    @abstractmethod
    def set_tooltip(self, text: str) -> None:
        """The text shown when the pointer rests on the icon."""

    @abstractmethod
    def show_message(self, title: str, body: str) -> None:
        """One line from the tray icon (used where no notification service answers)."""

    @abstractmethod
    def ask(self, title: str, question: str, yes: str, no: str) -> bool:
        """A Yes/No question in a small dialog of its own (the window may be hidden)."""

    # --- the badge --------------------------------------------------------------------------

    @abstractmethod
    def set_badge(self, count: int) -> None:
        """The unread count on the taskbar/Dock icon; 0 removes it."""
