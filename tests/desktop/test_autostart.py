"""desktop/autostart.py: the log-in entry on each OS, written and removed."""

from __future__ import annotations

import plistlib
import re
import subprocess
import sys
from pathlib import Path

from desktop import autostart
from desktop.autostart import Autostart, frozen_entry, launch_command

COMMAND = ["/opt/Desk chat/deskchat", "--data-dir", '/home/a "b"/$HOME/100%']


def exec_args(value: str) -> list[str]:
    """An Exec= value read as the Desktop Entry specification says: the string escapes
    first, then the quoting (a backslash in quotes escapes the next character), then ``%%``."""
    unescaped = re.sub(
        r"\\(.)",
        lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)),
        value,
    )
    args, current, quoted, escape, started = [], "", False, False, False
    for char in unescaped:
        if escape:
            current, escape = current + char, False
        elif quoted and char == "\\":
            escape = True
        elif char == '"':
            quoted, started = not quoted, True
        elif char == " " and not quoted:
            if started or current:
                args.append(current)
            current, started = "", False
        else:
            current += char
    if started or current:
        args.append(current)
    return [a.replace("%%", "%") for a in args]


def test_launch_command_from_source_keeps_the_data_folder(tmp_path):
    assert launch_command(tmp_path) == [
        sys.executable,
        "-m",
        "desktop",
        "--data-dir",
        str(tmp_path),
    ]
    assert launch_command(None) == [sys.executable, "-m", "desktop"]


def test_xdg_entry_written_and_removed(tmp_path):
    entry = Autostart(
        COMMAND,
        icon="/icons/deskchat.png",
        platform="linux",
        home=tmp_path,
        environ={"XDG_CONFIG_HOME": str(tmp_path / "cfg")},
    )
    assert entry.path == tmp_path / "cfg" / "autostart" / "deskchat.desktop"
    assert not entry.enabled()
    entry.set(True)
    assert entry.enabled()
    text = entry.path.read_text()
    lines = dict(line.split("=", 1) for line in text.splitlines()[1:])
    assert text.startswith("[Desktop Entry]\n")
    assert lines["Type"] == "Application" and lines["Name"] == "Deskchat"
    assert lines["Icon"] == "/icons/deskchat.png"
    # Quoted and escaped as the Desktop Entry specification asks: read back, the same command.
    assert exec_args(lines["Exec"]) == COMMAND
    entry.set(True)  # again: still one entry
    assert [p.name for p in entry.path.parent.iterdir()] == ["deskchat.desktop"]
    entry.set(False)
    assert not entry.enabled() and not entry.path.exists()
    entry.set(False)  # already off: fine


def test_xdg_config_home_unset_means_dot_config(tmp_path):
    entry = Autostart(COMMAND, platform="linux", home=tmp_path, environ={})
    assert entry.path == tmp_path / ".config" / "autostart" / "deskchat.desktop"


def test_the_entry_starts_deskchat(tmp_path):
    """The Exec line, run as a desktop session would (no shell), starts this Deskchat."""
    entry = Autostart(
        [sys.executable, "-m", "desktop", "--version"], platform="linux", home=tmp_path, environ={}
    )
    entry.set(True)
    exec_line = next(
        line.split("=", 1)[1]
        for line in entry.path.read_text().splitlines()
        if line.startswith("Exec=")
    )
    done = subprocess.run(
        exec_args(exec_line),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_macos_launch_agent(tmp_path):
    entry = Autostart(COMMAND, platform="darwin", home=tmp_path)
    assert entry.path == tmp_path / "Library" / "LaunchAgents" / "org.deskchat.Deskchat.plist"
    entry.set(True)
    agent = plistlib.loads(entry.path.read_bytes())
    assert agent == {
        "Label": "org.deskchat.Deskchat",
        "ProgramArguments": COMMAND,
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    assert entry.enabled()
    entry.set(False)
    assert not entry.enabled()


class FakeWinreg:
    """The part of ``winreg`` the Run key needs, over a dict."""

    HKEY_CURRENT_USER = "HKCU"
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], dict[str, tuple[int, str]]] = {}

    class _Key:
        def __init__(self, values):
            self.values = values

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def OpenKey(self, root, path):
        if (root, path) not in self.keys:
            raise FileNotFoundError(path)
        return self._Key(self.keys[(root, path)])

    def CreateKey(self, root, path):
        return self._Key(self.keys.setdefault((root, path), {}))

    def QueryValueEx(self, key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        kind, value = key.values[name]
        return value, kind

    def SetValueEx(self, key, name, reserved, kind, value):
        key.values[name] = (kind, value)

    def DeleteValue(self, key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        del key.values[name]


def test_windows_run_key():
    registry = FakeWinreg()
    entry = Autostart(COMMAND, platform="win32", registry=registry)
    assert entry.path is None
    assert not entry.enabled()
    entry.set(True)
    assert entry.enabled()
    kind, value = registry.keys[("HKCU", autostart.RUN_KEY)]["Deskchat"]
    assert kind == registry.REG_SZ
    assert value == subprocess.list2cmdline(COMMAND)
    assert value.startswith('"/opt/Desk chat/deskchat" --data-dir')
    entry.set(False)
    assert not entry.enabled()
    entry.set(False)


def test_a_frozen_linux_app_starts_at_log_in_through_its_launcher(tmp_path):
    """build/package.py renames the frozen program deskchat-bin and puts the launcher that
    blocks SIGTERM/SIGINT until the app catches them at deskchat (docs/packaging.md)."""
    program = tmp_path / "deskchat-bin"
    program.write_bytes(b"\x7fELF")
    assert frozen_entry(str(program)) == str(program)  # no launcher beside it
    (tmp_path / "deskchat").write_text("#!/usr/bin/env -S --block-signal=TERM,INT /bin/sh\n")
    assert frozen_entry(str(program)) == str(tmp_path / "deskchat")
    # Windows, macOS: the executable is the entry.
    assert frozen_entry(str(tmp_path / "deskchat")) == str(tmp_path / "deskchat")
