"""``deskchat --join [LINK]``: find Deskchat servers on the network, or open one, hosting nothing.

The window it opens has no server of its own (``DesktopApp(None)``); it announces its control
channel in ``join-window.json`` in the data folder, as a host does in ``instance.json``. With
``--headless`` or no usable display, it lists what it found (or checks ``LINK``) on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from desktop import shutdown
from desktop.cli import one_line

JOIN_INFO_NAME = "join-window.json"


def run_join(args: argparse.Namespace) -> int:
    """Find Deskchat servers on the network; open one in the window (or list them)."""
    from desktop import bootstrap, discovery, logs

    bootstrap.configure_environment(data_dir=args.data_dir, debug=args.debug)
    from chatserver.config import resolve_data_dir

    logs.install(resolve_data_dir(), debug=args.debug)
    if args.join_link is not None:
        return _join_link(args)
    if not _window_possible(args):
        found = discovery.browse(timeout=4.0)
        if not found:
            print("deskchat: no Deskchat server found on this network", file=sys.stderr)
            return 1
        for server in found:
            print(f"{server.url}\t{server.name}", flush=True)
        return 0
    _run_join_window(open_link=None)


def _join_link(args: argparse.Namespace) -> int:
    """``--join LINK``: check the link's server against its fingerprint (pinned), then open it
    in the window, or with ``--headless`` print its address."""
    from chatserver.config import resolve_data_dir
    from desktop import pinning

    server = args.join_link
    if not _window_possible(args):
        from desktop import pages

        try:
            with pages.activated():
                pinning.check(
                    resolve_data_dir(),
                    name=server.name,
                    url=server.url,
                    fingerprint=server.fingerprint,
                )
        except pinning.PinRefused as refused:
            print(f"deskchat: {one_line(str(refused))}", file=sys.stderr)
            return 1
        print(f"{server.url}\t{server.fingerprint}", flush=True)
        return 0
    _run_join_window(open_link=server)


def _window_possible(args: argparse.Namespace) -> bool:
    """Whether a join window can open here (not ``--headless``, and a usable display)."""
    from desktop import guicheck

    if args.headless:
        return False
    guicheck.configure_gui_environment()
    problem = guicheck.GuiProbe().result()
    if problem is not None:
        print(f"deskchat: cannot open a window: {problem}", file=sys.stderr)
        return False
    return True


def _run_join_window(*, open_link: Any) -> NoReturn:
    """The join window (no server of its own): browse, or open ``open_link`` at once."""
    from chatserver.config import resolve_data_dir
    from desktop.window import DesktopApp
    from desktop.window_exit import close_on_signals, leave_after_window

    join_info = resolve_data_dir() / JOIN_INFO_NAME
    app = DesktopApp(
        None,
        publish=lambda **info: _write_private_json(join_info, info),
        pins_dir=resolve_data_dir(),
        open_link=open_link,
    )
    close_on_signals(app.quit)  # quits: never hides to the tray
    shutdown.checkpoint()  # a signal before the line above: no window at all
    try:
        app.run()
    finally:
        join_info.unlink(missing_ok=True)
    leave_after_window(0)


def _write_private_json(path: Path, info: dict) -> None:
    """Like instance.json, for a window that only joins (no lock, no server)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), **info}, fh)
