"""``python -m desktop`` and ``deskchat``: one entry for the window, the server and admin tasks.

``main(argv)`` takes the argument list so tests can drive it; it returns the exit code.

Modes: no arguments opens the window on a server embedded in this process; ``--headless``
serves without a window and prints the URL; ``--join`` looks for chats on the network instead
of hosting one; ``manage ...`` runs a Django management command on the same data folder.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from chatserver import __version__
from chatserver.config import ConfigError
from desktop import shutdown
from desktop.lan import DEFAULT_LAN_PORT

logger = logging.getLogger("desktop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskchat",
        description="Deskchat: an office chat in a window, shareable on the local network.",
        epilog=(
            "Admin commands: 'deskchat manage <django command>', 'deskchat backup FILE', "
            "'deskchat restore FILE'. Server install (docs/deploy.md): 'deskchat serve "
            "--workers N', 'deskchat migrate-to-postgres --to postgres://...'."
        ),
    )
    parser.add_argument("--version", action="version", version=f"Deskchat {__version__}")
    parser.add_argument(
        "--headless", action="store_true", help="serve without a window and print the URL"
    )
    parser.add_argument(
        "--host",
        default=None,
        help="address to listen on (default 127.0.0.1: only this computer can connect)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port to listen on (0 = any free port; default 0, or {DEFAULT_LAN_PORT} with --lan)",
    )
    parser.add_argument(
        "--lan",
        action="store_true",
        help="share on the local network: listen on all interfaces and show the join address",
    )
    parser.add_argument(
        "--join",
        nargs="?",
        const=True,
        default=False,
        metavar="LINK",
        help="look for Deskchat servers on the local network and open one instead of hosting; "
        "with LINK (the https link from the host's sharing panel), open that one",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="folder for the database")
    parser.add_argument(
        "--debug", action="store_true", help="verbose logs, also printed on the console"
    )
    parser.add_argument("--cert", default=None, help="TLS certificate file (PEM) for https")
    parser.add_argument("--key", default=None, help="TLS private key file (PEM) for https")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    if args.cert:
        from chatserver.security import certificate_problem

        problem = certificate_problem(args.cert, args.key)
        if problem:
            # The files, not the command line, are wrong: no usage text, just why.
            raise ConfigError(problem)
    if args.join and args.lan:
        parser.error("--join opens someone else's chat; --lan shares yours: choose one")
    args.join_link = None
    if isinstance(args.join, str):
        from desktop import pinning

        try:
            args.join_link = pinning.from_link(args.join)
        except ValueError as error:
            parser.error(str(error))
    args.port_given = args.port
    if args.host is None:
        args.host = "0.0.0.0" if args.lan and args.headless else "127.0.0.1"
    if args.port is None:
        args.port = DEFAULT_LAN_PORT if args.lan and args.headless else 0
    return args


def launch_options(args: argparse.Namespace):
    """The window keeps its own loopback listener; ``--lan`` adds a shared one beside it (so
    sharing can be switched off again without moving the window)."""
    from desktop.host import LaunchOptions

    window_lan = args.lan and not args.headless
    return LaunchOptions(
        data_dir=args.data_dir,
        host=args.host,
        port=0 if window_lan else args.port,
        lan=args.lan,
        lan_port=args.port_given if args.lan else None,
        debug=args.debug,
        cert=args.cert,
        key=args.key,
        can_share=not args.headless or args.lan or args.host in {"0.0.0.0", ""},
    )


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the process's own entry (the console script): stop signals from now on
        shutdown.install()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except shutdown.StartCancelled:
        # Whatever start-up had opened was closed on the way here (see desktop/shutdown.py).
        logger.info("stopped by %s before start-up finished", shutdown.reason())
        return 0
    except ConfigError as error:
        print(f"deskchat: {one_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        return report_unexpected(error)


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "manage":
        return run_manage(argv[1:])
    if argv and argv[0] == "serve":
        from desktop import supervisor

        return supervisor.main(argv[1:])
    if argv and argv[0] == "migrate-to-postgres":
        from desktop import migrate_pg

        return migrate_pg.main(argv[1:])
    if argv and argv[0] in {"backup", "restore"}:
        from desktop import backup

        return backup.main(argv)
    if argv == ["--gui-probe"]:
        from desktop.guicheck import run_probe

        return run_probe()
    args = parse_args(argv)
    shutdown.checkpoint()
    if args.debug:
        _console_logging(debug=True)
    if args.join:
        from desktop.join import run_join

        return run_join(args)
    if args.headless:
        return run_headless(args)
    return run_window(args)


def one_line(text: str) -> str:
    """``text`` on one line: a driver's message can hold line breaks (SQLite's checks do)."""
    return " ".join(text.split())


def report_unexpected(error: Exception) -> int:
    """A bug or an unforeseen fault: one line for the person, the traceback in the log file."""
    from desktop import logs

    data_dir = None
    with contextlib.suppress(Exception):
        from chatserver.config import resolve_data_dir

        data_dir = resolve_data_dir()
    log_file = logs.to_file(data_dir, logging.ERROR, "unexpected error", exc_info=True)
    where = f"details in {log_file}" if log_file else "run with --debug for details"
    text = one_line(str(error)) or "(no message)"
    print(
        f"deskchat: unexpected error: {error.__class__.__name__}: {text} ({where})",
        file=sys.stderr,
    )
    return 1


def _console_logging(*, debug: bool) -> None:
    from desktop import logs

    logs.install(None, debug=debug)


def _data_dir_from(argv: list[str]) -> tuple[Path | None, list[str]]:
    """Pull ``--data-dir DIR`` out of a manage command line (it is ours, not Django's)."""
    rest: list[str] = []
    data_dir: Path | None = None
    it = iter(argv)
    for item in it:
        if item == "--data-dir":
            data_dir = Path(next(it, ""))
        elif item.startswith("--data-dir="):
            data_dir = Path(item.split("=", 1)[1])
        else:
            rest.append(item)
    return data_dir, rest


def run_manage(argv: list[str]) -> int:
    """Run a Django management command against the same data folder as the app."""
    from desktop import bootstrap

    data_dir, rest = _data_dir_from(argv)
    bootstrap.configure_environment(data_dir=data_dir)
    bootstrap.setup_django()  # a ConfigError is main's one line
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["deskchat manage", *rest])
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    return 0


