"""Access ends at once across two worker processes on Redis (issue 16).

An account's sockets sit on both workers; the change is made through the other one (or the
same): deactivation, log-out and a password change each close exactly the sockets they
should, wherever they are. The one-process variant is tests/security/test_access_ends.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.scale.support import Socket, start_serve
from tests.security.test_access_ends import closed_with, refused, still_open
from tests.support.access import change_password, deactivate, log_out
from tests.support.server import Browserless, run_deskchat

pytestmark = [pytest.mark.scale, pytest.mark.process]


@pytest.fixture
def two_workers(tmp_path, engines_env):
    served = start_serve(tmp_path / "data", workers=2, env=engines_env)
    yield served
    assert served.stop() == 0


async def test_access_ends_on_every_worker(two_workers):
    w1, w2 = two_workers.urls
    admin = Browserless(w1)
    admin.signup("admin")
    bob1, bob2 = Browserless(w1), Browserless(w2)
    bob1.signup("bob")
    assert bob2.login("bob") == 200
    carol_here, carol_there = Browserless(w1), Browserless(w2)
    carol_here.signup("carol")
    assert carol_there.login("carol") == 200
    dave1, dave2 = Browserless(w1), Browserless(w2)
    dave1.signup("dave")
    assert dave2.login("dave") == 200

    # bob has a socket on each worker (each from a session made on the other one, too).
    bob_socks = [
        await Socket.open(w2, bob1, "bob1@w2"),
        await Socket.open(w1, bob2, "bob2@w1"),
    ]
    carol_here_sock = await Socket.open(w2, carol_here, "carol-here@w2")
    carol_there_sock = await Socket.open(w1, carol_there, "carol-there@w1")
    dave_socks = [await Socket.open(w, dave1, f"dave1@{i}") for i, w in enumerate((w1, w2))]
    dave_other = await Socket.open(w1, dave2, "dave2@w1")

    # Deactivated through worker 1: both of bob's sockets close.
    started = time.monotonic()
    await asyncio.to_thread(deactivate, admin, "bob")
    assert [(await closed_with(s))[0] for s in bob_socks] == [4401, 4401]
    print(f"deactivation (admin pages included) to both closes: {time.monotonic() - started:.3f} s")
    assert await refused(w2, bob1) == 4401

    # carol changes her password through worker 1: her other session's socket closes on
    # worker 1, the socket of the session she changed it from stays on worker 2.
    await asyncio.to_thread(change_password, carol_here, "correct-horse-battery", "new-horse-77")
    assert (await closed_with(carol_there_sock))[0] == 4401
    await still_open(carol_here_sock)

    # dave logs one session out through worker 2: its sockets on both workers close.
    dave1.base_url = w2
    await asyncio.to_thread(log_out, dave1)
    assert [(await closed_with(s))[0] for s in dave_socks] == [4401, 4401]
    await still_open(dave_other)

    # An administrator deactivates erin from the command line, a process of its own: the
    # event reaches both workers through Redis.
    erin = Browserless(w1)
    erin.signup("erin")
    erin_socks = [await Socket.open(w, erin, f"erin@{i}") for i, w in enumerate((w1, w2))]
    command = (
        "from django.contrib.auth import get_user_model; "
        "u = get_user_model().objects.get(username='erin'); u.is_active = False; u.save()"
    )
    done = await asyncio.to_thread(
        run_deskchat,
        "manage",
        "shell",
        "-c",
        command,
        "--data-dir",
        str(two_workers.data_dir),
        env={k: v for k, v in two_workers.env.items() if k.startswith("DESKCHAT_")},
    )
    assert done.returncode == 0, done.stderr
    assert [(await closed_with(s))[0] for s in erin_socks] == [4401, 4401]

    for sock in (carol_here_sock, dave_other):
        await sock.close()
