"""Moving a desktop install from SQLite to PostgreSQL keeps accounts, rooms, history,
read markers and even the log-in sessions (the secret key stays in the data folder)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.scale.support import Socket, start_serve
from tests.support.server import ROOT, Browserless, server_env, start_live_server

pytestmark = [pytest.mark.scale, pytest.mark.process]


def migrate_to_postgres(data_dir, url) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop",
            "migrate-to-postgres",
            "--data-dir",
            str(data_dir),
            "--to",
            url,
        ],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


async def test_sqlite_install_moves_to_postgresql(tmp_path, engines_env, postgres_url):
    data_dir = tmp_path / "data"
    desk = start_live_server(data_dir)  # the desktop install: SQLite, in-memory layer
    try:
        alice_http, bob_http = Browserless(desk.url), Browserless(desk.url)
        alice_http.signup("alice")
        bob_http.signup("bob")
        alice = await Socket.open(desk.url, alice_http, "alice")
        await alice.join("général")
        room_ids = [(await alice.say(f"message {i}", room="général"))["id"] for i in range(3)]
        dm_id = (await alice.say("just for bob", to="bob"))["id"]
        await alice.close()
        refused = migrate_to_postgres(data_dir, postgres_url)
        assert refused.returncode == 2 and "stop it first" in refused.stderr
    finally:
        desk.stop()

    moved = migrate_to_postgres(data_dir, postgres_url)
    assert moved.returncode == 0, moved.stderr
    assert "chat.Message 4" in moved.stdout and "auth.User 2" in moved.stdout

    served = start_serve(data_dir, workers=1, env=engines_env)
    try:
        url = served.urls[0]
        for client in (alice_http, bob_http):  # old session cookies, new base URL
            client.base_url = url
        alice = await Socket.open(url, alice_http, "alice@pg")
        await alice.send({"type": "history", "room": "général"})
        history = await alice.expect("history")
        assert [m["id"] for m in history["messages"]] == room_ids
        bob = await Socket.open(url, bob_http, "bob@pg")
        await bob.send({"type": "history", "with": "alice"})
        dm_history = await bob.expect("history")
        assert [m["id"] for m in dm_history["messages"]] == [dm_id]
        # Ids continue after the copied ones (loaddata moved the sequences on).
        new_id = (await alice.say("hello from PostgreSQL", room="général"))["id"]
        assert new_id > max([*room_ids, dm_id])
        fresh = Browserless(url)  # the password hash came along too
        assert fresh.login("bob") == 200 and fresh.session_cookie()
        await alice.close()
        await bob.close()
    finally:
        served.stop()

    again = migrate_to_postgres(data_dir, postgres_url)
    assert again.returncode == 2
    assert "is not empty" in again.stderr and len(again.stderr.strip().splitlines()) == 1
