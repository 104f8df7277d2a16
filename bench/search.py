"""``python -m bench.search``: search over a million messages, and what the index costs.

Three figures (docs/benchmarks.md, "Search and export"):

1. **Building the index** for an existing database: the database is migrated to just before
   the search migration, a million messages are bulk-inserted with plain SQL, and the
   remaining migration (FTS5 table, triggers, ``rebuild``) is timed as an operator runs it,
   ``deskchat manage migrate``, next to a ``migrate`` with nothing to do (the start-up part).
2. **Search latency** through the real server: a client sends ``search`` frames over its
   WebSocket and times each answer (p50/p99), by kind of query: common, rare, prefix, two
   words, Cyrillic, filters, paging, and the worst case, a word frequent only in rooms the
   searcher is not in (every match must be looked at and refused). The same queries then
   go through the search selector in-process, timed in CPU and wall time: on a machine
   shared with other work the CPU time is the figure that does not move with the load.
3. **The write path**: ``message_create_many`` (the one storage path) on that database, in
   batches of 1 and of 50, with the index triggers on and dropped, interleaved rounds; and
   S1 itself is run with ``python -m bench S1 --runs 3`` and ``--variant no-search-index``.

Messages: 20 rooms (the searcher is a member of 10) and some DMs; bodies of 3-14 words drawn
with Zipf-like frequencies from 20,000 words, English and Russian, mixed case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import server_processes
from bench.load import Client, Tally, measured, ms

MARKER = "BENCH-SEARCH:"
ROOMS = [f"room-{i:02d}" for i in range(20)]
MEMBER_OF = 10  # the searcher's rooms: the first ten
EN = [
    "meeting",
    "notes",
    "lunch",
    "report",
    "budget",
    "quarter",
    "release",
    "plan",
    "invoice",
    "client",
    "deadline",
    "review",
    "design",
    "server",
    "printer",
    "coffee",
    "office",
    "holiday",
    "contract",
    "schedule",
    "team",
    "project",
    "update",
    "question",
    "answer",
    "problem",
    "ticket",
    "customer",
    "order",
    "delivery",
    "price",
    "offer",
    "draft",
    "final",
    "version",
]
RU = [
    "встреча",
    "отчёт",
    "бюджет",
    "квартал",
    "релиз",
    "план",
    "счёт",
    "клиент",
    "срок",
    "обзор",
    "дизайн",
    "сервер",
    "принтер",
    "кофе",
    "офис",
    "отпуск",
    "договор",
    "график",
    "команда",
    "проект",
    "вопрос",
    "ответ",
    "проблема",
    "заявка",
    "заказ",
    "доставка",
    "цена",
    "предложение",
    "черновик",
    "версия",
    "решение",
    "совещание",
]
HIDDEN_WORD = "confidential"  # frequent, but only in rooms the searcher is not in


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    """Real words first (the most frequent), then made-up ones in both alphabets."""
    syllables_en = ["ka", "lo", "mi", "ter", "son", "pra", "vel", "dun", "rix", "ob"]
    syllables_ru = ["ка", "ло", "ми", "тер", "сон", "пра", "вел", "дун", "рик", "об"]
    words: list[str] = []
    for en, ru in zip(EN, RU, strict=False):
        words += [en, ru]
    seen = set(words)
    while len(words) < size:
        parts = syllables_en if len(words) % 2 else syllables_ru
        word = "".join(rng.choice(parts) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def bodies(count: int, seed: int = 18):
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    for _ in range(count):
        chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(3, 14))
        if rng.random() < 0.1:
            chosen[0] = chosen[0].capitalize()
        yield " ".join(chosen)


def manage(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "manage", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage {args} failed: {result.stderr[-2000:]}")
    return result.stdout


def before_search_migration() -> str:
    """The chat migration the search one depends on (read from it, so a renumbered chain
    still works)."""
    folder = Path(__file__).resolve().parent.parent / "chatserver" / "chat" / "migrations"
    search = next(folder.glob("*_search.py"))
    text = search.read_text(encoding="utf-8")
    start = text.index('("chat", "') + len('("chat", "')
    return text[start : text.index('"', start)]


def insert_messages(data_dir: Path, users: list[dict], rooms: dict[str, int], count: int) -> float:
    """``count`` messages straight into SQLite: 95 % in the rooms, 5 % DMs."""
    started = time.perf_counter()
    db = sqlite3.connect(data_dir / "deskchat.sqlite3")
    db.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    ids = [u["id"] for u in users]
    room_ids = [rooms[name] for name in ROOMS]
    ts = "2026-06-01 09:00:00.000000"

    def rows():
        for i, body in enumerate(bodies(count)):
            sender = ids[i % len(ids)]
            if rng.random() < 0.05:
                peer = rng.choice([x for x in ids[:8] if x != sender])
                low, high = sorted((sender, peer))
                yield (sender, None, peer, f"{low}:{high}", body, f"b{i}", ts)
                continue
            room = room_ids[rng.randrange(len(room_ids))]
            if room not in room_ids[:MEMBER_OF] and rng.random() < 0.05:
                body = f"{HIDDEN_WORD} {body}"
            yield (sender, room, None, None, body, f"b{i}", ts)

    with db:
        db.executemany(
            "INSERT INTO chat_message (sender_id, room_id, recipient_id, dm_key, body,"
            " client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )
        searcher = users[0]["id"]
        leave = room_ids[MEMBER_OF:]
        db.execute(
            "DELETE FROM chat_membership WHERE user_id = ? AND room_id IN"
            f" ({', '.join('?' * len(leave))})",
            [searcher, *leave],
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - started


def queries(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Search frames by kind (the searcher is u00000, a member of room-00..room-09)."""
    words = vocabulary(random.Random(18))
    return {
        "common word (rank 1)": [{"q": words[0]}],
        "frequent word (rank 30)": [{"q": words[30]}],
        "medium word (rank 1,000)": [{"q": words[1000]}],
        "rare word (rank 15,000)": [{"q": rng.choice(words[15000:20000])} for _ in range(20)],
        "prefix (3 letters)": [{"q": words[rng.randrange(2, 60)][:3]} for _ in range(20)],
        "two words": [
            {"q": f"{words[rng.randrange(60)]} {words[rng.randrange(60, 600)]}"} for _ in range(20)
        ],
        "Cyrillic, upper case": [{"q": RU[rng.randrange(len(RU))].upper()} for _ in range(10)],
        "from:user": [{"q": f"{words[2]} from:u00003"}],
        "in:room": [{"q": f"{words[5]} in:room-04"}],
        "no match": [{"q": "zzzqqqxxx"}],
        "hidden word (matches only elsewhere)": [{"q": HIDDEN_WORD}],
    }