def start_host(args: argparse.Namespace):
    """Lock the data folder, set Django up, migrate and serve. Raises AlreadyRunning or
    ConfigError (with a message for a person)."""
    from desktop.host import Host

    host = Host(launch_options(args))
    try:
        host.prepare()
    except BaseException:
        host.stop()
        raise
    host.start()
    return host


def run_headless(args: argparse.Namespace) -> int:
    from desktop.lock import AlreadyRunning

    try:
        host = start_host(args)
    except AlreadyRunning as running:
        info = live_record(running.info)
        if not info.get("url"):
            print(f"deskchat: {STARTING_ELSEWHERE}", file=sys.stderr)
            return 1
        print(f"deskchat: already running on this data folder at {info['url']}", file=sys.stderr)
        return 1
    return serve_until_signal(host)


STARTING_ELSEWHERE = (
    "another Deskchat is starting on this data folder (its address is not known yet); "
    "try again in a moment"
)


def live_record(info: dict) -> dict:
    """``info`` from instance.json, or ``{}`` when it was left by a process that is gone.

    The record of a run that ended without cleaning up (killed, power cut) stays until the
    next run publishes its own; a launch that meets the lock in between must not send the
    person to that dead address.
    """
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0 or sys.platform == "win32":
        return info  # (os.kill(pid, 0) would end the process on Windows)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return {}
    except OSError:
        pass  # alive, but someone else's
    return info


