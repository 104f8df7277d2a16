"""``python -m desktop`` and ``deskchat``: one entry for the window, the server and admin tasks.

``main(argv)`` takes the argument list so tests can drive it; it returns the exit code.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from chatserver import __version__
from chatserver.config import ConfigError

DEFAULT_LAN_PORT = 8765
logger = logging.getLogger("desktop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskchat",
        description="Deskchat: an office chat in a window, shareable on the local network.",
        epilog=(
            "Admin commands: 'deskchat manage <django command>', 'deskchat backup FILE', "
            "'deskchat restore FILE'."
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
        "--port", type=int, default=None,
        help=f"port to listen on (0 = any free port; default 0, or {DEFAULT_LAN_PORT} with --lan)",
    )
    parser.add_argument(
        "--lan", action="store_true",
        help="share on the local network: listen on all interfaces and show the join address",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="folder for the database")
    parser.add_argument("--debug", action="store_true", help="verbose logs on the console")
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
    if args.host is None:
        args.host = "0.0.0.0" if args.lan else "127.0.0.1"
    if args.port is None:
        args.port = DEFAULT_LAN_PORT if args.lan else 0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "manage":
        return run_manage(argv[1:])
    args = parse_args(argv)
    try:
        return run_headless(args)
    except ConfigError as error:
        print(f"deskchat: {error}", file=sys.stderr)
        return 2


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
    try:
        bootstrap.configure_environment(data_dir=data_dir)
        bootstrap.setup_django()
    except ConfigError as error:
        print(f"deskchat: {error}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["deskchat manage", *rest])
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    return 0


def start_server(args: argparse.Namespace):
    """Lock the data folder, set Django up, migrate, and start the embedded server."""
    from desktop import bootstrap
    from desktop.lock import InstanceLock
    from desktop.server import EmbeddedServer, ListenConfig

    bootstrap.configure_environment(data_dir=args.data_dir, debug=args.debug)
    from chatserver.config import resolve_data_dir

    data_dir = resolve_data_dir()
    lock = InstanceLock(data_dir)
    lock.acquire()
    try:
        bootstrap.setup_django()
        bootstrap.migrate()
        server = EmbeddedServer(
            ListenConfig(host=args.host, port=args.port, cert=args.cert, key=args.key)
        )
        url = server.start()
        lock.publish(url=url)
    except BaseException:
        lock.release()
        raise
    return server, lock, url


def run_headless(args: argparse.Namespace) -> int:
    from desktop.lock import AlreadyRunning

    try:
        server, lock, url = start_server(args)
    except AlreadyRunning as running:
        where = running.info.get("url", "an unknown address")
        print(f"deskchat: already running on this data folder at {where}", file=sys.stderr)
        return 1
    stop = threading.Event()
    server.on_finished.append(stop.set)  # the server ended on its own

    def request_stop(signum, frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(url, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        lock.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
