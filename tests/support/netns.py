"""A network of the test's own: a new network namespace with one LAN address in it.

Tests of LAN sharing used to loop over the machine's LAN addresses, so on a runner with only
loopback they asserted nothing. Inside ``lan_namespace()`` the machine has exactly loopback and
``LAN_ADDRESS`` (on a veth pair: the kernel may lack the dummy driver), so the test knows what
the join addresses, QR codes and allowed hosts must be, and nothing it starts can reach (or
announce itself on) the real network.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
from collections.abc import Iterator

from tests.support.tools import require, require_executable

CLONE_NEWNET = 0x40000000
LAN_ADDRESS = "10.77.0.1"
PREFIX = 24


@contextlib.contextmanager
def lan_namespace() -> Iterator[str]:
    """Move the calling thread into a new network namespace with loopback up and
    ``LAN_ADDRESS`` on a veth interface; yields that address and moves the thread back.

    Namespaces belong to threads: processes started from this thread meanwhile (a server, a
    window) are created inside and stay there; other threads of pytest are not moved. Needs
    root on Linux: skips on a laptop, fails under CI.
    """
    require(
        sys.platform.startswith("linux") and os.geteuid() == 0,
        "a network namespace needs root on Linux",
    )
    ip = require_executable("ip", "apt-get install iproute2")
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            require(False, f"cannot create a network namespace: {os.strerror(error)}")
        try:
            for command in (
                ["link", "set", "lo", "up"],
                ["link", "add", "lan0", "type", "veth", "peer", "name", "lan1"],
                ["addr", "add", f"{LAN_ADDRESS}/{PREFIX}", "dev", "lan0"],
                ["link", "set", "lan1", "up"],
                ["link", "set", "lan0", "up"],
            ):
                done = subprocess.run([ip, *command], capture_output=True, text=True)
                assert done.returncode == 0, f"ip {' '.join(command)}: {done.stderr}"
            yield LAN_ADDRESS
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "cannot return to the test's network namespace")
    finally:
        os.close(home)
