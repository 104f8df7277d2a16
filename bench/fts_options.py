"""What FTS5 costs when a message is stored, and whether its table options change that.

``nice -n 10 .venv/bin/python -m bench.fts_options [--preload 100000] [--messages 2000]``:
plain SQL on throw-away SQLite files, no Django. One table shaped like ``chat_message`` and,
per variant, the search index of migration 0009 (its ``readers`` expression, tokenizer and
insert trigger) with FTS5's ``columnsize=0`` and ``detail=column`` switched on or off, or no
index at all. Each file gets ``--preload`` messages, then rounds of ``--messages`` inserts
in batches of 1 (one commit each) and of 50, variants interleaved. Prints JSON: median CPU
microseconds per message. docs/benchmarks.md ("Indexing cost on the write path") records
the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli import machine, positive_int

BATCHES = (1, 50)
# None: no index; else the options added to the CREATE VIRTUAL TABLE.
VARIANTS: dict[str, str | None] = {
    "no index": None,
    "as migrated": "",
    "columnsize=0": ", columnsize=0",
    "detail=column": ", detail=column",
    "columnsize=0, detail=column": ", columnsize=0, detail=column",
}


def readers_expression() -> str:
    """The index's reader keys for the inserted row, as migration 0009 writes them."""
    migration = importlib.import_module("chatserver.chat.migrations.0009_search_conversations")
    return migration.SQLITE_READERS.format(row="new")


def message_bodies(count: int, rng: random.Random) -> list[str]:
    """Chat-like lines: 4-20 words from a 20,000-word vocabulary."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(20000)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 20))) for _ in range(count)]


def open_variant(path: Path, options: str | None, preload: list[tuple]) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # as chatserver/config.py sets it
    db.execute(
        "CREATE TABLE chat_message (id INTEGER PRIMARY KEY, body TEXT,"
        " room_id INTEGER, sender_id INTEGER, recipient_id INTEGER)"
    )
    if options is not None:
        db.execute("CREATE VIEW source AS SELECT id, body, '' AS readers FROM chat_message")
        db.execute(
            "CREATE VIRTUAL TABLE chat_message_fts USING fts5(body, readers, content='source',"
            f" content_rowid='id', tokenize='unicode61 remove_diacritics 2'{options})"
        )
        db.execute(
            "CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message BEGIN"
            " INSERT INTO chat_message_fts(rowid, body, readers)"
            f" VALUES (new.id, new.body, {readers_expression()}); END"
        )
    insert(db, preload, batch=len(preload) or 1)
    return db


def insert(db: sqlite3.Connection, rows: list[tuple], *, batch: int) -> None:
    for start in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO chat_message (body, room_id, sender_id) VALUES (?, ?, ?)",
            rows[start : start + batch],
        )
        db.execute("COMMIT")


def rows(count: int, rng: random.Random) -> list[tuple]:
    return [(body, rng.randint(1, 30), rng.randint(1, 200)) for body in message_bodies(count, rng)]


def measure(preload: int, messages: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(7)
    per_message: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="deskchat-fts-") as folder:
        base = rows(preload, rng)
        dbs = {
            name: open_variant(Path(folder) / f"{index}.sqlite3", options, base)
            for index, (name, options) in enumerate(VARIANTS.items())
        }
        for round_ in range(rounds):
            names = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
            for name in names:
                for batch in BATCHES:
                    new = rows(messages, rng)
                    started = time.process_time()
                    insert(dbs[name], new, batch=batch)
                    cpu = time.process_time() - started
                    key = f"{name}, batch {batch}"
                    per_message.setdefault(key, []).append(cpu / messages * 1e6)
        for db in dbs.values():
            db.close()
    return {key: round(statistics.median(values), 1) for key, values in per_message.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fts_options", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--preload", type=positive_int, default=100_000)
    parser.add_argument("--messages", type=positive_int, default=2000)
    parser.add_argument("--rounds", type=positive_int, default=6)
    args = parser.parse_args(argv)
    figures = {
        "cpu_us_per_message": measure(args.preload, args.messages, args.rounds),
        "preload": args.preload,
        "messages": args.messages,
        "rounds": args.rounds,
        "sqlite": sqlite3.sqlite_version,
        "machine": machine(),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
