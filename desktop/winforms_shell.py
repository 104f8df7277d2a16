"""The tray icon and taskbar badge on pywebview's WinForms backend (Windows), as ``qt_shell``.

Not run on Windows: written against the documented .NET and Win32 APIs, with no Windows
machine to try it on (docs/packaging.md says so). What does not touch Windows (the menu, the
thread hand-off, the badge's GUIDs) is shared with the Linux shells and tested on Linux.

- The tray icon is WinForms' own ``NotifyIcon`` (through pythonnet, which pywebview's
  backend has loaded), its menu a ``ContextMenuStrip``; a left click opens the window, the
  balloon (``ShowBalloonTip``) says what no notification service could.
- The badge is the taskbar button's overlay icon, ``ITaskbarList3::SetOverlayIcon``: a small
  disc with the count, drawn with System.Drawing. WinForms has no call for it (WPF's
  ``TaskbarItemInfo`` needs a WPF window), so the COM interface is called through ctypes:
  two methods at their documented vtable slots.
- pywebview runs WinForms on a .NET STA thread of its own, not on Python's main thread: a
  hidden control made on that thread tells whether a caller is on it (``InvokeRequired``)
  and queues work there (``BeginInvoke``).
"""

from __future__ import annotations

import ctypes
import logging
import uuid
from collections.abc import Callable
from typing import Any

from desktop.tray import Action, Check, GuiShell, MenuItem, Separator, TrayMenu

logger = logging.getLogger(__name__)

TOOLTIP_CHARS = 63  # NotifyIcon.Text refuses longer text on .NET Framework
BADGE_PIXELS = 16  # overlay icons are drawn at the small-icon size
BALLOON_MS = 10_000

CLSID_TASKBAR_LIST = "56FDF344-FD6D-11d0-958A-006097C9A090"
IID_ITASKBAR_LIST3 = "EA1AFB91-9E28-4B86-90E9-9E9F8A5EEFAF"
# Vtable slots (shobjidl_core.h): IUnknown 0-2, ITaskbarList 3-7 (HrInit first),
# ITaskbarList2 8, ITaskbarList3 9-20 (SetOverlayIcon the tenth).
SLOT_HR_INIT = 3
SLOT_SET_OVERLAY_ICON = 18
CLSCTX_INPROC_SERVER = 0x1


def _forms() -> Any:
    import clr

    clr.AddReference("System.Windows.Forms")
    clr.AddReference("System.Drawing")
    import System
    import System.Drawing as Drawing
    import System.Windows.Forms as WinForms

    return System, Drawing, WinForms


class GUID(ctypes.Structure):
    """A COM GUID as the Windows API lays it out."""

    _fields_ = [
        ("Data1", ctypes.c_uint32),
        ("Data2", ctypes.c_uint16),
        ("Data3", ctypes.c_uint16),
        ("Data4", ctypes.c_ubyte * 8),
    ]

    @classmethod
    def parse(cls, text: str) -> GUID:
        """From its registry form; ``bytes_le`` is the in-memory layout of a GUID."""
        return cls.from_buffer_copy(uuid.UUID(text).bytes_le)


def badge_text(count: int) -> str:
    """What fits on a 16-pixel disc."""
    return str(count) if count < 100 else "99+"


def destroy_icon(handle: int) -> None:
    """Free an HICON made by ``Bitmap.GetHicon`` (.NET does not own it)."""
    ctypes.windll.user32.DestroyIcon(ctypes.c_void_p(handle))


class TaskbarList:
    """The shell's ``ITaskbarList3``, created on the calling (an STA) thread."""

    def __init__(self) -> None:
        self._pointer = ctypes.c_void_p()
        ctypes.oledll.ole32.CoCreateInstance(
            ctypes.byref(GUID.parse(CLSID_TASKBAR_LIST)),
            None,
            CLSCTX_INPROC_SERVER,
            ctypes.byref(GUID.parse(IID_ITASKBAR_LIST3)),
            ctypes.byref(self._pointer),
        )
        self._method(SLOT_HR_INIT)(self._pointer)

    def _method(self, slot: int, *argtypes: Any) -> Any:
        """The interface's method at ``slot``; an HRESULT restype raises OSError on failure."""
        table = ctypes.cast(self._pointer, ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p)))
        prototype = ctypes.WINFUNCTYPE(ctypes.HRESULT, ctypes.c_void_p, *argtypes)
        return prototype(table.contents[slot])

    def set_overlay_icon(self, hwnd: int, icon: int | None, description: str) -> None:
        from ctypes import wintypes

        method = self._method(
            SLOT_SET_OVERLAY_ICON, wintypes.HWND, wintypes.HICON, wintypes.LPCWSTR
        )
        method(self._pointer, hwnd, icon, description)


