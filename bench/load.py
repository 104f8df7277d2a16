"""WebSocket clients that keep score: what each received, when, and how often.

All clients live in this process's event loop (the server is another process). Receive times
are taken the moment a frame is read, on the same ``perf_counter`` clock as the send times, so a
delivery's latency is simply ``received - sent``. The clients are identical for Deskchat and
the reference server, so whatever they cost is in both figures.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

T = TypeVar("T")


def measured(run: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(run)`` with this process's garbage collector paused.

    The clients' own collections (a full one over everything the benchmark holds took 43 ms
    during an S2 run and up to 215 ms during S4) otherwise landed in the figures of whichever server
    was being measured: connect and delivery times are taken in this process. The run's
    garbage is collected after it, outside the figures.
    """
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(run)
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


@dataclass
class Tally:
    """Shared by every client of one run: send times, last activity."""

    sent_at: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # client_id -> error code
    last_activity: float = 0.0
    first_send: float = 0.0


class Client:
    """One WebSocket. ``message`` frames are counted; other frames wait in a queue."""

    def __init__(self, ws: ClientConnection, tally: Tally) -> None:
        self.ws = ws
        self.tally = tally
        self.deliveries: list[tuple[str, float]] = []  # (client_id, received at)
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, headers: dict[str, str], tally: Tally) -> tuple[Client, float]:
        """Connect and wait for ``conversations`` (the UI can draw); returns the seconds taken."""
        started = time.perf_counter()
        # Same choices as the reference server: no compression, no keep-alive pings.
        ws = await connect(
            url,
            additional_headers=headers,
            compression=None,
            max_size=None,
            ping_interval=None,
            open_timeout=60,
        )
        client = cls(ws, tally)
        await client.expect("hello", timeout=60)
        await client.expect("conversations", timeout=60)
        return client, time.perf_counter() - started

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                now = time.perf_counter()
                self.tally.last_activity = now
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "message":
                    self.deliveries.append((frame["client_id"], now))
                elif kind == "ack":
                    self.tally.acked_at.setdefault(frame["client_id"], now)
                elif kind == "error" and frame.get("ref") in self.tally.sent_at:
                    # A refused send (e.g. rate_limited) was answered, not lost: counted apart.
                    self.tally.refused[frame["ref"]] = frame.get("code", "")
                    self.frames.put_nowait(frame)
                else:
                    frame["_at"] = now
                    self.frames.put_nowait(frame)
        except Exception:  # a dropped connection shows up as missing deliveries
            pass
        finally:
            self.closed_code = self.ws.close_code

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        """The next frame of ``kind``; presence and other frames on the way are skipped."""
        while True:
            frame = await asyncio.wait_for(self.frames.get(), timeout)
            if frame.get("type") == kind:
                return frame
            if frame.get("type") == "error":
                raise RuntimeError(f"expected {kind}, got {frame}")

    async def say(self, room: str, client_id: str, body: str) -> None:
        """Send without waiting for the ack: as fast as the client can write."""
        now = time.perf_counter()
        if not self.tally.first_send:
            self.tally.first_send = now
        self.tally.sent_at[client_id] = now
        await self.send({"type": "send", "room": room, "client_id": client_id, "body": body})

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


async def open_clients(
    url: str, headers: list[dict[str, str]], tally: Tally, concurrency: int = 25
) -> tuple[list[Client], list[float], list[str]]:
    """Open one client per header set, ``concurrency`` handshakes at a time.

    Returns the clients that got in, their connect times, and why the others did not: a
    refused or timed-out handshake is a figure to report, not a reason to stop the run.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(h: dict[str, str]) -> tuple[Client, float]:
        async with gate:
            return await Client.open(url, h, tally)

    opened = await asyncio.gather(*(one(h) for h in headers), return_exceptions=True)
    good = [o for o in opened if not isinstance(o, BaseException)]
    failed = [f"{type(o).__name__}: {o}" for o in opened if isinstance(o, BaseException)]
    return [c for c, _ in good], [t for _, t in good], failed


async def wait_quiet(tally: Tally, quiet: float = 0.5, limit: float = 120) -> None:
    """Until no frame has arrived for ``quiet`` seconds (presence storms after joins settle)."""
    deadline = time.perf_counter() + limit
    tally.last_activity = time.perf_counter()
    while time.perf_counter() < deadline:
        idle = time.perf_counter() - tally.last_activity
        if idle >= quiet:
            return
        await asyncio.sleep(quiet - idle)


async def wait_deliveries(
    clients: list[Client], expected: int, stall: float = 10, limit: float = 300
) -> None:
    """Until every client has ``expected`` messages, or nothing arrived for ``stall`` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if all(len(c.deliveries) >= expected for c in clients):
            await asyncio.sleep(0.2)  # a duplicate arriving late must still be counted
            return
        if time.perf_counter() - clients[0].tally.last_activity > stall:
            return
        await asyncio.sleep(0.02)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def delivery_figures(clients: list[Client], tally: Tally, expected_each: int) -> dict[str, Any]:
    """Loss, duplicates, latency and throughput over every client's ``message`` frames."""
    latencies: list[float] = []
    duplicates = 0
    received = 0
    unique = 0
    last = tally.first_send
    for client in clients:
        counts = Counter(cid for cid, _ in client.deliveries)
        duplicates += sum(n - 1 for n in counts.values())
        unique += sum(1 for cid in counts if cid in tally.sent_at)
        received += len(client.deliveries)
        for cid, at in client.deliveries:
            if cid in tally.sent_at:
                latencies.append(at - tally.sent_at[cid])
                last = max(last, at)
    expected = (expected_each - len(tally.refused)) * len(clients)
    span = last - tally.first_send
    acks = [tally.acked_at[c] - tally.sent_at[c] for c in tally.sent_at if c in tally.acked_at]
    return {
        "messages_sent": len(tally.sent_at),
        "acks": len(acks),
        "refused": len(tally.refused),
        "refused_codes": dict(Counter(tally.refused.values())),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "lost": expected - unique,
        "duplicates": duplicates,
        "latency_p50_ms": ms(percentile(latencies, 50)),
        "latency_p90_ms": ms(percentile(latencies, 90)),
        "latency_p99_ms": ms(percentile(latencies, 99)),
        "latency_max_ms": ms(max(latencies, default=0.0)),
        "ack_p50_ms": ms(percentile(acks, 50)),
        "ack_p99_ms": ms(percentile(acks, 99)),
        "deliveries_per_s": round(unique / span) if span > 0 else 0,
        "span_s": round(span, 3),
    }


def connect_figures(times: list[float], failed: list[str]) -> dict[str, Any]:
    return {
        "clients": len(times),
        "connect_failures": len(failed),
        "connect_failure_sample": failed[:3],
        "connect_p50_ms": ms(percentile(times, 50)),
        "connect_p99_ms": ms(percentile(times, 99)),
        "connect_max_ms": ms(max(times, default=0.0)),
    }
