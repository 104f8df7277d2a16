"""Scenarios S1-S6 (issue 6), each run against Deskchat and, where it applies, the reference.

Every scenario gets a fresh data folder and a fresh server process, so none inherits another's
rows, caches or memory. A protective limit a scenario exceeds on purpose is raised through its
``DESKCHAT_*`` setting and reported in ``limits_raised`` next to the figures.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import server_processes
from bench.load import (
    Client,
    Tally,
    connect_figures,
    delivery_figures,
    measured,
    ms,
    open_clients,
    percentile,
    wait_deliveries,
    wait_quiet,
)

ROOM = "bench"


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is; ``QUICK`` is the smoke run the test suite uses."""

    s1_clients: int = 50
    s1_messages: int = 500
    s2_clients: int = 200
    s2_rate: float = 20.0
    s2_seconds: float = 10.0
    s3_clients: int = 20
    s3_each: int = 50
    s4_clients: int = 1000
    s4_idle_seconds: float = 10.0
    s5_messages: int = 1_000_000
    s5_pages: int = 10
    s5_resume: int = 10_000
    s6_runs: int = 5


FULL = Sizes()
QUICK = Sizes(
    s1_clients=4,
    s1_messages=20,
    s2_clients=4,
    s2_seconds=1.0,
    s3_clients=3,
    s3_each=5,
    s4_clients=12,
    s4_idle_seconds=0.5,
    s5_messages=3_000,
    s5_pages=3,
    s5_resume=600,
    s6_runs=1,
)


@dataclass
class Bench:
    """What every scenario needs: where to put data folders, sizes, and which servers to run."""

    workdir: Path
    sizes: Sizes = FULL
    variant: str = ""
    reference: bool = True

    def data_dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- servers ----------------------------------------------------------------------

    def deskchat(self, name: str, users: int, rooms: list[str], env: dict[str, str]):
        """A seeded data folder and the real server on it; yields (server, WS header sets)."""
        data_dir = self.data_dir(name)
        seeded = server_processes.seed(data_dir, users=users, rooms=rooms)
        server = server_processes.start_deskchat(data_dir, env, self.variant)
        headers = [
            {"Cookie": f"deskchat_session={u['session']}", "Origin": server.origin}
            for u in seeded["users"]
        ]
        return server, headers

    def reference_server(self, clients: int):
        server = server_processes.start_reference(self.workdir / "reference.log")
        return server, [{"Origin": server.origin}] * clients


Plan = Callable[[list[Client], Tally], Awaitable[None]]


async def room_load(
    server: server_processes.ServerProcess,
    headers: list[dict[str, str]],
    plan: Plan,
    expected_each: int,
) -> dict[str, Any]:
    """Connect everyone, join the room, let presence settle, run ``plan``, count deliveries."""
    tally = Tally()
    clients, connect_times, failed = await open_clients(server.ws_url, headers, tally)
    for client in clients:
        await client.send({"type": "join", "room": ROOM})
    for client in clients:
        await client.expect("joined")
    await wait_quiet(tally)
    with server_processes.Monitor(server.pid) as monitor:
        await plan(clients, tally)
        await wait_deliveries(clients, expected_each)
    figures = {
        **connect_figures(connect_times, failed),
        **delivery_figures(clients, tally, expected_each),
        **monitor.figures(),
    }
    figures["closed_by_server"] = sum(1 for c in clients if c.closed_code is not None)
    # CPU per delivery depends far less on what else the machine runs than wall-clock figures.
    delivered = figures["deliveries_expected"] - figures["lost"]
    figures["server_cpu_us_per_delivery"] = (
        round(monitor.cpu / delivered * 1e6, 1) if delivered else 0.0
    )
    await asyncio.gather(*(c.close() for c in clients))
    return figures


