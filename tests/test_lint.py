"""The code stays ruff-clean and formatted (pyproject.toml holds the rules)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.tools import require

ROOT = Path(__file__).resolve().parent.parent


def ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    require(found is not None, "ruff is not installed (pip install -e '.[test]')")
    assert found is not None
    return found


def test_ruff_check_finds_nothing():
    result = subprocess.run([ruff(), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_code_is_formatted():
    result = subprocess.run(
        [ruff(), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]