class WinFormsShell(GuiShell):
    """The tray icon and badge of one launch on WinForms."""

    def __init__(self, window: Any = None) -> None:
        """Create on the WinForms GUI thread (pywebview's ``before_show`` event runs there)."""
        super().__init__(window)
        _, _, WinForms = _forms()
        self._marshal = WinForms.Control()
        _ = self._marshal.Handle  # made now, so the control belongs to this (the GUI) thread
        self._icon = None
        self._menu = None
        self._icon_handle = None  # the tray icon's HICON, freed with it
        self._taskbar: TaskbarList | None = None
        self._overlay = None  # the HICON on the taskbar button now
        self._count = 0  # the badge's count, shown again when the window comes back
        self._watching_visibility = False

    def _on_gui_thread(self) -> bool:
        return not self._marshal.InvokeRequired

    def _post(self, job: Callable[[], None]) -> None:
        System, _, _ = _forms()
        # The delegate type pywebview's WinForms backend hands to Invoke for the same purpose.
        self._marshal.BeginInvoke(System.Func[System.Type](job))

    # --- the tray ---------------------------------------------------------------------------

    def _has_tray(self) -> bool:
        return self._icon is not None

    def _show_tray(self, icon: str | None, spec: TrayMenu, items: list[MenuItem]) -> bool:
        _, Drawing, WinForms = _forms()
        menu = WinForms.ContextMenuStrip()
        for item in items:
            if isinstance(item, Separator):
                menu.Items.Add(WinForms.ToolStripSeparator())
            elif isinstance(item, Action):
                entry = WinForms.ToolStripMenuItem(item.label)
                entry.Click += lambda _sender, _args, run=item.run: self._chosen(run)
                menu.Items.Add(entry)
            elif isinstance(item, Check):
                entry = WinForms.ToolStripMenuItem(item.label)
                entry.CheckOnClick = True
                entry.Checked = item.checked
                entry.CheckedChanged += lambda sender, _args, check=item: self._toggled(
                    check, bool(sender.Checked)
                )
                menu.Items.Add(entry)
                self._checks[item.name] = entry
        tray = WinForms.NotifyIcon()
        tray.Icon = self._tray_icon(icon, Drawing, WinForms)
        tray.Text = spec.tooltip[:TOOLTIP_CHARS]
        tray.ContextMenuStrip = menu
        tray.MouseClick += lambda _sender, args: (
            self._chosen(spec.on_open) if args.Button == WinForms.MouseButtons.Left else None
        )
        tray.Visible = True
        # An icon not removed at exit stays in the notification area until the pointer meets it.
        WinForms.Application.ApplicationExit += lambda _sender, _args: self._remove_icon()
        self._icon, self._menu = tray, menu
        return True

    def _tray_icon(self, path: str | None, Drawing: Any, WinForms: Any) -> Any:
        """The PNG at the small-icon size, or Windows' application icon without one."""
        if not path:
            return Drawing.SystemIcons.Application
        image = Drawing.Image.FromFile(path)  # holds the file until disposed
        with_size = Drawing.Bitmap(image, WinForms.SystemInformation.SmallIconSize)
        handle = with_size.GetHicon()
        with_size.Dispose()
        image.Dispose()
        self._icon_handle = handle.ToInt64()
        return Drawing.Icon.FromHandle(handle)

    def _remove_icon(self) -> None:
        if self._icon is not None:
            self._icon.Visible = False
            self._icon.Dispose()
            self._icon = None
        if self._icon_handle:
            destroy_icon(self._icon_handle)
            self._icon_handle = None

    def tray_shown(self) -> bool:
        """Windows always has a notification area: the icon is there once made."""
        return self._icon is not None

    def _set_checked(self, item: Any, on: bool) -> None:
        item.Checked = on  # fires CheckedChanged: ``_toggled`` ignores it while set_checks runs

    def set_tooltip(self, text: str) -> None:
        def tooltip() -> None:
            if self._icon is not None:
                self._icon.Text = text[:TOOLTIP_CHARS]

        self.call(tooltip)

    def show_message(self, title: str, body: str) -> None:
        """The notification area's balloon (a toast on Windows 10 and later)."""
        _, _, WinForms = _forms()

        def balloon() -> None:
            if self._icon is not None:
                self._icon.ShowBalloonTip(BALLOON_MS, title, body, WinForms.ToolTipIcon.Info)

        self.call(balloon)

    def ask(self, title: str, question: str, yes: str, no: str) -> bool:
        """Windows' own message box: its buttons are the system's Yes and No (a MessageBox
        cannot be given other words), so the question must read as a yes/no one."""
        _, _, WinForms = _forms()

        def run() -> bool:
            answer = WinForms.MessageBox.Show(
                question,
                title,
                WinForms.MessageBoxButtons.YesNo,
                WinForms.MessageBoxIcon.Question,
                WinForms.MessageBoxDefaultButton.Button2,
            )
            return answer == WinForms.DialogResult.Yes

        return bool(self.call(run, timeout=24 * 3600))

    # --- the badge --------------------------------------------------------------------------

    def set_badge(self, count: int) -> None:
        """The count as an overlay on the main window's taskbar button; 0 removes it. A hidden
        window has no taskbar button: the count waits until the window shows again."""
        self.call(lambda: self._set_overlay(count))

    def _set_overlay(self, count: int) -> None:
        form = getattr(self.window, "native", None)  # pywebview's BrowserForm
        if form is None:
            return
        self._count = count
        if not self._watching_visibility:
            form.VisibleChanged += lambda _sender, _args: self._reapply_overlay()
            self._watching_visibility = True
        if not form.Visible:
            return
        if self._taskbar is None:
            self._taskbar = TaskbarList()
        icon = self._badge_icon(count) if count > 0 else None
        self._taskbar.set_overlay_icon(
            form.Handle.ToInt64(), icon, badge_text(count) if icon else ""
        )
        if self._overlay:
            destroy_icon(self._overlay)
        self._overlay = icon

    def _reapply_overlay(self) -> None:
        """The window shows again (a new taskbar button): the count goes back on it. Nothing
        may escape a .NET event handler, so a failure is logged."""
        try:
            self._set_overlay(self._count)
        except Exception:
            logger.warning("cannot put the badge back on the taskbar button", exc_info=True)

    @staticmethod
    def _badge_icon(count: int) -> int:
        """A red disc with the count in white, as an HICON the caller frees."""
        _, Drawing, _ = _forms()
        from System.Drawing.Drawing2D import SmoothingMode
        from System.Drawing.Imaging import PixelFormat
        from System.Drawing.Text import TextRenderingHint

        size = BADGE_PIXELS
        bitmap = Drawing.Bitmap(size, size, PixelFormat.Format32bppArgb)
        graphics = Drawing.Graphics.FromImage(bitmap)
        pixels = 9.0 if count < 10 else 7.0
        font = Drawing.Font("Segoe UI", pixels, Drawing.FontStyle.Bold, Drawing.GraphicsUnit.Pixel)
        layout = Drawing.StringFormat()
        try:
            graphics.SmoothingMode = SmoothingMode.AntiAlias
            graphics.TextRenderingHint = TextRenderingHint.AntiAliasGridFit
            graphics.FillEllipse(Drawing.Brushes.Firebrick, 0, 0, size - 1, size - 1)
            layout.Alignment = Drawing.StringAlignment.Center
            layout.LineAlignment = Drawing.StringAlignment.Center
            area = Drawing.RectangleF(0.0, 0.0, float(size), float(size))
            graphics.DrawString(badge_text(count), font, Drawing.Brushes.White, area, layout)
            return bitmap.GetHicon().ToInt64()
        finally:
            layout.Dispose()
            font.Dispose()
            graphics.Dispose()
            bitmap.Dispose()
