"""This process as a chat worker: what the server does around Daphne's start and stop.

The launcher (``desktop/embedded_server.py``) owns Daphne: it builds the server, runs the
reactor on its thread and stops it. What the chat needs around that lives here, called at four
moments: before Daphne starts (forget presence a crash left behind), once Daphne's factories
exist (Deskchat's WebSocket protocol), once the reactor runs (the presence heartbeat, the
sweep of uploads never sent, the check of stored files), and after it stopped (this worker's
own presence rows).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from chatserver.chat.filestore import file_store
from chatserver.chat.services.files import contents_forget, unsent_files_sweep
from chatserver.chat.services.presence import worker_heartbeat, worker_start, worker_stop
from chatserver.realtime import presence_broadcast

logger = logging.getLogger(__name__)

# Uploads never sent are looked for a few times per keeping time, at most hourly, at least
# every SWEEP_MIN_SECONDS; each round removes them SWEEP_BATCH at a time, so no call holds
# the database (or the thread Django's sync code shares) for long.
SWEEP_MAX_SECONDS = 3600.0
SWEEP_MIN_SECONDS = 1.0
SWEEP_BATCH = 100
# Stored files are checked against the upload rows this many hashes per query.
CHECK_BATCH = 500

# One identity per server process: presence rows carry it so a dead worker's rows can be found.
WORKER_NAME = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def before_serving() -> None:
    """Forget presence left behind: alone on its database (the desktop app, whose instance
    lock guarantees it) every row is a crash's; one of several workers, only its own name's."""
    worker_start(worker=WORKER_NAME, clear_all=not settings.DESKCHAT["MULTI_WORKER"])


def on_server_ready(server: Any) -> None:
    """From Daphne's ``ready_callable``: its factories exist, no connection is accepted yet."""
    from twisted.internet import reactor

    from chatserver.realtime import http_requests, websocket_protocol  # only where Daphne runs

    # Bounds what a client that stops reading can make the server hold (4009 close).
    websocket_protocol.install(server, settings.DESKCHAT["SLOW_READER_BYTES"])
    # Uploads: bodies neither parsed by Twisted nor held in memory.
    http_requests.install(server)
    reactor.callWhenRunning(_start_heartbeat)
    reactor.callWhenRunning(_start_upload_sweep)
    reactor.callWhenRunning(_start_contents_check)


def after_serving() -> None:
    """The reactor has stopped: this worker's sockets are gone, and so are their rows."""
    try:
        worker_stop(worker=WORKER_NAME)
    except Exception:
        logger.warning("could not clear presence at exit", exc_info=True)


def _start_heartbeat() -> None:
    """Keep this worker's presence rows alive and sweep those of workers that died."""
    from twisted.internet import task

    async def beat() -> None:
        change = await database_sync_to_async(worker_heartbeat)(
            worker=WORKER_NAME, stale_after=settings.DESKCHAT["PRESENCE_STALE_SECONDS"]
        )
        await presence_broadcast.announce(get_channel_layer(), change)

    task.LoopingCall(lambda: _run_logged(beat(), "presence heartbeat")).start(
        settings.DESKCHAT["PRESENCE_HEARTBEAT_SECONDS"], now=False
    )


def sweep_interval(hours: float) -> float | None:
    """Seconds between two sweeps for a keeping time of ``hours`` (None: never sweep)."""
    if hours <= 0:
        return None
    return min(SWEEP_MAX_SECONDS, max(SWEEP_MIN_SECONDS, hours * 3600 / 4))


async def sweep_unsent_uploads() -> int:
    """One round: every upload older than the keeping time that no message carries, in
    batches off the event loop. Each worker may run it; their deletes do not collide
    (chat/services/files.py). Returns how many uploads went."""
    hours = settings.DESKCHAT["UNSENT_UPLOAD_HOURS"]
    cutoff = timezone.now() - timedelta(hours=hours)
    store = file_store()
    removed = 0
    while True:
        swept = await database_sync_to_async(unsent_files_sweep)(
            uploaded_before=cutoff, store=store, limit=SWEEP_BATCH
        )
        removed += swept.files
        if swept.files:
            logger.info(
                "removed %d upload(s) never sent within %g hours (%d stored file(s) freed)",
                swept.files,
                hours,
                swept.contents,
            )
        if swept.files < SWEEP_BATCH:
            break
    # Temporary files of uploads a killed process left; uploads also sweep them, but an
    # install where nobody uploads any more would keep them otherwise.
    await asyncio.to_thread(store.sweep_stale)
    return removed


def _start_upload_sweep() -> None:
    """Remove uploads never sent (DESKCHAT_UNSENT_UPLOAD_HOURS), now and periodically."""
    from twisted.internet import task

    interval = sweep_interval(settings.DESKCHAT["UNSENT_UPLOAD_HOURS"])
    if interval is None:
        return

    task.LoopingCall(
        lambda: _run_logged(sweep_unsent_uploads(), "removing uploads never sent")
    ).start(interval, now=True)


async def forget_unnamed_contents() -> int:
    """Remove stored files (contents and thumbnails) that no upload names; returns how many.

    Only a process killed at the wrong moment leaves them: between a sweep's delete of the
    rows and its removal of their files (two steps, chat/services/files.py), or between an
    upload keeping its file and its commit. So the next start looks, in batches off the event
    loop; each goes through ``contents_forget``, under the contents' locks, so an upload of
    the same bytes committing meanwhile (here or in another worker) keeps them.
    """
    store = file_store()
    hashes = sorted(await asyncio.to_thread(store.stored_hashes))
    gone = 0
    for start in range(0, len(hashes), CHECK_BATCH):
        gone += await database_sync_to_async(contents_forget)(
            sha256s=hashes[start : start + CHECK_BATCH], store=store
        )
    if gone:
        logger.info("removed %d stored file(s) that no upload names (left by a crash)", gone)
    return gone


def _start_contents_check() -> None:
    """Once, as the reactor starts: what a killed process left in the file store."""
    _run_logged(forget_unnamed_contents(), "checking stored files against uploads")


def _run_logged(work: Coroutine[Any, Any, Any], doing: str) -> Any:
    """Run ``work`` on the reactor's loop as a Deferred (what LoopingCall waits for); a
    failure is logged as a warning saying what was being done, never raised into Twisted."""
    from twisted.internet import defer

    deferred = defer.Deferred.fromFuture(asyncio.ensure_future(work))
    deferred.addErrback(lambda failure: logger.warning("%s: %s", doing, failure.getErrorMessage()))
    return deferred
