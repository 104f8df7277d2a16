"""Real engines and real processes for the scale tests: Redis, PostgreSQL, serve, nginx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server_processes import serve_argv
from tests.support import health
from tests.support.server import ROOT, Browserless, server_env

REDIS_ENV = "DESKCHAT_TEST_REDIS_URL"
POSTGRES_ENV = "DESKCHAT_TEST_POSTGRES_URL"
HINT = 'start them with: eval "$(tests/scale/services.sh)"'


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts._replace(path="/" + name).geturl()


def postgres_admin(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def create_database(url: str) -> str:
    """A fresh, empty database beside the one in ``url``; returns its URL."""
    name = f"deskchat_t_{uuid.uuid4().hex[:10]}"
    with postgres_admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with postgres_admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class Served:
    """``python -m desktop serve --workers N`` running as a real process group."""

    process: subprocess.Popen
    urls: list[str]
    data_dir: Path
    env: dict[str, str]
    stderr_path: Path

    def worker_pid(self, index: int) -> int:
        """The pid of worker ``index`` (1-based): the supervisor numbers them in the env."""
        import psutil

        for child in psutil.Process(self.process.pid).children():
            if child.environ().get("DESKCHAT_WORKER_INDEX") == str(index):
                return child.pid
        raise LookupError(f"no worker {index}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # nothing of ours may outlive the test
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


def start_serve(
    data_dir: Path, *, workers: int, env: dict[str, str], port: int = 0, timeout: float = 90
) -> Served:
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = server_env(env)
    stderr_path = data_dir / "serve.stderr"
    with open(stderr_path, "w") as err:  # a file: stderr never fills a pipe
        process = subprocess.Popen(
            serve_argv(data_dir, workers, port),
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    served = Served(process, [], data_dir, full_env, stderr_path)
    # The supervisor's and every worker's stderr (workers inherit it), checked after the test
    # with the exit code (tests/support/health.py); serve writes no log file of its own.
    health.watch(f"deskchat serve on {data_dir}", process, [], served.stop).outputs = [
        health.Output(stderr_path)
    ]
    # A thread reads the lines: select() on the pipe would miss lines already buffered.
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    while len(served.urls) < workers:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            served.stop()
            raise RuntimeError(f"serve printed no URL in time:\n{served.stderr()}") from None
        served.urls.append(line.strip())
    return served


def wait_healthy(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _matches(frame: dict[str, Any], match: dict[str, Any]) -> bool:
    """Field equality; ``user=``/``online=`` on a ``user_presence`` look inside its batch."""
    if frame.get("type") == "user_presence" and "user" in match:
        rest = {k: v for k, v in match.items() if k not in {"user", "online"}}
        users = frame.get("users", {})
        return (
            match["user"] in users
            and ("online" not in match or users[match["user"]] == match["online"])
            and _matches({}, rest)
        )
    return all(frame.get(k) == v for k, v in match.items())


@dataclass
class Socket:
    """A real WebSocket (the ``websockets`` library) that records every frame it receives."""

    ws: Any
    name: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task | None = None
    closed_code: int | None = None

    @classmethod
    async def open(cls, base_url: str, client: Browserless, name: str) -> Socket:
        from websockets.asyncio.client import connect

        ws_url = base_url.replace("http", "ws", 1) + "ws/"
        ws = await connect(
            ws_url, additional_headers=client.ws_headers(), open_timeout=15, max_size=None
        )
        sock = cls(ws, name)
        sock._reader = asyncio.create_task(sock._read())
        await sock.expect("hello")
        return sock

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in self.ws:
                self.frames.append(json.loads(text))
                self._new.set()
        except ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else None
        self._new.set()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    def seen(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind and _matches(f, match)]

    async def expect(self, kind: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        """The first frame of ``kind`` matching ``match`` received so far, or the next one."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.seen(kind, **match)
            if found:
                return found[0]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or (self._reader is not None and self._reader.done()):
                raise AssertionError(
                    f"{self.name}: no {kind} {match} in {timeout} s; got {self.frames[-10:]}"
                )
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    async def join(self, room: str) -> dict[str, Any]:
        await self.send({"type": "join", "room": room})
        return await self.expect("joined", room=room)

    async def say(self, body: str, **target: str) -> dict[str, Any]:
        client_id = uuid.uuid4().hex
        await self.send({"type": "send", "body": body, "client_id": client_id, **target})
        return await self.expect("ack", client_id=client_id)

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader
