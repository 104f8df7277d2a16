"""Starting the real server as a subprocess, and signing users up over real HTTP."""

from __future__ import annotations

import http.cookiejar
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import health

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    """``python -m desktop --headless`` as a real process (see ``start_live_server``).

    Its stderr goes to ``stderr_path`` (a file, so a chatty server never blocks on a full
    pipe); its log file is ``data_dir/logs/deskchat.log``. Both are checked after the test
    (tests/support/health.py).
    """

    process: subprocess.Popen
    url: str
    data_dir: Path
    env: dict = field(default_factory=dict)
    stderr_path: Path | None = None
    watched: health.Watched | None = None

    @property
    def port(self) -> int:
        return int(urllib.parse.urlsplit(self.url).port)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "ws/"

    @property
    def origin(self) -> str:
        return self.url.rstrip("/")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` and wait; returns the exit code (SIGKILL after ``timeout``)."""
        health.note_signal(self.watched, sig)
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                health.note_signal(self.watched, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        health.note_signal(self.watched, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")

    def follow_stderr(self, poll: float = 0.05) -> Iterator[str]:
        """stderr's lines as the server writes them, until it exits (``tail -f``), for a test
        that waits for a line on a thread."""
        assert self.stderr_path is not None
        start = self.watched.outputs[0].start if self.watched is not None else 0
        with open(self.stderr_path, encoding="utf-8", errors="replace") as stream:
            stream.seek(start)
            pending = ""
            while True:
                pending += stream.readline()
                if pending.endswith("\n"):
                    yield pending
                    pending = ""
                elif self.process.poll() is not None:
                    rest = pending + stream.read()
                    yield from rest.splitlines(keepends=True)
                    return
                else:
                    time.sleep(poll)

    def open_sockets(self, username: str) -> int:
        """The sockets the server has registered for ``username`` (its own record, in its
        SQLite database, read-only): a positive marker that it has seen a tab open or close."""
        import contextlib
        import sqlite3

        database = self.data_dir / "deskchat.sqlite3"
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM chat_connection c JOIN auth_user u ON u.id = c.user_id"
                " WHERE u.username = ?",
                (username,),
            ).fetchone()
        return count

    def wait_for_open_sockets(self, username: str, count: int, timeout: float = 15) -> None:
        """Until the server has exactly ``count`` sockets registered for ``username``."""
        deadline = time.monotonic() + timeout
        while (found := self.open_sockets(username)) != count:
            assert time.monotonic() < deadline, f"{username} has {found} sockets, not {count}"
            time.sleep(0.05)

    def expect_errors(self, *patterns: str) -> None:
        """Problems matching these regular expressions are expected from this server."""
        if self.watched is not None:
            self.watched.allowed.extend(patterns)


def server_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCHAT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["DESKCHAT_RATE_BURST"] = "1000"
    env.update(extra or {})
    return env


def run_deskchat(
    *args: str, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``python -m desktop ARGS`` to completion, as a user runs it, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        cwd=ROOT,
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_live_server(
    data_dir: Path,
    *,
    args: list[str] | None = None,
    env: dict | None = None,
    timeout: float = 60,
    headless: bool = True,
    program: list[str] | None = None,
    environ: dict | None = None,
) -> LiveServer:
    """``python -m desktop --headless --port 0 --data-dir DATA_DIR ARGS``, once it printed its
    URL. ``headless=False`` launches as a person does (a window, or the browser fallback
    where none can open: the test's environment decides). ``program`` runs another build of
    the app instead (the installed one, tests/packaging), ``environ`` is then its whole
    environment; either way its output is health-checked like any server's."""
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = environ if environ is not None else server_env(env)
    # Beside the data folder, appended to across restarts on the same folder.
    stderr_path = data_dir.with_name(data_dir.name + "-stderr.log")
    outputs = [stderr_path, data_dir / "logs" / "deskchat.log"]
    before = [health.Output.from_now(path) for path in outputs]
    with open(stderr_path, "ab") as stderr:
        process = subprocess.Popen(
            [
                *(program or [sys.executable, "-m", "desktop"]),
                *(["--headless"] if headless else []),
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                *(args or []),
            ],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    server = LiveServer(
        process=process, url="", data_dir=data_dir, env=full_env, stderr_path=stderr_path
    )
    server.watched = health.watch(f"the server on {data_dir}", process, [], server.stop)
    server.watched.outputs = before
    line = _first_line(process, timeout)
    if not line.startswith("http"):
        server.kill()
        raise RuntimeError(f"server did not start: {line!r}\n{server.stderr()[-3000:]}")
    server.url = line.strip()
    return server


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    """The first line of stdout (the URL); a thread keeps reading the rest, so the server
    never blocks on a full pipe."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True, name="server-stdout").start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


class Browserless:
    """A cookie-keeping HTTP client: sign up, log in, and hand the session to a WebSocket."""

    def __init__(self, base_url: str, ssl_context=None) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        handlers: list = [urllib.request.HTTPCookieProcessor(self.jar)]
        if ssl_context is not None:  # https with a CA the test trusts
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self.opener = urllib.request.build_opener(*handlers)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base_url + path.lstrip("/"), timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        status, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no CSRF token on {path} ({status})"
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token.group(1)}).encode()
        request = urllib.request.Request(
            self.base_url + path.lstrip("/"),
            data=data,
            headers={"Referer": self.base_url + path.lstrip("/")},
        )
        try:
            with self.opener.open(request, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def signup(self, username: str, password: str = "correct-horse-battery") -> None:
        status, page = self.post_form(
            "/accounts/signup/",
            {"username": username, "password1": password, "password2": password},
        )
        assert status == 200 and self.session_cookie(), f"sign-up failed ({status}): {page[:500]}"

    def login(self, username: str, password: str = "correct-horse-battery") -> int:
        status, _ = self.post_form("/accounts/login/", {"username": username, "password": password})
        return status

    def session_cookie(self) -> str | None:
        for cookie in self.jar:
            if cookie.name == "deskchat_session":
                return cookie.value
        return None

    def ws_headers(self) -> dict[str, str]:
        return {
            "Cookie": f"deskchat_session={self.session_cookie()}",
            "Origin": self.base_url.rstrip("/"),
        }
