"""The slow-reader policy (4009, then resume) with channels_redis and two workers.

channels_redis moves every message for a worker's sockets out of Redis into that process at
once, so a socket that stops reading backs up in its worker's Twisted buffer, exactly as with
the in-memory layer: the per-socket byte limit still closes it, and nothing is lost. carol is
stuck on worker 2 while alice floods and bob reads on worker 1.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from chatserver.realtime.codes import CLOSE_SLOW_READER
from tests.reliability.realws import RawWebSocket
from tests.scale.support import Socket, start_serve
from tests.support.server import Browserless, LiveServer

pytestmark = [pytest.mark.scale, pytest.mark.process]

LIMIT = 256 * 1024
BODY = "ж" * 3_000  # 6 KB on the wire per message
FLOOD = 700


def wait_for_line(path: Path, needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


async def test_slow_reader_on_one_worker_is_closed_and_resumes(tmp_path, engines_env):
    env = {**engines_env, "DESKCHAT_SLOW_READER_BYTES": str(LIMIT), "DESKCHAT_RATE_PER_SECOND": "0"}
    served = start_serve(tmp_path / "data", workers=2, env=env)
    try:
        w1, w2 = served.urls
        alice_http, bob_http, carol_http = Browserless(w1), Browserless(w1), Browserless(w2)
        for client, name in ((alice_http, "alice"), (bob_http, "bob"), (carol_http, "carol")):
            client.signup(name)

        worker2 = LiveServer(process=served.process, url=w2, data_dir=served.data_dir)
        slow = RawWebSocket.open(worker2, carol_http.ws_headers(), rcvbuf=4096)
        slow.send_json({"type": "join", "room": "flood"})
        drained: dict = {}

        def drain_when_closed() -> None:
            if wait_for_line(served.stderr_path, "closing slow reader", 120):
                drained["result"] = slow.read_until_close()

        drainer = threading.Thread(target=drain_when_closed, daemon=True)
        drainer.start()

        alice = await Socket.open(w1, alice_http, "alice@w1")
        bob = await Socket.open(w1, bob_http, "bob@w1")
        await alice.join("flood")
        await bob.join("flood")
        acked = []
        for start in range(0, FLOOD, 20):
            batch = [
                await alice.say(f"{i} {BODY}", room="flood")
                for i in range(start, min(start + 20, FLOOD))
            ]
            acked += [a["id"] for a in batch]
        for message_id in acked:
            await bob.expect("message", timeout=60, id=message_id)

        await asyncio.to_thread(drainer.join, 120)
        assert "result" in drained, served.stderr()[-3000:]
        code, frames = drained["result"]
        assert code == CLOSE_SLOW_READER
        relayed = [f["id"] for f in frames if f["type"] == "message"]
        assert relayed == acked[: len(relayed)] and len(relayed) < FLOOD
        slow.close()

        # carol comes back (on the other worker this time) and resumes: the rest, once.
        carol = await Socket.open(w1, carol_http, "carol@w1")
        since = relayed[-1] if relayed else 0
        rest: list[int] = []
        await carol.send({"type": "resume", "since": since})
        while True:  # the server sends batches until has_more is false
            batch = await carol.expect("resumed", since=since)
            rest += [m["id"] for m in batch["messages"] if m.get("room") == "flood"]
            if not batch["has_more"] or not batch["messages"]:
                break
            since = batch["messages"][-1]["id"]
        # Two workers: resume starts a little before ``since`` (docs/operations.md, "Several
        # processes and the order of ids"); what comes again is what carol already had.
        newer = [i for i in rest if i > (relayed[-1] if relayed else 0)]
        assert set(rest) - set(newer) <= set(relayed)
        assert relayed + newer == acked
        for sock in (alice, bob, carol):
            await sock.close()
        assert "Traceback" not in served.stderr()
    finally:
        served.stop()
