"""desktop/gtk_shell.py on GTK's own loop under Xvfb, with a real tray (trayer) and session bus.

The window test (test_tray.py) drives the Qt backend, which the launcher uses today; this
checks the GTK backend's shell by itself in a GTK main loop: the icon is embedded by the tray
and drawn, its menu opens with the same items, the badge goes out on D-Bus, and a switch
changed from elsewhere does not fire the menu's handler.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from chatserver.paths import app_icon
from tests.desktop.session_bus import NotificationRecorder, start_session_bus, start_tray_host
from tests.desktop.test_tray import blue_pixels, grab, see_on_screen, wait_until, xdotool
from tests.support.server import ROOT
from tests.support.tools import require

pytestmark = [pytest.mark.window, pytest.mark.process]

PROGRAM = textwrap.dedent(
    """
    import json, sys, threading
    import gi
    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk
    from desktop.gtk_shell import GtkShell
    from desktop.tray import TrayMenu

    def say(*what):
        print(json.dumps(what), flush=True)

    shell = GtkShell()
    menu = TrayMenu(
        tooltip="Deskchat", open_label="Open Deskchat", share_label="Share on the network",
        autostart_label="Start Deskchat when I log in", quit_label="Quit",
        on_open=lambda: say("open"), on_share=lambda on: say("share", on),
        on_autostart=lambda on: say("autostart", on),
        on_quit=lambda: (say("quit"), Gtk.main_quit()),
    )
    assert shell.show_tray(sys.argv[1], menu, sharing=False, autostart=False)

    def from_another_thread():
        shell.set_checks(sharing=True)  # as after a switch in the sharing panel: no handler
        shell.set_badge(4)
        shell.set_tooltip("(4) Deskchat")
        while not shell.tray_shown():
            threading.Event().wait(0.1)
        say("embedded", shell.tray_shown())

    threading.Thread(target=from_another_thread, daemon=True).start()
    Gtk.main()
    say("done")
    """
)


def test_gtk_tray_icon_menu_and_badge(display, tmp_path):
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401
    except (ImportError, ValueError) as exc:
        require(False, f"PyGObject with GTK 3 is not installed ({exc})")
    bus, address = start_session_bus()
    recorder = NotificationRecorder(address)
    tray = start_tray_host(display)
    xdotool("search", "--sync", "--name", "^panel$", display=display)
    script = tmp_path / "gtk_tray.py"
    script.write_text(PROGRAM, encoding="utf-8")
    output = tmp_path / "out.jsonl"
    with open(output, "w") as out:
        program = subprocess.Popen(
            [sys.executable, str(script), str(app_icon(256))],
            cwd=ROOT,
            env={
                "DISPLAY": display,
                "DBUS_SESSION_BUS_ADDRESS": address,
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": str(ROOT),
                "HOME": str(tmp_path),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def said():
            lines = output.read_text().splitlines()
            return [json.loads(line) for line in lines if line.startswith("[")]

        wait_until(lambda: ["embedded", True] in said(), f"the icon embedded: {output.read_text()}")
        assert recorder.wait_badge(4)["app"] == "application://deskchat.desktop"
        # The icon, drawn inside trayer's panel (top right, 64x32).
        wait_until(
            lambda: blue_pixels(grab(display, "gtk-tray.png"), (1216, 0, 64, 32)) > 30,
            "the icon drawn in the tray",
        )
        xdotool("mousemove", "1264", "16", "click", "3", display=display)
        see_on_screen(
            display,
            "gtk-tray-menu.png",
            "Open Deskchat",
            "Share on the network",
            "when I log in",
            "Quit",
        )
        # The menu's last item: Quit (handlers run; set_checks above fired none).
        xdotool("key", "Up", "Return", display=display)
        assert program.wait(30) == 0
        assert said() == [["embedded", True], ["quit"], ["done"]]
    finally:
        if program.poll() is None:
            program.kill()
            program.wait()
        tray.terminate()
        tray.wait(10)
        recorder.close()
        bus.terminate()
        bus.wait(10)
