"""Two real worker processes on Redis + PostgreSQL behave as one chat (issue 8).

alice and bob sit on different workers; messages, DMs and presence cross between them; a
worker killed with SIGKILL takes its users out of presence within the stale bound, but not
a user who still has a socket on the other worker; after the restart, resume fills the gap.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from tests.scale.support import Socket, start_serve, wait_healthy
from tests.support.server import Browserless
from tests.support.stopping import blocks_stop_signals

pytestmark = [pytest.mark.scale, pytest.mark.process]


@pytest.fixture
def two_workers(tmp_path, engines_env):
    served = start_serve(tmp_path / "data", workers=2, env=engines_env)
    yield served
    served.stop()


def test_workers_start_with_stop_signals_blocked_and_clear_the_block(two_workers):
    """serve starts each worker with SIGTERM/SIGINT blocked (a stop while its interpreter
    starts waits for its handler, desktop/shutdown.py); each lifts the block once it has it."""
    pids = [two_workers.process.pid, two_workers.worker_pid(1), two_workers.worker_pid(2)]
    assert not [pid for pid in pids if blocks_stop_signals(pid)], pids


async def test_two_workers_share_messages_presence_and_resume(two_workers):
    w1, w2 = two_workers.urls
    alice_http, bob_http, carol_http = Browserless(w1), Browserless(w2), Browserless(w1)
    alice_http.signup("alice")
    bob_http.signup("bob")  # signed up on worker 2: the database and secret key are shared
    carol_http.signup("carol")

    bob = await Socket.open(w2, bob_http, "bob@w2")
    alice = await Socket.open(w1, alice_http, "alice@w1")
    await bob.expect("user_presence", user="alice", online=True)

    await alice.join("general")
    await bob.join("general")
    presence = await alice.expect("presence", room="general", online=["alice", "bob"])
    assert presence["online"] == ["alice", "bob"]

    # A room message and a DM, each way across the two processes.
    ack = await alice.say("hello from worker 1", room="general")
    message = await bob.expect("message", id=ack["id"])
    assert message["body"] == "hello from worker 1" and message["user"] == "alice"
    dm_ack = await bob.say("a DM from worker 2", to="alice")
    dm = await alice.expect("message", id=dm_ack["id"])
    assert dm["body"] == "a DM from worker 2"
    await alice.send({"type": "typing", "room": "general"})
    await bob.expect("typing", room="general", user="alice")

    # alice opens a second tab on worker 2; carol is only on worker 1.
    alice2 = await Socket.open(w2, alice_http, "alice@w2")
    carol = await Socket.open(w1, carol_http, "carol@w1")
    await bob.expect("user_presence", user="carol", online=True)
    last_seen = max(f["id"] for f in alice.seen("message"))

    os.kill(two_workers.worker_pid(1), signal.SIGKILL)

    # Worker 2 notices the silent worker 1 within heartbeat + stale (1 s + 3 s here).
    await bob.expect("user_presence", timeout=30, user="carol", online=False)
    assert not bob.seen("user_presence", user="alice", online=False), "alice still has a tab"

    # While alice's first tab is gone, bob writes to the room and to her.
    missed_room = await bob.say("while you were away", room="general")
    missed_dm = await bob.say("DM while you were away", to="alice")
    await alice2.expect("message", id=missed_dm["id"])

    # The supervisor restarts worker 1 on the same port; alice's tab reconnects and resumes.
    await asyncio.to_thread(wait_healthy, w1, 60)
    alice_again = await Socket.open(w1, alice_http, "alice@w1-again")
    await alice_again.send({"type": "resume", "since": last_seen})
    resumed = await alice_again.expect("resumed", since=last_seen)
    ids = [m["id"] for m in resumed["messages"]]
    assert missed_room["id"] in ids and missed_dm["id"] in ids
    assert "restarted" in two_workers.stderr()

    # alice goes offline only when her last socket closes.
    await alice2.close()
    await alice_again.send({"type": "ping"})
    await alice_again.expect("pong")
    assert not bob.seen("user_presence", user="alice", online=False)
    await alice_again.close()
    await bob.expect("user_presence", user="alice", online=False)
    await bob.close()
    for sock in (alice, carol):
        assert sock.closed_code != 1000  # they were cut off by the kill, not closed cleanly