def run_both(
    bench: Bench, name: str, clients: int, env: dict[str, str], plan: Plan, expected_each: int
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    server, headers = bench.deskchat(name, clients, [ROOM], env)
    try:
        result["deskchat"] = measured(room_load(server, headers, plan, expected_each))
    finally:
        server.stop()
    if bench.reference:
        ref, ref_headers = bench.reference_server(clients)
        try:
            result["reference"] = measured(room_load(ref, ref_headers, plan, expected_each))
        finally:
            ref.stop()
    return result


def body(i: int) -> str:
    return f"benchmark message number {i}, about as long as a chat line"


# --- S1-S3: fan-out --------------------------------------------------------------------------


def s1(bench: Bench) -> dict[str, Any]:
    n, count = bench.sizes.s1_clients, bench.sizes.s1_messages

    async def plan(clients: list[Client], tally: Tally) -> None:
        for i in range(count):
            await clients[0].say(ROOM, f"s1-{i}", body(i))

    env = {"DESKCHAT_RATE_BURST": str(count)}
    return {
        "title": f"S1: {n} clients, 1 sender, {count} msgs as fast as possible",
        "limits_raised": {"DESKCHAT_RATE_BURST": count},
        **run_both(bench, "s1", n, env, plan, count),
    }


def s2(bench: Bench) -> dict[str, Any]:
    n, rate, seconds = bench.sizes.s2_clients, bench.sizes.s2_rate, bench.sizes.s2_seconds
    count = int(rate * seconds)

    async def plan(clients: list[Client], tally: Tally) -> None:
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await clients[0].say(ROOM, f"s2-{i}", body(i))

    env = {"DESKCHAT_RATE_PER_SECOND": str(rate)}
    return {
        "title": f"S2: {n} clients, 1 sender at {rate:g} msg/s for {seconds:g} s",
        "limits_raised": {"DESKCHAT_RATE_PER_SECOND": rate},
        **run_both(bench, "s2", n, env, plan, count),
    }


def s3(bench: Bench) -> dict[str, Any]:
    n, each = bench.sizes.s3_clients, bench.sizes.s3_each

    async def plan(clients: list[Client], tally: Tally) -> None:
        async def burst(k: int, client: Client) -> None:
            for i in range(each):
                await client.say(ROOM, f"s3-{k}-{i}", body(i))

        await asyncio.gather(*(burst(k, c) for k, c in enumerate(clients)))

    env = {"DESKCHAT_RATE_BURST": str(each)}
    return {
        "title": f"S3: {n} clients each sending {each} msgs at once",
        "limits_raised": {"DESKCHAT_RATE_BURST": each},
        **run_both(bench, "s3", n, env, plan, n * each),
    }


# --- S4: idle connections --------------------------------------------------------------------


async def idle_load(
    server: server_processes.ServerProcess, headers: list[dict[str, str]], seconds: float
) -> dict[str, Any]:
    base_rss = server_processes.Monitor(server.pid).rss()
    tally = Tally()
    clients, connect_times, failed = await open_clients(server.ws_url, headers, tally)
    connected_in = time.perf_counter()
    await wait_quiet(tally, quiet=1.0, limit=600)
    settle = time.perf_counter() - connected_in
    with server_processes.Monitor(server.pid) as monitor:
        await asyncio.sleep(seconds)
    figures = {
        **connect_figures(connect_times, failed),
        **monitor.figures(),
        "server_rss_before_clients_mb": round(base_rss / 2**20, 1),
        "settle_after_connect_s": round(settle, 2),
        "closed_by_server": sum(1 for c in clients if c.closed_code is not None),
    }
    figures["rss_per_client_kb"] = round(
        (monitor.end_rss - base_rss) / 1024 / max(1, len(clients)), 1
    )
    await asyncio.gather(*(c.close() for c in clients))
    return figures


def s4(bench: Bench) -> dict[str, Any]:
    n, idle = bench.sizes.s4_clients, bench.sizes.s4_idle_seconds
    result: dict[str, Any] = {
        "title": f"S4: {n} idle clients (every user a member of one room)",
        "limits_raised": {},
    }
    server, headers = bench.deskchat("s4", n, ["general"], {})
    try:
        result["deskchat"] = measured(idle_load(server, headers, idle))
    finally:
        server.stop()
    if bench.reference:
        ref, ref_headers = bench.reference_server(n)
        try:
            result["reference"] = measured(idle_load(ref, ref_headers, idle))
        finally:
            ref.stop()
    return result


# --- S5: a large room ------------------------------------------------------------------------


async def timed(client: Client, frame: dict[str, Any], answer: str) -> tuple[dict, float]:
    started = time.perf_counter()
    await client.send(frame)
    reply = await client.expect(answer, timeout=120)
    return reply, reply["_at"] - started


async def big_room(
    server: server_processes.ServerProcess, headers: dict[str, str], sizes: Sizes, top_id: int
) -> dict[str, Any]:
    tally = Tally()
    client, connect_s = await Client.open(server.ws_url, headers, tally)
    joins = []
    for _ in range(5):
        joined, seconds = await timed(client, {"type": "join", "room": "big"}, "joined")
        joins.append(seconds)
    assert len(joined["messages"]) == 50, joined
    pages, before = [], joined["messages"][0]["id"]
    for _ in range(sizes.s5_pages):
        page, seconds = await timed(
            client, {"type": "history", "room": "big", "before": before}, "history"
        )
        pages.append(seconds)
        assert len(page["messages"]) == 50, page
        before = page["messages"][0]["id"]
    since = top_id - sizes.s5_resume
    started = time.perf_counter()
    await client.send({"type": "resume", "since": since})
    resumed, last_id, resume_error = 0, since, None
    while True:
        try:
            frame = await client.expect("resumed", timeout=120)
        except RuntimeError as error:  # an error frame: reported, not hidden
            resume_error = str(error)
            break
        ids = [m["id"] for m in frame["messages"]]
        if ids and ids[0] <= last_id:
            raise RuntimeError("resume went backwards")
        resumed += len(ids)
        last_id = ids[-1] if ids else last_id
        if not frame["has_more"]:
            break
    resume_s = time.perf_counter() - started if resume_error else frame["_at"] - started
    await client.close()
    return {
        "resume_error": resume_error,
        "connect_ms": ms(connect_s),
        "join_first_ms": ms(joins[0]),
        "join_median_ms": ms(statistics.median(joins)),
        "join_max_ms": ms(max(joins)),
        "history_page_median_ms": ms(statistics.median(pages)),
        "history_page_max_ms": ms(max(pages)),
        "history_pages": len(pages),
        "resume_messages": resumed,
        "resume_expected": sizes.s5_resume,
        "resume_ms": ms(resume_s),
    }


def s5(bench: Bench) -> dict[str, Any]:
    sizes = bench.sizes
    data_dir = bench.data_dir("s5")
    seeded = server_processes.seed(data_dir, users=2, rooms=["big"])
    sender_ids = [u["id"] for u in seeded["users"]]
    insert_s = server_processes.bulk_insert_messages(
        data_dir, room_id=seeded["rooms"]["big"], sender_ids=sender_ids, count=sizes.s5_messages
    )
    top_id = server_processes.max_message_id(data_dir)
    server = server_processes.start_deskchat(data_dir, {}, bench.variant)
    headers = {
        "Cookie": f"deskchat_session={seeded['users'][0]['session']}",
        "Origin": server.origin,
    }
    try:
        with server_processes.Monitor(server.pid) as monitor:
            figures = measured(big_room(server, headers, sizes, top_id))
    finally:
        server.stop()
    figures.update(monitor.figures())
    figures["stored_messages"] = sizes.s5_messages
    figures["database_mb"] = round(server_processes.database_bytes(data_dir) / 2**20, 1)
    figures["bulk_insert_s"] = round(insert_s, 1)
    return {
        "title": f"S5: a room with {sizes.s5_messages:,} stored messages",
        "limits_raised": {},
        "deskchat": figures,
    }


# --- S6: cold start --------------------------------------------------------------------------


def s6(bench: Bench) -> dict[str, Any]:
    runs = bench.sizes.s6_runs
    data_dir = bench.data_dir("s6")
    first = server_processes.start_deskchat(
        data_dir, {}, bench.variant
    )  # creates and migrates the DB
    first_run = first.started_in
    first.stop()
    starts = []
    for _ in range(runs):
        started = time.perf_counter()
        server = server_processes.start_deskchat(data_dir, {}, bench.variant)
        assert server_processes.healthz(server.url) == 200
        starts.append(time.perf_counter() - started)
        server.stop()
    result: dict[str, Any] = {
        "title": f"S6: cold start to /healthz answering, median of {runs}",
        "limits_raised": {},
        "deskchat": {
            "cold_start_median_ms": ms(statistics.median(starts)),
            "cold_start_max_ms": ms(max(starts)),
            "first_run_with_migrations_ms": ms(first_run),
        },
    }
    if bench.reference:
        ref_starts = []
        for _ in range(runs):
            started = time.perf_counter()
            ref = server_processes.start_reference(bench.workdir / "reference.log")
            ref_starts.append(time.perf_counter() - started)
            ref.stop()
        result["reference"] = {
            "cold_start_median_ms": ms(statistics.median(ref_starts)),
            "cold_start_max_ms": ms(max(ref_starts)),
        }
    return result


SCENARIOS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "S1": s1,
    "S2": s2,
    "S3": s3,
    "S4": s4,
    "S5": s5,
    "S6": s6,
}

__all__ = ["FULL", "QUICK", "SCENARIOS", "Bench", "Sizes", "percentile"]