async def search_latency(server, headers: dict[str, str], rounds: int) -> dict[str, Any]:
    client, _ = await Client.open(server.ws_url, headers, Tally())
    plan = queries(random.Random(3))
    for frames in plan.values():  # one untimed pass: the first read of each page from disk
        for frame in frames:
            await client.send({"type": "search", **frame})
            await client.expect("search_results", timeout=120)
    timings: dict[str, list[float]] = {kind: [] for kind in plan}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for kind, frames in plan.items():
            for frame in frames:
                started = time.perf_counter()
                await client.send({"type": "search", **frame})
                answer = await client.expect("search_results", timeout=120)
                timings[kind].append(answer["_at"] - started)
                counts[kind] = len(answer["results"])
    # Paging: the next page of a common word, 20 pages back.
    paging: list[float] = []
    before = None
    for _ in range(20):
        frame = {"type": "search", "q": vocabulary(random.Random(18))[30]}
        if before:
            frame["before"] = before
        started = time.perf_counter()
        await client.send(frame)
        answer = await client.expect("search_results", timeout=120)
        paging.append(answer["_at"] - started)
        if not answer["has_more"]:
            break
        before = answer["results"][-1]["id"]
    timings["next pages (20 deep)"] = paging
    await client.close()
    everything = [t for values in timings.values() for t in values]
    return {
        "queries": len(everything),
        "p50_ms": ms(statistics.median(everything)),
        "p99_ms": ms(percentile(everything, 0.99)),
        "max_ms": ms(max(everything)),
        "by_kind": {
            kind: {
                "n": len(values),
                "p50_ms": ms(statistics.median(values)),
                "p99_ms": ms(percentile(values, 0.99)),
                "results": counts.get(kind),
            }
            for kind, values in timings.items()
        },
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- run inside the app (``deskchat manage shell``) ------------------------------------------


def index_triggers() -> list[str]:
    """The CREATE statements of the FTS triggers as the database holds them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'chat_message_fts%'"
        )
        return [row[0] for row in cursor.fetchall()]


def drop_index_triggers() -> list[str]:
    """Drop the FTS triggers (the index goes stale); returns them for ``create``."""
    from django.db import connection

    saved = index_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master"
            " WHERE type = 'trigger' AND name LIKE 'chat_message_fts%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER "{name}"')
    return saved


def write_path() -> None:
    """``message_create_many`` with and without the index triggers, interleaved."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from chatserver.chat.services.messages import SendRequest, message_create_many

    spec = json.loads(os.environ["BENCH_WRITE"])
    user = get_user_model().objects.get(username="u00001")
    saved = index_triggers()
    assert len(saved) == 3, saved
    per_message: dict[str, list[float]] = {}
    serial = 0
    for round_ in range(spec["rounds"]):
        order = [True, False] if round_ % 2 == 0 else [False, True]
        for indexed in order:
            drop_index_triggers()
            if indexed:
                with connection.cursor() as cursor:
                    for statement in saved:
                        cursor.execute(statement)
            for batch in spec["batches"]:
                texts = iter(bodies(spec["messages"], seed=serial))
                batches = []
                for _ in range(spec["messages"] // batch):
                    requests = []
                    for body in (next(texts) for _ in range(batch)):
                        serial += 1
                        requests.append(
                            SendRequest(
                                sender_id=user.pk,
                                sender_username=user.username,
                                body=body,
                                client_id=f"w{serial}",
                                room_name="room-01",
                            )
                        )
                    batches.append(requests)
                started_cpu, started = time.process_time(), time.perf_counter()
                for requests in batches:  # only storing is timed
                    message_create_many(requests=requests)
                cpu = time.process_time() - started_cpu
                seconds = time.perf_counter() - started
                key = f"batch {batch}, {'indexed' if indexed else 'no index'}"
                per_message.setdefault(key, []).append(seconds / spec["messages"] * 1e6)
                # Wall time is mostly the commit's fsync (batch 1) and the machine's load;
                # the CPU time is the work the index adds.
                per_message.setdefault(f"{key}, CPU", []).append(cpu / spec["messages"] * 1e6)
    if len(index_triggers()) != 3:
        with connection.cursor() as cursor:
            for statement in saved:
                cursor.execute(statement)
    result = {key: round(statistics.median(values), 1) for key, values in per_message.items()}
    result["rounds"] = spec["rounds"]
    print(MARKER + json.dumps(result), flush=True)


# Measured and reported apart from the p50/p99 set: a one-letter last word, matched whole since
# a prefix of one letter stood for thousands of words (search_query.MIN_PREFIX_CHARS).
ONE_LETTER = [{"q": "m"}, {"q": "к"}, {"q": "s"}, {"q": "п"}]


def query_cost() -> None:
    """Each planned query through the search selector itself (what the server's database
    thread runs per ``search`` frame, message objects included), in this process: its CPU
    time, which the machine's other load does not inflate, next to its wall time."""
    from django.contrib.auth import get_user_model

    from chatserver.chat.selectors.search import search

    rounds = json.loads(os.environ["BENCH_COST"])["rounds"]
    user = get_user_model().objects.get(username="u00000")
    plan = queries(random.Random(3))
    cpu: dict[str, list[float]] = {kind: [] for kind in plan}
    wall: dict[str, list[float]] = {kind: [] for kind in plan}

    def timed(q: str) -> tuple[float, float]:
        """One search as the consumer asks it: (CPU seconds, wall seconds)."""
        started_cpu, started = time.process_time(), time.perf_counter()
        search(user_id=user.pk, q=q, room=None, with_user=None, before=None, limit=20, ref=None)
        return time.process_time() - started_cpu, time.perf_counter() - started

    for frames in plan.values():  # warm the page cache, as the server's would be
        for frame in frames:
            timed(frame["q"])
    for _ in range(rounds):
        for kind, frames in plan.items():
            for frame in frames:
                spent_cpu, spent = timed(frame["q"])
                cpu[kind].append(spent_cpu)
                wall[kind].append(spent)
    every_cpu = [t for values in cpu.values() for t in values]
    every_wall = [t for values in wall.values() for t in values]
    apart = [timed(frame["q"]) for frame in ONE_LETTER * rounds]
    apart_cpu = [spent_cpu for spent_cpu, _ in apart]
    apart_wall = [spent for _, spent in apart]
    result = {
        "queries": len(every_cpu),
        "cpu_p50_ms": ms(statistics.median(every_cpu)),
        "cpu_p99_ms": ms(percentile(every_cpu, 0.99)),
        "wall_p50_ms": ms(statistics.median(every_wall)),
        "wall_p99_ms": ms(percentile(every_wall, 0.99)),
        "by_kind_cpu_p50_max_ms": {
            kind: [ms(statistics.median(values)), ms(max(values))] for kind, values in cpu.items()
        },
        "by_kind_wall_p50_max_ms": {
            kind: [ms(statistics.median(values)), ms(max(values))] for kind, values in wall.items()
        },
        "one_letter_word_not_in_p99": {
            "cpu_p50_max_ms": [ms(statistics.median(apart_cpu)), ms(max(apart_cpu))],
            "wall_p50_max_ms": [ms(statistics.median(apart_wall)), ms(max(apart_wall))],
        },
    }
    print(MARKER + json.dumps(result), flush=True)


# --- the run -----------------------------------------------------------------------------------


def timed_migrations(data_dir: Path, figures: dict[str, Any], env: dict[str, str]) -> None:
    """``migrate`` twice: the first builds the search index over every row, the second is
    the start-up cost of a database that is already up to date."""
    for key in ("migrate_with_index_build_s", "migrate_nothing_to_do_s"):
        started = time.perf_counter()
        manage(data_dir, "migrate", env=env)
        figures[key] = round(time.perf_counter() - started, 2)


def timed_searches(
    data_dir: Path, session: str, rounds: int, figures: dict[str, Any], env: dict[str, str]
) -> None:
    """The query set through the real server (one WebSocket), then through the selector
    in-process on the same database."""
    server = server_processes.start_deskchat(data_dir, env=env)
    headers = {"Cookie": f"deskchat_session={session}", "Origin": server.origin}
    try:
        with server_processes.Monitor(server.pid) as monitor:
            figures["search"] = measured(search_latency(server, headers, rounds))
    finally:
        figures["server_exit"] = server.stop()
    figures["server"] = monitor.figures()
    out = manage(
        data_dir,
        "shell",
        "-c",
        "from bench.search import query_cost; query_cost()",
        env={**env, "BENCH_COST": json.dumps({"rounds": rounds})},
    )
    figures["selector_in_process"] = json.loads(out.split(MARKER, 1)[1])


def run(count: int, rounds: int, write_rounds: int, keep: bool) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="deskchat-bench-search-"))
    figures: dict[str, Any] = {"messages": count}
    seeded = server_processes.seed(data_dir, users=40, rooms=ROOMS)
    manage(data_dir, "migrate", "chat", before_search_migration())
    figures["bulk_insert_s"] = round(
        insert_messages(data_dir, seeded["users"], seeded["rooms"], count), 1
    )
    figures["database_mb_before_index"] = round(
        server_processes.database_bytes(data_dir) / 2**20, 1
    )
    timed_migrations(data_dir, figures, {})
    with sqlite3.connect(data_dir / "deskchat.sqlite3") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    figures["database_mb_with_index"] = round(server_processes.database_bytes(data_dir) / 2**20, 1)

    timed_searches(data_dir, seeded["users"][0]["session"], rounds, figures, {})

    spec = {"rounds": write_rounds, "batches": [1, 50], "messages": 1000}
    out = manage(
        data_dir,
        "shell",
        "-c",
        "from bench.search import write_path; write_path()",
        env={"BENCH_WRITE": json.dumps(spec)},
    )
    figures["write_path_us_per_message"] = json.loads(out.split(MARKER, 1)[1])
    if keep:
        figures["data_dir"] = str(data_dir)
    else:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def run_postgres(url: str, count: int, rounds: int) -> dict[str, Any]:
    """The same million messages on PostgreSQL (``--postgres URL``, an empty database):
    the migration that builds the GIN index, timed, and the queries through the selector
    in-process. The rows go in with ``COPY``."""
    import psycopg

    data_dir = Path(tempfile.mkdtemp(prefix="deskchat-bench-search-pg-"))
    env = {"DESKCHAT_DATABASE_URL": url}
    figures: dict[str, Any] = {"messages": count, "engine": "postgresql"}
    seeded = server_processes.seed(data_dir, users=40, rooms=ROOMS, env=env)
    manage(data_dir, "migrate", "chat", before_search_migration(), env=env)
    users = seeded["users"]
    ids = [u["id"] for u in users]
    room_ids = [seeded["rooms"][name] for name in ROOMS]
    rng = random.Random(7)
    started = time.perf_counter()
    with psycopg.connect(url) as db, db.cursor() as cursor:
        with cursor.copy(
            "COPY chat_message (sender_id, room_id, recipient_id, dm_key, body, client_id,"
            " created_at) FROM STDIN"
        ) as copy:
            for i, body in enumerate(bodies(count)):
                sender = ids[i % len(ids)]
                if rng.random() < 0.05:
                    peer = rng.choice([x for x in ids[:8] if x != sender])
                    low, high = sorted((sender, peer))
                    row = (sender, None, peer, f"{low}:{high}", body, f"b{i}", "2026-06-01 09:00Z")
                else:
                    room = room_ids[rng.randrange(len(room_ids))]
                    if room not in room_ids[:MEMBER_OF] and rng.random() < 0.05:
                        body = f"{HIDDEN_WORD} {body}"
                    row = (sender, room, None, None, body, f"b{i}", "2026-06-01 09:00Z")
                copy.write_row(row)
        leave = room_ids[MEMBER_OF:]
        cursor.execute(
            "DELETE FROM chat_membership WHERE user_id = %s AND room_id = ANY(%s)",
            [ids[0], leave],
        )
        cursor.execute("ANALYZE chat_message")
    figures["copy_s"] = round(time.perf_counter() - started, 1)
    timed_migrations(data_dir, figures, env)
    timed_searches(data_dir, users[0]["session"], rounds, figures, env)
    import shutil

    shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over every query")
    parser.add_argument("--write-rounds", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure PostgreSQL on this (empty) database: index build, searches through"
        " the server and through the selector",
    )
    parser.add_argument("--postgres-only", action="store_true", help="with --postgres: skip SQLite")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if not args.postgres_only:
        figures = run(args.messages, args.rounds, args.write_rounds, args.keep)
    if args.postgres:
        figures["postgresql"] = run_postgres(args.postgres, args.messages, args.rounds)
    figures["machine"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    met = True
    for engine, result in [("SQLite", figures), ("PostgreSQL", figures.get("postgresql"))]:
        if not result or "search" not in result:
            continue
        through, alone = result["search"], result["selector_in_process"]
        met = met and through["p99_ms"] < 50
        print(
            f"{engine}: {result['messages']:,} messages, search through the server"
            f" p50 {through['p50_ms']} ms, p99 {through['p99_ms']} ms"
            f" ({through['queries']} queries); selector in-process wall p50"
            f" {alone['wall_p50_ms']} ms, p99 {alone['wall_p99_ms']} ms, CPU p99"
            f" {alone['cpu_p99_ms']} ms; load average {figures['machine']['load_average']}"
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
