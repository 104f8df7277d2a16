"""The menu-bar icon and Dock badge on pywebview's Cocoa backend (macOS), as ``qt_shell``.

Not run on macOS: written against Apple's documented AppKit API through pyobjc (which
pywebview's backend already uses), with no Mac to try it on (docs/packaging.md says so).
What does not touch macOS (the menu, the thread hand-off) is shared with the Linux shells
and tested on Linux.

- The tray icon is an ``NSStatusItem`` in the menu bar; clicking it opens its ``NSMenu``
  (the menu-bar convention), whose items call back through one small target object.
- The badge is the Dock tile's badge label (``NSApp.dockTile().setBadgeLabel_``).
- Cocoa's GUI thread is Python's main thread (pywebview runs ``NSApp.run()`` there);
  ``AppHelper.callAfter`` queues work on it.
- The menu bar has no balloon: ``show_message`` puts the line in the icon's tooltip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.tray import Action, Check, GuiShell, MenuItem, Separator, TrayMenu

ICON_POINTS = 18.0  # a menu-bar icon's height


def _appkit() -> Any:
    import AppKit
    from PyObjCTools import AppHelper

    return AppKit, AppHelper


_target_class: Any = None
_handlers: dict[str, Callable[[Any], None]] = {}  # a menu item's representedObject -> its action


def _menu_target() -> Any:
    """One instance of an Objective-C class (defined once per process, as the runtime wants)
    whose ``chosen:`` action runs the Python function a menu item names."""
    global _target_class
    AppKit, _ = _appkit()
    if _target_class is None:

        class DeskchatTrayTarget(AppKit.NSObject):
            def chosen_(self, sender: Any) -> None:
                handler = _handlers.get(str(sender.representedObject()))
                if handler is not None:
                    handler(sender)

        _target_class = DeskchatTrayTarget
    return _target_class.alloc().init()


class CocoaShell(GuiShell):
    """The menu-bar icon and Dock badge of one launch on Cocoa."""

    def __init__(self, window: Any = None) -> None:
        """Create on the main thread (pywebview's ``before_show`` event runs there)."""
        if not self._on_gui_thread():
            raise RuntimeError("CocoaShell must be created on the main thread")
        super().__init__(window)
        self._item = None
        self._menu = None
        self._target = None

    def _post(self, job: Callable[[], None]) -> None:
        _, AppHelper = _appkit()
        AppHelper.callAfter(job)

    # --- the tray ---------------------------------------------------------------------------

    def _has_tray(self) -> bool:
        return self._item is not None

    def _show_tray(self, icon: str | None, spec: TrayMenu, items: list[MenuItem]) -> bool:
        AppKit, _ = _appkit()
        target = _menu_target()
        menu = AppKit.NSMenu.alloc().init()
        menu.setAutoenablesItems_(False)  # items are always enabled; no validation needed
        for index, item in enumerate(items):
            if isinstance(item, Separator):
                menu.addItem_(AppKit.NSMenuItem.separatorItem())
                continue
            entry = AppKit.NSMenuItem.alloc().initWithTitle_action_keyEquivalent_(
                item.label, "chosen:", ""
            )
            entry.setTarget_(target)
            key = f"deskchat.tray.{index}"
            entry.setRepresentedObject_(key)
            if isinstance(item, Action):
                _handlers[key] = lambda _sender, run=item.run: self._chosen(run)
            elif isinstance(item, Check):
                entry.setState_(_state(AppKit, item.checked))
                _handlers[key] = lambda sender, check=item: self._flip(sender, check)
                self._checks[item.name] = entry
            menu.addItem_(entry)
        status = AppKit.NSStatusBar.systemStatusBar().statusItemWithLength_(
            AppKit.NSVariableStatusItemLength
        )
        button = status.button()
        image = AppKit.NSImage.alloc().initWithContentsOfFile_(icon) if icon else None
        if image is not None:
            image.setSize_((ICON_POINTS, ICON_POINTS))
            button.setImage_(image)
        else:
            button.setTitle_("Deskchat")
        button.setToolTip_(spec.tooltip)
        status.setMenu_(menu)
        # Held here: a status item that is no longer referenced leaves the menu bar.
        self._item, self._menu, self._target = status, menu, target
        return True

    def _flip(self, entry: Any, check: Check) -> None:
        """A check item was chosen: AppKit does not toggle its mark, the shell does."""
        AppKit, _ = _appkit()
        on = entry.state() != AppKit.NSControlStateValueOn
        entry.setState_(_state(AppKit, on))
        self._toggled(check, on)

    def tray_shown(self) -> bool:
        """The menu bar is always there: the icon is on screen once made."""
        return self._item is not None

    def _set_checked(self, item: Any, on: bool) -> None:
        AppKit, _ = _appkit()
        item.setState_(_state(AppKit, on))  # no action is sent: nothing to ignore

    def set_tooltip(self, text: str) -> None:
        def tooltip() -> None:
            if self._item is not None:
                self._item.button().setToolTip_(text)

        self.call(tooltip)

    def show_message(self, title: str, body: str) -> None:
        """No balloon in the menu bar: the line goes in the icon's tooltip."""
        self.set_tooltip(f"{title}\n{body}")

    def ask(self, title: str, question: str, yes: str, no: str) -> bool:
        """An ``NSAlert``, brought to the front (the window may be hidden)."""

        def run() -> bool:
            AppKit, _ = _appkit()
            AppKit.NSApplication.sharedApplication().activateIgnoringOtherApps_(True)
            alert = AppKit.NSAlert.alloc().init()
            alert.setMessageText_(title)
            alert.setInformativeText_(question)
            alert.addButtonWithTitle_(yes)
            alert.addButtonWithTitle_(no)
            return alert.runModal() == AppKit.NSAlertFirstButtonReturn

        return bool(self.call(run, timeout=24 * 3600))

    # --- the badge --------------------------------------------------------------------------

    def set_badge(self, count: int) -> None:
        """The count on the Dock icon; 0 removes it."""

        def badge() -> None:
            AppKit, _ = _appkit()
            tile = AppKit.NSApplication.sharedApplication().dockTile()
            tile.setBadgeLabel_(str(count) if count > 0 else None)

        self.call(badge)


def _state(AppKit: Any, on: bool) -> Any:
    return AppKit.NSControlStateValueOn if on else AppKit.NSControlStateValueOff
