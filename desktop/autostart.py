""" "Start Deskchat when I log in", with each OS's own mechanism (off until the user asks).

- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/deskchat.desktop`` (XDG Autostart
  specification), ``~/.config`` when the variable is unset.
- Windows: the value ``Deskchat`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``
  (what the Settings app's "Startup apps" lists).
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/org.deskchat.Deskchat.plist`` with
  ``RunAtLoad`` (loaded by launchd at the next log-in; shown under Login Items).

The entry itself is the setting: nothing is stored beside it, so removing it by hand (or in
the OS's settings) is the same as switching it off here.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ENTRY_NAME = "deskchat.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Deskchat"
AGENT_LABEL = "org.deskchat.Deskchat"


def launch_command(data_dir: Path | None = None) -> list[str]:
    """How the OS starts this Deskchat: the frozen app's entry, or this Python with
    ``-m desktop``; a data folder chosen on the command line is kept."""
    entry = [frozen_entry()] if getattr(sys, "frozen", False) else [sys.executable, "-m", "desktop"]
    return [*entry, *(["--data-dir", str(data_dir)] if data_dir is not None else [])]


def frozen_entry(executable: str | None = None) -> str:
    """The frozen executable, or on Linux the launcher next to it (``deskchat`` beside
    ``deskchat-bin``, build/linux/launcher.sh), which blocks the stop signals until the app
    catches them; a log-in start should have that too."""
    program = Path(executable or sys.executable)
    launcher = program.with_name("deskchat")
    return str(launcher) if launcher != program and launcher.is_file() else str(program)


def _desktop_exec(command: Sequence[str]) -> str:
    """The Exec= value, as the Desktop Entry specification reads it back: each argument in
    double quotes with ``"`` `` ` `` ``$`` ``\\`` backslash-escaped, then the string escape
    (every backslash doubled), and ``%`` (a field code) doubled."""
    quoted = []
    for arg in command:
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        quoted.append(f'"{escaped}"')
    return " ".join(quoted).replace("\\", "\\\\").replace("%", "%%")


class Autostart:
    """The log-in entry for one platform. ``platform``, ``home``, ``environ`` and ``registry``
    (the ``winreg`` module) are parameters so that tests run every branch anywhere."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        icon: str | None = None,
        platform: str = sys.platform,
        home: Path | None = None,
        environ: Mapping[str, str] = os.environ,
        registry: Any = None,
    ) -> None:
        self.command = list(command)
        self.icon = icon
        self.platform = platform
        self.home = home or Path.home()
        self.environ = environ
        self._registry = registry

    @property
    def path(self) -> Path | None:
        """The file that is the entry (``None`` on Windows: a registry value)."""
        if self.platform == "win32":
            return None
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist"
        config = self.environ.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(config) / "autostart" / ENTRY_NAME

    def enabled(self) -> bool:
        if self.platform == "win32":
            winreg = self._winreg()
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                    winreg.QueryValueEx(key, RUN_VALUE)
            except OSError:
                return False
            return True
        path = self.path
        return path is not None and path.is_file()

    def set(self, on: bool) -> None:
        """Write or remove the entry; an ``OSError`` says why it could not."""
        if self.platform == "win32":
            self._set_windows(on)
            return
        path = self.path
        assert path is not None
        if not on:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        if self.platform == "darwin":
            tmp.write_bytes(self._launch_agent())
        else:
            tmp.write_text(self._desktop_entry(), encoding="utf-8")
        os.replace(tmp, path)

    def _desktop_entry(self) -> str:
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            "Name=Deskchat",
            "Comment=Office chat",
            f"Exec={_desktop_exec(self.command)}",
            *([f"Icon={self.icon}"] if self.icon else []),
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
        ]
        return "\n".join(lines) + "\n"

    def _launch_agent(self) -> bytes:
        return plistlib.dumps(
            {
                "Label": AGENT_LABEL,
                "ProgramArguments": self.command,
                "RunAtLoad": True,
                "ProcessType": "Interactive",
            }
        )

    def _set_windows(self, on: bool) -> None:
        winreg = self._winreg()
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            if on:
                winreg.SetValueEx(
                    key, RUN_VALUE, 0, winreg.REG_SZ, subprocess.list2cmdline(self.command)
                )
            else:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, RUN_VALUE)

    def _winreg(self) -> Any:
        if self._registry is None:
            import winreg  # Windows only

            self._registry = winreg
        return self._registry
