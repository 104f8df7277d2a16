"""A damaged database is found, said in plain words, and written no more (issue 19).

A real corrupt page: one page of ``deskchat.sqlite3`` (not the header page) overwritten with
garbage, as a failing disk or a power cut under a lying disk cache leaves it.
docs/operations.md says what the person then does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from desktop.lock import INFO_NAME
from tests.reliability.realws import connect, join, send, signup, wait_for_text
from tests.support.server import Browserless, run_deskchat, start_live_server

pytestmark = pytest.mark.process

ROOM = "archive"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corrupt_a_page(database: Path, table: str = "chat_message") -> None:
    """Overwrite the root page of ``table`` with garbage; the file header stays intact."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    assert root > 1
    with open(database, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes((n * 37 + 11) % 256 for n in range(page_size)))
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        try:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            verdict = str(error)
    assert verdict != "ok", "the overwritten page went unnoticed by SQLite itself"


def test_the_check_at_start_says_the_damage_on_one_line(tmp_path):
    """SQLite's own verdict spans lines; the launcher's sentence built from it must not."""
    from chatserver.chat.health import DAMAGED, Fault
    from desktop.bootstrap import quick_check

    database = tmp_path / "deskchat.sqlite3"
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE chat_message (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("CREATE INDEX chat_message_body ON chat_message (body)")
        db.executemany(
            "INSERT INTO chat_message (body) VALUES (?)", [(f"m{n}" * 20,) for n in range(2000)]
        )
        db.commit()
    corrupt_a_page(database)
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        raw = [row[0] for row in db.execute("PRAGMA quick_check(5)").fetchall()]
    assert any("\n" in row for row in raw), raw  # what the launcher is given to say

    verdict = quick_check(database)

    assert verdict != "ok" and "Page " in verdict, verdict
    assert "\n" not in verdict and "  " not in verdict, verdict
    sentence = Fault(DAMAGED, verdict).sentence(str(database))
    assert "\n" not in sentence and verdict in sentence


async def fill_a_room(server, count: int = 200) -> None:
    a = await connect(server, signup(server, "alice"))
    await join(a, ROOM)
    for n in range(count):
        await send(a, {"type": "send", "room": ROOM, "body": f"m{n}", "client_id": f"c{n}"})
    while True:  # up to the last ack
        frame = json.loads(await a.recv())
        if frame["type"] == "ack" and frame["client_id"] == f"c{count - 1}":
            break
    await a.close()


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "healthz", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_a_start_after_an_unclean_stop_finds_the_damage_and_refuses(tmp_path):
    data = tmp_path / "data"
    server = start_live_server(data, env={"DESKCHAT_RATE_PER_SECOND": "0"})
    try:
        await fill_a_room(server)
    finally:
        server.kill()  # SIGKILL: the instance record stays behind
    assert (data / INFO_NAME).exists()
    database = data / "deskchat.sqlite3"
    corrupt_a_page(database)
    before = digest(database)

    done = run_deskchat("--headless", "--port", "0", "--data-dir", str(data), timeout=60)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("deskchat: ") and "is damaged" in line, line
    assert "deskchat restore" in line and "deskchat backup" in line, line
    assert "Traceback" not in done.stderr
    assert digest(database) == before, "the refused start wrote to the damaged file"
    # Refused again next time, until a backup is restored.
    assert (data / INFO_NAME).exists()


# The damage is said (CRITICAL), and whatever met it or was refused after it logs its error.
@pytest.mark.server_errors(
    r"is damaged|malformed|Internal Server Error|Service Unavailable: /healthz"
)
async def test_damage_met_while_serving_is_said_and_nothing_more_is_written(tmp_path):
    data = tmp_path / "data"
    server = start_live_server(data, env={"DESKCHAT_RATE_PER_SECOND": "0"})
    try:
        await fill_a_room(server)
    finally:
        assert server.stop() == 0  # a clean stop: the next start does not check
    corrupt_a_page(data / "deskchat.sqlite3")

    server = start_live_server(data, env={"DESKCHAT_RATE_PER_SECOND": "0"})
    try:
        assert health(server.url)[0] == 200
        alice = Browserless(server.url)
        assert alice.login("alice") in (200, 302)
        # The first read of the damaged table meets the damage (at connect: the sidebar).
        with contextlib.suppress(Exception):
            ws = await connect(server, alice)
            await join(ws, ROOM)
            await ws.close()
        assert wait_for_text(server.stderr, "is damaged"), server.stderr()
        status, body = health(server.url)
        assert status == 503 and body["status"] == "damaged", body
        # Writes are refused from now on: a sign-up stores no account.
        with contextlib.suppress(Exception):
            Browserless(server.url).signup("bob")
    finally:
        code = server.stop()
    assert code == 0
    with contextlib.closing(
        sqlite3.connect(f"file:{data / 'deskchat.sqlite3'}?mode=ro", uri=True)
    ) as db:
        names = [row[0] for row in db.execute("SELECT username FROM auth_user")]
    assert names == ["alice"], names
    said = [line for line in server.stderr().splitlines() if line.startswith("deskchat: ")]
    assert any("deskchat restore" in line for line in said), said
    # The damage is remembered: the next start checks and refuses.
    assert (data / INFO_NAME).exists()
    again = run_deskchat("--headless", "--port", "0", "--data-dir", str(data), timeout=60)
    assert again.returncode == 2 and "is damaged" in again.stderr, again.stderr
