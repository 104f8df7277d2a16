"""A write that fails is answered, stores nothing, and works when retried (issue 19).

For real: SQLite's write lock held by a second connection past the busy timeout, and the data
folder on a small filesystem (tmpfs, mounted here as root) that fills up. In both, the sender
gets ``server_error`` with its ``client_id`` as ``ref`` and no ``ack``, nothing is stored, every
socket keeps working, and once the fault is gone the same ``client_id`` is stored once and
delivered once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.reliability.realws import connect, expect, join, recv, send, signup
from tests.support.server import start_live_server
from tests.support.tools import require

pytestmark = pytest.mark.process

ROOM = "faults"


def stored(database: Path, client_id: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return db.execute(
            "SELECT count(*) FROM chat_message WHERE client_id = ?", (client_id,)
        ).fetchone()[0]


async def first_answer(ws, client_id: str) -> dict:
    """The ack or error for ``client_id``; other frames (presence, messages) are skipped."""
    while True:
        frame = await recv(ws)
        if frame["type"] == "ack" and frame["client_id"] == client_id:
            return frame
        if frame["type"] == "error":
            return frame


async def check_refused_then_retried(a, b, database: Path, client_id: str, clear) -> dict:
    """The common half of both tests: refusal while the fault lasts, then a clean retry."""
    frame = {"type": "send", "room": ROOM, "body": f"body of {client_id}", "client_id": client_id}
    await send(a, frame)
    refused = await first_answer(a, client_id)
    assert refused["type"] == "error", f"stored despite the fault: {refused}"
    assert refused["code"] == "server_error" and refused["ref"] == client_id
    # Both sockets live on.
    for ws in (a, b):
        await send(ws, {"type": "ping"})
        await expect(ws, "pong")
    assert stored(database, client_id) == 0, "a refused send left a row behind"

    clear()
    await send(a, frame)  # the client's retry: same client_id
    ack = await first_answer(a, client_id)
    assert ack["type"] == "ack", ack
    await send(a, {"type": "send", "room": ROOM, "body": "after", "client_id": "after"})
    await expect(a, "ack", client_id="after")
    got = []
    while True:  # bob's messages up to the positive marker sent after the retry
        message = await expect(b, "message")
        if message["client_id"] == "after":
            break
        got.append(message["client_id"])
    assert got == [client_id], f"bob got {got}"
    assert stored(database, client_id) == 1
    return refused


@pytest.mark.server_errors(r"keeps the chat's database \(.*\) locked")
async def test_a_locked_database_refuses_the_send_and_the_retry_is_stored_once(tmp_path):
    server = start_live_server(
        tmp_path / "data",
        env={"DESKCHAT_SQLITE_BUSY_TIMEOUT": "0.3", "DESKCHAT_RATE_PER_SECOND": "0"},
    )
    database = server.data_dir / "deskchat.sqlite3"
    holder = sqlite3.connect(database, timeout=5, isolation_level=None)
    try:
        a = await connect(server, signup(server, "alice"))
        b = await connect(server, signup(server, "bob"))
        await join(a, ROOM)
        await join(b, ROOM)
        holder.execute("BEGIN IMMEDIATE")  # a second program holds the write lock

        refused = await check_refused_then_retried(
            a, b, database, "locked-1", lambda: holder.execute("ROLLBACK")
        )
        assert "busy" in refused["detail"] and refused["fault"] == "busy"
        await a.close()
        await b.close()
    finally:
        holder.close()
        assert server.stop() == 0
    assert "deskchat: another program keeps the chat's database" in server.stderr()


@pytest.fixture
def small_filesystem(tmp_path):
    """A 16 MB tmpfs mounted for this test (root only; CI runs as root and must have it)."""
    with mounted_small_filesystem(tmp_path / "small") as mount_point:
        yield mount_point


@contextlib.contextmanager
def mounted_small_filesystem(mount_point: Path, size: str = "16m"):
    """A tmpfs of ``size`` at ``mount_point`` while inside (root only; CI runs as root)."""
    require(os.geteuid() == 0, "mounting a small filesystem needs root")
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    require(done.returncode == 0, f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no space left; returns it."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    # Unbuffered: a buffered file keeps what the full disk refused and fails again on close.
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    # Whatever the last partial write left: take the remaining blocks one byte at a time.
    with open(filler, "ab", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0")
    return filler


@pytest.mark.server_errors(r"the disk holding the chat's database \(.*\) is full")
async def test_a_full_disk_refuses_the_send_says_so_and_the_retry_is_stored_once(
    tmp_path, small_filesystem
):
    data = small_filesystem / "data"
    data.mkdir()
    # Only the database is on the small disk: the console (stderr, which the test fixture
    # writes beside the folder it is given) and the log are not, as on a machine whose data
    # disk filled up while its terminal and log still work.
    (tmp_path / "logs").mkdir()
    (data / "logs").symlink_to(tmp_path / "logs")
    (tmp_path / "data").symlink_to(data)
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_RATE_PER_SECOND": "0"})
    database = data / "deskchat.sqlite3"
    try:
        a = await connect(server, signup(server, "alice"))
        b = await connect(server, signup(server, "bob"))
        await join(a, ROOM)
        await join(b, ROOM)
        # An empty WAL: the next commit must grow it, and the disk will have no room.
        with contextlib.closing(sqlite3.connect(database)) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        filler = fill(small_filesystem)

        refused = await check_refused_then_retried(a, b, database, "full-1", filler.unlink)
        assert "disk is full" in refused["detail"] and refused["fault"] == "disk_full"
        await a.close()
        await b.close()
    finally:
        code = server.stop()
    assert code == 0
    said = [line for line in server.stderr().splitlines() if line.startswith("deskchat: ")]
    assert any("is full" in line and str(data) in line for line in said), said
    assert "is full" in (tmp_path / "logs" / "deskchat.log").read_text()
