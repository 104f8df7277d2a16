"""The shipped systemd unit is valid and agrees with the nginx site on the worker ports."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from desktop import supervisor as serve
from tests.support.server import ROOT
from tests.support.tools import require_executable

UNIT = ROOT / "deploy" / "systemd" / "deskchat.service"
ENV_FILE = ROOT / "deploy" / "systemd" / "deskchat.env"
SITE = ROOT / "deploy" / "nginx" / "deskchat.conf"


STOP_SAFE = ["/usr/bin/env", "--block-signal=TERM,INT"]


def exec_start() -> list[str]:
    """ExecStart's deskchat command, after the env that blocks the stop signals for it."""
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[:2] == STOP_SAFE, argv  # a SIGTERM during Python's start-up: a clean stop
    return argv[2:]


def test_unit_starts_serve_on_the_ports_nginx_balances_over():
    argv = exec_start()
    assert argv[1] == "serve"
    args = serve.parse_args(argv[2:])
    ports = {args.port + i for i in range(args.workers)}
    upstream = {int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+)", SITE.read_text())}
    assert upstream == ports
    assert "KillMode=mixed" in UNIT.read_text()  # SIGTERM reaches the supervisor first


def test_env_file_names_only_documented_engines():
    names = {
        line.split("=", 1)[0]
        for line in ENV_FILE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {"DESKCHAT_CHANNEL_LAYER", "DESKCHAT_DATABASE_URL", "DESKCHAT_ALLOWED_HOSTS"} <= names


@pytest.mark.scale
def test_systemd_accepts_the_unit(tmp_path):
    analyze = require_executable("systemd-analyze", "apt-get install systemd")
    entry = ROOT / ".venv" / "bin" / "deskchat"
    text = UNIT.read_text().replace(exec_start()[0], str(entry))
    text = re.sub(r"EnvironmentFile=.*", f"EnvironmentFile={ENV_FILE}", text)
    (tmp_path / "deskchat.service").write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "deskchat.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "deskchat.service" not in result.stderr, result.stderr  # no warnings about it
