"""Deskchat with one optimisation undone, to measure what it buys (``--variant NAME``).

``python -m bench.variants NAME <desktop args>`` patches the named piece back to the stock
behaviour after Django is set up (start-up variants: before the start), then runs the normal
entry, ``desktop.cli.main``. Only the benchmark uses this; the shipped code has no switches
for it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable


def channels_dispatch() -> None:
    """Channels' own ``dispatch``: a thread hop to close DB connections before every handler."""
    from channels.generic.websocket import AsyncWebsocketConsumer

    from chatserver.realtime.consumer import ChatConsumer

    ChatConsumer.dispatch = AsyncWebsocketConsumer.dispatch


def per_message_commit() -> None:
    """Every send in its own transaction and commit (no grouping of concurrent sends)."""
    from chatserver.realtime import writer

    writer.MessageWriter.max_batch = 1


def connect_per_trip() -> None:
    """Every connect and disconnect in its own trip to the database thread and transaction."""
    from chatserver.realtime import connects

    connects.ConnectQueue.max_batch = 1
    connects.DisconnectQueue.max_batch = 1


def eager_writer() -> None:
    """The next batch goes to the database thread without waiting for the last one's replies."""
    from chatserver.realtime import writer

    writer.MessageWriter.reply_with = lambda self, stored, reply: None


def queued_delivery() -> None:
    """Every fan-out event through the channel queue (no inline hand-over to idle consumers)."""
    from chatserver.realtime.consumer import ChatConsumer

    def decline(self, event: dict) -> bool:
        return False

    ChatConsumer._deliver_inline = decline


def no_search_index() -> None:
    """Messages stored without keeping the full-text index in step (its triggers dropped):
    what indexing costs the write path. The index goes stale, so search is off for the run."""
    from django.db import connection

    from bench.search import drop_index_triggers

    if connection.vendor == "sqlite":
        drop_index_triggers()
    connection.close()


def full_migrate() -> None:
    """Django's whole ``migrate`` at every start, even with nothing to apply."""
    from desktop import bootstrap

    bootstrap.migrations_pending = lambda: True


def gc_during_start() -> None:
    """The garbage collector running while the server starts, nothing frozen afterwards."""
    from desktop import bootstrap

    bootstrap.paused_gc = contextlib.nullcontext


def openssl_at_start() -> None:
    """Twisted imported with pyOpenSSL (and cryptography) even without ``--cert``."""
    from desktop import bootstrap

    setup = bootstrap.setup_django

    def setup_with_tls(*, tls: bool = True) -> None:
        setup(tls=True)

    bootstrap.setup_django = setup_with_tls


VARIANTS: dict[str, Callable[[], None]] = {
    "channels-dispatch": channels_dispatch,
    "per-message-commit": per_message_commit,
    "eager-writer": eager_writer,
    "connect-per-trip": connect_per_trip,
    "queued-delivery": queued_delivery,
    "no-search-index": no_search_index,
    "full-migrate": full_migrate,
    "gc-during-start": gc_during_start,
    "openssl-at-start": openssl_at_start,
}
# These change how the server starts, so they are applied before it does.
BEFORE_START = {"full-migrate", "gc-during-start", "openssl-at-start"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in VARIANTS:
        print(f"usage: python -m bench.variants {{{','.join(VARIANTS)}}} ARGS", file=sys.stderr)
        return 2
    from desktop import bootstrap, cli

    patch = VARIANTS[argv[0]]
    if argv[0] in BEFORE_START:
        patch()
        return cli.main(argv[1:])
    setup = bootstrap.setup_django

    def setup_then_patch(*, tls: bool = True) -> None:
        setup(tls=tls)
        patch()

    bootstrap.setup_django = setup_then_patch
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
