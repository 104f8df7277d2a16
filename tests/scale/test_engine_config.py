"""A wrong or unreachable Redis or PostgreSQL stops the start with one clear line."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.support.server import ROOT, server_env

pytestmark = pytest.mark.process


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deskchat(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args, "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "url", "says"),
    [
        ("DESKCHAT_CHANNEL_LAYER", "redis://127.0.0.1:{port}/0", "cannot reach Redis at"),
        ("DESKCHAT_CHANNEL_LAYER", "redis://:s3cret@127.0.0.1:{port}/0", "cannot reach Redis"),
        ("DESKCHAT_CHANNEL_LAYER", "amqp://127.0.0.1/", "must be 'memory' or a redis:// URL"),
        ("DESKCHAT_CHANNEL_LAYER", "redis://127.0.0.1:99999/0", "has an invalid port"),
        (
            "DESKCHAT_DATABASE_URL",
            "postgres://u:s3cret@127.0.0.1:{port}/chat",
            "cannot connect to PostgreSQL at",
        ),
        ("DESKCHAT_DATABASE_URL", "postgres://127.0.0.1:{port}", "names no database"),
        ("DESKCHAT_DATABASE_URL", "mysql://127.0.0.1/chat", "must start with postgres://"),
    ],
)
@pytest.mark.parametrize("command", [["serve", "--workers", "2"], ["--headless"]])
def test_bad_engine_url_fails_at_start_with_one_line(tmp_path, variable, url, says, command):
    result = deskchat(tmp_path, *command, **{variable: url.format(port=closed_port())})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deskchat: ") and says in lines[0]
    assert "s3cret" not in lines[0]  # passwords never reach the log


def test_several_workers_need_the_redis_layer(tmp_path):
    result = deskchat(tmp_path, "serve", "--workers", "2")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "deskchat: --workers 2 needs DESKCHAT_CHANNEL_LAYER=redis://...: the in-memory "
        "channel layer cannot carry messages between processes"
    )
