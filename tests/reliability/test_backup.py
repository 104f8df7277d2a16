"""``deskchat backup`` while the server runs and writes; ``deskchat restore`` when it does not."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys

import pytest

from tests.reliability.realws import connect, expect, join, send, signup
from tests.support.server import ROOT, server_env, start_live_server

pytestmark = pytest.mark.process


def deskchat(*args: str, data_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def bodies(database) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return [row[0] for row in connection.execute("SELECT body FROM chat_message ORDER BY id")]


async def test_backup_while_writing_then_restore_round_trip(tmp_path):
    data = tmp_path / "data"
    copy = tmp_path / "backups" / "deskchat-backup.sqlite3"
    server = start_live_server(data)
    try:
        alice = signup(server, "alice")
        ws = await connect(server, alice)
        await join(ws, "general")
        for i in range(20):
            await send(
                ws, {"type": "send", "room": "general", "body": f"before {i}", "client_id": f"b{i}"}
            )
            await expect(ws, "ack", client_id=f"b{i}")

        async def keep_writing() -> None:
            for i in range(40):
                await send(
                    ws,
                    {
                        "type": "send",
                        "room": "general",
                        "body": f"during {i}",
                        "client_id": f"d{i}",
                    },
                )
                await expect(ws, "ack", client_id=f"d{i}")

        # The copy is taken while the server commits messages: it must still be consistent.
        writer = asyncio.create_task(keep_writing())
        result = await asyncio.to_thread(deskchat, "backup", str(copy), data_dir=data)
        await writer
        assert result.returncode == 0, result.stderr
        assert "messages backed up" in result.stdout

        assert copy.stat().st_mode & 0o077 == 0  # private to its owner
        with sqlite3.connect(copy) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        saved = bodies(copy)
        assert saved[:20] == [f"before {i}" for i in range(20)]
        # A snapshot: some prefix of the concurrent writes, in order, nothing torn.
        assert saved[20:] == [f"during {i}" for i in range(len(saved) - 20)]

        await send(
            ws,
            {"type": "send", "room": "general", "body": "after the backup", "client_id": "after"},
        )
        await expect(ws, "ack", client_id="after")
        await ws.close()

        refused = deskchat("restore", str(copy), data_dir=data)
        assert refused.returncode == 1
        assert "quit it before restoring" in refused.stderr
        assert "after the backup" in bodies(data / "deskchat.sqlite3")
    finally:
        server.stop()

    restored = deskchat("restore", str(copy), data_dir=data)
    assert restored.returncode == 0, restored.stderr
    assert bodies(data / "deskchat.sqlite3") == saved
    # The database that was replaced is kept, so a mistaken restore can be undone.
    assert "after the backup" in bodies(data / "deskchat.sqlite3.pre-restore")

    server = start_live_server(data)
    try:
        # The restored database serves: alice's account and the room came back with it.
        ws = await connect(server, alice)
        joined = await join(ws, "general")
        assert [m["body"] for m in joined["messages"]][-1] == saved[-1]
        await ws.close()
    finally:
        server.stop()


def test_restore_refuses_a_file_that_is_not_a_deskchat_database(tmp_path):
    bogus = tmp_path / "notes.sqlite3"
    with sqlite3.connect(bogus) as connection:
        connection.execute("CREATE TABLE notes (text)")
    result = deskchat("restore", str(bogus), data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert "not a Deskchat database" in result.stderr
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    result = deskchat("restore", str(garbage), data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert result.stderr == (
        f"deskchat restore: {garbage} is not a Deskchat database: file is not a database\n"
    )
