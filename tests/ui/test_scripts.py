"""The browser modules that need no DOM (the outbox, the store's presence and ghost rules, the
reconnect delays), unit-tested under node's own test runner: tests/ui/js/*.test.mjs import
them exactly as the page does."""

from __future__ import annotations

import subprocess

from tests.support.server import ROOT
from tests.support.tools import require_executable

SCRIPTS = ROOT / "tests" / "ui" / "js"


def test_the_script_unit_tests_pass():
    node = require_executable("node", "apt-get install nodejs")
    files = sorted(str(path) for path in SCRIPTS.glob("*.test.mjs"))
    assert len(files) >= 3
    result = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
