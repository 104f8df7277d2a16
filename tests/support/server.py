"""Starting the real server as a subprocess, and signing users up over real HTTP."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    process: subprocess.Popen
    url: str
    data_dir: Path
    env: dict = field(default_factory=dict)

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
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


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
    data_dir: Path, *, args: list[str] | None = None, env: dict | None = None, timeout: float = 60
) -> LiveServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = server_env(env)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop",
            "--headless",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *(args or []),
        ],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = _read_line(process, timeout)
    if not line.startswith("http"):
        process.kill()
        _, err = process.communicate()
        raise RuntimeError(f"server did not start: {line!r}\n{err}")
    return LiveServer(process=process, url=line.strip(), data_dir=data_dir, env=full_env)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(process.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        process.kill()
        raise RuntimeError("server printed nothing in time")
    return process.stdout.readline()


class Browserless:
    """A cookie-keeping HTTP client: sign up, log in, and hand the session to a WebSocket."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

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
