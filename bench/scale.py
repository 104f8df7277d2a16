"""Fan-out with 1, 2 and 4 workers on Redis + PostgreSQL, beside one process on SQLite.

``python -m bench.scale`` (Redis and PostgreSQL from DESKCHAT_TEST_REDIS_URL and
DESKCHAT_TEST_POSTGRES_URL, as ``tests/scale/services.sh`` prints them). Every configuration
gets a fresh data folder (and a fresh PostgreSQL database), the same seeded users in one room,
and the same load: ``--clients`` WebSockets spread round robin over the workers (what nginx's
least_conn does with long-lived sockets), ``--senders`` of them sending ``--messages`` in
total as fast as they can. Figures come from bench.load: deliveries/s and latency from send
to receipt, on one clock. Results are printed as a table and as JSON (``--json FILE``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from bench import server_processes
from bench.load import (
    Client,
    Tally,
    delivery_figures,
    measured,
    open_clients,
    wait_deliveries,
    wait_quiet,
)

ROOT = Path(__file__).resolve().parent.parent
ROOM = "scale"


def seed(data_dir: Path, env: dict[str, str], users: int) -> list[dict[str, Any]]:
    """Users with sessions in one room, through the app's own entry, on the chosen database."""
    return server_processes.seed(data_dir, users=users, rooms=[ROOM], env=env)["users"]


def start(argv: list[str], env: dict[str, str], count: int) -> tuple[subprocess.Popen, list[str]]:
    """Start a server command and read the ``count`` URLs it prints."""
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=server_processes.base_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    urls = [lines.get(timeout=120).strip() for _ in range(count)]
    return process, urls


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def fan_out(
    urls: list[str], users: list[dict], senders: int, messages: int, rate: float = 0.0
) -> dict:
    """Connect, join, send ``messages`` from ``senders`` clients (at ``rate`` per second in
    total, or as fast as they can with 0), and count what everyone received."""
    tally = Tally()
    clients: list[Client] = []
    for index, url in enumerate(urls):
        mine = users[index :: len(urls)]
        origin = url.rstrip("/")
        headers = [{"Cookie": f"deskchat_session={u['session']}", "Origin": origin} for u in mine]
        ws_url = url.replace("http", "ws", 1) + "ws/"
        opened, _, failed = await open_clients(ws_url, headers, tally)
        if failed:
            raise RuntimeError(f"{len(failed)} clients could not connect: {failed[:3]}")
        clients.extend(opened)
    for client in clients:
        await client.send({"type": "join", "room": ROOM})
    for client in clients:
        await client.expect("joined", timeout=120)
    await wait_quiet(tally)
    each = messages // senders

    gap = senders / rate if rate > 0 else 0.0
    phase = uuid.uuid4().hex[:6]

    async def send_all(client: Client, n: int) -> None:
        if gap:
            await asyncio.sleep(gap * n / senders)  # spread the senders over one gap
        for i in range(each):
            # Fresh client ids per phase: a repeated one is an idempotent retry, not fanned out.
            await client.say(ROOM, f"{phase}-{n}-{i}", f"scale benchmark message {i} from {n}")
            if gap:
                await asyncio.sleep(gap)

    await asyncio.gather(*(send_all(clients[n], n) for n in range(senders)))
    await wait_deliveries(clients, each * senders, stall=20)
    figures = delivery_figures(clients, tally, each * senders)
    await asyncio.gather(*(c.close() for c in clients))
    return figures


def fresh_database(admin_url: str) -> str:
    import psycopg

    name = f"deskchat_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlsplit(admin_url)._replace(path="/" + name).geturl()


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_config(label: str, workers: int, engines: dict[str, str] | None, args) -> dict:
    """One configuration: SQLite in one process (``engines`` None) or N workers on engines."""
    workdir = Path(tempfile.mkdtemp(prefix="deskchat-scale-bench-"))
    env = {"DESKCHAT_RATE_BURST": str(args.messages), "DESKCHAT_RATE_PER_SECOND": "1000"}
    db_url = ""
    if engines is not None:
        import redis

        redis.Redis.from_url(engines["redis"]).flushdb()
        db_url = fresh_database(engines["postgres"])
        env |= {"DESKCHAT_CHANNEL_LAYER": engines["redis"], "DESKCHAT_DATABASE_URL": db_url}
    try:
        users = seed(workdir, env, args.clients)
        if engines is None:
            argv = server_processes.deskchat_argv(workdir)
        else:
            argv = server_processes.serve_argv(workdir, workers)
        process, urls = start(argv, env, workers)
        try:
            burst = measured(fan_out(urls, users, args.senders, args.messages))
            paced = measured(fan_out(urls, users, args.senders, args.paced_messages, args.rate))
        finally:
            stop(process)
    finally:
        if db_url:
            drop_database(engines["postgres"], db_url)
    return {"config": label, "workers": workers, "burst": burst, "paced": paced}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--senders", type=int, default=6)
    parser.add_argument("--messages", type=int, default=300, help="in total, over all senders")
    parser.add_argument(
        "--rate",
        type=float,
        default=20.0,
        help="messages per second (all senders) in the paced phase",
    )
    parser.add_argument("--paced-messages", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--redis", default=os.environ.get("DESKCHAT_TEST_REDIS_URL", ""))
    parser.add_argument("--postgres", default=os.environ.get("DESKCHAT_TEST_POSTGRES_URL", ""))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.redis or not args.postgres:
        parser.error("give --redis and --postgres (or run tests/scale/services.sh first)")
    results = [run_config("SQLite, in-memory layer, 1 process", 1, None, args)]
    engines = {"redis": args.redis, "postgres": args.postgres}
    for n in [int(x) for x in args.workers.split(",")]:
        results.append(run_config(f"PostgreSQL + Redis, {n} worker(s)", n, engines, args))
    print(
        f"{args.clients} clients in one room, {args.senders} senders. Burst: {args.messages}"
        f" messages at once. Paced: {args.paced_messages} at {args.rate:g}/s."
        f" {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f},"
        f" Python {platform.python_version()}"
    )
    print(
        f"{'configuration':38} {'burst deliv/s':>13} {'burst p99':>10}"
        f" {'paced p50':>10} {'paced p99':>10} {'lost':>5}"
    )
    for r in results:
        b, p = r["burst"], r["paced"]
        print(
            f"{r['config']:38} {b['deliveries_per_s']:>13} {b['latency_p99_ms']:>8}ms"
            f" {p['latency_p50_ms']:>8}ms {p['latency_p99_ms']:>8}ms"
            f" {b['lost'] + p['lost']:>5}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
