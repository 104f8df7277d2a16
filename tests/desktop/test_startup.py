"""Readiness waiting, logging, and start-up errors in plain words."""

from __future__ import annotations

import http.server
import logging
import socket
import subprocess
import sys
import threading

import pytest

from chatserver.config import ConfigError
from desktop import logs
from desktop.embedded_server import ListenConfig, wait_for_health
from tests.support.server import ROOT, server_env, start_live_server


class _SlowHealth(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first two health checks, then 200 (a server still starting)."""

    calls = 0

    def do_GET(self):
        type(self).calls += 1
        self.send_response(200 if type(self).calls > 2 else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_readiness_waits_for_health_to_answer():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHealth)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        wait_for_health(f"http://127.0.0.1:{httpd.server_port}/", timeout=20)
        assert _SlowHealth.calls == 3
    finally:
        httpd.shutdown()


def test_readiness_gives_up_with_a_plain_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(ConfigError, match="did not become ready"):
            wait_for_health(f"http://127.0.0.1:{port}/", timeout=1)


def test_listen_config_endpoints():
    assert ListenConfig().endpoint() == "tcp:port=0:interface=127.0.0.1"
    assert ListenConfig(host="::1", port=5).endpoint() == r"tcp:port=5:interface=\:\:1"
    assert ListenConfig(cert="c", key="k").scheme == "https"


def test_log_file_rotates_and_install_is_idempotent(tmp_path):
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = logs.install(tmp_path, debug=False)
        assert logs.install(tmp_path, debug=True) == path
        ours = [h for h in root.handlers if isinstance(h, logs._FileHandler)]
        assert len(ours) == 1
        assert ours[0].maxBytes == logs.MAX_BYTES and ours[0].backupCount == logs.BACKUPS
        logging.getLogger("desktop.test").info("hello log")
        ours[0].flush()
        assert "hello log" in path.read_text()
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()


def run_headless(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--headless", *args],
        cwd=ROOT,
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _plain(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("deskchat:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.process
def test_port_taken_is_reported_in_plain_words(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_headless("--port", str(port), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in _plain(result)


@pytest.mark.process
def test_unusable_data_folder_is_reported_in_plain_words(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_headless("--data-dir", str(blocker / "data"))
    assert result.returncode == 2
    assert "cannot create the data folder" in _plain(result)


@pytest.mark.process
def test_corrupt_database_is_reported_in_plain_words(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deskchat.sqlite3").write_bytes(b"this is not a database" * 200)
    result = run_headless("--data-dir", str(data))
    assert result.returncode == 2
    assert "cannot open the database" in _plain(result)


@pytest.mark.process
def test_second_headless_launch_on_the_same_folder_refuses(tmp_path):
    server = start_live_server(tmp_path / "data")
    try:
        result = run_headless("--data-dir", str(tmp_path / "data"))
        assert result.returncode == 1
        assert f"already running on this data folder at {server.url}" in _plain(result)
        assert "http" in (tmp_path / "data" / "instance.json").read_text()
    finally:
        assert server.stop() == 0
    assert (tmp_path / "data" / "logs" / "deskchat.log").exists()


def test_data_folder_resolution(tmp_path, monkeypatch):
    from chatserver.config import default_data_dir, resolve_data_dir

    monkeypatch.setenv("DESKCHAT_DATA_DIR", str(tmp_path / "new" / "folder"))
    assert resolve_data_dir() == (tmp_path / "new" / "folder").resolve()
    assert (tmp_path / "new" / "folder").is_dir()
    monkeypatch.delenv("DESKCHAT_DATA_DIR")
    assert default_data_dir().name == "Deskchat"
