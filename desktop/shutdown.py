"""Stop requests for the whole process: SIGTERM and SIGINT, from start-up to exit.

A service manager, a test runner or a person with Ctrl-C may ask Deskchat to stop at any
moment, including while it is still starting. ``install()`` runs first thing in the process
(``desktop/__main__.py``), before the slow imports, and turns both signals into a flag; it
never raises inside whatever the main thread happened to be doing. Start-up then calls
``checkpoint()`` between its steps, which stops starting (``StartCancelled``) so the code
that opened something closes it on the way out, and the serving loops wait on ``requested``.
A second signal while stopping changes nothing: the stop is already under way.

Before this module's first line only the interpreter runs, and it cannot catch a signal. So
the Unix launchers start Deskchat with both signals *blocked* (``env --block-signal``, see
docs/architecture.md, "How stopping works"): a signal sent meanwhile stays pending across
``exec``, and ``install()`` unblocks it once the handler is in place, so it arrives as a stop
request. Children we start (``blocked()``) get the same protection and clear it the same way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported for real: this module loads first, on every start
    import socket
    from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# Set by a stop signal (or ``request()``); never cleared: a process stops only once.
requested = threading.Event()
received: list[int] = []  # the signal numbers, in arrival order (for the log)
_wake: list[socket.socket] = []  # told at each signal (see wake_on_request)


class StartCancelled(BaseException):
    """Raised by ``checkpoint()``: a stop was requested before start-up finished.

    A ``BaseException``, like ``KeyboardInterrupt``, so the ``except Exception`` handlers that
    turn faults into error messages let it through to ``desktop.cli.main`` (exit code 0).
    """


def _on_signal(signum: int, frame: object) -> None:
    received.append(signum)
    requested.set()
    for sock in _wake:
        with contextlib.suppress(OSError):  # full or closed: a byte is already waiting
            sock.send(b"\0")


def wake_on_request(sock: socket.socket) -> None:
    """Send a byte on ``sock`` (non-blocking) at each stop signal, for a thread that waits on
    it: a GUI loop may sit in C for as long as no event comes (``desktop.window_exit``)."""
    sock.setblocking(False)
    _wake.append(sock)


def install() -> bool:
    """Catch SIGINT and SIGTERM for the rest of the process, then unblock them (a launcher may
    have blocked them; one sent before now arrives here); False off the main thread (Python
    only lets the main thread set handlers) or when already installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is _on_signal:
        return False
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_signal)
    # Only the main thread exists this early, so every thread started later inherits the
    # unblocked mask; Windows has no signal masks (and no SIGTERM from outside).
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    return True


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """Block the stop signals in this thread meanwhile, for starting a child process: it
    inherits the mask across ``exec``, so a SIGTERM we send it during its interpreter's
    start-up waits for its own handler (our children run ``install()``, which unblocks)
    instead of killing it. A signal for us meanwhile is delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def request() -> None:
    """Ask the process to stop, as a signal would (the server ended on its own, for one)."""
    requested.set()


def checkpoint() -> None:
    """Between start-up steps: raise ``StartCancelled`` if a stop was requested."""
    if requested.is_set():
        raise StartCancelled()


def reason() -> str:
    """What asked for the stop, for the log: ``SIGTERM``, ``SIGINT`` or ``request``."""
    if not received:
        return "request"
    return signal.Signals(received[0]).name