def serve_until_signal(host, *, open_browser: bool = False) -> int:
    """Print the URL (and join addresses), then serve until SIGINT/SIGTERM.

    The handlers have been in place since the process started (``desktop/__main__.py``), so
    a signal that came while starting, or right after the URL went out, is already noted.
    """
    shutdown.install()  # when called from a program that did not install them
    host.server.on_finished.append(shutdown.request)  # the server ended on its own
    try:
        print(host.url, flush=True)
        for entry in host.sharing.sharing_status()["join"]:
            print(f"deskchat: others can join at {entry['url']}", file=sys.stderr, flush=True)
        if open_browser:
            _open_browser(host)
        while not shutdown.requested.wait(0.5):
            pass
        logger.info("stopping (%s)", shutdown.reason())
    finally:
        host.stop()
    return 0


def _open_browser(host) -> None:
    """The system browser, at the sign-up page on a fresh install (it has no session of ours;
    a launch token is never put on another program's command line)."""
    url = host.url if host.account.has_accounts() else host.url + "accounts/signup/"
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(f"deskchat: open {url} in a web browser", file=sys.stderr, flush=True)


def run_window(args: argparse.Namespace) -> int:
    """The normal launch: server in a thread, window on the main thread."""
    from desktop import guicheck
    from desktop.lock import AlreadyRunning

    guicheck.configure_gui_environment()
    probe = guicheck.GuiProbe()  # runs while the server starts
    try:
        host = start_host(args)
    except AlreadyRunning as running:
        probe.cancel()
        return hand_over(running.info)
    except ConfigError as error:
        return report_start_error(str(error), probe, args)
    except shutdown.StartCancelled:
        probe.cancel()
        raise
    try:
        reason = probe.result()
        shutdown.checkpoint()
        if reason:
            print(
                f"deskchat: cannot open a window: {reason}. Serving in the browser instead.",
                file=sys.stderr,
                flush=True,
            )
            if args.lan:
                status = host.sharing.set_lan(True)
                if status["error"]:
                    host.stop()
                    return report_start_error(status["error"], probe, args)
            return serve_until_signal(host, open_browser=True)
        if args.lan:
            status = host.sharing.set_lan(True)
            if status["error"]:
                host.stop()
                return report_start_error(status["error"], probe, args)
        from desktop.window import DesktopApp
        from desktop.window_exit import close_on_signals, leave_after_window

        app = DesktopApp(host, open_sharing=args.lan)
        close_on_signals(app.quit)  # quits: never hides to the tray
        shutdown.checkpoint()  # a signal before the line above: no window at all
        app.run()
    finally:
        host.stop()
    leave_after_window(0)


def hand_over(info: dict) -> int:
    """Another launch holds this data folder: show its window, or at least its address."""
    from desktop import control

    info = live_record(info)
    try:
        control.send(info, "raise")
    except (OSError, ValueError) as exc:
        logger.debug("cannot reach the running instance: %s", exc)
    else:
        print("deskchat: already open; showing its window", file=sys.stderr)
        return 0
    url = info.get("url")
    if not url:
        print(f"deskchat: {STARTING_ELSEWHERE}", file=sys.stderr)
        return 1
    print(f"deskchat: already running at {url}", file=sys.stderr)
    with contextlib.suppress(webbrowser.Error):
        webbrowser.open(url)
    return 0


def report_start_error(message: str, probe, args: argparse.Namespace) -> int:
    """Plain words on the console, and in a small window when one can open."""
    from chatserver.config import resolve_data_dir
    from desktop import logs

    message = one_line(message)
    print(f"deskchat: {message}", file=sys.stderr, flush=True)
    try:
        data_dir = resolve_data_dir()
    except ConfigError:
        data_dir = None
    # The console has its line already: the log's copy must not print a second one.
    log_file = logs.to_file(data_dir, logging.ERROR, f"start-up failed: {message}")
    if probe.result() is None:
        from desktop.window import show_error
        from desktop.window_exit import leave_after_window

        show_error(message, log_file=str(log_file or ""))
        leave_after_window(2)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
