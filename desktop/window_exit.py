"""How a window's process ends: a stop signal closes the window, and the process leaves once
the window has closed without waiting on what the GUI toolkit left behind.

Both are for every window a launch opens (the chat's, the join window's, the start-up error's);
``desktop/shutdown.py`` turns the signals into a stop request in the first place.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import NoReturn

logger = logging.getLogger(__name__)


def leave_after_window(code: int, grace: float = 5.0) -> NoReturn:
    """End the process with ``code`` once the window has closed and the server has stopped.

    Two things must not turn a clean close into a hang or a crash, so this runs after
    everything is saved and leaves without Python's interpreter teardown (``os._exit``):

    - a thread the GUI toolkit left waiting (see ``pywebview_internals``) would keep the
      process alive forever: other non-daemon threads get ``grace`` seconds, then a stray
      one is logged with its stack and left behind;
    - Qt WebEngine can crash while Python destroys its objects at exit ("Release of profile
      requested but WebEnginePage still not deleted": the page's deferred delete never ran
      because the event loop had ended); seen as SIGSEGV after a clean close under load.
    """
    deadline = time.monotonic() + grace
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not me and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    frames = sys._current_frames()
    for thread in threading.enumerate():
        if thread is me or thread.daemon or not thread.is_alive():
            continue
        frame = frames.get(thread.ident) if thread.ident is not None else None
        stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
        logger.warning(
            "thread %r still running at exit; leaving without it:\n%s", thread.name, stack
        )
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def close_on_signals(close: Callable[[], None]) -> None:
    """SIGINT/SIGTERM close the window like its close button would; a small thread watches a
    socket and closes the window.

    Two ways reach that socket, one per toolkit. While Qt's loop runs, Python signal handlers
    only run when Qt calls back into Python, so a handler alone may wait forever: the C-level
    handler writes the signal number to the wake-up fd. PyGObject puts its own wake-up fd in
    place while GTK's loop runs (so that Python handlers run promptly) and ours never hears:
    there the Python handler (``desktop.shutdown``) writes to the socket itself.
    """
    import signal
    import socket

    from desktop import shutdown

    if threading.current_thread() is not threading.main_thread():
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    shutdown.install()
    shutdown.wake_on_request(writer)

    def watch() -> None:
        closed = False  # one signal can arrive both ways (Qt): close once
        with reader:
            while reader.recv(1):
                if closed:
                    continue
                logger.info("signal received: closing the window")
                try:
                    close()
                    closed = True
                except Exception:
                    logger.debug("close on signal failed", exc_info=True)

    watch_thread = threading.Thread(target=watch, name="signals", daemon=True)
    watch_thread.start()
    # Keep the writer alive as long as the process (the wake-up fd must stay valid).
    close_on_signals.writer = writer  # type: ignore[attr-defined]
